/* Vigil web map — hotspot analysis in the dashboard ("Phân tích điểm nóng", issue 6, item 3).
 *
 * Plain ES2020, no build step: defines window.VigilHotspotLayers, which dashboard.js puts in its
 * panel and tells which province the dashboard shows. Four switchable map layers over the active
 * hotspots of that province, each with a legend on the map and a Vietnamese popup:
 *   heat      GET /v1/analytics/density.json?province=&bandwidth_m=   TileJSON (tiles, bounds,
 *             minzoom, maxzoom, vigil:max, vigil:unit), then its PNG tiles with the bearer token
 *             (a raster source of the map's vector overlay, like the survey imagery); ramp
 *             ColorBrewer YlOrRd;
 *   gistar    GET /v1/analytics/gistar?province=&grid=commune|hex[&cell_m=]&permutations=999
 *             units coloured by class_fdr (ArcGIS's red/blue bins);
 *   clusters  GET /v1/analytics/clusters?province=&eps_m=150&min_points=3   suggested tụ điểm;
 *   emerging  GET /v1/analytics/emerging?province=&grid=commune&step=quarter&periods=12&measure=active
 *             units coloured by pattern, a strip of the per-period bins in the popup.
 * State for tests and assistive tech: #dash-hotspots[data-province], #hs-on-KEY (checkboxes),
 * #hs-status-KEY[data-state=off|loading|ready|error|zoom], #hs-legend-KEY[data-state] with
 * data-max/data-tiles (heat), data-classes/data-units (gistar), data-count (clusters),
 * data-patterns/data-periods (emerging). Gi*, suggested clusters and emerging hot spots are drawn
 * by the map's vector overlay (vector-map.js, `setAnalysis`) from the features loaded here, each
 * carrying its colour; the map's hover and click come back here for the text and the popup
 * (`hoverText`, `openPopup`). The heat map is a raster source of the same overlay (`setHeat`);
 * its popup reads the density back from the pixel of the tile drawn there.
 */
