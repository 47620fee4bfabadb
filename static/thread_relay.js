// The engine's thread workers (the pthreads builds' pool), made by the page instead of by the model worker.
//
// Why: Firefox (153) sometimes blocks a worker for good inside `new Worker()` when that worker makes a
// nested one: its thread never returns, timers included. `python -m e2e.workerrace` shows it: 9 of 1040
// rounds of a worker making a nested worker the way Emscripten's pool does, and none of 800 when the page
// makes the same worker and relays the messages (docs/loading.md, "The Firefox start-up hang"). So the model worker
// never makes a worker: Emscripten's glue gets a stand-in `Worker` whose messages the page relays to a real
// one it made itself. Only the pool's start-up and thread hand-over messages take this path (the threads
// then work through shared memory), so the relay costs nothing measurable.
//
// Messages (static/messages.js): the stand-in asks the page with thread_start / thread_post / thread_stop;
// the page answers with thread_message / thread_error.
import { to_page, to_worker } from "./messages.js";

// ---- model worker side ----------------------------------------------------------------------

// Replaces the model worker's `Worker` with the stand-in; returns deliver(msg) for the page's answers.
export function relay_install(scope, post) {
  const threads = new Map();   // id -> stand-in
  let next_id = 1;
  class RelayedWorker {
    constructor(url) {
      this.id = next_id++;
      this.onmessage = null;   // set by Emscripten's glue, like onerror
      this.onerror = null;
      threads.set(this.id, this);
      post(to_page.thread_start(this.id, String(url)));
    }
    postMessage(data, transfer = []) { post(to_page.thread_post(this.id, data), transfer); }
    terminate() {
      threads.delete(this.id);
      post(to_page.thread_stop(this.id));
    }
  }
  scope.Worker = RelayedWorker;
  return (msg) => {
    const thread = threads.get(msg.id);
    if (!thread) return;
    if (msg.type === "thread_message") thread.onmessage?.({ data: msg.data });
    else thread.onerror?.({ message: msg.message, filename: msg.filename, lineno: msg.lineno });
  };
}

// ---- page side ------------------------------------------------------------------------------

// Makes and feeds the real workers a model worker asks for; `post` sends to that model worker.
export class ThreadHost {
  constructor(post, make = (url) => new Worker(url)) {
    this.post = post;
    this.make = make;
    this.workers = new Map();   // id -> Worker
  }

  // True if msg was one of the relay's (and is handled).
  handle(msg) {
    if (msg.type === "thread_start") this.start(msg.id, msg.url);
    else if (msg.type === "thread_post") this.workers.get(msg.id)?.postMessage(msg.data);
    else if (msg.type === "thread_stop") this.stop(msg.id);
    else return false;
    return true;
  }

  start(id, url) {
    const w = this.make(url);
    w.onmessage = ({ data }) => this.post(to_worker.thread_message(id, data));
    w.onerror = (ev) => {
      ev.preventDefault();
      this.post(to_worker.thread_error(id, ev.message, ev.filename, ev.lineno));
    };
    this.workers.set(id, w);
  }

  stop(id) {
    this.workers.get(id)?.terminate();
    this.workers.delete(id);
  }

  close() {
    for (const id of [...this.workers.keys()]) this.stop(id);
  }
}
