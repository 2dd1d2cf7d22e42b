/* Vigil web map: one MapLibre GL JS map (issue 16), the frame of the page's map and every layer.
 *
 *   - `frame(container, o)`: the map itself — the basemap (land from the PMTiles archive
 *     basemap/vietnam.pmtiles, read by the `pmtiles` library with HTTP range requests) under
 *     everything, the zoom, scale and attribution controls, popups, the hover tooltip, controls
 *     for legends and the layer switcher (`layerSwitcher`), and the page's vocabulary: zooms as
 *     256-pixel tile zooms, boxes as [w, s, e, n].
 *   - `overlay(frame, opts)`: the data of one login, bottom to top: the survey imagery (raster
 *     tiles of /tiles/mosaic/…), provinces, communes, the dashboard's commune choropleth, its
 *     Gi*, emerging hot spots, heat map and suggested clusters, survey footprints, flagged plots,
 *     the plot under review and hotspots — every vector layer from Vigil's OGC API – Tiles
 *     endpoints /collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x} with the user's bearer token
 *     and the layer's filters. Where a tile holds too many hotspots or flags the server sends
 *     counts per cell (`aggregated`, `count`, `status_*` / `class_*`), drawn as circles sized by
 *     the count; every hotspot and flag of the country is on the map at every zoom. Its sources
 *     are removed at logout (their tiles with them) and made anew for the next login, so no tile
 *     of one user is ever shown to another.
 *
 * Depends on window.maplibregl (CSP build) and window.pmtiles; attaches window.VigilVectorMap.
 */
