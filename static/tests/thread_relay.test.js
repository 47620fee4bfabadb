// The thread relay (static/thread_relay.js) wired end to end in one process: a stand-in Worker in a fake
// model worker scope, the page's ThreadHost, and fake thread workers that answer like Emscripten's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { relay_install, ThreadHost } from "../thread_relay.js";

// A thread worker that answers "load" with "loaded" and reports an error on "boom".
class FakeThread {
  constructor(url) {
    this.url = url;
    this.terminated = false;
    FakeThread.made.push(this);
  }
  postMessage(data) {
    queueMicrotask(() => {
      if (data.cmd === "load") this.onmessage({ data: { cmd: "loaded", echo: data.payload } });
      if (data.cmd === "boom") this.onerror({ message: "boom", filename: "t.js", lineno: 3, preventDefault() {} });
    });
  }
  terminate() { this.terminated = true; }
}
FakeThread.made = [];

function wire() {
  FakeThread.made = [];
  const scope = {};
  let host = null;
  const deliver = relay_install(scope, (msg) => queueMicrotask(() => host.handle(msg)));
  host = new ThreadHost((msg) => queueMicrotask(() => deliver(msg)), (url) => new FakeThread(url));
  return { scope, host };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

test("the model worker's Worker is a stand-in whose messages reach a thread worker the page made", async () => {
  const { scope, host } = wire();
  const w = new scope.Worker(new URL("https://x.test/build/wasmlm-mt.worker.js"));
  const got = [];
  w.onmessage = (e) => got.push(e.data);
  w.postMessage({ cmd: "load", payload: [1, 2, 3] });
  await settle();
  assert.equal(FakeThread.made.length, 1);
  assert.equal(FakeThread.made[0].url, "https://x.test/build/wasmlm-mt.worker.js");
  assert.deepEqual(got, [{ cmd: "loaded", echo: [1, 2, 3] }]);
  assert.equal(host.workers.size, 1);
});

test("a thread worker's error reaches the stand-in's onerror", async () => {
  const { scope } = wire();
  const w = new scope.Worker("t.js");
  const errors = [];
  w.onerror = (e) => errors.push(e);
  w.postMessage({ cmd: "boom" });
  await settle();
  assert.deepEqual(errors, [{ message: "boom", filename: "t.js", lineno: 3 }]);
});

test("terminate and close end the page's thread workers", async () => {
  const { scope, host } = wire();
  const a = new scope.Worker("a.js");
  new scope.Worker("b.js");
  await settle();
  a.terminate();
  await settle();
  assert.deepEqual(FakeThread.made.map((t) => t.terminated), [true, false]);
  host.close();
  assert.deepEqual(FakeThread.made.map((t) => t.terminated), [true, true]);
  assert.equal(host.workers.size, 0);
});

test("the page passes other messages on", () => {
  const host = new ThreadHost(() => {}, () => assert.fail("no thread worker expected"));
  assert.equal(host.handle({ type: "progress" }), false);
  assert.equal(host.handle({ type: "thread_post", id: 9, data: {} }), true);   // an unknown id is ignored
});
