/* Vigil web map service worker (issue 16): keeps the app shell — the page, its scripts, styles,
 * vendored libraries and the basemap — so the field panel opens without the network. Network
 * first (a new version is taken as soon as it is served), the cache when offline. Only the files
 * listed here are ever cached: API answers (hotspots, flags, tiles, photos) never are; the field
 * package lives in IndexedDB (field.js), which logging out wipes.
 */
'use strict';

const CACHE = 'vigil-shell-v2';
const SHELL = [
  './',
  'index.html',
  'app.css',
  'favicon.svg',
  'i18n.js',
  'app.js',
  'vector-map.js',
  'upload.js',
  'upload-hash-worker.js',
  'sha256.js',
  'flags.js',
  'review.js',
  'field.js',
  'hotspot-layers.js',
  'dashboard.js',
  'vendor/maplibre-gl/maplibre-gl-csp.js',
  'vendor/maplibre-gl/maplibre-gl-csp-worker.js',
  'vendor/maplibre-gl/maplibre-gl.css',
  'vendor/pmtiles/pmtiles.js'
];
const SHELL_URLS = new Set(SHELL.map((p) => new URL(p, self.registration.scope).href));

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || req.headers.has('range')) return;
  const url = new URL(req.url);
  url.search = '';
  const shell = SHELL_URLS.has(url.href) || (req.mode === 'navigate' && url.href === self.registration.scope);
  if (!shell) return; // the network as usual: nothing else is cached
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(url.href, copy));
        }
        return res;
      })
      .catch(() => caches.match(url.href).then((hit) => hit || Response.error()))
  );
});
