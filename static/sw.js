// The page's service worker (served at /sw.js, scope: the whole site): the page keeps working with the
// server gone. The page, its modules, the model list and manifests are fetched network first (so updates
// arrive as soon as the server is back) and answered from the cache when the network fails; engine builds
// under content-hashed names are immutable, so they come from the cache first, and a new hash replaces the
// old one. Shards are not touched: the model worker keeps them in its own cache (static/worker.js) and asks
// for byte ranges, which this cache would not serve.
const CACHE = "wasmlm-app-v1";
// Every module the page imports, directly or through the model worker (static/tests/sw.test.js checks it).
const PRECACHE = ["/", "/static/chat.js", "/static/chat.css", "/static/wasmlm.js", "/static/template.js",
  "/static/opchart.js", "/static/telemetry.js", "/static/worker.js", "/static/loader.js", "/static/engine.js", "/static/messages.js",
  "/static/thread_relay.js",
  "/vendor/jinja/index.js", "/api/models", "/api/engine"];
const SHARD = /^\/chunks\/[^/]+\/\d+\.bin$/;
const HASHED = /^\/build\/wasm\/(.+?)\.[0-9a-f]{16}(\.(?:js|cjs|wasm))$/;

// The page that registers this worker has already started its model worker, whose requests this one does
// not see: so the engine builds and the manifests are fetched here too. One missing file must not stop the
// rest (the cache fills as pages fetch anyway).
//
// It never takes over a page that is already open: no skipWaiting(), no clients.claim(). A first visit stays
// uncontrolled until its next load, and a new version waits until no tab uses the old one, so a page's workers
// keep one controller for their whole life: taken over in the middle of a model load, workers' scripts
// sometimes never arrived in Chromium (docs/loading.md, "The Firefox start-up hang", `e2e.workerrace --sw`).
self.addEventListener("install", (ev) => {
  ev.waitUntil(precache());
});

async function precache() {
  const cache = await caches.open(CACHE);
  await Promise.allSettled(PRECACHE.map((url) => cache.add(url)));
  const json = async (url) => (await cache.match(url))?.json();
  const engine = await json("/api/engine").catch(() => null) || {};
  const models = await json("/api/models").catch(() => null) || [];
  const urls = [...Object.entries(engine).filter(([name]) => !name.startsWith("wasmlm-debug")).map(([, url]) => url),
    ...models.map((m) => m.manifest).filter(Boolean)];
  await Promise.allSettled(urls.map((url) => cache.add(url)));
}

self.addEventListener("activate", (ev) => {
  ev.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("wasmlm-app-") && k !== CACHE).map((k) => caches.delete(k)))));
});

self.addEventListener("fetch", (ev) => {
  const req = ev.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || SHARD.test(url.pathname)) return;
  const hashed = url.pathname.match(HASHED);
  // Cache writes run beside the answer: a full quota or a slow store must not fail or hold up the page's files.
  const keep = (work) => ev.waitUntil(work.catch(() => {}));
  ev.respondWith(hashed ? cache_first(req, hashed, keep) : network_first(req, keep));
});

async function network_first(req, keep) {
  try {
    const resp = await fetch(req);
    if (resp.ok) {
      const copy = resp.clone();
      keep(caches.open(CACHE).then((cache) => cache.put(req, copy)));
    }
    return resp;
  } catch (err) {
    const hit = await (await caches.open(CACHE)).match(req, { ignoreSearch: req.mode === "navigate" });
    if (hit) return hit;
    throw err;
  }
}

async function cache_first(req, [, stem, ext], keep) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(req);
  if (hit) return hit;
  const resp = await fetch(req);
  if (resp.ok) keep(build_store(cache, req, resp.clone(), stem, ext));
  return resp;
}

async function build_store(cache, req, resp, stem, ext) {
  await cache.put(req, resp);
  // older builds of the same file are no longer named by any page
  for (const key of await cache.keys()) {
    const m = new URL(key.url).pathname.match(HASHED);
    if (m && m[1] === stem && m[2] === ext && key.url !== req.url) await cache.delete(key);
  }
}