(function () {
  'use strict';

  const I = window.VigilI18n;
  const t = (k, p) => I.t(k, p);
  const $ = (sel, root) => (root || document).querySelector(sel);

  const KEYS = ['heat', 'gistar', 'clusters', 'emerging'];
  const BANDWIDTHS = ['500', '1000', '2000'];
  const GRIDS = ['commune', 'hex2000', 'hex5000'];
  const CLUSTER_EPS_M = 150;
  const CLUSTER_MIN_POINTS = 3;
  const EMERGING_PERIODS = 12;
  // ColorBrewer YlOrRd (5 classes): pale yellow → dark red, the server's density ramp (the
  // TileJSON's vigil:ramp wins). Tiles are linear in density up to vigil:max, alpha 96 + 159·t.
  const YLORRD = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];
  const HEAT_ALPHA = [96, 159];
  // ArcGIS's Gi_Bin colours, hot (red) to cold (blue).
  const GI_CLASSES = ['hot_99', 'hot_95', 'hot_90', 'not_significant', 'cold_90', 'cold_95', 'cold_99'];
  const GI_COLORS = {
    hot_99: '#d62f27',
    hot_95: '#ed7551',
    hot_90: '#fab984',
    not_significant: '#eeeeee',
    cold_90: '#c0ccbe',
    cold_95: '#849eba',
    cold_99: '#4575b5'
  };
  // Esri's emerging hot spot patterns: reds for hot, blues for cold, darker the stronger.
  const PATTERNS = [
    'new_hot_spot',
    'consecutive_hot_spot',
    'intensifying_hot_spot',
    'persistent_hot_spot',
    'diminishing_hot_spot',
    'sporadic_hot_spot',
    'oscillating_hot_spot',
    'historical_hot_spot',
    'new_cold_spot',
    'consecutive_cold_spot',
    'intensifying_cold_spot',
    'persistent_cold_spot',
    'diminishing_cold_spot',
    'sporadic_cold_spot',
    'oscillating_cold_spot',
    'historical_cold_spot',
    'no_pattern'
  ];
  const PATTERN_COLORS = {
    new_hot_spot: '#67000d',
    consecutive_hot_spot: '#a50f15',
    intensifying_hot_spot: '#cb181d',
    persistent_hot_spot: '#ef3b2c',
    diminishing_hot_spot: '#fb6a4a',
    sporadic_hot_spot: '#fc9272',
    oscillating_hot_spot: '#fcbba1',
    historical_hot_spot: '#fee0d2',
    new_cold_spot: '#08306b',
    consecutive_cold_spot: '#08519c',
    intensifying_cold_spot: '#2171b5',
    persistent_cold_spot: '#4292c6',
    diminishing_cold_spot: '#6baed6',
    sporadic_cold_spot: '#9ecae1',
    oscillating_cold_spot: '#c6dbef',
    historical_cold_spot: '#deebf7',
    no_pattern: '#ffffff'
  };
  const BIN_COLORS = { 1: '#d62f27', 0: '#d9d9d9', '-1': '#4575b5' };

  const S = {
    ctx: null,
    extra: null, // { communeName(code) }
    visible: false,
    area: { province: null, national: false, label: '' },
    on: { heat: false, gistar: false, clusters: false, emerging: false },
    opt: { bandwidth: '1000', grid: 'commune' },
    seq: { heat: 0, gistar: 0, clusters: 0, emerging: 0 },
    loadedFor: {}, // key -> query the data is for
    data: {}, // key -> the API's answer (TileJSON or FeatureCollection)
    layers: {}, // key -> what the map's overlay was given (truthy while drawn)
    tiles: { loaded: 0, errors: 0, lastError: '' },
    heatClick: null, // timer of a pending heat map popup
    status: {}, // key -> { state, text }
    control: null, // removes the legends' map control
    folded: {} // key -> true when the user folded its legend
  };

  // ------------------------------------------------------------------ helpers

  const fmt = (v, digits) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return t('dash.none');
    const f = 10 ** (digits === undefined ? 2 : digits);
    return I.num(Math.round(v * f) / f);
  };

  function fmtP(p) {
    if (typeof p !== 'number' || !Number.isFinite(p)) return t('dash.none');
    if (p < 0.001) return `< ${I.num(0.001)}`;
    return fmt(p, 3);
  }

  /** The server's Vietnamese label in Vietnamese, ours in English (or when the server sent none). */
  function labelOf(prefix, code, serverLabel) {
    const own = t(`${prefix}.${code}`);
    if (I.lang === 'vi' && serverLabel) return serverLabel;
    return own === `${prefix}.${code}` ? serverLabel || code : own;
  }

  const layerName = (key) => t(`hs.layer.${key}`);

  function areaQuery() {
    return S.area.province ? `province=${encodeURIComponent(S.area.province)}` : '';
  }

  function queryFor(key) {
    const a = areaQuery();
    const join = (rest) => [a, rest].filter(Boolean).join('&');
    if (key === 'heat') return join(`bandwidth_m=${S.opt.bandwidth}`);
    if (key === 'gistar') {
      const g = S.opt.grid === 'commune' ? 'grid=commune' : `grid=hex&cell_m=${S.opt.grid.slice(3)}`;
      return join(`${g}&permutations=999`);
    }
    if (key === 'clusters') return join(`eps_m=${CLUSTER_EPS_M}&min_points=${CLUSTER_MIN_POINTS}`);
    return join(`grid=commune&step=quarter&periods=${EMERGING_PERIODS}&measure=active`);
  }

  function unitName(id) {
    const n = S.extra && S.extra.communeName ? S.extra.communeName(String(id)) : null;
    return n ? `${n} (${id})` : String(id);
  }

  function setStatus(key, state, text) {
    S.status[key] = { state, text: text || '' };
    const el = $(`#hs-status-${key}`);
    if (!el) return;
    el.dataset.state = state;
    el.textContent = text || '';
    el.classList.toggle('is-error', state === 'error');
  }

  function errorText(key, e) {
    const detail = e && e.message ? e.message : t('error.generic');
    return t('hs.error', { layer: layerName(key), detail });
  }

  // ------------------------------------------------------------------ panel section

  /** The section in the dashboard panel (built again on a language switch, from S). */
  function section(ctx, extra) {
    S.ctx = ctx;
    S.extra = extra || null;
    const h = ctx.h;
    const check = (key) =>
      h('input', {
        type: 'checkbox',
        id: `hs-on-${key}`,
        'data-testid': `hs-on-${key}`,
        'aria-describedby': `hs-status-${key}`,
        checked: S.on[key],
        onchange: (e) => toggle(key, e.target.checked)
      });
    const status = (key) => {
      const st = S.status[key] || { state: 'off', text: '' };
      return h('span', { id: `hs-status-${key}`, class: `hs-status${st.state === 'error' ? ' is-error' : ''}`, 'data-testid': `hs-status-${key}`, 'data-state': st.state, 'aria-live': 'polite', text: st.text });
    };
    const row = (key, ...opts) =>
      h(
        'li',
        { class: 'hs-layer', 'data-layer': key },
        h('label', { class: 'hs-check', for: `hs-on-${key}` }, check(key), h('span', { text: layerName(key) })),
        opts.length ? h('span', { class: 'hs-opts' }, opts) : null,
        h('p', { class: 'muted hs-what', text: t(`hs.what.${key}`) }),
        status(key)
      );
    const bw = h(
      'select',
      { id: 'hs-bandwidth', 'data-testid': 'hs-bandwidth', 'aria-label': t('hs.bandwidth'), onchange: (e) => setOption('bandwidth', e.target.value, 'heat') },
      BANDWIDTHS.map((v) => h('option', { value: v, text: t(`hs.bandwidth.${v}`) }))
    );
    bw.value = S.opt.bandwidth;
    const grid = h(
      'select',
      { id: 'hs-grid', 'data-testid': 'hs-grid', 'aria-label': t('hs.grid'), onchange: (e) => setOption('grid', e.target.value, 'gistar') },
      GRIDS.map((v) => h('option', { value: v, text: t(`hs.grid.${v}`) }))
    );
    grid.value = S.opt.grid;
    const box = h(
      'section',
      { id: 'dash-hotspots', class: 'dash-hotspots', 'data-testid': 'dash-hotspots', 'aria-labelledby': 'hs-heading', 'data-province': S.area.province || '' },
      h('h3', { id: 'hs-heading', text: t('hs.heading') }),
      h('p', { id: 'hs-area', class: 'muted', text: areaText() }),
      h(
        'ul',
        { class: 'hs-layers' },
        row('heat', h('label', { for: 'hs-bandwidth', text: t('hs.bandwidth') }), bw),
        row('gistar', h('label', { for: 'hs-grid', text: t('hs.grid') }), grid),
        row('clusters'),
        row('emerging')
      )
    );
    return box;
  }

  function areaText() {
    if (S.area.province) return t('hs.area', { area: S.area.label || S.area.province });
    if (S.area.national) return t('hs.area.country');
    return t('hs.area.none', { area: S.area.label || '' });
  }

  function setOption(name, value, key) {
    S.opt[name] = value;
    if (S.on[key] && S.visible) load(key);
  }

  function toggle(key, on) {
    S.on[key] = on;
    if (!on) {
      S.seq[key] += 1;
      removeLayer(key);
      setStatus(key, 'off', '');
      renderLegends();
      return;
    }
    if (S.visible) load(key);
  }

  /** The dashboard shows `area` ({province, label}); the panel is open when `visible`. */
  function setArea(area, visible) {
    const before = S.area.province;
    S.area = { province: (area && area.province) || null, national: !!(area && area.national), label: (area && area.label) || '' };
    S.visible = !!visible;
    const box = $('#dash-hotspots');
    if (box) box.dataset.province = S.area.province || '';
    const at = $('#hs-area');
    if (at) at.textContent = areaText();
    if (!S.visible) {
      hide();
      return;
    }
    for (const key of KEYS) {
      if (!S.on[key]) continue;
      if (before !== S.area.province || S.loadedFor[key] !== queryFor(key) || !S.data[key]) load(key);
      else if (!S.layers[key]) draw(key);
    }
    renderLegends();
  }

  /** The panel closed: every layer and the legends leave the map (the switches stay). */
  function hide() {
    S.visible = false;
    for (const key of KEYS) {
      S.seq[key] += 1;
      removeLayer(key);
      if (S.on[key] && S.status[key] && S.status[key].state === 'loading') setStatus(key, 'off', '');
    }
    removeControl();
  }

  /** The language changed: popups and legends again, from the data already loaded. */
  function relabel() {
    if (!S.visible) return;
    for (const key of KEYS) {
      if (!S.on[key]) continue;
      if (S.data[key] && S.layers[key] && key !== 'heat') {
        removeLayer(key);
        draw(key);
      }
      const st = S.status[key];
      if (st && st.state === 'ready') setStatus(key, 'ready', readyText(key));
    }
    renderLegends();
  }

  // ------------------------------------------------------------------ loading

  async function load(key) {
    const seq = (S.seq[key] += 1);
    const query = queryFor(key);
    removeLayer(key);
    S.data[key] = null;
    S.loadedFor[key] = null;
    setStatus(key, 'loading', t('hs.loading'));
    renderLegends();
    const path = key === 'heat' ? `v1/analytics/density.json?${query}` : `v1/analytics/${key}?${query}`;
    try {
      const { data } = await S.ctx.api(path);
      if (seq !== S.seq[key] || !S.visible) return;
      if (!data || typeof data !== 'object') throw new Error(t('hs.error.shape'));
      if (key !== 'heat' && !Array.isArray(data.features)) throw new Error(t('hs.error.shape'));
      S.data[key] = data;
      S.loadedFor[key] = query;
      draw(key);
      if (key !== 'heat') setStatus(key, 'ready', readyText(key));
      renderLegends();
    } catch (e) {
      if (seq !== S.seq[key]) return;
      if (e instanceof S.ctx.ApiError && e.status === 401) return;
      if (!S.area.province && e instanceof S.ctx.ApiError && e.status === 400) {
        setStatus(key, 'error', t('hs.hint.province'));
      } else {
        setStatus(key, 'error', errorText(key, e));
      }
      renderLegends();
    }
  }

  function readyText(key) {
    const d = S.data[key];
    if (!d) return '';
    if (key === 'heat') return t('hs.ready.heat', { n: S.tiles.loaded });
    const n = d.features.length;
    if (key === 'clusters') return t('hs.ready.clusters', { n });
    if (key === 'gistar') {
      const hot = d.features.filter((f) => String((f.properties || {}).class_fdr || '').startsWith('hot_')).length;
      const cold = d.features.filter((f) => String((f.properties || {}).class_fdr || '').startsWith('cold_')).length;
      return t('hs.ready.gistar', { n, hot, cold });
    }
    return t('hs.ready.emerging', { n, p: (d.periods || []).length });
  }

  const vector = () => (S.ctx && S.ctx.vector ? S.ctx.vector() : null);
  /** A unit's id (commune code or hexagon) and a cluster's number, as the API gives them. */
  const unitId = (f) => ((f.properties || {}).id !== undefined ? f.properties.id : f.id);
  const clusterId = (f) => ((f.properties || {}).cluster !== undefined ? f.properties.cluster : f.id);

  function removeLayer(key) {
    const l = S.layers[key];
    if (l && vector()) {
      if (key === 'heat') vector().setHeat(null);
      else vector().setAnalysis(key, null);
    }
    S.layers[key] = null;
  }

  /**
   * Hands one analysis layer to the map's vector overlay: each feature with geometry, its `_id`
   * and how it is drawn (`style(f)` → { colour, opacity, stroke, weight }, plus any extra
   * `_…` properties for tests).
   */
  function toVector(key, fc, idOf, style) {
    const v = vector();
    if (!v) return null;
    const features = fc.features
      .filter((f) => f.geometry)
      .map((f) => {
        const st = style(f);
        const props = { _id: String(idOf(f)), _colour: st.colour, _opacity: st.opacity, _stroke: st.stroke, _weight: st.weight };
        for (const [k, val] of Object.entries(st.extra || {})) props[`_${k}`] = val;
        return { type: 'Feature', geometry: f.geometry, properties: props };
      });
    v.setAnalysis(key, { type: 'FeatureCollection', features });
    return { key };
  }

  /** The source feature of an analysis layer with id `id`, or null. */
  function featureOf(key, id) {
    const fc = S.data[key];
    if (!fc || !Array.isArray(fc.features)) return null;
    const idOf = key === 'clusters' ? clusterId : unitId;
    return fc.features.find((f) => String(idOf(f)) === String(id)) || null;
  }

  function draw(key) {
    if (!S.ctx.map) return;
    if (key === 'heat') drawHeat();
    else if (key === 'gistar') drawGistar();
    else if (key === 'clusters') drawClusters();
    else drawEmerging();
  }

  // ------------------------------------------------------------------ heat map

  function drawHeat() {
    const v = vector();
    if (!v) return;
    const tj = S.data.heat;
    const q = S.loadedFor.heat;
    const given = Array.isArray(tj.tiles) && typeof tj.tiles[0] === 'string' && tj.tiles[0].includes('{z}') ? tj.tiles[0] : null;
    const spec = {
      template: S.ctx.tileUrl(given || `v1/analytics/density/{z}/{x}/{y}.png?${q}`),
      minzoom: Number.isInteger(tj.minzoom) ? tj.minzoom : 0,
      maxzoom: Number.isInteger(tj.maxzoom) ? tj.maxzoom : 22,
      bounds: Array.isArray(tj.bounds) && tj.bounds.length === 4 && tj.bounds.every((x) => typeof x === 'number') ? tj.bounds : null,
      opacity: 0.8
    };
    S.tiles = { loaded: 0, errors: 0, lastError: '' };
    const seq = S.seq.heat;
    const settle = () => {
      if (seq !== S.seq.heat || !S.layers.heat || !v.heatSettled()) return;
      if (S.status.heat && S.status.heat.state === 'zoom') return;
      if (S.tiles.errors && !S.tiles.loaded) setStatus('heat', 'error', errorText('heat', new Error(S.tiles.lastError || t('hs.error.tiles'))));
      else setStatus('heat', 'ready', readyText('heat'));
    };
    S.layers.heat = { spec };
    v.setHeat(spec, (ev, detail) => {
      if (seq !== S.seq.heat) return;
      if (ev === 'tile') {
        S.tiles.loaded += 1;
        const lg = $('#hs-legend-heat');
        if (lg) lg.dataset.tiles = String(S.tiles.loaded);
      } else if (ev === 'error') {
        S.tiles.errors += 1;
        S.tiles.lastError = detail || '';
      } else if (ev === 'loading') {
        if (!S.status.heat || S.status.heat.state !== 'zoom') setStatus('heat', 'loading', t('hs.loading'));
        return;
      }
      settle();
    });
    S.ctx.map.off('zoomend', onZoomHeat);
    S.ctx.map.on('zoomend', onZoomHeat);
    S.ctx.map.off('click', onHeatClick);
    S.ctx.map.on('click', onHeatClick);
    for (const ev of ['dblclick', 'zoomstart']) {
      S.ctx.map.off(ev, cancelHeatClick);
      S.ctx.map.on(ev, cancelHeatClick);
    }
    zoomHint();
    // Nothing to fetch in this view (outside the bounds, below minzoom): say so now.
    window.setTimeout(settle, 0);
  }

  /**
   * The density under a click, read back from the tile the map draws there: the server's alpha is
   * 96 + 159·t for t = density / vigil:max, so the pixel gives the density the map shows.
   */
  async function heatAt(lngLat) {
    const tj = S.data.heat;
    const v = vector();
    if (!S.layers.heat || !tj || !v) return null;
    const a = await v.heatAlphaAt(lngLat.lng, lngLat.lat);
    if (a === null) return null;
    const max = typeof tj['vigil:max'] === 'number' ? tj['vigil:max'] : null;
    if (a === 0 || max === null) return { value: 0 };
    const t = Math.min(1, Math.max(0, (a - HEAT_ALPHA[0]) / HEAT_ALPHA[1]));
    return { value: t * max, top: t >= 1 };
  }

  function cancelHeatClick() {
    window.clearTimeout(S.heatClick);
    S.heatClick = null;
  }

  /** A click, unless a second one makes it a double-click (which zooms). */
  function onHeatClick(e) {
    if (!S.layers.heat || !S.data.heat) return;
    // Only where no other layer answers the click (the choropleth has tooltips only).
    const v = vector();
    if (v && (v.analysisAt(e.point) || v.hotspotAt(e.point) || v.flagAt(e.point))) return;
    cancelHeatClick();
    const lngLat = e.lngLat;
    S.heatClick = window.setTimeout(() => {
      S.heatClick = null;
      heatPopup(lngLat);
    }, 300);
  }

  async function heatPopup(lngLat) {
    if (!S.layers.heat || !S.data.heat) return;
    const seq = S.seq.heat;
    const v = await heatAt(lngLat).catch(() => null);
    if (!v || seq !== S.seq.heat || !S.layers.heat) return;
    const h = S.ctx.h;
    const unit = heatUnit(S.data.heat['vigil:unit']);
    const text = v.value > 0 ? t(v.top ? 'hs.heat.at.top' : 'hs.heat.at', { v: fmt(v.value, v.value < 10 ? 2 : 1), unit }) : t('hs.heat.at.none');
    S.ctx.map.popup(
      lngLat.lng,
      lngLat.lat,
      h(
        'div',
        { class: 'hs-popup', 'data-layer': 'heat', 'data-value': String(v.value) },
        h('strong', { text: layerName('heat') }),
        h('p', { class: 'hs-popup-label', text }),
        h('p', { class: 'muted', text: t('hs.heat.at.note', { bw: t(`hs.bandwidth.${S.opt.bandwidth}`) }) })
      ),
      { className: 'hs-popup-box' }
    );
  }

  function onZoomHeat() {
    if (S.layers.heat) zoomHint();
  }

  /** Below the TileJSON's minzoom the map asks for nothing: say so instead of "loading". */
  function zoomHint() {
    const min = S.layers.heat && S.layers.heat.spec.minzoom;
    if (typeof min === 'number' && S.ctx.map.zoom() < min) setStatus('heat', 'zoom', t('hs.heat.zoom', { z: min }));
    else if (S.status.heat && S.status.heat.state === 'zoom') setStatus('heat', 'loading', t('hs.loading'));
  }

  function heatUnit(u) {
    if (!u) return t('hs.heat.unit');
    return /km/i.test(String(u)) ? t('hs.heat.unit') : String(u);
  }

  function heatLegend(h) {
    const tj = S.data.heat;
    const max = typeof tj['vigil:max'] === 'number' ? tj['vigil:max'] : null;
    const unit = heatUnit(tj['vigil:unit']);
    const given = Array.isArray(tj['vigil:ramp']) && tj['vigil:ramp'].every((c) => /^#[0-9a-f]{6}$/i.test(c)) ? tj['vigil:ramp'] : null;
    const ramp = given || YLORRD;
    const bar = h('div', { class: 'hs-ramp', style: `background: linear-gradient(to right, ${ramp.join(', ')})`, 'aria-hidden': 'true' });
    const ticks = h(
      'div',
      { class: 'hs-ramp-ticks' },
      h('span', { text: I.num(0) }),
      h('span', { text: max === null ? '' : fmt(max / 2, max < 10 ? 2 : 1) }),
      h('span', { text: max === null ? t('dash.none') : fmt(max, max < 10 ? 2 : 1) })
    );
    return [
      h('p', { class: 'muted', text: t('hs.heat.legend', { bw: t(`hs.bandwidth.${S.opt.bandwidth}`), unit }) }),
      bar,
      ticks,
      max === 0 ? h('p', { class: 'muted', text: t('hs.heat.empty') }) : null
    ];
  }

  // ------------------------------------------------------------------ Gi*

  const giClass = (f) => {
    const c = String((f.properties || {}).class_fdr || 'not_significant');
    return GI_CLASSES.includes(c) ? c : 'not_significant';
  };

  function popupRows(h, rows) {
    return h(
      'dl',
      { class: 'hs-popup-dl' },
      rows.filter(Boolean).flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])
    );
  }

  const gistarName = (id) => (S.opt.grid === 'commune' ? unitName(id) : t('hs.hex', { id }));

  function drawGistar() {
    S.layers.gistar = toVector(
      'gistar',
      S.data.gistar,
      unitId,
      (f) => {
        const c = giClass(f);
        return { colour: GI_COLORS[c], opacity: c === 'not_significant' ? 0.3 : 0.75, stroke: '#555555', weight: 0.8, extra: { kind: c } };
      }
    );
  }

  function gistarHover(f) {
    const p = f.properties || {};
    const id = unitId(f);
    return `${gistarName(id)}: ${labelOf('hs.gi', giClass(f), p.label)}`;
  }

  function gistarPopup(h, f) {
    const p = f.properties || {};
    const id = unitId(f);
    return h(
      'div',
      { class: 'hs-popup', 'data-layer': 'gistar', 'data-id': String(id) },
      h('strong', { text: gistarName(id) }),
      h('p', { class: `hs-popup-label hs-gi-${giClass(f)}`, text: labelOf('hs.gi', giClass(f), p.label) }),
      popupRows(h, [
        [t('hs.gi.value'), fmt(p.value, 0)],
        [t('hs.gi.z'), fmt(p.z, 2)],
        [t('hs.gi.p_fdr'), fmtP(p.p_fdr)]
      ])
    );
  }

  function gistarLegend(h) {
    const fc = S.data.gistar;
    const counts = {};
    for (const f of fc.features) counts[giClass(f)] = (counts[giClass(f)] || 0) + 1;
    return [
      h('p', { class: 'muted', text: t(`hs.gi.legend.${S.opt.grid === 'commune' ? 'commune' : 'hex'}`, { km: S.opt.grid.slice(3) / 1000 }) }),
      h(
        'ul',
        null,
        GI_CLASSES.map((c) =>
          h(
            'li',
            { 'data-class': c, class: counts[c] ? '' : 'is-absent' },
            h('span', { class: 'dash-swatch', style: `background:${GI_COLORS[c]}`, 'aria-hidden': 'true' }),
            `${labelOf('hs.gi', c, null)} (${I.num(counts[c] || 0)})`
          )
        )
      )
    ];
  }

  // ------------------------------------------------------------------ clusters

  const clusterCount = (p) => (typeof p.count === 'number' ? p.count : Array.isArray(p.members) ? p.members.length : 0);

  /** The middle of a GeoJSON geometry's bbox. */
  function middle(g) {
    let w = Infinity;
    let s = Infinity;
    let e = -Infinity;
    let n = -Infinity;
    const walk = (c) => {
      if (typeof c[0] === 'number') {
        w = Math.min(w, c[0]);
        e = Math.max(e, c[0]);
        s = Math.min(s, c[1]);
        n = Math.max(n, c[1]);
      } else c.forEach(walk);
    };
    walk(g.coordinates);
    return [(w + e) / 2, (s + n) / 2];
  }

  function drawClusters() {
    // A cluster is a few hundred metres across: besides its outline, a dot at its middle keeps it
    // on the map when zoomed out (the map drops outlines smaller than a pixel).
    const fc = S.data.clusters;
    const withDots = {
      type: 'FeatureCollection',
      features: fc.features.flatMap((f) =>
        f.geometry && f.geometry.type !== 'Point' ? [f, Object.assign({}, f, { geometry: { type: 'Point', coordinates: middle(f.geometry) } })] : [f]
      )
    };
    S.layers.clusters = toVector(
      'clusters',
      withDots,
      clusterId,
      (f) => ({ colour: '#ab47bc', opacity: f.geometry.type === 'Point' ? 0.85 : 0.35, stroke: '#6a1b9a', weight: 2, extra: { count: clusterCount(f.properties || {}) } })
    );
  }

  function clusterHover(f) {
    const p = f.properties || {};
    const id = clusterId(f);
    return t('hs.cluster.tooltip', { id, n: I.num(clusterCount(p)) });
  }

  function clusterPopup(h, f) {
    const p = f.properties || {};
    const id = clusterId(f);
    return h(
      'div',
      { class: 'hs-popup', 'data-layer': 'clusters', 'data-id': String(id) },
      h('strong', { text: t('hs.cluster.title', { id }) }),
      popupRows(h, [
        [t('hs.cluster.count'), I.num(clusterCount(p))],
        typeof p.radius_m === 'number' ? [t('hs.cluster.radius'), `${fmt(p.radius_m, 0)} m`] : null,
        Array.isArray(p.members) && p.members.length ? [t('hs.cluster.members'), p.members.slice(0, 12).map((m) => `#${m}`).join(', ') + (p.members.length > 12 ? ' …' : '')] : null
      ])
    );
  }

  function clustersLegend(h) {
    const n = S.data.clusters.features.length;
    return [
      h(
        'ul',
        null,
        h('li', null, h('span', { class: 'dash-swatch hs-swatch-cluster', 'aria-hidden': 'true' }), t('hs.cluster.legend', { eps: CLUSTER_EPS_M, min: CLUSTER_MIN_POINTS }))
      ),
      h('p', { class: 'muted', text: t('hs.ready.clusters', { n: I.num(n) }) })
    ];
  }

  // ------------------------------------------------------------------ emerging

  const patternOf = (f) => {
    const p = String((f.properties || {}).pattern || 'no_pattern');
    return PATTERNS.includes(p) ? p : 'no_pattern';
  };

  function binStrip(h, bins, periods) {
    const list = Array.isArray(bins) ? bins : [];
    const w = 10;
    const root = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    root.setAttribute('viewBox', `0 0 ${list.length * w} 12`);
    root.setAttribute('width', String(list.length * w));
    root.setAttribute('height', '12');
    root.setAttribute('class', 'hs-strip');
    root.setAttribute('role', 'img');
    const words = list.map((b, i) => {
      const per = periods[i] ? periods[i].label || periods[i].code : String(i + 1);
      return `${per}: ${t(`hs.bin.${b > 0 ? 'hot' : b < 0 ? 'cold' : 'none'}`)}`;
    });
    root.setAttribute('aria-label', words.join('; '));
    list.forEach((b, i) => {
      const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
      r.setAttribute('x', String(i * w));
      r.setAttribute('y', '0');
      r.setAttribute('width', String(w - 1));
      r.setAttribute('height', '12');
      r.setAttribute('fill', BIN_COLORS[String(Math.sign(b))] || BIN_COLORS[0]);
      r.setAttribute('data-bin', String(b));
      const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
      title.textContent = words[i];
      r.append(title);
      root.append(r);
    });
    const first = periods[0] ? periods[0].label || periods[0].code : '';
    const last = periods.length ? periods[periods.length - 1].label || periods[periods.length - 1].code : '';
    return h('div', { class: 'hs-strip-box' }, root, first ? h('p', { class: 'muted hs-strip-range', text: `${first} → ${last}` }) : null);
  }

  function drawEmerging() {
    S.layers.emerging = toVector(
      'emerging',
      S.data.emerging,
      unitId,
      (f) => {
        const pt = patternOf(f);
        return { colour: PATTERN_COLORS[pt], opacity: pt === 'no_pattern' ? 0.15 : 0.75, stroke: '#555555', weight: 0.8, extra: { kind: pt } };
      }
    );
  }

  function emergingHover(f) {
    const p = f.properties || {};
    const id = unitId(f);
    return `${unitName(id)}: ${labelOf('hs.pattern', patternOf(f), p.label)}`;
  }

  function emergingPopup(h, f) {
    const p = f.properties || {};
    const id = unitId(f);
    const periods = Array.isArray(S.data.emerging.periods) ? S.data.emerging.periods : [];
    const values = Array.isArray(p.values) ? p.values : [];
    const trend = p.trend ? t(`hs.trend.${p.trend}`) : t('dash.none');
    return h(
      'div',
      { class: 'hs-popup', 'data-layer': 'emerging', 'data-id': String(id) },
      h('strong', { text: unitName(id) }),
      h('p', { class: 'hs-popup-label', text: labelOf('hs.pattern', patternOf(f), p.label) }),
      binStrip(h, p.bins, periods),
      popupRows(h, [
        [t('hs.em.trend'), typeof p.trend_p === 'number' ? `${trend} (p ${fmtP(p.trend_p)})` : trend],
        values.length ? [t('hs.em.values'), values.map((v) => fmt(v, 0)).join(' · ')] : null
      ])
    );
  }

  /** The map's hover text for an analysis feature ({ key, id } from the overlay), or null. */
  function hoverText(hit) {
    const f = hit && featureOf(hit.key, hit.id);
    if (!f) return null;
    return hit.key === 'gistar' ? gistarHover(f) : hit.key === 'clusters' ? clusterHover(f) : emergingHover(f);
  }

  /** A click on an analysis feature: its popup at `lngLat`. */
  function openPopup(hit, lngLat) {
    const f = hit && featureOf(hit.key, hit.id);
    if (!f) return false;
    const h = S.ctx.h;
    const content = hit.key === 'gistar' ? gistarPopup(h, f) : hit.key === 'clusters' ? clusterPopup(h, f) : emergingPopup(h, f);
    S.ctx.map.popup(lngLat.lng, lngLat.lat, h('div', { class: 'hs-popup-wrap' }, content), { className: 'hs-popup-box', minWidth: hit.key === 'emerging' ? 180 : 50 });
    return true;
  }

  function emergingLegend(h) {
    const fc = S.data.emerging;
    const counts = {};
    for (const f of fc.features) counts[patternOf(f)] = (counts[patternOf(f)] || 0) + 1;
    const present = PATTERNS.filter((p) => counts[p]);
    const periods = Array.isArray(fc.periods) ? fc.periods : [];
    const labels = {};
    for (const f of fc.features) if (f.properties && f.properties.label) labels[patternOf(f)] = f.properties.label;
    const range = periods.length ? `${periods[0].label || periods[0].code} – ${periods[periods.length - 1].label || periods[periods.length - 1].code}` : '';
    return [
      h('p', { class: 'muted', text: t('hs.em.legend', { n: periods.length, range }) }),
      present.length
        ? h(
            'ul',
            null,
            present.map((p) =>
              h(
                'li',
                { 'data-pattern': p },
                h('span', { class: 'dash-swatch', style: `background:${PATTERN_COLORS[p]}`, 'aria-hidden': 'true' }),
                `${labelOf('hs.pattern', p, labels[p])} (${I.num(counts[p])})`
              )
            )
          )
        : h('p', { class: 'muted', text: t('hs.em.none') })
    ];
  }

  // ------------------------------------------------------------------ legends

  function removeControl() {
    if (S.control) S.control();
    S.control = null;
  }

  /** One map control holding a legend per layer that is switched on. */
  function renderLegends() {
    if (!S.ctx || !S.ctx.map) return;
    removeControl();
    if (!S.visible) return;
    const h = S.ctx.h;
    const blocks = [];
    for (const key of KEYS) {
      if (!S.on[key]) continue;
      const st = S.status[key] || { state: 'off' };
      const d = S.data[key];
      const attrs = { id: `hs-legend-${key}`, class: 'hs-legend-block', 'data-testid': `hs-legend-${key}`, 'data-layer': key, 'data-state': d ? 'ready' : st.state, 'data-query': d ? S.loadedFor[key] : '' };
      let body = null;
      if (d && key === 'heat') {
        attrs['data-max'] = typeof d['vigil:max'] === 'number' ? String(d['vigil:max']) : '';
        attrs['data-bandwidth'] = S.opt.bandwidth;
        attrs['data-tiles'] = String(S.tiles.loaded);
        body = heatLegend(h);
      } else if (d && key === 'gistar') {
        const classes = Array.from(new Set(d.features.map(giClass)));
        attrs['data-classes'] = classes.join(',');
        attrs['data-units'] = String(d.features.length);
        attrs['data-grid'] = S.opt.grid;
        body = gistarLegend(h);
      } else if (d && key === 'clusters') {
        attrs['data-count'] = String(d.features.length);
        body = clustersLegend(h);
      } else if (d && key === 'emerging') {
        attrs['data-patterns'] = PATTERNS.filter((p) => d.features.some((f) => patternOf(f) === p)).join(',');
        attrs['data-periods'] = String((d.periods || []).length);
        body = emergingLegend(h);
      } else {
        body = h('p', { class: `muted${st.state === 'error' ? ' hs-legend-error' : ''}`, text: st.state === 'error' ? st.text : t('hs.loading') });
      }
      const fold = h('details', { open: !S.folded[key] }, h('summary', null, h('strong', { text: layerName(key) })), body);
      fold.addEventListener('toggle', () => {
        S.folded[key] = !fold.open;
      });
      blocks.push(h('div', attrs, fold));
    }
    if (!blocks.length) return;
    const el = h('div', { id: 'hs-legends', class: 'dash-legend hs-legends', 'data-testid': 'hs-legends', role: 'region', 'aria-label': t('hs.legends') }, blocks);
    S.control = S.ctx.map.control(el, 'bottom-left');
  }

  /** Logged out: forget the data (the switches too). */
  function reset() {
    hide();
    for (const key of KEYS) {
      S.on[key] = false;
      S.data[key] = null;
      S.loadedFor[key] = null;
      S.status[key] = { state: 'off', text: '' };
    }
  }

  window.VigilHotspotLayers = { section, setArea, hide, relabel, reset, hoverText, openPopup, KEYS, GI_COLORS, PATTERN_COLORS };
})();
