/* Vigil web map — the flagged plots layer ("Nghi vấn trồng cây có chất ma túy").
 *
 * Plots the vegetation classifier flagged in drone surveys as possible opium poppy or cannabis,
 * every one the user may see drawn by the map's vector overlay (vector-map.js) from
 * /collections/flags/tiles/…: outlines from zoom 16 (poppy magenta/purple, cannabis yellow-green,
 * re-planting with a thick dashed outline), a dot per plot below it, counts per cell where a tile
 * holds too many. The count is the items' numberMatched over the view and the list one page of
 * them (GET /collections/flags/items), with class and minimum-confidence filters that go to the
 * tiles and the items alike, and a detail panel (#flag-panel) that explains the flag: the
 * image features that drove it, in Vietnamese, and a chip of the survey imagery around the plot
 * (GET /v1/flags/{id}/chip.png with the bearer token, shown from an object URL).
 *
 * A flag is a lead for a person to review, never a verdict: the sidebar and the panel say so.
 *
 * Plain ES2020, no build step. Defines window.VigilFlags; app.js attaches it after login with the
 * map and its API helpers, and tells it when the view changes, the language switches or the
 * session ends.
 */
(function () {
  'use strict';


  const I = window.VigilI18n;
  const t = I.t;

  const FLAG_PAGE = 500; // items listed (every flag is drawn from the tiles; numberMatched is shown)
  const LIST_MAX = 200;
  const PLOT_MAX_ZOOM = 21; // zooming to a plot stops here
  const CONFIDENCE_STEPS = ['0.5', '0.7', '0.8', '0.9', '0.95'];
  // Poppy magenta/purple, cannabis yellow-green; the stroke is what the legend and tests read.
  const CLASS_STYLE = {
    poppy: { stroke: '#c0189f', fill: '#e86bd6' },
    cannabis: { stroke: '#a8d500', fill: '#d4f55c' }
  };
  const OTHER_STYLE = { stroke: '#5b6570', fill: '#aab3bd' };
  // Features the classifier explains (src/classify/plots.rs EXPLAINED), labelled in i18n.js.
  const DRIVERS = ['speck_density', 'magenta_density', 'white_density', 'excess_green', 'g_chroma', 'blue_excess', 'texture', 'saturation', 'ndvi'];

  const S = {
    ctx: null,
    wired: false,
    on: false, // the layer's switch (the map's layer switcher and the panel's box)
    items: new Map(), // id -> { feature } of the listed page
    filters: { poppy: true, cannabis: true, minConfidence: '' },
    ctl: null,
    seq: 0,
    last: null, // { matched, drawn } of the last load
    detail: null // { id, feature, error, chip: { state, url, ctl } }
  };

  const $ = (sel) => document.querySelector(sel);
  const isOn = () => !!(S.ctx && S.ctx.map && S.on);

  /** The flags layer on or off (from the layer switcher, the panel's box, or a session's end). */
  function setOn(on) {
    const next = !!on && !!(S.ctx && S.ctx.map);
    if (next === S.on) return;
    S.on = next;
    if (next) onLayerAdd();
    else onLayerRemove();
    if (S.ctx && S.ctx.layersChanged) S.ctx.layersChanged();
  }

  // ------------------------------------------------------------- labels
  function classLabel(c) {
    return c === 'poppy' || c === 'cannabis' ? t(`flag.class.${c}`) : c || t('unknown');
  }
  function statusLabel(s) {
    const key = `flag.status.${s}`;
    const v = t(key);
    return v === key ? s || t('unknown') : v;
  }
  function driverLabel(name) {
    const key = `flag.driver.${name}`;
    const v = t(key);
    return v === key ? name : v;
  }
  const { pct, area, signed } = I;
  const styleOf = (c) => CLASS_STYLE[c] || OTHER_STYLE;
  const props = (f) => (f && f.properties) || {};
  const replanting = (p) => p.replanting === true || (p.replanting_of !== null && p.replanting_of !== undefined);

  /** "Thuốc phiện · 98% · Tái trồng": the tooltip; the label for screen readers adds the caveat. */
  function tooltipText(f) {
    const p = props(f);
    const parts = [classLabel(p.class), pct(p.confidence)];
    if (replanting(p)) parts.push(t('flag.replanting'));
    return parts.join(' · ');
  }

  // ------------------------------------------------------------- drawing
  function selectedId() {
    return S.detail ? S.detail.id : null;
  }

  const vector = () => (S.ctx && S.ctx.vector ? S.ctx.vector() : null);

  function draw(features) {
    S.items.clear();
    for (const f of features) {
      if (!f || f.id === undefined || f.id === null) continue;
      S.items.set(String(f.id), { feature: f });
    }
    highlight();
    renderList();
  }

  function clear() {
    S.items.clear();
  }

  function highlight() {
    const v = vector();
    if (v) v.setFlagSelected(selectedId());
  }

  /** The tiles' filters: the items' without the bbox; null when the layer is off. */
  function tileQuery() {
    const cs = classes();
    // Off, or no class ticked: nothing to draw.
    if (!isOn() || !cs.length) return null;
    const q = new URLSearchParams();
    if (cs.length === 1) q.set('class', cs[0]);
    if (S.filters.minConfidence) q.set('min_confidence', S.filters.minConfidence);
    return q.toString();
  }

  /** Tells the map what to draw. */
  function syncMap() {
    const v = vector();
    if (!v) return;
    v.setFlagQuery(tileQuery());
    highlight();
  }

  // ------------------------------------------------------------- loading
  function classes() {
    return ['poppy', 'cannabis'].filter((c) => S.filters[c]);
  }

  function query(bbox) {
    const q = new URLSearchParams();
    q.set('bbox', bbox);
    q.set('limit', String(FLAG_PAGE));
    const cs = classes();
    if (cs.length === 1) q.set('class', cs[0]);
    if (S.filters.minConfidence) q.set('min_confidence', S.filters.minConfidence);
    return q.toString();
  }

  /** The view moved: what is drawn is now for an older view until the next load finishes. */
  function viewChanging() {
    if (isOn()) setCount('loading');
  }

  async function reload() {
    const ctx = S.ctx;
    if (!ctx || !isOn() || !ctx.ready()) return;
    if (S.ctl) S.ctl.abort();
    const ctl = new AbortController();
    S.ctl = ctl;
    const seq = ++S.seq;
    const bbox = ctx.viewBbox();
    const mapEl = $('#map');
    setCount('loading');
    if (!classes().length) {
      clear();
      syncMap();
      renderList();
      mapEl.dataset.flagBbox = bbox;
      mapEl.dataset.flagQuery = '';
      setCount('ready', 0, 0);
      return;
    }
    const q = query(bbox);
    syncMap();
    try {
      const res = await ctx.fetchPages(`collections/flags/items?${q}`, FLAG_PAGE, ctl.signal);
      if (seq !== S.seq || !isOn()) return;
      draw(res.features);
      mapEl.dataset.flagBbox = bbox;
      mapEl.dataset.flagQuery = q;
      const matched = res.numberMatched !== null ? res.numberMatched : res.features.length;
      setCount('ready', matched, matched);
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (seq !== S.seq) return;
      if (e instanceof ctx.ApiError && e.status === 401) return;
      setCount('error', null, null, e.message || String(e));
    }
  }

  // ------------------------------------------------------------- sidebar
  function setCount(stateName, matched, drawn, message) {
    const el = $('#flag-count');
    if (!el) return;
    el.dataset.state = stateName;
    if (stateName === 'loading') {
      el.setAttribute('aria-busy', 'true');
      if (!S.last) el.textContent = t('count.loading');
      return;
    }
    el.removeAttribute('aria-busy');
    if (stateName === 'error') {
      el.textContent = `${t('flags.count.error')}: ${message || ''}`;
      return;
    }
    if (stateName === 'off') {
      S.last = null;
      delete el.dataset.count;
      delete el.dataset.drawn;
      renderCount();
      return;
    }
    S.last = { matched, drawn };
    renderCount();
  }

  function renderCount() {
    const el = $('#flag-count');
    if (!el) return;
    const c = S.last;
    if (el.dataset.state === 'off' || !c) {
      el.textContent = el.dataset.state === 'off' ? t('flags.count.off') : t('count.loading');
      return;
    }
    el.dataset.count = String(c.matched);
    el.dataset.drawn = String(c.drawn);
    const text = !classes().length ? t('flags.count.noclass') : t(c.matched === 1 ? 'flags.count.one' : 'flags.count', { n: I.num(c.matched) });
    el.replaceChildren(S.ctx.h('strong', { text }));
    if (c.drawn < c.matched) el.append(' ', S.ctx.h('span', { class: 'muted', text: t('count.shown', { m: I.num(c.drawn) }) }));
  }

  function renderControls() {
    const sel = $('#flag-min-confidence');
    if (!sel || !S.ctx) return;
    const h = S.ctx.h;
    sel.replaceChildren(h('option', { value: '', text: t('flags.filter.any') }));
    for (const v of CONFIDENCE_STEPS) sel.append(h('option', { value: v, text: `≥ ${pct(v)}` }));
    sel.value = S.filters.minConfidence;
    $('#flag-class-poppy').checked = S.filters.poppy;
    $('#flag-class-cannabis').checked = S.filters.cannabis;
    $('#flag-layer-toggle').checked = isOn();
    $('#flag-zoom').disabled = !isOn() || S.items.size === 0;
  }

  function readFilters() {
    S.filters = {
      poppy: $('#flag-class-poppy').checked,
      cannabis: $('#flag-class-cannabis').checked,
      minConfidence: $('#flag-min-confidence').value
    };
    reload();
  }

  function renderList() {
    const ul = $('#flag-list');
    const zoom = $('#flag-zoom');
    if (zoom) zoom.disabled = !isOn() || S.items.size === 0;
    if (!ul || !S.ctx) return;
    const h = S.ctx.h;
    ul.replaceChildren();
    if (!isOn()) {
      ul.append(h('li', { class: 'muted', text: t('flags.count.off') }));
      return;
    }
    const all = Array.from(S.items.values()).sort((a, b) => Number(props(b.feature).confidence) - Number(props(a.feature).confidence));
    if (!all.length) {
      ul.append(h('li', { class: 'muted', text: t('flags.list.empty') }));
      return;
    }
    for (const it of all.slice(0, LIST_MAX)) {
      const f = it.feature;
      const p = props(f);
      ul.append(
        h(
          'li',
          null,
          h(
            'button',
            { type: 'button', class: 'list-item', 'data-id': String(f.id), onclick: () => open(String(f.id), { zoom: true }) },
            swatch(p.class, replanting(p)),
            h('span', { class: 'list-name', text: `${classLabel(p.class)} · ${pct(p.confidence)}` }),
            h('span', { class: 'list-meta muted', text: [area(p.area_m2), replanting(p) ? t('flag.replanting') : null, `#${f.id}`].filter(Boolean).join(' · ') })
          )
        )
      );
    }
    if (all.length > LIST_MAX) ul.append(h('li', { class: 'muted', text: t('flags.list.more', { n: I.num(all.length - LIST_MAX) }) }));
  }

  function swatch(cls, re) {
    const c = styleOf(cls);
    const sw = S.ctx.h('span', { class: 'swatch swatch-flag' + (re ? ' is-replanting' : ''), 'aria-hidden': 'true', 'data-class': cls || '' });
    sw.style.borderColor = c.stroke;
    sw.style.backgroundColor = c.fill;
    return sw;
  }

  /** Legend entries for app.js's legend. */
  function legendItems() {
    if (!S.ctx) return [];
    const h = S.ctx.h;
    return [
      h('li', { 'data-flag-class': 'poppy' }, swatch('poppy', false), h('span', { text: t('legend.flag.poppy') })),
      h('li', { 'data-flag-class': 'cannabis' }, swatch('cannabis', false), h('span', { text: t('legend.flag.cannabis') })),
      h('li', { 'data-flag-class': 'replanting' }, swatch('', true), h('span', { text: t('legend.flag.replanting') }))
    ];
  }

  /** Fits the map to the listed flags (their bboxes). */
  function zoomToAll() {
    const map = S.ctx && S.ctx.map;
    if (!map || !S.items.size) return;
    let b = null;
    for (const it of S.items.values()) {
      const x = it.feature.bbox;
      if (!Array.isArray(x) || x.length !== 4 || !x.every((v) => isFinite(Number(v)))) continue;
      const one = x.map(Number);
      b = b ? [Math.min(b[0], one[0]), Math.min(b[1], one[1]), Math.max(b[2], one[2]), Math.max(b[3], one[3])] : one;
    }
    if (b) map.fit(b, { padding: 32, maxZoom: PLOT_MAX_ZOOM });
  }

  // --------------------------------------------------------------- panel
  function panelOpen() {
    const p = $('#flag-panel');
    return !!(p && !p.hidden);
  }

  function releaseChip() {
    const c = S.detail && S.detail.chip;
    if (!c) return;
    if (c.ctl) c.ctl.abort();
    if (c.url) URL.revokeObjectURL(c.url);
    c.url = null;
  }

  async function open(id, opts) {
    const ctx = S.ctx;
    if (!ctx) return;
    id = String(id);
    const o = opts || {};
    ctx.beforeOpen();
    const panel = $('#flag-panel');
    const switching = !S.detail || S.detail.id !== id;
    if (switching) {
      releaseChip();
      const it = S.items.get(id);
      S.detail = { id, feature: it ? it.feature : null, error: null, chip: { state: 'loading', url: null, ctl: null } };
    }
    panel.hidden = false;
    panel.dataset.id = id;
    panel.dataset.state = 'loading';
    document.body.classList.add('flag-open');
    setError('');
    highlight();
    render();
    if (switching) panel.focus({ preventScroll: true });
    if (o.zoom && S.detail.feature) zoomTo(S.detail.feature);
    try {
      const { data } = await ctx.api(`collections/flags/items/${encodeURIComponent(id)}`);
      if (!S.detail || S.detail.id !== id) return;
      if (data && typeof data === 'object' && data.properties) {
        const first = !S.detail.feature;
        S.detail.feature = data;
        if (o.zoom && first) zoomTo(data);
      }
    } catch (e) {
      if (!S.detail || S.detail.id !== id) return;
      if (e instanceof ctx.ApiError && e.status === 401) return;
      setError(e.message || String(e));
    }
    render();
    panel.dataset.state = 'ready';
    if (switching || S.detail.chip.state === 'error') loadChip(id);
  }

  function zoomTo(f) {
    const map = S.ctx && S.ctx.map;
    if (!map) return;
    const b = window.VigilVectorMap.bboxOf(f);
    if (b) map.fit(b, { padding: 48, maxZoom: PLOT_MAX_ZOOM });
  }

  async function loadChip(id) {
    const ctx = S.ctx;
    const d = S.detail;
    if (!ctx || !d || d.id !== id) return;
    const chip = d.chip;
    if (chip.ctl) chip.ctl.abort();
    const ctl = new AbortController();
    chip.ctl = ctl;
    chip.state = 'loading';
    renderChip();
    try {
      const res = await fetch(ctx.url(`v1/flags/${encodeURIComponent(id)}/chip.png`), {
        headers: { Authorization: 'Bearer ' + (ctx.token() || ''), Accept: 'image/png, image/*;q=0.8' },
        signal: ctl.signal,
        credentials: 'omit'
      });
      if (res.status === 401) {
        ctx.unauthorized();
        return;
      }
      if (S.detail !== d) return;
      if (res.status === 404) {
        chip.state = 'missing';
        renderChip();
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const blob = await res.blob();
      if (ctl.signal.aborted || S.detail !== d) return;
      chip.url = URL.createObjectURL(blob);
      chip.state = 'decoding';
      renderChip();
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (S.detail !== d) return;
      chip.state = 'error';
      chip.error = e.message || String(e);
      renderChip();
    }
  }

  /** The chip figure, from the detail's chip state (rebuilt on a language switch). */
  function chipFigure() {
    const h = S.ctx.h;
    const d = S.detail;
    const c = d.chip;
    const fig = h('figure', { class: 'flag-chip', id: 'flag-chip-figure', 'data-state': c.state });
    if (c.url) {
      const img = h('img', { id: 'flag-chip', 'data-testid': 'flag-chip', alt: t('flag.chip.alt', { id: d.id }), 'data-state': c.state === 'loaded' ? 'loaded' : 'loading' });
      img.addEventListener('load', () => {
        if (S.detail === d) c.state = 'loaded';
        img.dataset.state = 'loaded';
        fig.dataset.state = 'loaded';
      });
      img.addEventListener('error', () => {
        if (S.detail === d) c.state = 'error';
        img.dataset.state = 'error';
        fig.dataset.state = 'error';
      });
      img.src = c.url;
      fig.append(img, h('figcaption', { class: 'muted small', text: t('flag.chip.caption') }));
    } else if (c.state === 'loading' || c.state === 'decoding') {
      fig.append(h('p', { class: 'muted', text: t('flag.chip.loading') }));
    } else if (c.state === 'missing') {
      fig.append(h('p', { class: 'muted', text: t('flag.chip.missing') }));
    } else {
      fig.append(h('p', { class: 'error', text: `${t('flag.chip.error')}${c.error ? `: ${c.error}` : ''}` }));
    }
    return fig;
  }

  function renderChip() {
    const old = $('#flag-chip-figure');
    if (old && S.detail) old.replaceWith(chipFigure());
  }

  function setError(text) {
    const e = $('#flag-error');
    if (!e) return;
    e.textContent = text || '';
    e.dataset.state = text ? 'shown' : '';
  }

  function leadNote(id) {
    const h = S.ctx.h;
    return h(
      'p',
      { class: 'privacy-note flag-lead', id, role: 'note', 'data-testid': 'flag-lead' },
      h('strong', { text: t('flags.lead') }),
      ' ',
      t('flags.lead.more')
    );
  }

  function render() {
    const body = $('#flag-body');
    const d = S.detail;
    if (!body || !d) return;
    const ctx = S.ctx;
    const h = ctx.h;
    const f = d.feature;
    $('#flag-title').textContent = t('flag.heading');
    if (!f) {
      body.replaceChildren(h('p', { class: 'muted', text: t('detail.loading') }));
      return;
    }
    const p = props(f);
    const dl = h('dl', { class: 'props', 'data-testid': 'flag-props' });
    const row = (key, value, field) => dl.append(h('dt', { text: t(key) }), h('dd', { 'data-field': field }, value instanceof Node ? value : ctx.show(value)));
    const clsChip = h('span', { class: 'status-chip', 'data-class': p.class || '' }, swatch(p.class, false), classLabel(p.class));
    row('flag.field.class', clsChip, 'class');
    row('flag.field.confidence', pct(p.confidence), 'confidence');
    row('flag.field.area', area(p.area_m2), 'area');
    row('flag.field.acquired_at', p.acquired_at ? ctx.fmtDateTime(p.acquired_at) : null, 'acquired_at');
    const sv = p.survey ? ctx.survey(p.survey) : null;
    row('flag.field.survey', p.survey ? (sv && sv.name ? `${sv.name} (${p.survey})` : String(p.survey)) : null, 'survey');
    row('flag.field.status', statusLabel(p.status), 'status');
    const place = [ctx.place('commune', p.commune_code), ctx.place('province', p.province_code)].filter(Boolean).join(', ');
    row('flag.field.place', place || null, 'place');
    row('flag.field.near_hotspots', nearHotspots(p), 'near_hotspots');
    row('flag.field.model_version', p.model_version, 'model_version');
    row('field.id', f.id, 'id');

    const head = h('div', { class: 'flag-head' }, h('h3', { class: 'detail-name', 'data-testid': 'flag-name', text: t('flag.title', { cls: classLabel(p.class), id: f.id }) }));
    const parts = [head, leadNote('flag-lead-panel')];
    if (replanting(p)) parts.push(replantingBox(p));
    parts.push(
      dl,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', class: 'btn', id: 'flag-zoom-one', 'data-testid': 'flag-zoom-one', text: t('flag.zoomto'), onclick: () => zoomTo(S.detail && S.detail.feature) })
      ),
      driversSection(p),
      h('section', { class: 'detail-section', 'aria-labelledby': 'flag-chip-heading' }, h('h3', { id: 'flag-chip-heading', text: t('flag.chip.heading') }), chipFigure())
    );
    body.replaceChildren(...parts);
  }

  function replantingBox(p) {
    const h = S.ctx.h;
    const box = h(
      'div',
      { class: 'flag-replanting', 'data-testid': 'flag-replanting' },
      h('span', { class: 'badge badge-replanting', 'data-testid': 'flag-replanting-badge', text: t('flag.replanting') }),
      ' ',
      h('span', { text: t('flag.replanting.text') })
    );
    if (p.replanting_of !== null && p.replanting_of !== undefined) {
      const earlier = String(p.replanting_of);
      box.append(
        ' ',
        h('a', {
          href: `#flag-${earlier}`,
          class: 'flag-earlier',
          'data-testid': 'flag-replanting-link',
          'data-id': earlier,
          text: t('flag.replanting.link', { id: earlier }),
          onclick: (ev) => {
            ev.preventDefault();
            open(earlier, { zoom: true });
          }
        })
      );
    }
    return box;
  }

  function nearHotspots(p) {
    const h = S.ctx.h;
    const ids = Array.isArray(p.near_hotspots) ? p.near_hotspots : [];
    const span = h('span', { 'data-count': String(ids.length) });
    if (!ids.length) {
      span.textContent = t('flag.near.none');
      return span;
    }
    span.append(t('flag.near.count', { n: I.num(ids.length) }));
    const shown = ids.slice(0, 5);
    span.append(' ');
    for (const hid of shown) {
      span.append(
        h('button', {
          type: 'button',
          class: 'btn btn-link near-hotspot',
          'data-hotspot': String(hid),
          text: `#${hid}`,
          'aria-label': t('flag.near.open', { id: hid }),
          onclick: () => S.ctx.openHotspot(String(hid))
        }),
        ' '
      );
    }
    if (ids.length > shown.length) span.append('…');
    return span;
  }

  function driversSection(p) {
    const h = S.ctx.h;
    const sec = h('section', { class: 'detail-section', id: 'flag-drivers', 'data-testid': 'flag-drivers', 'aria-labelledby': 'flag-drivers-heading' });
    sec.append(h('h3', { id: 'flag-drivers-heading', text: t('flag.drivers.heading') }));
    const drivers = Array.isArray(p.drivers) ? p.drivers.filter((d) => d && typeof d.feature === 'string') : [];
    if (!drivers.length) {
      sec.append(h('p', { class: 'muted', text: t('flag.drivers.none') }));
      return sec;
    }
    sec.append(h('p', { class: 'muted small', text: t('flag.drivers.intro') }));
    const ul = h('ul', { class: 'flag-drivers' });
    for (const d of drivers) {
      const z = Number(d.z);
      const dir = z > 0 ? 'up' : z < 0 ? 'down' : 'flat';
      const arrow = dir === 'up' ? '↑' : dir === 'down' ? '↓' : '→';
      ul.append(
        h(
          'li',
          { 'data-feature': d.feature, 'data-z': String(z), 'data-dir': dir, 'data-known': String(DRIVERS.includes(d.feature)) },
          h('span', { class: `driver-arrow driver-${dir}`, 'aria-hidden': 'true', text: arrow }),
          h('span', { class: 'driver-name', text: driverLabel(d.feature) }),
          h('span', { class: 'driver-z', text: `z ${signed(z)}` }),
          h('span', { class: 'driver-dir muted', text: dir === 'flat' ? '' : t(`flag.drivers.${dir}`) })
        )
      );
    }
    sec.append(ul);
    return sec;
  }

  function close() {
    const panel = $('#flag-panel');
    if (!panel) return;
    const wasOpen = !panel.hidden;
    const hadDetail = S.detail !== null;
    releaseChip();
    S.detail = null;
    panel.hidden = true;
    delete panel.dataset.id;
    panel.dataset.state = '';
    $('#flag-body').replaceChildren();
    setError('');
    document.body.classList.remove('flag-open');
    if (hadDetail) highlight();
    if (wasOpen) $('#map').focus({ preventScroll: true });
  }

  // ------------------------------------------------------------ wiring
  function onLayerAdd() {
    $('#map').dataset.flagLayer = 'on';
    setCount('loading');
    syncMap();
    renderControls();
    reload();
  }

  function onLayerRemove() {
    $('#map').dataset.flagLayer = 'off';
    if (S.ctl) S.ctl.abort();
    S.seq += 1;
    clear();
    syncMap();
    setCount('off');
    renderControls();
    renderList();
  }

  function wire() {
    if (S.wired) return;
    S.wired = true;
    $('#flag-layer-toggle').addEventListener('change', (ev) => setOn(ev.target.checked));
    $('#flag-class-poppy').addEventListener('change', readFilters);
    $('#flag-class-cannabis').addEventListener('change', readFilters);
    $('#flag-min-confidence').addEventListener('change', readFilters);
    $('#flag-zoom').addEventListener('click', zoomToAll);
    $('#flag-close').addEventListener('click', close);
  }

  /**
   * ctx: { map, api, ApiError, h, fetchPages, url, token(), unauthorized(), ready(), viewBbox(),
   * fmtDateTime, show, survey(id) -> properties|null, place(level, code) -> label|null,
   * beforeOpen(), openHotspot(id) }
   */
  function attach(ctx) {
    S.ctx = ctx;
    const map = ctx.map;
    wire();
    $('#map').dataset.flagLayer = isOn() ? 'on' : 'off';
    if (!isOn()) setCount('off');
    renderControls();
    renderList();
  }

  /** The session ended: layer off, panel closed, nothing kept. */
  function detach() {
    close();
    if (S.on) setOn(false);
    if (S.ctl) S.ctl.abort();
    S.seq += 1;
    clear();
    S.last = null;
  }

  function relabel() {
    if (!S.ctx) return;
    renderControls();
    renderCount();
    renderList();
    if (S.detail) render();
  }

  /** A flag the map drew was clicked: its panel, zoomed to it when it was a dot. */
  function clicked(f) {
    open(f.id, { zoom: f.dot });
  }

  /** The map's hover text for a flag it drew ({ cls, confidence, replanting }). */
  function hoverText(f) {
    return tooltipText({ properties: { class: f.cls, confidence: f.confidence, replanting: f.replanting } });
  }

  /** The map's hover text for a cell of flag counts. */
  function cellText(cell) {
    const parts = Object.entries(cell.breakdown).map(([k, n]) => `${classLabel(k)}: ${I.num(n)}`);
    return `${t(cell.count === 1 ? 'flags.count.one' : 'flags.count', { n: I.num(cell.count) })}${parts.length ? ' — ' + parts.join(', ') : ''}`;
  }

  /** The map's overlay was made anew (a login): draw on it. */
  function overlayReady() {
    syncMap();
  }

  /** A decision changed flags: the tiles are read again. */
  function changed() {
    const v = vector();
    if (v && isOn()) v.refreshFlags();
    reload();
  }

  window.VigilFlags = {
    attach,
    clicked,
    hoverText,
    cellText,
    overlayReady,
    changed,
    isOn,
    detach,
    reload,
    viewChanging,
    relabel,
    legendItems,
    open,
    close,
    isOpen: panelOpen,
    setOn,
    CLASS_STYLE
  };
})();
