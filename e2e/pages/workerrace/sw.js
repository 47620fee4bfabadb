// As static/sw.js was: network first through the Cache API, and it takes over open pages at once.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (ev) => ev.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (ev) => {
  ev.respondWith((async () => {
    const cache = await caches.open("workerrace");
    const resp = await fetch(ev.request);
    if (resp.ok) await cache.put(ev.request, resp.clone());
    return resp;
  })());
});
