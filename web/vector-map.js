/* Vigil web map: the layers drawn by MapLibre GL JS from vector tiles (issue 16).
 *
 * Two MapLibre maps ride inside the Leaflet map through @maplibre/maplibre-gl-leaflet, each in a
 * Leaflet pane, so the panels, overlays and survey imagery that Leaflet draws keep their order:
 *   - the basemap (pane z 200, under everything): land from the PMTiles archive
 *     basemap/vietnam.pmtiles, read by the `pmtiles` library with HTTP range requests;
 *   - the overlay (pane z 390, over survey imagery and footprints, under popups): provinces,
 *     communes and hotspots from Vigil's OGC API – Tiles endpoints
 *     /collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}, with the user's bearer token and the
 *     hotspot filters. Where a tile holds too many hotspots the server sends counts per cell
 *     (`aggregated`, `count`, `status_*`), drawn as circles sized by the count; every hotspot of
 *     the country is on the map at every zoom.
 * The overlay map is made anew for each login, so no tile of one user is ever shown to another.
 *
 * Depends on window.L, window.maplibregl (CSP build), window.pmtiles, the plugin
 * (L.maplibreGL); attaches window.VigilVectorMap.
 */
(function () {
  'use strict';

  const WORKER_URL = 'vendor/maplibre-gl/maplibre-gl-csp-worker.js';
  const BASEMAP_URL = 'basemap/vietnam.pmtiles';
  const COMMUNE_MIN_ZOOM = 9;
  const TILE_MAX_ZOOM = 16; // over-zoomed past this (points stay points)

  let protocol = null;

  /**
   * The one `pmtiles://` protocol of the page (MapLibre keeps one handler a scheme): URLs name
   * the archive over HTTP, or a key added with `protocol().add(...)` (field.js's archives kept
   * in IndexedDB).
   */
  function setUp() {
    if (protocol) return protocol;
    maplibregl.setWorkerUrl(new URL(WORKER_URL, window.location.href).toString());
    protocol = new pmtiles.Protocol();
    maplibregl.addProtocol('pmtiles', protocol.tile);
    return protocol;
  }

  /** The land basemap, under every other layer. Returns the Leaflet layer. */
  function basemap(map) {
    setUp();
    if (!map.getPane('gl-basemap')) {
      map.createPane('gl-basemap').style.zIndex = 200;
      map.getPane('gl-basemap').style.pointerEvents = 'none';
    }
    const url = 'pmtiles://' + new URL(BASEMAP_URL, window.location.href).toString();
    return L.maplibreGL({
      pane: 'gl-basemap',
      interactive: false,
      attributionControl: false,
      style: {
        version: 8,
        sources: { basemap: { type: 'vector', url, attribution: 'Natural Earth' } },
        layers: [
          { id: 'water', type: 'background', paint: { 'background-color': '#dfe8ee' } },
          { id: 'land', type: 'fill', source: 'basemap', 'source-layer': 'land', paint: { 'fill-color': '#f3efe6' } },
          { id: 'coast', type: 'line', source: 'basemap', 'source-layer': 'land', paint: { 'line-color': '#a89f8c', 'line-width': 0.8 } }
        ]
      }
    }).addTo(map);
  }

  /**
   * The data overlay. `opts`: { apiUrl(path) → absolute URL, token() → bearer token,
   * statusColors: {code: colour}, hotspotQuery: 'status=…&kind=…' }.
   */
  function overlay(map, opts) {
    setUp();
    if (!map.getPane('gl-overlay')) {
      map.createPane('gl-overlay').style.zIndex = 390;
      map.getPane('gl-overlay').style.pointerEvents = 'none';
    }
    const root = opts.apiUrl('');
    // Concatenated, not through URL(): a URL would escape the {z}/{y}/{x} placeholders.
    const tiles = (id, query) => [`${root}collections/${id}/tiles/WebMercatorQuad/{z}/{y}/{x}` + (query ? '?' + query : '')];
    const colours = ['match', ['get', 'status']];
    for (const [code, c] of Object.entries(opts.statusColors)) colours.push(code, c);
    colours.push('#7f8c8d');
    let selected = null;
    // Tiles are `private, max-age=60`: for a minute after an edit, hotspot tiles are revalidated
    // instead of taken from the browser's cache.
    let revalidateUntil = 0;
    const layer = L.maplibreGL({
      pane: 'gl-overlay',
      interactive: false,
      attributionControl: false,
      transformRequest: (url) => {
        // Only Vigil's own API gets the token; nothing else is ever asked for.
        if (url.startsWith(root)) {
          const r = { url, headers: { Authorization: 'Bearer ' + opts.token() } };
          if (Date.now() < revalidateUntil && url.includes('/collections/hotspots/tiles/')) r.cache = 'no-cache';
          return r;
        }
        return { url };
      },
      style: {
        version: 8,
        sources: {
          provinces: { type: 'vector', tiles: tiles('provinces'), minzoom: 0, maxzoom: 12 },
          communes: { type: 'vector', tiles: tiles('communes'), minzoom: COMMUNE_MIN_ZOOM, maxzoom: 14 },
          hotspots: { type: 'vector', tiles: tiles('hotspots', opts.hotspotQuery), minzoom: 0, maxzoom: TILE_MAX_ZOOM }
        },
        layers: [
          { id: 'provinces-fill', type: 'fill', source: 'provinces', 'source-layer': 'provinces', paint: { 'fill-color': '#6c4f9c', 'fill-opacity': 0.03 } },
          { id: 'provinces-line', type: 'line', source: 'provinces', 'source-layer': 'provinces', paint: { 'line-color': '#6c4f9c', 'line-width': 2, 'line-opacity': 0.9 } },
          { id: 'communes-fill', type: 'fill', source: 'communes', 'source-layer': 'communes', minzoom: COMMUNE_MIN_ZOOM, paint: { 'fill-color': '#8e7cc3', 'fill-opacity': 0 } },
          { id: 'communes-line', type: 'line', source: 'communes', 'source-layer': 'communes', minzoom: COMMUNE_MIN_ZOOM, paint: { 'line-color': '#8e7cc3', 'line-width': 1, 'line-opacity': 0.8, 'line-dasharray': [4, 3] } },
          {
            id: 'hotspot-cells',
            type: 'circle',
            source: 'hotspots',
            'source-layer': 'hotspots',
            filter: ['==', ['get', 'aggregated'], true],
            paint: {
              'circle-radius': ['interpolate', ['linear'], ['sqrt', ['get', 'count']], 1, 3, 10, 9, 100, 22],
              'circle-color': ['interpolate', ['linear'], ['log10', ['get', 'count']], 0, '#fdae61', 1.5, '#f46d43', 3, '#a50026'],
              'circle-opacity': 0.75,
              'circle-stroke-color': '#ffffff',
              'circle-stroke-width': 0.6
            }
          },
          {
            id: 'hotspot-points',
            type: 'circle',
            source: 'hotspots',
            'source-layer': 'hotspots',
            filter: ['!=', ['get', 'aggregated'], true],
            paint: {
              'circle-radius': 7,
              'circle-color': colours,
              'circle-opacity': 0.92,
              'circle-stroke-color': '#3b3b3b',
              'circle-stroke-width': 1.2
            }
          },
          {
            id: 'hotspot-selected',
            type: 'circle',
            source: 'hotspots',
            'source-layer': 'hotspots',
            filter: ['==', ['get', 'id'], -1],
            paint: { 'circle-radius': 9, 'circle-color': colours, 'circle-stroke-color': '#111111', 'circle-stroke-width': 3 }
          }
        ]
      }
    }).addTo(map);
    const gl = () => layer.getMaplibreMap();
    const mapEl = map.getContainer();
    const mark = (s) => {
      mapEl.dataset.tiles = s;
    };
    mark('loading');
    mapEl.dataset.tileQuery = opts.hotspotQuery || '';
    gl().on('dataloading', () => mark('loading'));
    gl().on('idle', () => mark('idle'));
    gl().on('error', (e) => {
      const msg = (e && e.error && e.error.message) || String(e && e.error);
      // An aborted tile (the view moved on) is not an error.
      if (/abort/i.test(msg)) return;
      mapEl.dataset.tileError = msg;
      console.warn('vector tiles:', msg);
    });

    /**
     * Rendered features of `layers` around a Leaflet container point (a 6 px box). The GL canvas
     * is larger than Leaflet's container (the plugin pads it so panning shows no blank edge), so
     * points go through lon/lat, never straight from one container to the other.
     */
    function at(leafletPoint, layers) {
      const m = gl();
      if (!m || !m.getLayer(layers[0])) return [];
      const ll = map.containerPointToLatLng(leafletPoint);
      const point = m.project([ll.lng, ll.lat]);
      const r = 6;
      return m.queryRenderedFeatures(
        [
          [point.x - r, point.y - r],
          [point.x + r, point.y + r]
        ],
        { layers }
      );
    }

    return {
      layer,
      /** New hotspot filters: the tiles are asked again. */
      setHotspotQuery(query) {
        mapEl.dataset.tileQuery = query;
        const src = gl().getSource('hotspots');
        if (src) src.setTiles(tiles('hotspots', query));
      },
      /** Re-reads the hotspot tiles (after an edit). */
      refreshHotspots() {
        revalidateUntil = Date.now() + 61000;
        const src = gl().getSource('hotspots');
        if (src) src.setTiles(src.tiles.slice());
      },
      setSelected(id) {
        selected = id === null || id === undefined ? null : Number(id);
        gl().setFilter('hotspot-selected', ['all', ['!=', ['get', 'aggregated'], true], ['==', ['get', 'id'], selected === null ? -1 : selected]]);
      },
      /** The hotspot point under a Leaflet container point, or null. */
      hotspotAt(point) {
        const f = at(point, ['hotspot-selected', 'hotspot-points'])[0];
        return f ? { id: String(f.properties.id), status: f.properties.status, kind: f.properties.kind } : null;
      },
      /** The aggregate cell under a point: { count, breakdown: {status: n} }, or null. */
      cellAt(point) {
        const f = at(point, ['hotspot-cells'])[0];
        if (!f) return null;
        const breakdown = {};
        for (const [k, v] of Object.entries(f.properties)) if (k.startsWith('status_')) breakdown[k.slice(7)] = v;
        return { count: f.properties.count, breakdown };
      },
      /** The commune under a point: { code, name }, or null. */
      communeAt(point) {
        const f = at(point, ['communes-fill'])[0];
        return f ? { code: f.properties.code, name: f.properties.name } : null;
      },
      /**
       * For tests and the list: the hotspots drawn in the view, one by one (id, status, and the
       * point in page coordinates), and the hotspots counted in aggregate cells.
       */
      drawn() {
        const m = gl();
        const box = mapEl.getBoundingClientRect();
        const points = new Map();
        let inCells = 0;
        const cells = new Set();
        const cellList = [];
        for (const f of m.queryRenderedFeatures({ layers: ['hotspot-points', 'hotspot-cells'] })) {
          const p = f.properties;
          const c = f.geometry.coordinates;
          const px = map.latLngToContainerPoint([c[1], c[0]]);
          // Inside the view only (a circle just outside it is still partly drawn).
          if (px.x < 0 || px.y < 0 || px.x > box.width || px.y > box.height) continue;
          if (p.aggregated) {
            const key = `${c[0].toFixed(7)},${c[1].toFixed(7)}`;
            if (!cells.has(key)) {
              inCells += p.count;
              cellList.push({ count: p.count, x: box.left + px.x, y: box.top + px.y });
            }
            cells.add(key);
            continue;
          }
          points.set(String(p.id), { id: String(p.id), status: p.status, x: box.left + px.x, y: box.top + px.y });
        }
        return { points: Array.from(points.values()), inCells, cells: cellList };
      },
      /** Ids of the hotspots drawn as selected. */
      selectedDrawn() {
        const m = gl();
        if (!m.getLayer('hotspot-selected')) return [];
        return Array.from(new Set(m.queryRenderedFeatures({ layers: ['hotspot-selected'] }).map((f) => String(f.properties.id))));
      },
      remove() {
        map.removeLayer(layer);
        delete mapEl.dataset.tiles;
      }
    };
  }

  window.VigilVectorMap = { basemap, overlay, protocol: setUp };
})();