(function () {
  'use strict';

  const WORKER_URL = 'vendor/maplibre-gl/maplibre-gl-csp-worker.js';
  const BASE_LAYERS = ['water', 'land', 'coast']; // the basemap's, kept across logins
  const BASEMAP_URL = 'basemap/vietnam.pmtiles';
  const COMMUNE_MIN_ZOOM = 9;
  const TILE_MAX_ZOOM = 16; // over-zoomed past this (points stay points)

  const FLAG_MAX_ZOOM = 18; // flag outlines are over-zoomed past this
  const FLAG_OUTLINE_MIN_ZOOM = 16; // below it the tiles carry a point per plot (src/service/flags.rs)
  const SURVEY_COLOUR = '#d35400';
  const FLAG_LAYERS = ['flag-cells', 'flag-dots', 'flag-fill', 'flag-line', 'flag-line-replanting', 'flag-selected-line', 'flag-selected-dot'];
  const SURVEY_LAYERS = ['survey-fill', 'survey-line'];
  // The dashboard's analysis layers, bottom to top, and the style layers that draw each.
  const ANALYSIS = ['gistar', 'emerging', 'clusters'];
  const analysisIds = (k) => [`hs-${k}-fill`, `hs-${k}-line`, `hs-${k}-point`];

  /** Fills, outlines and (for point features) circles of each analysis source, in order. */
  function analysisLayers() {
    const out = [];
    const isPoint = ['==', ['geometry-type'], 'Point'];
    for (const k of ANALYSIS) {
      const src = `hs-${k}`;
      out.push(
        { id: `hs-${k}-fill`, type: 'fill', source: src, filter: ['!', isPoint], paint: { 'fill-color': ['get', '_colour'], 'fill-opacity': ['get', '_opacity'] } },
        { id: `hs-${k}-line`, type: 'line', source: src, filter: ['!', isPoint], paint: { 'line-color': ['get', '_stroke'], 'line-width': ['get', '_weight'] } },
        {
          id: `hs-${k}-point`,
          type: 'circle',
          source: src,
          filter: isPoint,
          paint: { 'circle-radius': 8, 'circle-color': ['get', '_colour'], 'circle-opacity': ['get', '_opacity'], 'circle-stroke-color': ['get', '_stroke'], 'circle-stroke-width': ['get', '_weight'] }
        }
      );
    }
    return out;
  }

  let protocol = null;

  /** A 1 × 1 transparent PNG. */
  let emptyPng = null;
  function transparentPng() {
    if (!emptyPng) {
      const b64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII=';
      emptyPng = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    }
    return emptyPng;
  }

  /** `['match', ['get', 'class'], poppy, …, cannabis, …, other]` for one key of the class styles. */
  function byClass(style, key, other) {
    const e = ['match', ['get', 'class']];
    for (const [c, st] of Object.entries(style)) e.push(c, st[key]);
    e.push(other);
    return e;
  }

  /**
   * The flagged plots (flags.js's colours, `style`: {class: {stroke, fill}}): outlines from zoom
   * 16, a dot per plot below it, counts per cell where a tile holds too many, the selected plot
   * drawn over the rest. Hidden until flags.js turns the layer on.
   */
  function flagLayers(style) {
    const hidden = { visibility: 'none' };
    const isPoint = ['==', ['geometry-type'], 'Point'];
    const plain = ['!=', ['get', 'aggregated'], true];
    const replanting = ['==', ['get', 'replanting'], true];
    const stroke = byClass(style, 'stroke', '#5b6570');
    const fill = byClass(style, 'fill', '#aab3bd');
    const poppy = (style.poppy && style.poppy.stroke) || '#c0189f';
    const cannabis = (style.cannabis && style.cannabis.stroke) || '#a8d500';
    const none = ['==', ['get', 'id'], -1];
    return [
      { id: 'flag-fill', type: 'fill', source: 'flags', 'source-layer': 'flags', layout: hidden, paint: { 'fill-color': fill, 'fill-opacity': 0.3 } },
      { id: 'flag-line', type: 'line', source: 'flags', 'source-layer': 'flags', filter: ['!', replanting], layout: hidden, paint: { 'line-color': stroke, 'line-width': 2 } },
      {
        id: 'flag-line-replanting',
        type: 'line',
        source: 'flags',
        'source-layer': 'flags',
        filter: replanting,
        layout: hidden,
        paint: { 'line-color': stroke, 'line-width': 4, 'line-dasharray': [2, 1.25] }
      },
      {
        id: 'flag-dots',
        type: 'circle',
        source: 'flags',
        'source-layer': 'flags',
        filter: ['all', isPoint, plain],
        layout: hidden,
        paint: {
          'circle-radius': 6,
          'circle-color': stroke,
          'circle-opacity': 0.95,
          'circle-stroke-color': '#222222',
          'circle-stroke-width': ['case', replanting, 2.5, 1]
        }
      },
      {
        id: 'flag-cells',
        type: 'circle',
        source: 'flags',
        'source-layer': 'flags',
        filter: ['==', ['get', 'aggregated'], true],
        layout: hidden,
        paint: {
          'circle-radius': ['interpolate', ['linear'], ['sqrt', ['get', 'count']], 1, 4, 10, 10, 100, 22],
          'circle-color': ['case', ['>=', ['coalesce', ['get', 'class_poppy'], 0], ['coalesce', ['get', 'class_cannabis'], 0]], poppy, cannabis],
          'circle-opacity': 0.8,
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1
        }
      },
      {
        id: 'flag-selected-line',
        type: 'line',
        source: 'flags',
        'source-layer': 'flags',
        filter: none,
        layout: hidden,
        paint: { 'line-color': '#111111', 'line-width': 4 }
      },
      {
        id: 'flag-selected-dot',
        type: 'circle',
        source: 'flags',
        'source-layer': 'flags',
        filter: ['all', isPoint, none],
        layout: hidden,
        paint: { 'circle-radius': 8, 'circle-color': stroke, 'circle-stroke-color': '#111111', 'circle-stroke-width': 3 }
      }
    ];
  }

  /**
   * The one `pmtiles://` protocol of the page (MapLibre keeps one handler a scheme): URLs name
   * the archive over HTTP, or a key added with `protocol().add(...)` (field.js's archives kept
   * in IndexedDB).
   */
  function setUp() {
    if (protocol) return protocol;
    maplibregl.setWorkerUrl(new URL(WORKER_URL, window.location.href).toString());
    protocol = new pmtiles.Protocol();
    maplibregl.addProtocol('pmtiles', async (params, ctl) => {
      const r = await protocol.tile(params, ctl);
      // A raster archive answers a tile it does not hold with no data, which MapLibre waits on
      // for ever (the map never settles): a transparent pixel instead. (Vector archives already
      // answer an empty tile.)
      if (r && (r.data === null || r.data === undefined) && /\/\d+\/\d+\/\d+$/.test(params.url)) return { data: transparentPng().slice() };
      return r;
    });
    return protocol;
  }

  /** The land basemap's sources and layers, under everything else. */
  function basemapStyle() {
    const url = 'pmtiles://' + new URL(BASEMAP_URL, window.location.href).toString();
    return {
      version: 8,
      sources: { basemap: { type: 'vector', url, attribution: 'Natural Earth' } },
      layers: [
        { id: 'water', type: 'background', paint: { 'background-color': '#dfe8ee' } },
        { id: 'land', type: 'fill', source: 'basemap', 'source-layer': 'land', paint: { 'fill-color': '#f3efe6' } },
        { id: 'coast', type: 'line', source: 'basemap', 'source-layer': 'land', paint: { 'line-color': '#a89f8c', 'line-width': 0.8 } }
      ]
    };
  }

  /** [w, s, e, n] of GeoJSON features (or one feature, or a geometry), or null. */
  function bboxOf(x) {
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    const walk = (c) => {
      if (!Array.isArray(c)) return;
      if (typeof c[0] === 'number') {
        if (Number.isFinite(c[0]) && Number.isFinite(c[1])) {
          b[0] = Math.min(b[0], c[0]);
          b[1] = Math.min(b[1], c[1]);
          b[2] = Math.max(b[2], c[0]);
          b[3] = Math.max(b[3], c[1]);
        }
        return;
      }
      for (const i of c) walk(i);
    };
    const geom = (g) => {
      if (!g) return;
      if (g.type === 'GeometryCollection') (g.geometries || []).forEach(geom);
      else walk(g.coordinates);
    };
    const list = Array.isArray(x) ? x : x && x.type === 'FeatureCollection' ? x.features : [x];
    for (const f of list) geom(f && f.type === 'Feature' ? f.geometry : f);
    return b[0] <= b[2] && b[1] <= b[3] ? b : null;
  }

  /** [w, s, e, n] grown by `f` of its size on each side. */
  function padBox(b, f) {
    const dx = (b[2] - b[0]) * f;
    const dy = (b[3] - b[1]) * f;
    return [b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy];
  }

  /**
   * The web map: one MapLibre GL map in `container` with the offline basemap, its controls (zoom,
   * scale, attribution, the layer switcher) and Vigil's own vocabulary for the rest of the page.
   * Zooms are given and returned as 256-pixel tile zooms (a tile at zoom z is 256 px wide on
   * screen), the convention of the tile URLs and of the rest of the page; MapLibre's own zoom is
   * one less (512-pixel tiles). `o`: { bounds, maxBounds ([w, s, e, n]), minZoom, maxZoom }.
   */
  function frame(container, o) {
    setUp();
    let request = null;
    const box = (b) => [
      [b[0], b[1]],
      [b[2], b[3]]
    ];
    const gl = new maplibregl.Map({
      container,
      style: basemapStyle(),
      bounds: box(o.bounds),
      maxBounds: o.maxBounds ? box(o.maxBounds) : undefined,
      minZoom: o.minZoom - 1,
      maxZoom: o.maxZoom - 1,
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      attributionControl: false,
      fadeDuration: 0,
      // Overlays (one per login) ask their own tiles with the user's token.
      transformRequest: (url, type) => (request ? request(url, type) : { url })
    });
    gl.touchZoomRotate.disableRotation();
    gl.keyboard.disableRotation();
    gl.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
    gl.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
    gl.addControl(new maplibregl.AttributionControl({ compact: false }), 'bottom-right');
    let popup = null; // the one popup open (a new one closes it)
    let hover = null; // the hover tooltip
    const f = {
      gl,
      /** The map's element. */
      container: () => gl.getContainer(),
      /** The zoom in 256-pixel tile zooms. */
      zoom: () => gl.getZoom() + 1,
      /** The view as [w, s, e, n]. */
      bbox: () => {
        const b = gl.getBounds();
        return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
      },
      /** Fits [w, s, e, n] at once; `padding`: px, or { top, right, bottom, left }. */
      fit(b, opt) {
        f.fitSize();
        const p = (opt && opt.padding) || 0;
        const padding = typeof p === 'number' ? { top: p, right: p, bottom: p, left: p } : { top: 0, right: 0, bottom: 0, left: 0, ...p };
        const w = b[2] - b[0];
        const h = b[3] - b[1];
        // A point (or a tiny box) is centred at the largest zoom allowed.
        const bb = w <= 1e-9 && h <= 1e-9 ? [b[0] - 1e-6, b[1] - 1e-6, b[2] + 1e-6, b[3] + 1e-6] : b;
        // (An option given as undefined would override MapLibre's default with NaN.)
        const o2 = { padding, animate: !!(opt && opt.animate) };
        if (opt && typeof opt.maxZoom === 'number') o2.maxZoom = opt.maxZoom - 1;
        gl.fitBounds(box(bb), o2);
      },
      /**
       * Takes the container's size if it changed since the map last looked (it was hidden at
       * login): a fit computed on a stale size would be refused or land elsewhere.
       */
      fitSize() {
        const c = gl.getContainer();
        const cv = gl.getCanvas();
        if (c.clientWidth !== cv.clientWidth || c.clientHeight !== cv.clientHeight) gl.resize();
      },
      /** Centres on lon/lat at `zoom` (tile zoom; default: as it is), at once. */
      centre(lon, lat, zoom) {
        gl.jumpTo({ center: [lon, lat], zoom: typeof zoom === 'number' ? zoom - 1 : gl.getZoom() });
      },
      /** Animates to lon/lat at `zoom` (tile zoom). */
      zoomTo(lon, lat, zoom) {
        gl.easeTo({ center: [lon, lat], zoom: Math.min(zoom, o.maxZoom) - 1 });
      },
      /** Container pixel of a lon/lat. */
      toPoint: (lon, lat) => gl.project([lon, lat]),
      /** Lon/lat { lng, lat } of a container pixel. */
      toLngLat: (pt) => gl.unproject([pt.x, pt.y]),
      /** Whether the view is moving (a zoom or pan under way). */
      moving: () => gl.isMoving() || gl.isZooming(),
      /** After the current move, or now when there is none. */
      afterMove(fn) {
        if (f.moving()) gl.once('moveend', fn);
        else fn();
      },
      on: (type, fn) => gl.on(type, fn),
      off: (type, fn) => gl.off(type, fn),
      once: (type, fn) => gl.once(type, fn),
      resize: () => gl.resize(),
      /** The transform of requests for the overlay of this login (null: none). */
      setRequest(fn) {
        request = fn;
      },
      /**
       * A popup at lon/lat holding `node` (closes any other); `opt`: { className, minWidth }.
       * Returns the popup.
       */
      popup(lon, lat, node, opt) {
        if (popup) popup.remove();
        const p = new maplibregl.Popup({ className: (opt && opt.className) || '', maxWidth: 'none', focusAfterOpen: false });
        if (opt && opt.minWidth) node.style.minWidth = `${opt.minWidth}px`;
        p.setLngLat([lon, lat]).setDOMContent(node).addTo(gl);
        popup = p;
        p.on('close', () => {
          if (popup === p) popup = null;
        });
        return p;
      },
      closePopup() {
        if (popup) popup.remove();
        popup = null;
      },
      /** The hover tooltip at lon/lat with `node`; returns its element. */
      showHover(lon, lat, node) {
        if (!hover) hover = new maplibregl.Popup({ className: 'map-hover', closeButton: false, closeOnClick: false, anchor: 'bottom', offset: 10, maxWidth: 'none', focusAfterOpen: false });
        hover.setLngLat([lon, lat]).setDOMContent(node);
        if (!hover.isOpen()) hover.addTo(gl);
        return hover.getElement();
      },
      hideHover() {
        if (hover && hover.isOpen()) hover.remove();
      },
      hoverElement: () => (hover && hover.isOpen() ? hover.getElement() : null),
      /** A control holding `el` at `position` ('top-right', 'bottom-left', …); returns a remover. */
      control(el, position) {
        const ctl = {
          onAdd: () => el,
          onRemove: () => el.remove()
        };
        el.classList.add('maplibregl-ctrl');
        for (const t of ['click', 'dblclick', 'mousedown', 'wheel', 'touchstart', 'pointerdown']) el.addEventListener(t, (e) => e.stopPropagation());
        gl.addControl(ctl, position);
        return () => gl.removeControl(ctl);
      }
    };
    return f;
  }

  /**
   * The layer switcher: a control listing `items` ({ name, on(), set(on) }) as checkboxes, folded
   * to a button until hovered or focused. `render(items)` builds it again (a language switch).
   */
  function layerSwitcher(fr) {
    const el = document.createElement('div');
    el.className = 'vigil-layers';
    el.setAttribute('data-testid', 'layer-switcher');
    const toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.className = 'vigil-layers-toggle';
    const list = document.createElement('div');
    list.className = 'vigil-layers-list';
    el.append(toggle, list);
    const open = (on) => el.classList.toggle('is-open', on);
    el.addEventListener('mouseenter', () => open(true));
    el.addEventListener('mouseleave', () => open(false));
    el.addEventListener('focusin', () => open(true));
    el.addEventListener('focusout', (e) => {
      if (!el.contains(e.relatedTarget)) open(false);
    });
    toggle.addEventListener('click', () => open(!el.classList.contains('is-open')));
    const remove = fr.control(el, 'top-right');
    let items = [];
    return {
      render(next, title) {
        items = next;
        toggle.setAttribute('aria-label', title || '');
        toggle.title = title || '';
        list.replaceChildren();
        for (const it of items) {
          const label = document.createElement('label');
          const box = document.createElement('input');
          box.type = 'checkbox';
          box.checked = !!it.on();
          box.addEventListener('change', () => it.set(box.checked));
          const span = document.createElement('span');
          span.textContent = ' ' + it.name;
          label.append(box, span);
          list.append(label);
        }
      },
      /** Ticks the boxes again from the items' state. */
      sync() {
        const boxes = list.querySelectorAll('input');
        items.forEach((it, i) => {
          if (boxes[i]) boxes[i].checked = !!it.on();
        });
      },
      remove
    };
  }

  /**
   * The data overlay. `opts`: { apiUrl(path) → absolute URL, token() → bearer token,
   * statusColors: {code: colour}, hotspotQuery: 'status=…&kind=…' }.
   */
  function overlay(fr, opts) {
    setUp();
    const m0 = fr.gl;
    const root = opts.apiUrl('');
    // Concatenated, not through URL(): a URL would escape the {z}/{y}/{x} placeholders.
    const tiles = (id, query) => [`${root}collections/${id}/tiles/WebMercatorQuad/{z}/{y}/{x}` + (query ? '?' + query : '')];
    const colours = ['match', ['get', 'status']];
    for (const [code, c] of Object.entries(opts.statusColors)) colours.push(code, c);
    colours.push('#7f8c8d');
    let selected = null;
    const flagSource = (query) => ({ type: 'vector', tiles: tiles('flags', query), minzoom: 0, maxzoom: FLAG_MAX_ZOOM });
    // Tiles are `private, max-age=60`: for a minute after an edit, hotspot tiles are revalidated
    // instead of taken from the browser's cache.
    let revalidateUntil = 0;
    let revalidateFlagsUntil = 0;
    fr.setRequest((url) => {
      // Only Vigil's own API gets the token; nothing else is ever asked for.
      if (url.startsWith(root)) {
        const r = { url, headers: { Authorization: 'Bearer ' + opts.token() } };
        if (Date.now() < revalidateUntil && url.includes('/collections/hotspots/tiles/')) r.cache = 'no-cache';
        if (Date.now() < revalidateFlagsUntil && url.includes('/collections/flags/tiles/')) r.cache = 'no-cache';
        // Revalidated (ETag): a survey that became ready changes the mosaic.
        if (url.includes('/tiles/mosaic/')) r.cache = 'no-cache';
        return r;
      }
      return { url };
    });
    const style = {
      sources: {
          provinces: { type: 'vector', tiles: tiles('provinces'), minzoom: 0, maxzoom: 12 },
          communes: { type: 'vector', tiles: tiles('communes'), minzoom: COMMUNE_MIN_ZOOM, maxzoom: 14 },
          hotspots: { type: 'vector', tiles: tiles('hotspots', opts.hotspotQuery), minzoom: 0, maxzoom: TILE_MAX_ZOOM },
          surveys: { type: 'vector', tiles: tiles('surveys'), minzoom: 0, maxzoom: 16 },
          // The dashboard's choropleth: every commune's outline at every zoom, coloured by value.
          choropleth: { type: 'vector', tiles: tiles('communes'), minzoom: 0, maxzoom: 14 },
          flags: flagSource(''),
          // The plot under review (review.js), drawn over the other flags.
          review: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
          // The dashboard's hotspot analysis (hotspot-layers.js): features carry their own
          // `_colour` and `_opacity`, and `_id`.
          ...Object.fromEntries(ANALYSIS.map((k) => [`hs-${k}`, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } }]))
        },
        layers: [
          { id: 'provinces-fill', type: 'fill', source: 'provinces', 'source-layer': 'provinces', paint: { 'fill-color': '#6c4f9c', 'fill-opacity': 0.03 } },
          { id: 'provinces-line', type: 'line', source: 'provinces', 'source-layer': 'provinces', paint: { 'line-color': '#6c4f9c', 'line-width': 2, 'line-opacity': 0.9 } },
          { id: 'communes-fill', type: 'fill', source: 'communes', 'source-layer': 'communes', minzoom: COMMUNE_MIN_ZOOM, paint: { 'fill-color': '#8e7cc3', 'fill-opacity': 0 } },
          { id: 'communes-line', type: 'line', source: 'communes', 'source-layer': 'communes', minzoom: COMMUNE_MIN_ZOOM, paint: { 'line-color': '#8e7cc3', 'line-width': 1, 'line-opacity': 0.8, 'line-dasharray': [4, 3] } },
          {
            id: 'choropleth-fill',
            type: 'fill',
            source: 'choropleth',
            'source-layer': 'communes',
            filter: ['==', ['get', 'code'], ''],
            layout: { visibility: 'none' },
            paint: { 'fill-color': '#cccccc', 'fill-opacity': 0.65 }
          },
          {
            id: 'choropleth-line',
            type: 'line',
            source: 'choropleth',
            'source-layer': 'communes',
            filter: ['==', ['get', 'code'], ''],
            layout: { visibility: 'none' },
            paint: { 'line-color': '#444444', 'line-width': 1 }
          },
          ...analysisLayers(),
          {
            id: 'survey-fill',
            type: 'fill',
            source: 'surveys',
            'source-layer': 'surveys',
            layout: { visibility: 'none' },
            paint: { 'fill-color': SURVEY_COLOUR, 'fill-opacity': 0.06 }
          },
          {
            id: 'survey-line',
            type: 'line',
            source: 'surveys',
            'source-layer': 'surveys',
            layout: { visibility: 'none' },
            paint: { 'line-color': SURVEY_COLOUR, 'line-width': 2, 'line-opacity': 0.9, 'line-dasharray': [3, 2] }
          },
          ...flagLayers(opts.flagStyle || {}),
          { id: 'review-fill', type: 'fill', source: 'review', paint: { 'fill-color': ['get', 'colour'], 'fill-opacity': 0.12 } },
          { id: 'review-halo', type: 'line', source: 'review', paint: { 'line-color': '#ffffff', 'line-width': 7, 'line-opacity': 0.9 } },
          { id: 'review-line', type: 'line', source: 'review', paint: { 'line-color': ['get', 'colour'], 'line-width': 3 } },
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
    };
    const gl = () => m0;
    const mapEl = fr.container();
    // The overlay's sources and layers go over the basemap once its style has loaded; what the
    // page asks before that waits in `pending`.
    let added = false;
    const pending = [];
    const whenAdded = (fn) => (added ? fn() : pending.push(fn));
    const handlers = []; // [type, fn] registered on the map, removed with the overlay
    const listen = (type, fn) => {
      handlers.push([type, fn]);
      m0.on(type, fn);
    };
    function addAll() {
      if (removed) return;
      for (const [id, src] of Object.entries(style.sources)) m0.addSource(id, src);
      for (const l of style.layers) m0.addLayer(l);
      added = true;
      apply();
      for (const fn of pending.splice(0)) fn();
    }
    let removed = false;
    if (m0.isStyleLoaded() || (m0.style && m0.style._loaded)) window.setTimeout(addAll, 0);
    else m0.once('load', addAll);
    const mark = (s) => {
      mapEl.dataset.tiles = s;
    };
    mark('loading');
    mapEl.dataset.tileQuery = opts.hotspotQuery || '';
    listen('dataloading', () => mark('loading'));
    listen('idle', () => mark('idle'));
    listen('error', (e) => {
      const msg = (e && e.error && e.error.message) || String(e && e.error);
      // An aborted tile (the view moved on) is not an error.
      if (/abort/i.test(msg)) return;
      mapEl.dataset.tileError = msg;
      console.warn('vector tiles:', msg);
    });

    /** Rendered features of `layers` around a container point (a box of ±`r` px). */
    function at(point, layers, r = 6) {
      const m = gl();
      if (!added || !m.getLayer(layers[0])) return [];
      return m.queryRenderedFeatures(
        [
          [point.x - r, point.y - r],
          [point.x + r, point.y + r]
        ],
        { layers }
      );
    }

    // What the flags and survey layers should show; applied once the style has loaded (MapLibre
    // refuses layout changes before that).
    let flagQuery = null;
    let flagSelected = -1;
    let surveysOn = false;
    let reviewPlot = null; // { id } of the plot under review
    const analysisOn = {}; // analysis key -> true while it holds features
    const analysisData = {}; // analysis key -> the FeatureCollection it was given
    // The survey imagery: { bounds: [w, s, e, n] } while shown, else null; the source is made
    // anew when its bounds change (a raster source keeps the bounds it was made with).
    let imagery = null;
    let imageryKey = '';
    let imageryLoaded = 0;
    mapEl.dataset.imageryTiles = '0';
    let choropleth = null; // { colours: {code: colour}, none: colour }
    let appliedChoropleth = null;
    mapEl.dataset.flagTileQuery = '';
    // The dashboard's heat map (hotspot-layers.js): { template, minzoom, maxzoom, bounds, opacity }
    // while shown, else null; made anew when any of it changes. `heatListener(event, detail)`
    // hears 'loading', 'tile', 'error' and 'idle'.
    let heat = null;
    let heatKey = '';
    let heatListener = null;
    const heatTiles = new Map(); // 'z/x/y' -> the tile's URL, for tiles drawn with pixels
    mapEl.dataset.heatTiles = '0';
    function apply() {
      const m = gl();
      if (!added || removed) return;
      const show = (ids, on) => {
        for (const id of ids) if (m.getLayer(id) && m.getLayoutProperty(id, 'visibility') !== (on ? 'visible' : 'none')) m.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
      };
      // New filters: the source is made anew. (setTiles on a source whose layers are hidden
      // leaves it the tiles of the old filters, which it draws again when shown.)
      const want = tiles('flags', flagQuery || '');
      if (flagQuery !== null && requestedFlags !== want[0]) {
        requestedFlags = want[0];
        delete mapEl.dataset.flagTilesLoaded;
        for (const id of FLAG_LAYERS) if (m.getLayer(id)) m.removeLayer(id);
        if (m.getSource('flags')) m.removeSource('flags');
        m.addSource('flags', flagSource(flagQuery));
        for (const l of flagLayers(opts.flagStyle || {})) m.addLayer(l, 'hotspot-cells');
        appliedSelected = -1;
      }
      show(FLAG_LAYERS, flagQuery !== null);
      show(SURVEY_LAYERS, surveysOn);
      const key = imagery ? JSON.stringify(imagery.bounds || null) : '';
      if (key !== imageryKey) {
        imageryKey = key;
        if (m.getLayer('imagery')) m.removeLayer('imagery');
        if (m.getSource('imagery')) m.removeSource('imagery');
        imageryLoaded = 0;
        mapEl.dataset.imageryTiles = '0';
        if (imagery) {
          const src = { type: 'raster', tiles: [opts.imageryTemplate], tileSize: 256, minzoom: 5, maxzoom: 22, attribution: 'Vigil UAV' };
          if (imagery.bounds) src.bounds = imagery.bounds;
          m.addSource('imagery', src);
          // Under every vector layer.
          m.addLayer({ id: 'imagery', type: 'raster', source: 'imagery', paint: { 'raster-fade-duration': 0 } }, 'provinces-fill');
        }
      }
      const hk = heat ? JSON.stringify(heat) : '';
      if (hk !== heatKey) {
        heatKey = hk;
        if (m.getLayer('heat')) m.removeLayer('heat');
        if (m.getSource('heat')) m.removeSource('heat');
        heatTiles.clear();
        mapEl.dataset.heatTiles = '0';
        if (heat) {
          const src = { type: 'raster', tiles: [heat.template], tileSize: 256, minzoom: heat.minzoom, maxzoom: heat.maxzoom };
          if (heat.bounds) src.bounds = heat.bounds;
          m.addSource('heat', src);
          // Over the Gi* units and emerging hot spots, under the suggested clusters.
          m.addLayer({ id: 'heat', type: 'raster', source: 'heat', paint: { 'raster-opacity': heat.opacity, 'raster-fade-duration': 0 } }, 'hs-clusters-fill');
        }
      }
      if (appliedChoropleth !== choropleth) {
        const codes = choropleth ? Object.keys(choropleth.colours) : [];
        const filter = ['in', ['get', 'code'], ['literal', codes]];
        const colour = ['match', ['get', 'code']];
        for (const [code, c] of Object.entries(choropleth ? choropleth.colours : {})) colour.push(code, c);
        colour.push((choropleth && choropleth.none) || '#cccccc');
        m.setFilter('choropleth-fill', filter);
        m.setFilter('choropleth-line', filter);
        // A match needs at least one label; with none every commune takes the default.
        m.setPaintProperty('choropleth-fill', 'fill-color', codes.length ? colour : (choropleth && choropleth.none) || '#cccccc');
        appliedChoropleth = choropleth;
      }
      show(['choropleth-fill', 'choropleth-line'], !!choropleth);
      if (appliedSelected !== flagSelected) {
        m.setFilter('flag-selected-line', ['==', ['get', 'id'], flagSelected]);
        m.setFilter('flag-selected-dot', ['all', ['==', ['geometry-type'], 'Point'], ['==', ['get', 'id'], flagSelected]]);
        appliedSelected = flagSelected;
      }
    }
    let appliedSelected = -1;
    // The flag tile URL last asked for; #map[data-flag-tiles-loaded] names its query once every
    // tile of it in view has loaded (tests wait for that, not for a redraw of the old tiles).
    let requestedFlags = tiles('flags', '')[0];
    listen('sourcedata', (e) => {
      if (e.sourceId !== 'flags' || e.sourceDataType === 'metadata' || !e.isSourceLoaded) return;
      const src = gl().getSource('flags');
      if (src && src.tiles && src.tiles[0] === requestedFlags && flagQuery !== null && gl().isSourceLoaded('flags')) mapEl.dataset.flagTilesLoaded = flagQuery;
    });
    // Imagery tiles drawn (a 204, no survey there, counts as nothing): for tests and the page.
    listen('sourcedata', (e) => {
      if (e.sourceId !== 'imagery' || !e.tile || e.tile.state !== 'loaded' || !e.tile.texture) return;
      imageryLoaded += 1;
      mapEl.dataset.imageryTiles = String(imageryLoaded);
    });
    // The heat map's tiles: each drawn one is kept (for the click that reads its density back and
    // for tests); loading, errors and the map settling are told to hotspot-layers.js.
    const heatTell = (ev, detail) => {
      if (heat && heatListener) heatListener(ev, detail);
    };
    listen('sourcedataloading', (e) => {
      if (e.sourceId === 'heat' && e.tile) heatTell('loading');
    });
    listen('sourcedata', (e) => {
      if (e.sourceId !== 'heat' || !e.tile || e.tile.state !== 'loaded') return;
      const c = e.tile.tileID.canonical;
      // A 204 (no hotspot near) loads with no texture: nothing drawn, nothing to read.
      if (e.tile.texture) heatTiles.set(`${c.z}/${c.x}/${c.y}`, heatUrl(c.z, c.x, c.y));
      mapEl.dataset.heatTiles = String(heatTiles.size);
      heatTell('tile');
    });
    listen('error', (e) => {
      if (e.sourceId === 'heat') heatTell('error', (e.error && e.error.message) || '');
    });
    listen('idle', () => heatTell('idle'));
    function heatUrl(z, x, y) {
      return heat ? heat.template.replace('{z}', z).replace('{x}', x).replace('{y}', y) : null;
    }

    /** One flag feature as the page and the tests see it. */
    function flagOf(f) {
      const p = f.properties;
      return { id: String(p.id), cls: p.class, status: p.status, confidence: p.confidence, replanting: p.replanting === true, dot: f.geometry.type === 'Point' };
    }

    return {
      /**
       * The flags layer: `query` ('class=…&min_confidence=…', '' for every flag) shows it with
       * those filters, null hides it.
       */
      setFlagQuery(query) {
        flagQuery = query;
        mapEl.dataset.flagTileQuery = query === null ? '' : query;
        apply();
      },
      /** Re-reads the flag tiles (after a review decision). */
      refreshFlags() {
        const src = gl().getSource('flags');
        revalidateFlagsUntil = Date.now() + 61000;
        if (src && flagQuery !== null) src.setTiles(src.tiles.slice());
      },
      setFlagSelected(id) {
        flagSelected = id === null || id === undefined ? -1 : Number(id);
        apply();
      },
      /** The flagged plot (or its dot) under a point: { id, cls, …, dot }, or null. */
      flagAt(point) {
        if (flagQuery === null) return null;
        const f = at(point, ['flag-selected-dot', 'flag-dots', 'flag-fill'])[0];
        return f ? flagOf(f) : null;
      },
      /** Ids of every flag drawn at exactly a point (outlines, fills and dots). */
      flagIdsAt(point) {
        if (flagQuery === null) return [];
        return Array.from(new Set(at(point, FLAG_LAYERS, 0).map((f) => String(f.properties.id))));
      },
      /** A cell of flag counts under a point: { count, breakdown: {class: n} }, or null. */
      flagCellAt(point) {
        if (flagQuery === null) return null;
        const f = at(point, ['flag-cells'])[0];
        if (!f) return null;
        const breakdown = {};
        for (const [k, v] of Object.entries(f.properties)) if (k.startsWith('class_')) breakdown[k.slice(6)] = v;
        return { count: f.properties.count, breakdown };
      },
      /**
       * For tests: the flags drawn in the view — each plot once, with its class, status, whether
       * it is drawn as a dot or an outline, the layers that drew it and its box in page
       * coordinates — the flags counted in cells, and the paint of the outline layers.
       */
      flagsDrawn() {
        const m = gl();
        const box = mapEl.getBoundingClientRect();
        const out = new Map();
        let inCells = 0;
        const cells = new Set();
        if (flagQuery === null) return { plots: [], inCells: 0, paint: {} };
        for (const f of m.queryRenderedFeatures({ layers: FLAG_LAYERS })) {
          const p = f.properties;
          if (p.aggregated) {
            const c = f.geometry.coordinates;
            const key = `${c[0].toFixed(7)},${c[1].toFixed(7)}`;
            if (!cells.has(key)) inCells += p.count;
            cells.add(key);
            continue;
          }
          const it = out.get(String(p.id)) || Object.assign(flagOf(f), { layers: [], box: null });
          if (!it.layers.includes(f.layer.id)) it.layers.push(f.layer.id);
          const rings = f.geometry.type === 'Point' ? [[f.geometry.coordinates]] : f.geometry.type === 'Polygon' ? f.geometry.coordinates : f.geometry.coordinates.flat();
          for (const ring of rings) {
            for (const c of ring) {
              const px = fr.toPoint(c[0], c[1]);
              const x = box.left + px.x;
              const y = box.top + px.y;
              const b = it.box || { x0: x, y0: y, x1: x, y1: y };
              it.box = { x0: Math.min(b.x0, x), y0: Math.min(b.y0, y), x1: Math.max(b.x1, x), y1: Math.max(b.y1, y) };
            }
          }
          out.set(it.id, it);
        }
        const plots = [];
        for (const it of out.values()) {
          const b = it.box;
          // Inside the view only (a plot just outside it may still be partly drawn).
          const cx = (b.x0 + b.x1) / 2;
          const cy = (b.y0 + b.y1) / 2;
          if (cx < box.left || cy < box.top || cx > box.right || cy > box.bottom) continue;
          it.box = { x: cx, y: cy, w: b.x1 - b.x0, h: b.y1 - b.y0 };
          it.inMap = b.x0 >= box.left && b.x1 <= box.right && b.y0 >= box.top && b.y1 <= box.bottom;
          plots.push(it);
        }
        const paint = {};
        for (const id of ['flag-line', 'flag-line-replanting', 'flag-dots']) {
          const l = m.getLayer(id);
          if (!l) continue;
          paint[id] = id === 'flag-dots' ? { radius: m.getPaintProperty(id, 'circle-radius') } : { width: m.getPaintProperty(id, 'line-width'), dash: m.getPaintProperty(id, 'line-dasharray') || null };
        }
        const src = m.getSource('flags');
        return { plots, inCells, paint, tiles: src && src.tiles ? src.tiles.slice() : [] };
      },
      /** Ids of the flags drawn as selected. */
      flagSelectedDrawn() {
        const m = gl();
        if (flagQuery === null) return [];
        return Array.from(new Set(m.queryRenderedFeatures({ layers: ['flag-selected-line', 'flag-selected-dot'] }).map((f) => String(f.properties.id))));
      },
      /**
       * The dashboard's choropleth: `colours` {commune code: colour} (a commune with no value
       * takes `none`), drawn over the communes' vector tiles; null removes it.
       */
      setChoropleth(colours, none) {
        choropleth = colours ? { colours, none } : null;
        mapEl.dataset.choropleth = choropleth ? String(Object.keys(colours).length) : '';
        apply();
      },
      /** The choropleth commune under a point: its code, or null. */
      choroplethAt(point) {
        if (!choropleth) return null;
        const f = at(point, ['choropleth-fill'], 0)[0];
        return f ? String(f.properties.code) : null;
      },
      /** For tests: codes of the choropleth communes drawn in the view. */
      choroplethDrawn() {
        if (!choropleth) return [];
        return Array.from(new Set(gl().queryRenderedFeatures({ layers: ['choropleth-fill'] }).map((f) => String(f.properties.code))));
      },
      /**
       * The plot under review: a GeoJSON feature with properties { id, colour }, or null. Drawn
       * with a white halo over every other flag.
       */
      setReviewPlot(feature) {
        reviewPlot = feature ? { id: String(feature.properties.id), box: feature.bbox || null } : null;
        const data = { type: 'FeatureCollection', features: feature ? [feature] : [] };
        const put = () => {
          const src = gl().getSource('review');
          if (src) src.setData(data);
        };
        if (gl().getSource('review')) put();
        else whenAdded(put);
      },
      /** For tests: the plot under review as drawn — id and box in page coordinates — or null. */
      reviewDrawn() {
        const m = gl();
        if (!reviewPlot || !m.getLayer('review-line')) return null;
        const box = mapEl.getBoundingClientRect();
        let b = null;
        for (const f of m.queryRenderedFeatures({ layers: ['review-line'] })) {
          const g = f.geometry;
          const rings = g.type === 'Polygon' ? g.coordinates : g.type === 'MultiPolygon' ? g.coordinates.flat() : g.type === 'LineString' ? [g.coordinates] : g.type === 'MultiLineString' ? g.coordinates : [];
          for (const ring of rings) {
            for (const c of ring) {
              const px = fr.toPoint(c[0], c[1]);
              const x = box.left + px.x;
              const y = box.top + px.y;
              b = b ? { x0: Math.min(b.x0, x), y0: Math.min(b.y0, y), x1: Math.max(b.x1, x), y1: Math.max(b.y1, y) } : { x0: x, y0: y, x1: x, y1: y };
            }
          }
        }
        if (!b) return null;
        return { id: reviewPlot.id, left: b.x0, top: b.y0, right: b.x1, bottom: b.y1, width: b.x1 - b.x0, height: b.y1 - b.y0 };
      },
      /**
       * The survey imagery (the mosaic of the ready surveys the user may see, tiles behind the
       * token): shown over `bounds` ([w, s, e, n], or the whole map when null); `off` hides it.
       */
      setImagery(on, bounds) {
        imagery = on ? { bounds: bounds || null } : null;
        apply();
      },
      /**
       * The dashboard's heat map: raster tiles of `spec.template` (an absolute URL with {z}/{x}/{y},
       * asked with the token) between `minzoom` and `maxzoom`, inside `bounds` ([w, s, e, n] or
       * null), at `opacity`; null removes it. `listener(event, detail)` hears 'loading', 'tile',
       * 'error' (detail: the message) and 'idle' (nothing more to load in this view).
       */
      setHeat(spec, listener) {
        heat = spec ? { template: spec.template, minzoom: spec.minzoom, maxzoom: spec.maxzoom, bounds: spec.bounds || null, opacity: spec.opacity } : null;
        heatListener = spec ? listener || null : null;
        apply();
      },
      /** Whether the heat map's tiles in view are all loaded (false while any is in flight). */
      heatSettled() {
        const m = gl();
        return !heat || !m.getSource('heat') || m.isSourceLoaded('heat');
      },
      /** For tests: URLs of the heat tiles drawn with pixels since the layer was last made. */
      heatTilesDrawn() {
        return Array.from(heatTiles.values());
      },
      /**
       * The alpha of the heat tile's pixel at a lon/lat, as the map draws it at its zoom (the tile
       * is fetched again with the token, from the browser's cache when it can): a number, 0 where
       * the tile is empty, or null when no heat tile covers the point.
       */
      async heatAlphaAt(lon, lat) {
        if (!heat) return null;
        // Raster sources take the rounded zoom (of 256-pixel tiles: the frame's zoom).
        const shown = Math.round(fr.zoom());
        if (shown < heat.minzoom) return null; // not drawn below its minzoom
        const z = Math.min(heat.maxzoom, shown);
        const n = 2 ** z;
        const fx = ((lon + 180) / 360) * n;
        const r = (lat * Math.PI) / 180;
        const fy = ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n;
        const x = Math.floor(fx);
        const y = Math.floor(fy);
        if (x < 0 || y < 0 || x >= n || y >= n) return null;
        const res = await fetch(heatUrl(z, x, y), { headers: { Authorization: 'Bearer ' + opts.token() }, credentials: 'omit' });
        if (res.status === 204) return 0;
        if (!res.ok) return null;
        const bmp = await createImageBitmap(await res.blob());
        const c = document.createElement('canvas');
        c.width = 1;
        c.height = 1;
        const g = c.getContext('2d', { willReadFrequently: true });
        g.drawImage(bmp, Math.floor((fx - x) * bmp.width), Math.floor((fy - y) * bmp.height), 1, 1, 0, 0, 1, 1);
        bmp.close();
        return g.getImageData(0, 0, 1, 1).data[3];
      },
      /**
       * One of the dashboard's analysis layers (`gistar`, `emerging`, `clusters`): a GeoJSON
       * FeatureCollection whose features carry `_id`, `_colour`, `_opacity`, `_stroke` and
       * `_weight`, or null to clear it.
       */
      setAnalysis(key, fc) {
        const data = fc || { type: 'FeatureCollection', features: [] };
        analysisOn[key] = !!fc;
        analysisData[key] = data;
        const put = () => {
          const src = gl().getSource(`hs-${key}`);
          if (src) src.setData(data);
        };
        if (gl().getSource(`hs-${key}`)) put();
        else whenAdded(put);
      },
      /** The analysis feature under a point, topmost layer first: { key, id }, or null. */
      analysisAt(point) {
        for (const k of ANALYSIS.slice().reverse()) {
          if (!analysisOn[k]) continue;
          const f = at(point, analysisIds(k), 0)[0];
          if (f) return { key: k, id: String(f.properties._id) };
        }
        return null;
      },
      /**
       * For tests: the features of one analysis layer the map holds (one per `_id`), with their
       * colour and whether the map draws them in the view now.
       */
      analysisDrawn(key) {
        const m = gl();
        if (!analysisOn[key] || !m.getLayer(`hs-${key}-fill`)) return [];
        const rendered = new Set(m.queryRenderedFeatures({ layers: analysisIds(key) }).map((f) => String(f.properties._id)));
        const seen = new Map();
        for (const f of (analysisData[key] || { features: [] }).features) {
          const p = f.properties;
          if (!seen.has(String(p._id))) seen.set(String(p._id), { id: String(p._id), colour: p._colour, count: p._count === undefined ? null : p._count, kind: p._kind || null, rendered: rendered.has(String(p._id)) });
        }
        return Array.from(seen.values());
      },
      /** Survey footprints on (true) or off. */
      setSurveysVisible(on) {
        surveysOn = !!on;
        mapEl.dataset.footprintTiles = surveysOn ? 'on' : 'off';
        apply();
      },
      /** The survey footprint under a point: { id, name, acquired_at }, or null. */
      surveyAt(point) {
        const m = gl();
        if (!m.getLayer('survey-fill') || m.getLayoutProperty('survey-fill', 'visibility') === 'none') return null;
        const f = at(point, ['survey-fill'])[0];
        return f ? { id: String(f.properties.id), name: f.properties.name, acquired_at: f.properties.acquired_at } : null;
      },
      /** For tests: ids of the survey footprints drawn in the view. */
      surveysDrawn() {
        const m = gl();
        if (!m.getLayer('survey-fill') || m.getLayoutProperty('survey-fill', 'visibility') === 'none') return [];
        return Array.from(new Set(m.queryRenderedFeatures({ layers: ['survey-fill'] }).map((f) => String(f.properties.id))));
      },
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
      /** The hotspot point under a container point, or null. */
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
          const px = fr.toPoint(c[0], c[1]);
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
      /** Takes the overlay off the map: its layers, sources (and their tiles) and listeners. */
      remove() {
        removed = true;
        for (const [type, fn] of handlers) m0.off(type, fn);
        if (added) {
          const ids = m0.getStyle().layers.map((l) => l.id);
          for (const id of ids) if (!BASE_LAYERS.includes(id)) m0.removeLayer(id);
          for (const id of Object.keys(m0.getStyle().sources)) if (id !== 'basemap') m0.removeSource(id);
        }
        fr.setRequest(null);
        delete mapEl.dataset.tiles;
      }
    };
  }

  window.VigilVectorMap = { frame, layerSwitcher, overlay, bboxOf, padBox, protocol: setUp };
})();
