/* Vigil web map — the dashboard ("Bảng điều khiển", issue 6): the plans' targets at a glance.
 *
 * Plain ES2020, no build step, no chart library: defines window.VigilDashboard; app.js attaches it
 * after login with the map and the API helpers (ctx), for every role. It reads
 *   GET /v1/reports/kpis?period=&province=|commune=      the KPI cards and, one call per period,
 *                                                        the chart over time (inline SVG);
 *   GET /v1/reports/communes?period=&province=&geometry=false
 *                                                        the values of the commune choropleth,
 *                                                        which the map's vector overlay draws
 *                                                        over the communes' vector tiles;
 *   GET /v1/reports/report.{pdf,xlsx,csv}?period=&…      downloads (fetch with the token → blob);
 * and hands the area's province to hotspot-layers.js (window.VigilHotspotLayers), the section
 * "Phân tích điểm nóng" with the heat map, Gi*, suggested clusters and emerging hot spot layers.
 * State for tests and assistive tech is on data attributes: #dashboard-panel[data-state,data-query],
 * .dash-card[data-key,data-status,data-value], #dash-chart[data-state,data-points],
 * #dash-legend[data-state,data-communes], #dash-dl-status[data-state], #dash-choropleth-on.
 */
(function () {
  'use strict';

  const I = window.VigilI18n;
  const t = (k, p) => I.t(k, p);
  const $ = (sel, root) => (root || document).querySelector(sel);
  const GROUPS = ['hotspots', 'drug_free', 'cultivation', 'coverage'];
  const STATUSES = ['green', 'amber', 'red', 'info', 'no_data'];
  const RAMP = ['#fef0d9', '#fdcc8a', '#fc8d59', '#e34a33', '#b30000'];
  const NO_VALUE = '#cccccc'; // a commune with no value
  const FORMATS = ['pdf', 'xlsx', 'csv'];

  const S = {
    ctx: null,
    open: false,
    wired: false,
    seq: 0,
    kpis: null,
    communes: null,
    layer: null,
    legend: null,
    chartKey: 'hotspots_new',
    communeList: [],
    choropleth: true
  };

  const HL = () => window.VigilHotspotLayers || null;

  const pad = (n) => String(n).padStart(2, '0');

  function todayParts() {
    const d = new Date();
    return { y: d.getFullYear(), m: d.getMonth() + 1 };
  }

  /** The period code the controls describe, or null when incomplete. */
  function periodCode() {
    const kind = $('#dash-period-kind').value;
    const y = Number($('#dash-year').value);
    const sub = Number($('#dash-sub').value);
    if (kind === 'range') {
      const from = $('#dash-from').value;
      const to = $('#dash-to').value;
      return from && to && from <= to ? `${from}..${to}` : null;
    }
    if (!Number.isInteger(y) || y < 2000 || y > 2100) return null;
    if (kind === 'year') return String(y);
    if (kind === 'month') return `${y}-${pad(sub)}`;
    if (kind === 'quarter') return `${y}-Q${sub}`;
    return `${y}-H${sub}`;
  }

  /** The periods of the chart: the chosen one and those before it (6 months, 4 quarters, 4 halves, 3 years). */
  function chartPeriods() {
    const kind = $('#dash-period-kind').value;
    let y = Number($('#dash-year').value);
    let sub = Number($('#dash-sub').value);
    const out = [];
    if (kind === 'year') {
      for (let i = 2; i >= 0; i -= 1) out.push(String(y - i));
      return out;
    }
    if (kind === 'range') {
      const to = $('#dash-to').value;
      if (!to) return out;
      y = Number(to.slice(0, 4));
      sub = Number(to.slice(5, 7));
    }
    const per = kind === 'quarter' ? 4 : kind === 'half' ? 2 : 12;
    const n = kind === 'quarter' || kind === 'half' ? 4 : 6;
    const fmt = (yy, s) => (kind === 'quarter' ? `${yy}-Q${s}` : kind === 'half' ? `${yy}-H${s}` : `${yy}-${pad(s)}`);
    for (let i = n - 1; i >= 0; i -= 1) {
      let s = sub - i;
      let yy = y;
      while (s < 1) {
        s += per;
        yy -= 1;
      }
      out.push(fmt(yy, s));
    }
    return out;
  }

  /** The area part of a query: province=CODE or commune=CODE (empty: the user's own area). */
  function areaQuery() {
    const v = $('#dash-area').value || '';
    const [level, code] = v.split(':');
    return code ? `&${level}=${encodeURIComponent(code)}` : '';
  }

  function provinceQuery() {
    const v = $('#dash-area').value || '';
    const [level, code] = v.split(':');
    if (level === 'province' && code) return `&province=${encodeURIComponent(code)}`;
    if (level === 'commune' && code) {
      const c = S.communeList.find((x) => x.code === code);
      if (c && c.province) return `&province=${encodeURIComponent(c.province)}`;
    }
    return '';
  }

  /** The province the hotspot analysis is for: the area's, or the user's only one; else none. */
  function hotspotArea() {
    const v = $('#dash-area').value || '';
    const [level, code] = v.split(':');
    if (level === 'province' && code) return { province: code, label: S.ctx.place('province', code) || code };
    if (level === 'commune' && code) {
      const c = S.communeList.find((x) => x.code === code);
      if (c && c.province) return { province: c.province, label: S.ctx.place('province', c.province) || c.province };
    }
    const j = (S.ctx.user() || {}).jurisdiction || {};
    const provinces = Array.isArray(j.provinces) ? j.provinces : [];
    if (!j.national && provinces.length === 1) return { province: provinces[0], label: S.ctx.place('province', provinces[0]) || provinces[0] };
    // National users analyse the whole country (the API's default for them); others must pick.
    return { province: null, national: !!j.national, label: j.national ? t('dash.area.national') : t('dash.area.own') };
  }

  function communeName(code) {
    const f = ((S.communes && S.communes.features) || []).find((x) => String((x.properties && x.properties.code) || x.id) === code);
    return f && f.properties && f.properties.name ? f.properties.name : null;
  }

  // ------------------------------------------------------------------ format

  function fmtValue(v, unit) {
    if (v === null || v === undefined) return t('dash.none');
    const n = I.num(v);
    if (unit === 'percent') return `${n} %`;
    if (unit === 'ha') return `${n} ha`;
    if (unit === 'km2') return `${n} km²`;
    return n;
  }

  function kpiLabel(k) {
    const own = t(`dash.kpi.${k.key}`);
    return own === `dash.kpi.${k.key}` || I.lang === 'vi' ? k.label : own;
  }

  // ------------------------------------------------------------------ panel

  function build() {
    const h = S.ctx.h;
    const kindSel = h(
      'select',
      { id: 'dash-period-kind', 'data-testid': 'dash-period-kind' },
      ['month', 'quarter', 'half', 'year', 'range'].map((k) => h('option', { value: k, 'data-i18n': `dash.period.${k}`, text: t(`dash.period.${k}`) }))
    );
    const panel = h(
      'section',
      { id: 'dashboard-panel', class: 'dashboard-panel', 'data-testid': 'dashboard-panel', 'aria-labelledby': 'dash-heading', tabindex: '-1', hidden: true },
      h(
        'div',
        { class: 'dash-head' },
        h('h2', { id: 'dash-heading', text: t('dash.heading') }),
        h('button', { type: 'button', id: 'dash-close', class: 'btn btn-ghost', text: t('dash.close'), onclick: () => setOpen(false) })
      ),
      h(
        'div',
        { class: 'dash-controls' },
        h('label', { for: 'dash-period-kind', text: t('dash.period') }),
        kindSel,
        h('label', { for: 'dash-year', class: 'dash-ymd', text: t('dash.year') }),
        h('input', { id: 'dash-year', type: 'number', min: '2000', max: '2100', class: 'dash-ymd', 'data-testid': 'dash-year' }),
        h('label', { for: 'dash-sub', class: 'dash-ymd dash-sub', text: t('dash.sub') }),
        h('select', { id: 'dash-sub', class: 'dash-ymd dash-sub', 'data-testid': 'dash-sub' }),
        h('label', { for: 'dash-from', class: 'dash-range', text: t('dash.from') }),
        h('input', { id: 'dash-from', type: 'date', class: 'dash-range', 'data-testid': 'dash-from' }),
        h('label', { for: 'dash-to', class: 'dash-range', text: t('dash.to') }),
        h('input', { id: 'dash-to', type: 'date', class: 'dash-range', 'data-testid': 'dash-to' }),
        h('label', { for: 'dash-area', text: t('dash.area') }),
        h('select', { id: 'dash-area', 'data-testid': 'dash-area' })
      ),
      h('p', { id: 'dash-title', class: 'dash-title', 'aria-live': 'polite' }),
      h('p', { id: 'dash-error', class: 'dash-error', role: 'alert', hidden: true }),
      h('div', { id: 'dash-cards', class: 'dash-cards', 'data-testid': 'dash-cards' }),
      h(
        'div',
        { class: 'dash-chart-box' },
        h('label', { for: 'dash-chart-kpi', text: t('dash.chart.kpi') }),
        h('select', { id: 'dash-chart-kpi', 'data-testid': 'dash-chart-kpi' }),
        h('div', { id: 'dash-chart', class: 'dash-chart', 'data-testid': 'dash-chart', 'data-state': 'idle' }),
        h(
          'label',
          { class: 'hs-check', for: 'dash-choropleth-on' },
          h('input', { type: 'checkbox', id: 'dash-choropleth-on', 'data-testid': 'dash-choropleth-on', checked: S.choropleth }),
          h('span', { text: t('dash.choropleth.on') })
        )
      ),
      h(
        'div',
        { class: 'dash-downloads' },
        h('span', { text: t('dash.download') }),
        FORMATS.map((f) => h('button', { type: 'button', id: `dash-dl-${f}`, class: 'btn', 'data-testid': `dash-dl-${f}`, 'data-format': f, text: f.toUpperCase(), 'aria-label': t('dash.download.aria', { fmt: f.toUpperCase() }), onclick: () => download(f) })),
        h('span', { id: 'dash-dl-status', class: 'muted', 'data-state': 'idle', 'aria-live': 'polite' })
      ),
      HL() ? HL().section(S.ctx, { communeName }) : null
    );
    document.body.append(panel);
  }

  function fillSub() {
    const kind = $('#dash-period-kind').value;
    const sel = $('#dash-sub');
    const keep = sel.value;
    const n = kind === 'month' ? 12 : kind === 'quarter' ? 4 : kind === 'half' ? 2 : 0;
    const opts = [];
    for (let i = 1; i <= n; i += 1) opts.push(S.ctx.h('option', { value: String(i), text: t(`dash.sub.${kind}`, { n: i }) }));
    sel.replaceChildren(...opts);
    if (keep && Number(keep) <= n) sel.value = keep;
    for (const el of document.querySelectorAll('#dashboard-panel .dash-sub')) el.hidden = n === 0;
    for (const el of document.querySelectorAll('#dashboard-panel .dash-ymd:not(.dash-sub)')) el.hidden = kind === 'range';
    for (const el of document.querySelectorAll('#dashboard-panel .dash-range')) el.hidden = kind !== 'range';
  }

  function fillArea() {
    const h = S.ctx.h;
    const sel = $('#dash-area');
    const keep = sel.value;
    const user = S.ctx.user() || {};
    const j = user.jurisdiction || {};
    const own = Array.isArray(j.provinces) ? j.provinces : [];
    // National users may pick any province the map knows (the list fills once provinces load).
    const provinces = j.national && S.ctx.provinces ? S.ctx.provinces().map((p) => p.code) : own;
    const opts = [h('option', { value: '', text: j.national ? t('dash.area.national') : t('dash.area.own') })];
    for (const p of provinces) opts.push(h('option', { value: `province:${p}`, text: `${t('dash.area.province')} ${S.ctx.place('province', p) || p}` }));
    for (const c of S.communeList) opts.push(h('option', { value: `commune:${c.code}`, text: `${t('dash.area.commune')} ${c.name || c.code} (${c.code})` }));
    sel.replaceChildren(...opts);
    if (keep && Array.from(sel.options).some((o) => o.value === keep)) sel.value = keep;
    else if (!j.national && provinces.length === 1) sel.value = `province:${provinces[0]}`;
  }

  function setDefaults() {
    const { y, m } = todayParts();
    $('#dash-period-kind').value = 'half';
    $('#dash-year').value = String(y);
    fillSub();
    $('#dash-sub').value = m <= 6 ? '1' : '2';
    $('#dash-from').value = `${y}-01-01`;
    $('#dash-to').value = `${y}-${pad(m)}-01`;
  }

  function bindControls() {
    $('#dash-period-kind').addEventListener('change', () => {
      fillSub();
      reload();
    });
    for (const id of ['#dash-year', '#dash-sub', '#dash-from', '#dash-to', '#dash-area']) $(id).addEventListener('change', () => reload());
    $('#dash-chart-kpi').addEventListener('change', () => {
      S.chartKey = $('#dash-chart-kpi').value;
      loadChart(S.seq);
      paintChoropleth();
    });
    $('#dash-choropleth-on').addEventListener('change', (e) => {
      S.choropleth = e.target.checked;
      if (S.choropleth) paintChoropleth();
      else removeChoropleth();
    });
    $('#dashboard-panel').addEventListener('keydown', (e) => {
      if (e.key === 'Escape') setOpen(false);
    });
  }

  function wire() {
    if (S.wired) return;
    S.wired = true;
    build();
    bindControls();
    $('#dashboard-toggle').addEventListener('click', () => setOpen(!S.open));
  }

  function setOpen(open) {
    S.open = open;
    $('#dashboard-panel').hidden = !open;
    $('#dashboard-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
    document.body.classList.toggle('dashboard-open', open);
    if (open) {
      if (S.ctx.beforeOpen) S.ctx.beforeOpen();
      reload();
      $('#dashboard-panel').focus({ preventScroll: true });
    } else {
      S.seq += 1;
      removeChoropleth();
      if (HL()) HL().hide();
    }
  }

  // ------------------------------------------------------------------ loading

  function showError(msg) {
    const e = $('#dash-error');
    e.textContent = msg || '';
    e.hidden = !msg;
  }

  async function reload() {
    if (!S.open) return;
    const period = periodCode();
    const seq = (S.seq += 1);
    const panel = $('#dashboard-panel');
    if (!period) {
      panel.dataset.state = 'error';
      showError(t('dash.error.period'));
      return;
    }
    const query = `period=${encodeURIComponent(period)}${areaQuery()}`;
    panel.dataset.state = 'loading';
    panel.dataset.query = query;
    showError('');
    if (HL()) HL().setArea(hotspotArea(), S.open);
    try {
      const { data } = await S.ctx.api(`v1/reports/kpis?${query}`);
      if (seq !== S.seq) return;
      S.kpis = data;
      renderCards();
      fillChartKpis();
      panel.dataset.state = 'ready';
    } catch (e) {
      if (seq !== S.seq) return;
      if (e instanceof S.ctx.ApiError && e.status === 401) return;
      panel.dataset.state = 'error';
      showError(`${t('dash.error.load')}${e && e.message ? `: ${e.message}` : ''}`);
      return;
    }
    loadChart(seq);
    loadChoropleth(seq, period);
  }

  function renderCards() {
    const h = S.ctx.h;
    const k = S.kpis;
    const area = (k.area && (k.area.name || k.area.code)) || t('dash.area.national');
    const per = (k.period && (k.period.label || k.period.code)) || '';
    const range = k.period && k.period.from ? ` (${S.ctx.fmtDate(k.period.from)} – ${S.ctx.fmtDate(k.period.to)})` : '';
    $('#dash-title').textContent = `${area} · ${per}${range}`;
    const all = Object.values(k.kpis || {});
    const groups = GROUPS.map((g) => {
      const cards = all.filter((x) => x.group === g);
      if (!cards.length) return null;
      return h(
        'section',
        { class: 'dash-group', 'data-group': g },
        h('h3', { text: t(`dash.group.${g}`) }),
        h('div', { class: 'dash-group-cards' }, cards.map(card))
      );
    });
    $('#dash-cards').replaceChildren(...groups.filter(Boolean));
  }

  function card(k) {
    const h = S.ctx.h;
    const status = STATUSES.includes(k.status) ? k.status : 'no_data';
    return h(
      'article',
      { class: `dash-card status-${status}`, 'data-key': k.key, 'data-status': status, 'data-value': k.value === null ? '' : String(k.value), 'data-testid': `dash-card-${k.key}` },
      h('h4', { text: kpiLabel(k) }),
      h('p', { class: 'dash-value', 'data-field': 'value', text: fmtValue(k.value, k.unit) }),
      k.detail ? h('p', { class: 'muted dash-detail', 'data-field': 'detail', text: k.detail }) : null,
      h(
        'dl',
        null,
        h('dt', { text: t('dash.target') }),
        h('dd', { 'data-field': 'target', text: k.target ? k.target.label : t('dash.none') }),
        h('dt', { text: t('dash.previous') }),
        h('dd', { 'data-field': 'previous', text: fmtValue(k.previous, k.unit) })
      ),
      h('p', { class: `dash-status status-${status}`, 'data-field': 'status' }, h('span', { class: 'dash-dot', 'aria-hidden': 'true' }), t(`dash.status.${status}`))
    );
  }

  function fillChartKpis() {
    const h = S.ctx.h;
    const all = Object.values((S.kpis && S.kpis.kpis) || {});
    if (!all.some((k) => k.key === S.chartKey) && all.length) S.chartKey = all[0].key;
    $('#dash-chart-kpi').replaceChildren(...all.map((k) => h('option', { value: k.key, text: kpiLabel(k) })));
    $('#dash-chart-kpi').value = S.chartKey;
  }

  async function loadChart(seq) {
    const box = $('#dash-chart');
    const periods = chartPeriods();
    const key = S.chartKey;
    box.dataset.state = 'loading';
    box.dataset.kpi = key;
    try {
      const answers = await Promise.all(periods.map((p) => S.ctx.api(`v1/reports/kpis?period=${encodeURIComponent(p)}${areaQuery()}`)));
      if (seq !== S.seq || key !== S.chartKey) return;
      const points = answers.map(({ data }, i) => {
        const k = (data && data.kpis && data.kpis[key]) || {};
        return { period: periods[i], value: typeof k.value === 'number' ? k.value : null, unit: k.unit, target: k.target };
      });
      drawChart(points);
      box.dataset.points = String(points.length);
      box.dataset.state = 'ready';
    } catch (e) {
      if (seq !== S.seq) return;
      box.dataset.state = 'error';
      box.textContent = t('dash.error.load');
    }
  }

  function svg(tag, attrs, text) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function drawChart(points) {
    const W = 420;
    const H = 180;
    const L = 48;
    const R = 30;
    const T = 14;
    const B = 34;
    const values = points.map((p) => p.value).filter((v) => v !== null);
    const target = points.length && points[points.length - 1].target ? points[points.length - 1].target.value : null;
    const unitOf = points.length ? points[points.length - 1].unit : null;
    let max = Math.max(1, ...values, target === null ? 0 : target) * 1.1;
    if (unitOf === 'count') max = Math.ceil(max);
    const x = (i) => L + (points.length < 2 ? (W - L - R) / 2 : (i * (W - L - R)) / (points.length - 1));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const label = kpiLabel(((S.kpis && S.kpis.kpis) || {})[S.chartKey] || { key: S.chartKey, label: S.chartKey });
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-labelledby': 'dash-chart-title' });
    root.append(svg('title', { id: 'dash-chart-title' }, `${label}: ${points.map((p) => `${p.period} ${fmtValue(p.value, p.unit)}`).join('; ')}`));
    root.append(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'dash-axis' }));
    root.append(svg('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'dash-axis' }));
    for (const v of [0, max / 2, max]) {
      const yy = y(v);
      root.append(svg('text', { x: L - 4, y: yy + 4, 'text-anchor': 'end', class: 'dash-tick' }, I.num(Math.round(v * 10) / 10)));
    }
    if (target !== null) {
      root.append(svg('line', { x1: L, y1: y(target), x2: W - R, y2: y(target), class: 'dash-target-line' }));
      root.append(svg('text', { x: W - R, y: y(target) - 4, 'text-anchor': 'end', class: 'dash-tick' }, `${t('dash.target')} ${I.num(target)}`));
    }
    const drawn = points.map((p, i) => (p.value === null ? null : `${x(i)},${y(p.value)}`)).filter(Boolean);
    if (drawn.length > 1) root.append(svg('polyline', { points: drawn.join(' '), class: 'dash-line', fill: 'none' }));
    points.forEach((p, i) => {
      root.append(svg('text', { x: x(i), y: H - B + 16, 'text-anchor': 'middle', class: 'dash-tick' }, p.period));
      const c = svg('circle', { cx: x(i), cy: y(p.value === null ? 0 : p.value), r: 4, class: `dash-point${p.value === null ? ' is-empty' : ''}`, 'data-period': p.period, 'data-value': p.value === null ? '' : p.value });
      c.append(svg('title', {}, `${p.period}: ${fmtValue(p.value, p.unit)}`));
      root.append(c);
    });
    $('#dash-chart').replaceChildren(root);
  }

  // ------------------------------------------------------------------ choropleth

  const vector = () => (S.ctx && S.ctx.vector ? S.ctx.vector() : null);

  function removeChoropleth() {
    const map = S.ctx && S.ctx.map;
    const v = vector();
    if (v && S.layer) v.setChoropleth(null);
    if (S.legend) S.legend();
    S.layer = null;
    S.legend = null;
  }

  async function loadChoropleth(seq, period) {
    const q = `period=${encodeURIComponent(period)}${provinceQuery()}`;
    try {
      // Values and bboxes only: the map draws the outlines from the communes' vector tiles.
      const { data } = await S.ctx.api(`v1/reports/communes?${q}&geometry=false`);
      if (seq !== S.seq) return;
      S.communes = data;
      const list = ((data && data.features) || []).map((f) => ({ code: String(f.properties.code || f.id), name: f.properties.name, province: f.properties.province_code }));
      if (!$('#dash-area').value.startsWith('commune:') || !S.communeList.length) {
        S.communeList = list;
        fillArea();
      }
      paintChoropleth();
    } catch (e) {
      if (seq !== S.seq) return;
      removeChoropleth();
    }
  }

  function paintChoropleth() {
    const map = S.ctx.map;
    if (!map || !S.communes || !S.open) return;
    removeChoropleth();
    if (!S.choropleth) return;
    const key = S.chartKey;
    const feats = (S.communes.features || []).filter((f) => Array.isArray(f.bbox) && f.bbox.length === 4);
    const vals = feats.map((f) => f.properties[key]).filter((v) => typeof v === 'number');
    const max = vals.length ? Math.max(...vals) : 0;
    const unit = ((S.kpis && S.kpis.kpis && S.kpis.kpis[key]) || {}).unit;
    // Counts get whole-number classes (1 hotspot is not split into 0,2 steps).
    const step = max <= 0 ? 1 : unit === 'count' ? Math.max(1, Math.ceil(max / RAMP.length)) : max / RAMP.length;
    const classLabel = (i) => {
      if (unit === 'count') {
        const lo = i * step;
        const hi = i === RAMP.length - 1 ? max : Math.min(max, (i + 1) * step - 1);
        return lo === hi ? I.num(lo) : `${I.num(lo)} – ${I.num(hi)}`;
      }
      return `${I.num(Math.round(i * step * 10) / 10)} – ${I.num(Math.round((i + 1) * step * 10) / 10)}`;
    };
    const cls = (v) => (typeof v !== 'number' ? -1 : max <= 0 ? 0 : Math.min(RAMP.length - 1, Math.floor(v / step)));
    const colours = {};
    for (const f of feats) {
      const c = cls(f.properties[key]);
      colours[String(f.properties.code || f.id)] = c < 0 ? NO_VALUE : RAMP[c];
    }
    const v = vector();
    if (!v) return;
    v.setChoropleth(colours, NO_VALUE);
    // What is drawn: the features (values and bboxes) and the KPI shown.
    const layer = { feats, key, unit };
    S.layer = layer;
    const legendEl = (() => {
      const h = S.ctx.h;
      const label = kpiLabel(((S.kpis && S.kpis.kpis) || {})[key] || { key, label: key });
      const rows = RAMP.map((c, i) =>
        h('li', null, h('span', { class: 'dash-swatch', style: `background:${c}`, 'aria-hidden': 'true' }), max > 0 ? classLabel(i) : i === 0 ? I.num(0) : null)
      ).filter((li, i) => li.childNodes.length > 1 && (max <= 0 || i * step <= max));
      rows.push(h('li', null, h('span', { class: 'dash-swatch', style: `background:${NO_VALUE}`, 'aria-hidden': 'true' }), t('dash.none')));
      return h('div', { id: 'dash-legend', class: 'dash-legend', 'data-testid': 'dash-legend', 'data-state': 'ready', 'data-kpi': key, 'data-communes': String(feats.length) }, h('strong', { text: `${t('dash.legend')}: ${label}` }), h('ul', null, rows));
    })();
    S.legend = map.control(legendEl, 'bottom-right');
    if (feats.length) fitCommunes(S.layer);
  }

  /** Fits the choropleth into the part of the map the panel leaves free (it lies over the right). */
  function fitCommunes(layer) {
    const map = S.ctx.map;
    // A move under way (e.g. the previous area's fit) would end on its own view: fit after it.
    if (map.moving()) {
      map.once('moveend', () => {
        if (S.layer === layer) fitCommunes(layer);
      });
      return;
    }
    try {
      const panel = $('#dashboard-panel');
      const mr = map.container().getBoundingClientRect();
      const pr = panel && !panel.hidden ? panel.getBoundingClientRect() : null;
      let right = pr ? Math.max(0, mr.right - pr.left) : 0;
      if (right > mr.width * 0.6) right = 0;
      let b = null;
      for (const f of layer.feats) {
        const x = f.bbox.map(Number);
        b = b ? [Math.min(b[0], x[0]), Math.min(b[1], x[1]), Math.max(b[2], x[2]), Math.max(b[3], x[3])] : x;
      }
      if (b && b.every(Number.isFinite)) map.fit(b, { padding: { top: 20, left: 20, bottom: 20, right: right + 20 }, animate: true });
    } catch (_) {
      /* empty bounds */
    }
  }

  // ------------------------------------------------------------------ downloads

  function filenameFrom(cd) {
    if (!cd) return null;
    const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
    if (star) {
      try {
        return decodeURIComponent(star[1]);
      } catch (_) {
        /* fall through */
      }
    }
    const m = /filename="?([^";]+)"?/i.exec(cd);
    return m ? m[1] : null;
  }

  async function download(fmt) {
    const status = $('#dash-dl-status');
    const period = periodCode();
    if (!period) return;
    const query = `period=${encodeURIComponent(period)}${areaQuery()}`;
    const fallback = `vigil-bao-cao-${period}.${fmt}`;
    status.dataset.state = 'busy';
    status.textContent = t('dash.download.busy', { fmt: fmt.toUpperCase() });
    try {
      const res = await fetch(S.ctx.url(`v1/reports/report.${fmt}?${query}`), {
        headers: { Authorization: 'Bearer ' + (S.ctx.token() || '') },
        cache: 'no-store',
        credentials: 'omit'
      });
      if (res.status === 401) {
        S.ctx.unauthorized();
        return;
      }
      if (!res.ok) {
        status.dataset.state = 'error';
        status.textContent = `${t('dash.download.error', { fmt: fmt.toUpperCase() })} (HTTP ${res.status})`;
        return;
      }
      const blob = await res.blob();
      const name = filenameFrom(res.headers.get('Content-Disposition')) || fallback;
      const url = URL.createObjectURL(blob);
      const a = S.ctx.h('a', { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 60000);
      status.dataset.state = 'done';
      status.textContent = t('dash.download.done', { name });
    } catch (e) {
      status.dataset.state = 'error';
      status.textContent = t('dash.download.error', { fmt: fmt.toUpperCase() });
    }
  }

  // ------------------------------------------------------------------ lifecycle

  function attach(ctx) {
    S.ctx = ctx;
    wire();
    S.communeList = [];
    $('#dashboard-toggle').hidden = false;
    setDefaults();
    fillArea();
  }

  function detach() {
    if (!S.ctx) return;
    if (S.open) setOpen(false);
    removeChoropleth();
    if (HL()) HL().reset();
    S.kpis = null;
    S.communes = null;
    $('#dashboard-toggle').hidden = true;
    $('#dash-cards').replaceChildren();
    $('#dash-chart').replaceChildren();
  }

  /** The language changed: rebuild the texts. */
  function relabel() {
    if (!S.ctx || !S.wired) return;
    const keep = {
      kind: $('#dash-period-kind').value,
      sub: $('#dash-sub').value,
      year: $('#dash-year').value,
      from: $('#dash-from').value,
      to: $('#dash-to').value,
      area: $('#dash-area').value
    };
    $('#dashboard-panel').remove();
    build();
    $('#dash-period-kind').value = keep.kind;
    fillSub();
    $('#dash-sub').value = keep.sub;
    $('#dash-year').value = keep.year;
    $('#dash-from').value = keep.from;
    $('#dash-to').value = keep.to;
    fillArea();
    $('#dash-area').value = keep.area;
    bindControls();
    $('#dashboard-panel').hidden = !S.open;
    if (S.open) {
      reload();
      if (HL()) HL().relabel();
    }
  }

  const close = () => S.open && setOpen(false);
  const isOpen = () => S.open;

  /** The map's hover text for a commune of the choropleth: "Name (code): value", or null. */
  function choroplethText(code) {
    const l = S.layer;
    if (!l) return null;
    const f = l.feats.find((x) => String(x.properties.code || x.id) === String(code));
    if (!f) return null;
    const p = f.properties;
    return `${p.name || p.code} (${p.code}): ${fmtValue(p[l.key], l.unit)}`;
  }

  window.VigilDashboard = { attach, detach, relabel, close, isOpen, choroplethText };
})();
