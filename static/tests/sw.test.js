// The service worker precaches every module the page reaches from chat.js (imports and the model worker):
// one left out, and a reload with the server down fails to start the page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const STATIC = new URL("../", import.meta.url);
const text = (name) => readFileSync(new URL(name, STATIC), "utf8");

function modules_reached(entry) {
  const seen = new Set(), todo = [entry];
  while (todo.length) {
    const name = todo.pop();
    if (seen.has(name)) continue;
    seen.add(name);
    if (name.startsWith("../")) continue;   // vendored (served at /vendor/), not ours to read
    const source = text(name);
    for (const [, dep] of source.matchAll(/^import [^;]*? from "\.\/([^"]+)"/gm)) todo.push(dep);
    for (const [, dep] of source.matchAll(/^import [^;]*? from "(\.\.\/[^"]+)"/gm)) todo.push(dep);
    for (const [, dep] of source.matchAll(/new URL\("\.\/([^"]+\.js)", import\.meta\.url\)/g)) todo.push(dep);
  }
  return [...seen];
}

test("the service worker precaches every module the chat page reaches", () => {
  const list = text("sw.js").match(/const PRECACHE = (\[[^\]]*\])/)[1];
  const precache = new Set(JSON.parse(list));
  const reached = modules_reached("chat.js").map((name) => name.startsWith("../") ? name.slice(2) : `/static/${name}`);
  assert.ok(reached.includes("/static/worker.js") && reached.includes("/vendor/jinja/index.js"), reached.join(" "));
  assert.deepEqual(reached.filter((url) => !precache.has(url)), []);
  assert.ok(precache.has("/static/chat.css"));
});
