/* Vigil web map — the review of flagged plots ("Xem xét").
 *
 * Border guards (reviewers) and admins go through the queue of flags the classifier raised in their
 * jurisdiction and record what each one is: confirmed poppy or cannabis, a false positive (with a
 * reason), sent to the field, and what the field team found (verified, eradicated with date, area
 * and unit, not found). Everyone else sees the same queue and files read-only.
 *
 * - The queue (GET /v1/review/queue) takes the sidebar's place: filters (commune, crop, status,
 *   flight dates, order), each flag's priority (PUT /v1/flags/{id}/priority) and the "Tái trồng"
 *   badge, "load more" paging, J/K to move through it.
 * - Selecting a flag zooms the map to the plot, draws its outline over the survey mosaic and opens
 *   its file (GET /v1/flags/{id}): summary, before/after swipe of the first and last survey chips
 *   (fetched with the bearer token, shown from object URLs), decisions with keyboard shortcuts
 *   (POST /v1/flags/{id}/decisions with the version read; 409 → reload, 422 → per-field Vietnamese
 *   errors), history, evidence photos (POST /v1/flags/{id}/evidence, raw JPEG) and drivers.
 * - Exports (GPX, KML, GeoJSON, MBTiles imagery) are fetched with the token and saved from a blob.
 *
 * Plain ES2020, no build step. Defines window.VigilReview; app.js attaches it after login with the
 * map and its API helpers.
 */
(function () {
  'use strict';

  const I = window.VigilI18n;
  const t = I.t;

  const PAGE = 50; // queue items per request
  const PLOT_MAX_ZOOM = 21;
  const REVIEW_ROLES = ['reviewer', 'admin'];
  // Keyboard shortcuts, shown on the buttons; digits work on every keyboard layout.
  const KEYS = {
    confirmed_poppy: '1',
    confirmed_cannabis: '2',
    false_positive: '3',
    needs_field_check: '4',
    verified_in_field: '5',
    eradicated: '6',
    not_found: '7',
    reopen: '0'
  };
  const IMAGERY_DECISIONS = ['confirmed_poppy', 'confirmed_cannabis', 'false_positive', 'needs_field_check', 'reopen'];
  const FIELD_DECISIONS = ['verified_in_field', 'eradicated', 'not_found'];
  // Decisions that open a small form first (the others are recorded at once, with the note if any).
  const DETAILS = {
    false_positive: ['reason'],
    eradicated: ['eradicated_on', 'area_destroyed_m2', 'team'],
    verified_in_field: ['team'],
    not_found: ['team'],
    reopen: []
  };
  const STATUS_COLORS = {
    new: '#5b6570',
    confirmed_poppy: '#c0189f',
    confirmed_cannabis: '#6f8f00',
    false_positive: '#9aa3ad',
    needs_field_check: '#e67e22',
    verified_in_field: '#b03a2e',
    eradicated: '#1e7a3c',
    not_found: '#7f8c8d'
  };
  const CLASS_STROKE = { poppy: '#c0189f', cannabis: '#a8d500' };
  const PRIORITIES = ['urgent', 'high', 'normal', 'low'];
  const EXPORTS = {
    gpx: { path: 'v1/exports/flags.gpx', ext: 'gpx', name: 'GPX' },
    kml: { path: 'v1/exports/flags.kml', ext: 'kml', name: 'KML' },
    geojson: { path: 'v1/exports/flags.geojson', ext: 'geojson', name: 'GeoJSON' },
    mbtiles: { path: 'v1/exports/imagery.mbtiles', ext: 'mbtiles', name: 'MBTiles' }
  };
  const TEXT_INPUTS = ['text', 'search', 'number', 'date', 'email', 'tel', 'url', 'password', 'month', 'week', 'time', 'datetime-local'];

  const S = {
    ctx: null,
    wired: false,
    open: false,
    vocab: null,
    filters: defaultFilters(),
    items: [],
    total: 0,
    canReview: false,
    queueState: 'idle',
    queueError: '',
    queueCtl: null,
    queueSeq: 0,
    picked: new Set(),
    current: null, // { id, file, state, seq, chips: Map, swipe, details, evidence, shownEvidence: Map }
    busy: false
  };

  const $ = (sel) => document.querySelector(sel);

  function defaultFilters() {
    return { commune: '', class: '', status: 'open', from: '', to: '', sort: 'priority' };
  }

  // ------------------------------------------------------------- labels
  function vocabVi(list, code) {
    const e = S.vocab && Array.isArray(S.vocab[list]) ? S.vocab[list].find((x) => x.code === code) : null;
    return e ? e.vi : null;
  }
  /** Vietnamese from the server when it has it (the source of truth), else the interface's own. */
  function label(kind, code, serverVi) {
    if (code === null || code === undefined || code === '') return t('unknown');
    if (I.lang === 'vi' && serverVi) return serverVi;
    const key = `review.${kind}.${code}`;
    const v = t(key);
    return v === key ? serverVi || String(code) : v;
  }
  const statusLabel = (code, server) => label('status', code, server || vocabVi('statuses', code));
  const decisionLabel = (code, server) => label('decision', code, server || vocabVi('decisions', code));
  const reasonLabel = (code, server) => label('reason', code, server || vocabVi('reasons', code));
  const priorityLabel = (code) => label('priority', code || 'normal', vocabVi('priorities', code || 'normal'));
  const classLabel = (code, server) => label('class', code, server);
  const replanting = (f) => f && f.replanting_of !== null && f.replanting_of !== undefined;

  const { pct, area, signed } = I;

  function chip(code, text, cls) {
    const h = S.ctx.h;
    const sw = h('span', { class: 'swatch swatch-dot', 'aria-hidden': 'true' });
    sw.style.backgroundColor = STATUS_COLORS[code] || '#7f8c8d';
    return h('span', { class: `status-chip ${cls || ''}`.trim(), 'data-status': code || '' }, sw, text);
  }

  function canReview() {
    const u = S.ctx && S.ctx.user();
    return S.canReview || !!(u && REVIEW_ROLES.includes(u.role));
  }

  // ------------------------------------------------------------- vocabulary
  async function ensureVocab() {
    if (S.vocab) return S.vocab;
    try {
      const { data } = await S.ctx.api('v1/review/vocab');
      S.vocab = data && typeof data === 'object' ? data : {};
    } catch (e) {
      if (e instanceof S.ctx.ApiError && e.status === 401) throw e;
      S.vocab = {};
    }
    return S.vocab;
  }
  function decisionCodes() {
    const v = S.vocab && Array.isArray(S.vocab.decisions) ? S.vocab.decisions.map((d) => d.code) : [];
    const all = v.length ? v : Object.keys(KEYS);
    return all.filter((c) => c in KEYS).concat(all.filter((c) => !(c in KEYS)));
  }
  function reasonCodes() {
    const v = S.vocab && Array.isArray(S.vocab.reasons) ? S.vocab.reasons.map((r) => r.code) : [];
    return v.length ? v : ['lookalike_crop', 'flowering_plants', 'other_vegetation', 'bare_soil_or_structure', 'image_artifact', 'duplicate', 'other'];
  }
  function statusCodes() {
    const v = S.vocab && Array.isArray(S.vocab.statuses) ? S.vocab.statuses.map((s) => s.code) : [];
    return v.length ? v : Object.keys(STATUS_COLORS);
  }
  function priorityCodes() {
    const v = S.vocab && Array.isArray(S.vocab.priorities) ? S.vocab.priorities.map((p) => p.code) : [];
    return v.length ? v : PRIORITIES;
  }

  // ------------------------------------------------------------- filters
  function renderFilters() {
    const h = S.ctx.h;
    const f = S.filters;
    const fill = (sel, opts, value) => {
      sel.replaceChildren(...opts.map(([v, text]) => h('option', { value: v, text })));
      sel.value = value;
    };
    fill(
      $('#review-filter-class'),
      [
        ['', t('review.filter.class.all')],
        ['poppy', t('flag.class.poppy')],
        ['cannabis', t('flag.class.cannabis')]
      ],
      f.class
    );
    fill(
      $('#review-filter-status'),
      [['open', t('review.filter.status.open')], ['all', t('review.filter.status.all')]].concat(statusCodes().map((c) => [c, statusLabel(c)])),
      f.status
    );
    fill(
      $('#review-filter-sort'),
      ['priority', 'newest', 'score'].map((c) => [c, t(`review.sort.${c}`)]),
      f.sort
    );
    $('#review-filter-commune').value = f.commune;
    $('#review-filter-from').value = f.from;
    $('#review-filter-to').value = f.to;
  }

  function readFilters() {
    S.filters = {
      commune: $('#review-filter-commune').value.trim(),
      class: $('#review-filter-class').value,
      status: $('#review-filter-status').value || 'open',
      from: $('#review-filter-from').value,
      to: $('#review-filter-to').value,
      sort: $('#review-filter-sort').value || 'priority'
    };
    loadQueue();
  }

  function queueQuery() {
    const q = new URLSearchParams();
    const f = S.filters;
    if (f.commune) q.set('commune', f.commune);
    if (f.class) q.set('class', f.class);
    if (f.status && f.status !== 'open') q.set('status', f.status);
    if (f.from) q.set('from', f.from);
    if (f.to) q.set('to', f.to);
    if (f.sort && f.sort !== 'priority') q.set('sort', f.sort);
    return q;
  }

  // ------------------------------------------------------------- queue
  async function loadQueue(opts) {
    const ctx = S.ctx;
    if (!ctx || !S.open) return;
    const o = opts || {};
    if (S.queueCtl) S.queueCtl.abort();
    const ctl = new AbortController();
    S.queueCtl = ctl;
    const seq = ++S.queueSeq;
    const q = queueQuery();
    const el = $('#review-queue');
    el.dataset.state = 'loading';
    el.setAttribute('aria-busy', 'true');
    S.queueState = 'loading';
    renderCount();
    q.set('limit', String(Math.max(PAGE, o.keepLength ? S.items.length : 0)));
    try {
      const { data } = await ctx.api(`v1/review/queue?${q}`, { signal: ctl.signal });
      if (seq !== S.queueSeq) return;
      S.items = (data && Array.isArray(data.items) && data.items) || [];
      S.total = data && typeof data.total === 'number' ? data.total : S.items.length;
      if (data && typeof data.can_review === 'boolean') S.canReview = data.can_review;
      S.queueState = 'ready';
      S.queueError = '';
      q.delete('limit');
      el.dataset.query = q.toString();
      el.dataset.total = String(S.total);
      if (!q.toString()) setBadge(S.total);
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (seq !== S.queueSeq) return;
      if (e instanceof ctx.ApiError && e.status === 401) return;
      S.queueState = 'error';
      S.queueError = e.message || String(e);
    }
    el.removeAttribute('aria-busy');
    renderQueue(o.focus);
    el.dataset.state = S.queueState;
  }

  async function loadMore() {
    const ctx = S.ctx;
    if (!ctx || S.items.length >= S.total) return;
    const q = queueQuery();
    q.set('limit', String(PAGE));
    q.set('offset', String(S.items.length));
    const seq = S.queueSeq;
    const btn = $('#review-more');
    btn.disabled = true;
    try {
      const { data } = await ctx.api(`v1/review/queue?${q}`);
      if (seq !== S.queueSeq) return;
      const seen = new Set(S.items.map((i) => String(i.id)));
      for (const it of (data && data.items) || []) if (!seen.has(String(it.id))) S.items.push(it);
      if (data && typeof data.total === 'number') S.total = data.total;
      renderQueue();
    } catch (e) {
      if (e instanceof ctx.ApiError && e.status === 401) return;
      setQueueError(e.message || String(e));
    } finally {
      btn.disabled = false;
    }
  }

  function setBadge(n) {
    const b = $('#review-badge');
    if (!b) return;
    b.textContent = n > 0 ? I.num(n) : '';
    b.hidden = !(n > 0);
  }

  function renderCount() {
    const el = $('#review-count');
    if (!el) return;
    if (S.queueState === 'loading' && !S.items.length) {
      el.textContent = t('count.loading');
      return;
    }
    if (S.queueState === 'error') {
      el.textContent = `${t('review.queue.error')}: ${S.queueError}`;
      el.dataset.state = 'error';
      return;
    }
    el.dataset.state = S.queueState;
    const key = S.filters.status === 'open' ? 'review.queue.count.open' : 'review.queue.count';
    el.replaceChildren(S.ctx.h('strong', { text: t(key, { n: I.num(S.total) }) }));
    if (S.items.length < S.total) el.append(' ', S.ctx.h('span', { class: 'muted', text: `(${t('review.queue.shown', { m: I.num(S.items.length) })})` }));
  }

  function setQueueError(text) {
    const el = $('#review-queue-error');
    if (!el) return;
    el.textContent = text || '';
  }
  function setQueueMessage(text) {
    const el = $('#review-queue-message');
    if (!el) return;
    el.textContent = text || '';
  }

  /** Which queue control has the focus, so a re-render can give it back. */
  function focusedQueueControl() {
    const a = document.activeElement;
    const li = a && a.closest ? a.closest('#review-list .review-item') : null;
    if (!li) return null;
    return { id: li.dataset.id, role: a.dataset.role || '' };
  }

  /** Renders the list; `focus` ({ id, role }) is the control to give the focus back to. */
  function renderQueue(focus) {
    const ctx = S.ctx;
    const h = ctx.h;
    const a = document.activeElement;
    const inQueue = !a || a === document.body || !!(a.closest && a.closest('#review-queue'));
    const keep = focusedQueueControl() || (inQueue ? focus : null);
    const ul = $('#review-list');
    ul.replaceChildren();
    renderCount();
    $('#review-readonly').hidden = canReview();
    const sel = S.current ? S.current.id : null;
    if (S.queueState === 'ready' && !S.items.length) ul.append(h('li', { class: 'muted review-empty', text: t('review.queue.empty') }));
    for (const it of S.items) ul.append(queueItem(it, sel));
    const more = $('#review-more');
    const left = S.total - S.items.length;
    more.hidden = !(left > 0);
    more.textContent = t('review.queue.more', { n: I.num(Math.max(0, left)) });
    // Communes seen, for the commune filter's suggestions.
    const dl = $('#review-communes');
    const seen = new Map();
    for (const it of S.items) if (it.commune_code && !seen.has(it.commune_code)) seen.set(it.commune_code, it.commune || '');
    dl.replaceChildren(...Array.from(seen, ([code, name]) => h('option', { value: code, text: name ? `${name} (${code})` : code })));
    renderExportScope();
    if (keep) {
      const li = ul.querySelector(`.review-item[data-id="${CSS.escape(keep.id)}"]`);
      const el = li && (li.querySelector(`[data-role="${keep.role}"]`) || li.querySelector('[data-role=select]'));
      if (el) el.focus({ preventScroll: true });
    }
  }

  function queueItem(it, selectedId) {
    const h = S.ctx.h;
    const id = String(it.id);
    const selected = selectedId === id;
    const sw = h('span', { class: 'swatch swatch-flag', 'aria-hidden': 'true', 'data-class': it.class || '' });
    const meta = [pct(it.confidence), area(it.area_m2), it.commune || (it.commune_code ? `${t('field.commune')} ${it.commune_code}` : null), it.acquired_at ? S.ctx.fmtDate(String(it.acquired_at).slice(0, 10)) : null]
      .filter(Boolean)
      .join(' · ');
    const main = h(
      'button',
      {
        type: 'button',
        class: 'review-item-main',
        'data-role': 'select',
        'data-testid': 'review-item',
        'aria-current': selected ? 'true' : null,
        onclick: () => select(id)
      },
      sw,
      h(
        'span',
        { class: 'review-item-title' },
        h('span', { text: t('review.item.title', { cls: classLabel(it.class, it.class_label), id }) }),
        replanting(it) ? h('span', { class: 'badge badge-replanting', 'data-testid': 'review-replanting-badge', text: t('flag.replanting') }) : null
      ),
      h('span', { class: 'review-item-meta muted', text: meta }),
      h('span', { class: 'review-item-status' }, chip(it.status, statusLabel(it.status, it.status_label)))
    );
    const side = h('div', { class: 'review-item-side' });
    const prio = it.priority || 'normal';
    if (canReview()) {
      const selId = `review-prio-${id}`;
      const select_ = h('select', { id: selId, class: 'priority-select', 'data-role': 'priority', 'data-priority': prio, 'aria-label': t('review.item.priority', { id }) });
      for (const p of priorityCodes()) select_.append(h('option', { value: p, text: priorityLabel(p) }));
      select_.value = prio;
      select_.addEventListener('change', () => setPriority(id, select_.value, select_));
      side.append(select_);
    } else {
      side.append(h('span', { class: 'priority-pill', 'data-priority': prio, 'data-role': 'priority-label', text: priorityLabel(prio) }));
    }
    const pick = h('input', { type: 'checkbox', class: 'export-pick', 'data-role': 'pick', 'aria-label': t('review.item.pick', { id }) });
    pick.checked = S.picked.has(id);
    pick.addEventListener('change', () => {
      if (pick.checked) S.picked.add(id);
      else S.picked.delete(id);
      renderExportScope();
    });
    side.append(h('label', { class: 'check export-pick-label' }, pick, h('span', { 'aria-hidden': 'true', text: t('review.item.pick.short') })));
    return h(
      'li',
      {
        class: `review-item${selected ? ' is-selected' : ''}`,
        'data-id': id,
        'data-status': it.status || '',
        'data-priority': prio,
        'data-version': String(it.version),
        'data-replanting': String(replanting(it))
      },
      main,
      side
    );
  }

  function highlightQueue() {
    const sel = S.current ? S.current.id : null;
    document.querySelectorAll('#review-list .review-item').forEach((li) => {
      const on = li.dataset.id === sel;
      li.classList.toggle('is-selected', on);
      const b = li.querySelector('.review-item-main');
      if (b) {
        if (on) b.setAttribute('aria-current', 'true');
        else b.removeAttribute('aria-current');
      }
      if (on) li.scrollIntoView({ block: 'nearest' });
    });
  }

  /** Keeps the queue's copy of a flag in step with what the server just said about it. */
  function updateItem(summary) {
    const it = S.items.find((i) => String(i.id) === String(summary.id));
    if (!it) return;
    for (const k of ['status', 'status_label', 'version', 'priority', 'allowed_decisions']) if (k in summary) it[k] = summary[k];
  }

  async function setPriority(id, level, selectEl) {
    const ctx = S.ctx;
    const it = S.items.find((i) => String(i.id) === id);
    if (!it) return;
    const cur = S.current && S.current.id === id && S.current.file ? S.current.file : null;
    const version = cur ? cur.version : it.version;
    selectEl.disabled = true;
    setQueueError('');
    setQueueMessage('');
    try {
      const { data } = await ctx.api(`v1/flags/${encodeURIComponent(id)}/priority`, { method: 'PUT', body: { priority: level, version } });
      updateItem(data);
      if (S.current && S.current.id === id && S.current.file) {
        S.current.file.version = data.version;
        S.current.file.priority = data.priority;
        renderPanel(formValues());
      }
      setQueueMessage(t('review.priority.saved', { id, label: priorityLabel(data.priority) }));
      await loadQueue({ keepLength: true, focus: { id, role: 'priority' } });
    } catch (e) {
      if (e instanceof ctx.ApiError && e.status === 401) return;
      if (e instanceof ctx.ApiError && e.status === 409) {
        setQueueError(t('review.conflict'));
        if (S.current && S.current.id === id) {
          setError(t('review.conflict'), 'conflict', e.message);
          await loadFile(id, { preserve: formValues() });
        }
      } else {
        setQueueError(e.message || String(e));
      }
      await loadQueue({ keepLength: true, focus: { id, role: 'priority' } });
    } finally {
      selectEl.disabled = false;
    }
  }

  /** J/K: the next or previous flag in the queue. */
  async function stepQueue(dir) {
    if (!S.items.length) return;
    const idx = S.current ? S.items.findIndex((i) => String(i.id) === S.current.id) : -1;
    let next = idx < 0 ? (dir > 0 ? 0 : S.items.length - 1) : idx + dir;
    if (next >= S.items.length && S.items.length < S.total) {
      await loadMore();
    }
    next = Math.max(0, Math.min(S.items.length - 1, next));
    if (idx === next) return;
    const id = String(S.items[next].id);
    await select(id, { focusItem: true });
  }

  // ------------------------------------------------------------- map
  function bboxBounds(b) {
    if (!Array.isArray(b) || b.length !== 4 || !b.map(Number).every(isFinite)) return null;
    return b.map(Number);
  }

  function zoomTo(b) {
    const map = S.ctx && S.ctx.map;
    const bounds = bboxBounds(b);
    if (!map || !bounds) return;
    // Where the file floats over the map (narrow windows), keep the plot clear of it.
    let right = 56;
    const panel = $('#review-panel');
    if (panel && !panel.hidden && window.matchMedia && window.matchMedia('(max-width: 1100px)').matches && !window.matchMedia('(max-width: 760px)').matches) {
      right += panel.getBoundingClientRect().width;
    }
    // After a move under way (the fit to the user's provinces at login, a wheel zoom), which
    // would otherwise end on its own view.
    map.afterMove(() => map.fit(bounds, { padding: { top: 56, left: 56, bottom: 56, right }, maxZoom: PLOT_MAX_ZOOM }));
  }

  /** The plot under review on the map (the vector overlay draws it over the other flags). */
  function drawPlot(file) {
    const v = S.ctx && S.ctx.vector && S.ctx.vector();
    if (!v) return;
    if (!file || !file.geometry) {
      v.setReviewPlot(null);
      return;
    }
    v.setReviewPlot({ type: 'Feature', geometry: file.geometry, properties: { id: String(file.id), class: file.class || '', colour: CLASS_STROKE[file.class] || '#1f5f99' } });
  }

  function clearPlot() {
    drawPlot(null);
  }

  // ------------------------------------------------------------- the file
  function panelOpen() {
    const p = $('#review-panel');
    return !!(p && !p.hidden);
  }

  async function select(id, opts) {
    const ctx = S.ctx;
    if (!ctx) return;
    const o = opts || {};
    id = String(id);
    const item = S.items.find((i) => String(i.id) === id) || null;
    const switching = !S.current || S.current.id !== id;
    if (switching) {
      releaseChips();
      S.current = { id, file: null, summary: item, state: 'loading', seq: 0, chips: new Map(), swipe: 50, details: null, evidence: null, shownEvidence: new Map(), justDecided: false, similar: null };
      setMessage('');
      setError('');
      delete $('#review-panel').dataset.lastDecision;
    }
    ctx.beforeOpen();
    const panel = $('#review-panel');
    panel.hidden = false;
    panel.dataset.id = id;
    panel.dataset.state = 'loading';
    document.body.classList.add('review-file');
    highlightQueue();
    renderExportScope();
    if (o.focusItem) {
      const b = document.querySelector(`#review-list .review-item[data-id="${CSS.escape(id)}"] .review-item-main`);
      if (b) b.focus({ preventScroll: true });
    }
    if (switching) {
      clearPlot();
      if (item) zoomTo(item.bbox);
      ctx.showImagery();
      renderPanel();
    }
    await loadFile(id);
  }

  async function loadFile(id, opts) {
    const ctx = S.ctx;
    const cur = S.current;
    if (!ctx || !cur || cur.id !== id) return;
    const o = opts || {};
    const seq = ++cur.seq;
    $('#review-panel').dataset.state = 'loading';
    try {
      const { data } = await ctx.api(`v1/flags/${encodeURIComponent(id)}`);
      if (S.current !== cur || cur.seq !== seq) return;
      setFile(data, o.preserve);
    } catch (e) {
      if (S.current !== cur || cur.seq !== seq) return;
      if (e instanceof ctx.ApiError && e.status === 401) return;
      cur.state = 'error';
      setError(e instanceof ctx.ApiError && e.status === 404 ? t('review.err.404') : e.message || String(e), 'error');
      renderPanel();
      $('#review-panel').dataset.state = 'error';
    }
  }

  function setFile(file, preserve) {
    const cur = S.current;
    const first = !cur.file;
    cur.file = file;
    cur.state = 'ready';
    updateItem(file);
    if (first && !cur.summary) zoomTo(file.bbox);
    drawPlot(file);
    if (cur.details && !allowedNow(cur.details)) cur.details = null;
    renderPanel(preserve);
    renderExportScope();
    const panel = $('#review-panel');
    panel.dataset.version = String(file.version);
    panel.dataset.status = file.status || '';
    panel.dataset.state = 'ready';
    loadChips();
  }

  function allowedNow(code) {
    const f = S.current && S.current.file;
    return !!(f && Array.isArray(f.allowed_decisions) && f.allowed_decisions.includes(code));
  }

  function setMessage(text, kind) {
    const m = $('#review-message');
    if (!m) return;
    m.textContent = text || '';
    m.dataset.state = kind || '';
  }

  /** The panel's error line: a Vietnamese sentence, the server's own words in small print. */
  function setError(text, kind, detail, extra) {
    const e = $('#review-error');
    if (!e) return;
    e.replaceChildren();
    e.dataset.state = text ? kind || 'error' : '';
    if (!text || !S.ctx) return;
    const h = S.ctx.h;
    e.append(h('p', { class: 'review-error-text', 'data-testid': 'review-error-text', text }));
    if (Array.isArray(extra) && extra.length) e.append(h('ul', { class: 'review-error-list' }, extra.map((x) => h('li', { text: x }))));
    if (detail && detail !== text) e.append(h('p', { class: 'review-error-detail', 'data-testid': 'review-error-detail' }, h('span', { class: 'upload-error-detail-label', text: t('review.err.server') }), ' ', detail));
  }

  /** Values typed in the decision and evidence forms, kept across a re-render. */
  function formValues() {
    const v = {};
    const get = (sel) => {
      const el = $(sel);
      return el ? el.value : undefined;
    };
    v.note = get('#review-note');
    v.reason = get('#review-reason');
    v.eradicated_on = get('#review-eradicated-on');
    v.area = get('#review-area');
    v.team = get('#review-team');
    const link = $('#review-evidence-link');
    v.link = link ? link.checked : undefined;
    return v;
  }

  function renderPanel(preserve) {
    const body = $('#review-body');
    const cur = S.current;
    if (!body || !cur) return;
    const ctx = S.ctx;
    const h = ctx.h;
    const f = cur.file;
    if (!f) {
      const s = cur.summary;
      body.replaceChildren(
        s ? h('h3', { class: 'detail-name', text: t('review.panel.title', { cls: classLabel(s.class, s.class_label), id: cur.id }) }) : null,
        h('p', { class: 'muted', text: cur.state === 'error' ? '' : t('review.panel.loading') })
      );
      return;
    }
    const p = preserve || {};
    const focusedInPanel = document.activeElement && body.contains(document.activeElement) ? document.activeElement.id : null;
    const head = h(
      'div',
      { class: 'review-head' },
      h('h3', { class: 'detail-name', id: 'review-name', 'data-testid': 'review-name', text: t('review.panel.title', { cls: classLabel(f.class, f.class_label), id: f.id }) }),
      h('div', { class: 'review-head-chips' }, chip(f.status, statusLabel(f.status, f.status_label), 'review-status'), replanting(f) ? h('span', { class: 'badge badge-replanting', 'data-testid': 'review-panel-replanting', text: t('flag.replanting') }) : null)
    );
    head.querySelector('.review-status').id = 'review-status';
    const parts = [head, h('p', { class: 'privacy-note flag-lead', role: 'note' }, h('strong', { text: t('flags.lead') }), ' ', t('flags.lead.more'))];
    if (replanting(f)) parts.push(h('p', { class: 'flag-replanting', text: t('review.replanting.of', { id: f.replanting_of }) }));
    if (Array.isArray(f.replanted_by) && f.replanted_by.length) parts.push(h('p', { class: 'flag-replanting', 'data-replanted-by': f.replanted_by.join(','), text: t('review.replanting.by', { ids: f.replanted_by.map((i) => `#${i}`).join(', ') }) }));
    parts.push(swipeFigure(), decisionSection(f, p), similarSection(f), propsList(f), historySection(f), evidenceSection(f, p), driversSection(f));
    body.replaceChildren(...parts);
    if (focusedInPanel) {
      const el = document.getElementById(focusedInPanel);
      if (el) el.focus({ preventScroll: true });
    }
  }

  function propsList(f) {
    const ctx = S.ctx;
    const h = ctx.h;
    const dl = h('dl', { class: 'props', 'data-testid': 'review-props' });
    const row = (key, value, field) => dl.append(h('dt', { text: t(key) }), h('dd', { 'data-field': field }, value instanceof Node ? value : ctx.show(value)));
    row('review.field.class', classLabel(f.class, f.class_label), 'class');
    row('review.field.status', statusLabel(f.status, f.status_label), 'status');
    row('review.field.priority', h('span', { class: 'priority-pill', 'data-priority': f.priority || 'normal', text: priorityLabel(f.priority) }), 'priority');
    row('review.field.confidence', pct(f.confidence), 'confidence');
    row('review.field.area', area(f.area_m2), 'area');
    row('review.field.score', f.score !== undefined && f.score !== null ? I.num(f.score) : null, 'score');
    row('review.field.acquired_at', f.acquired_at ? ctx.fmtDateTime(f.acquired_at) : null, 'acquired_at');
    const own = Array.isArray(f.imagery) ? f.imagery.find((i) => i.own) : null;
    row('review.field.survey', f.survey ? (own && own.name ? `${own.name} (${f.survey})` : String(f.survey)) : null, 'survey');
    const place = [f.commune ? `${f.commune} (${f.commune_code})` : ctx.place('commune', f.commune_code), f.province ? `${f.province} (${f.province_code})` : ctx.place('province', f.province_code)]
      .filter(Boolean)
      .join(', ');
    row('review.field.place', place || null, 'place');
    row('review.field.version', f.version, 'version');
    row('review.field.model_version', f.model_version, 'model_version');
    return dl;
  }

  // ------------------------------------------------------------- before / after
  function imageryPlan(f) {
    const im = f && Array.isArray(f.imagery) ? f.imagery.filter((i) => i && i.chip) : [];
    if (im.length >= 2) return { kind: 'pair', before: im[0], after: im[im.length - 1], count: im.length };
    if (im.length === 1) return { kind: 'single', only: im[0], count: 1 };
    return { kind: 'none', count: 0 };
  }

  function releaseChips() {
    const cur = S.current;
    if (!cur) return;
    for (const c of cur.chips.values()) {
      if (c.ctl) c.ctl.abort();
      if (c.url) URL.revokeObjectURL(c.url);
    }
    cur.chips.clear();
    for (const u of cur.shownEvidence.values()) if (u && u.url) URL.revokeObjectURL(u.url);
    cur.shownEvidence.clear();
  }

  function loadChips() {
    const cur = S.current;
    if (!cur || !cur.file) return;
    const plan = imageryPlan(cur.file);
    const wanted = plan.kind === 'pair' ? [plan.before, plan.after] : plan.kind === 'single' ? [plan.only] : [];
    for (const im of wanted) {
      if (!cur.chips.has(im.chip)) fetchChip(cur, im.chip);
    }
  }

  async function fetchChip(cur, href) {
    const ctx = S.ctx;
    const ctl = new AbortController();
    const c = { state: 'loading', url: null, ctl, error: '' };
    cur.chips.set(href, c);
    try {
      const res = await fetch(ctx.url(href), {
        headers: { Authorization: 'Bearer ' + (ctx.token() || ''), Accept: 'image/png, image/*;q=0.8' },
        signal: ctl.signal,
        credentials: 'omit'
      });
      if (res.status === 401) {
        ctx.unauthorized();
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const blob = await res.blob();
      if (ctl.signal.aborted || S.current !== cur) return;
      c.url = URL.createObjectURL(blob);
      c.state = 'decoding';
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      c.state = 'error';
      c.error = e.message || String(e);
    }
    if (S.current === cur) renderSwipe();
  }

  function swipeState(plan, cur) {
    const chips = plan.kind === 'pair' ? [plan.before, plan.after] : plan.kind === 'single' ? [plan.only] : [];
    const st = chips.map((im) => (cur.chips.get(im.chip) || { state: 'loading' }).state);
    if (plan.kind === 'none') return 'none';
    if (st.includes('error')) return 'error';
    if (st.every((s) => s === 'loaded')) return plan.kind === 'pair' ? 'ready' : 'single';
    return 'loading';
  }

  function swipeFigure() {
    const h = S.ctx.h;
    const cur = S.current;
    const f = cur.file;
    const plan = imageryPlan(f);
    const fig = h('figure', { class: 'swipe', id: 'review-swipe', 'data-testid': 'review-swipe', 'data-count': String(plan.count), 'data-state': swipeState(plan, cur) });
    const section = h('section', { class: 'detail-section', id: 'review-swipe-section', 'aria-labelledby': 'review-swipe-heading' }, h('h3', { id: 'review-swipe-heading', text: t('review.swipe.heading') }), fig);
    const date = (im) => (im.acquired_at ? S.ctx.fmtDateTime(im.acquired_at) : t('unknown'));
    const name = (im) => im.name || String(im.survey || '');
    const img = (im, role, altKey) => {
      const c = cur.chips.get(im.chip);
      const el = h('img', { class: `swipe-img swipe-${role}`, 'data-role': role, 'data-testid': `review-chip-${role}`, 'data-survey': String(im.survey || ''), alt: t(altKey, { name: name(im), date: date(im), id: f.id }), 'data-state': c ? c.state : 'loading' });
      if (c && c.url) {
        el.addEventListener('load', () => {
          if (c.state === 'decoding') c.state = 'loaded';
          el.dataset.state = 'loaded';
          fig.dataset.state = swipeState(plan, cur);
        });
        el.addEventListener('error', () => {
          c.state = 'error';
          el.dataset.state = 'error';
          fig.dataset.state = 'error';
        });
        el.src = c.url;
      }
      return el;
    };
    if (plan.kind === 'none') {
      fig.append(h('p', { class: 'muted', 'data-testid': 'review-swipe-note', text: t('review.swipe.none') }));
      return section;
    }
    const errors = Array.from(cur.chips.values()).filter((c) => c.state === 'error');
    if (plan.kind === 'single') {
      const stage = h('div', { class: 'swipe-stage' }, img(plan.only, 'only', 'review.swipe.alt.single'));
      fig.append(stage, h('p', { class: 'swipe-note', 'data-testid': 'review-swipe-note', text: t('review.swipe.single') }), h('figcaption', { class: 'muted small', text: `${name(plan.only)} — ${date(plan.only)}` }));
    } else {
      const v = cur.swipe;
      const before = img(plan.before, 'before', 'review.swipe.alt.before');
      const after = img(plan.after, 'after', 'review.swipe.alt.after');
      const line = h('div', { class: 'swipe-line', 'aria-hidden': 'true' });
      const apply = (val) => {
        after.style.clipPath = `inset(0 0 0 ${val}%)`;
        line.style.left = `${val}%`;
      };
      apply(v);
      const stage = h(
        'div',
        { class: 'swipe-stage' },
        before,
        after,
        line,
        h('span', { class: 'swipe-tag swipe-tag-before', 'aria-hidden': 'true', text: t('review.swipe.before', { name: '', date: '' }).replace(/[:\s—]+$/, '') }),
        h('span', { class: 'swipe-tag swipe-tag-after', 'aria-hidden': 'true', text: t('review.swipe.after', { name: '', date: '' }).replace(/[:\s—]+$/, '') })
      );
      const range = h('input', { type: 'range', id: 'review-swipe-range', 'data-testid': 'review-swipe-range', min: 0, max: 100, step: 1, value: String(v), 'aria-valuetext': t('review.swipe.value', { p: v }) });
      range.addEventListener('input', () => {
        cur.swipe = Number(range.value);
        apply(cur.swipe);
        range.setAttribute('aria-valuetext', t('review.swipe.value', { p: cur.swipe }));
      });
      fig.append(
        stage,
        h('label', { for: 'review-swipe-range', class: 'swipe-label', text: t('review.swipe.range') }),
        range,
        h(
          'figcaption',
          { class: 'muted small' },
          h('span', { class: 'swipe-caption', 'data-role': 'before', text: t('review.swipe.before', { name: name(plan.before), date: date(plan.before) }) }),
          h('br'),
          h('span', { class: 'swipe-caption', 'data-role': 'after', text: t('review.swipe.after', { name: name(plan.after), date: date(plan.after) }) })
        )
      );
    }
    if (errors.length) fig.append(h('p', { class: 'error small', text: `${t('review.swipe.error')}: ${errors[0].error}` }));
    else if (fig.dataset.state === 'loading' && !Array.from(cur.chips.values()).some((c) => c.url)) fig.append(h('p', { class: 'muted small', text: t('review.swipe.loading') }));
    return section;
  }

  function renderSwipe() {
    const old = $('#review-swipe-section');
    if (old && S.current && S.current.file) old.replaceWith(swipeFigure());
  }

  // ------------------------------------------------------------- decisions
  function decisionButton(code, allowed) {
    const h = S.ctx.h;
    const key = KEYS[code];
    return h(
      'button',
      {
        type: 'button',
        class: `btn decision-btn${code === 'false_positive' ? ' decision-negative' : ''}`,
        id: `review-decide-${code}`,
        'data-decision': code,
        'data-testid': 'decision-button',
        'aria-keyshortcuts': key || null,
        title: key ? t('review.decide.key', { k: key }) : null,
        disabled: !allowed || S.busy,
        onclick: () => chooseDecision(code)
      },
      h('span', { class: 'decision-label', text: decisionLabel(code) }),
      key ? h('kbd', { 'aria-hidden': 'true', text: key }) : null
    );
  }

  function decisionSection(f, p) {
    const h = S.ctx.h;
    const cur = S.current;
    const sec = h('section', { class: 'detail-section', id: 'review-decide', 'data-testid': 'review-decide', 'aria-labelledby': 'review-decide-heading' }, h('h3', { id: 'review-decide-heading', text: t('review.decide.heading') }));
    if (!canReview()) {
      sec.append(h('p', { class: 'muted readonly-note', 'data-testid': 'review-decide-readonly', text: t('review.decide.readonly') }));
      return sec;
    }
    const allowed = Array.isArray(f.allowed_decisions) ? f.allowed_decisions : [];
    if (!allowed.length) {
      sec.append(h('p', { class: 'muted', 'data-testid': 'review-decide-none', text: t('review.decide.none') }));
      return sec;
    }
    const form = h('form', { id: 'review-decide-form', novalidate: true });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (S.current && S.current.details) submitDecision(S.current.details);
    });
    const codes = decisionCodes();
    const group = (key, list) => {
      const fs = h('fieldset', { class: 'decision-group' }, h('legend', { text: t(key) }));
      const wrap = h('div', { class: 'decision-buttons' });
      for (const c of codes) if (list.includes(c)) wrap.append(decisionButton(c, allowed.includes(c)));
      fs.append(wrap);
      return fs;
    };
    form.append(group('review.decide.review', IMAGERY_DECISIONS), group('review.decide.field', FIELD_DECISIONS));
    if (cur.details) form.append(detailsBox(cur.details, f, p));
    const noteVal = p.note !== undefined ? p.note : '';
    const note = h('textarea', { id: 'review-note', name: 'note', rows: 3, maxlength: 2000, 'data-testid': 'review-note', 'aria-describedby': 'review-note-hint review-privacy review-err-note' });
    note.value = noteVal;
    form.append(
      h('label', { for: 'review-note', text: t('review.decide.note') }),
      note,
      h('p', { class: 'muted small field-hint', id: 'review-note-hint', text: t('review.decide.note.hint') }),
      fieldError('note'),
      h('p', { class: 'privacy-note small', id: 'review-privacy', role: 'note', 'data-testid': 'review-privacy' }, h('span', { 'aria-hidden': 'true', text: '⚠ ' }), t('review.privacy'))
    );
    sec.append(form);
    return sec;
  }

  function fieldError(field) {
    return S.ctx.h('p', { class: 'field-error', id: `review-err-${field}`, 'data-error-for': field, 'data-testid': `review-err-${field}`, 'aria-live': 'polite' });
  }

  function detailsBox(code, f, p) {
    const h = S.ctx.h;
    const fields = DETAILS[code] || [];
    const box = h('fieldset', { class: 'decision-details', id: 'review-details', 'data-decision': code, 'data-testid': 'review-details' }, h('legend', { text: decisionLabel(code) }), h('p', { class: 'muted small', text: t(`review.decide.details.${code}`) }));
    if (fields.includes('reason')) {
      const sel = h('select', { id: 'review-reason', name: 'reason', 'data-testid': 'review-reason', 'aria-describedby': 'review-err-reason' });
      sel.append(h('option', { value: '', text: t('review.decide.reason.pick') }));
      for (const r of reasonCodes()) sel.append(h('option', { value: r, text: reasonLabel(r) }));
      sel.value = p.reason || '';
      box.append(h('label', { for: 'review-reason', text: t('review.decide.reason') }), sel, fieldError('reason'));
    }
    if (fields.includes('eradicated_on')) {
      const d = h('input', { id: 'review-eradicated-on', name: 'eradicated_on', type: 'date', max: S.ctx.today(), 'data-testid': 'review-eradicated-on', 'aria-describedby': 'review-err-eradicated_on' });
      d.value = p.eradicated_on !== undefined ? p.eradicated_on : S.ctx.today();
      const a = h('input', { id: 'review-area', name: 'area_destroyed_m2', type: 'number', min: '0', step: 'any', inputmode: 'decimal', 'data-testid': 'review-area', 'aria-describedby': 'review-area-hint review-err-area_destroyed_m2' });
      a.value = p.area || '';
      box.append(
        h('div', { class: 'field-row' }, h('div', { class: 'field' }, h('label', { for: 'review-eradicated-on', text: t('review.decide.eradicated_on') }), d), h('div', { class: 'field grow' }, h('label', { for: 'review-area', text: t('review.decide.area') }), a)),
        fieldError('eradicated_on'),
        h('p', { class: 'muted small field-hint', id: 'review-area-hint', text: t('review.decide.area.hint', { a: area(f.area_m2) }) }),
        fieldError('area_destroyed_m2')
      );
    }
    if (fields.includes('team')) {
      const tm = h('input', { id: 'review-team', name: 'team', type: 'text', maxlength: 120, autocomplete: 'off', 'data-testid': 'review-team', placeholder: t('review.decide.team.placeholder'), 'aria-describedby': 'review-privacy review-err-team' });
      tm.value = p.team || '';
      box.append(h('label', { for: 'review-team', text: t('review.decide.team') }), tm, fieldError('team'));
    }
    box.append(
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit', class: 'btn btn-primary', id: 'review-decide-submit', 'data-testid': 'review-decide-submit', disabled: S.busy, text: t('review.decide.submit', { label: decisionLabel(code) }) }),
        h('button', { type: 'button', class: 'btn', id: 'review-decide-cancel', 'data-testid': 'review-decide-cancel', text: t('review.decide.cancel'), onclick: () => closeDetails(true) })
      )
    );
    return box;
  }

  function chooseDecision(code) {
    const cur = S.current;
    if (!cur || !cur.file || S.busy || !canReview() || !allowedNow(code)) return;
    if (code in DETAILS) {
      openDetails(code);
      return;
    }
    submitDecision(code);
  }

  function openDetails(code) {
    const cur = S.current;
    const keep = formValues();
    cur.details = code;
    clearFieldErrors();
    setError('');
    renderPanel(keep);
    const first = code === 'reopen' ? $('#review-note') : $('#review-details select, #review-details input');
    if (first) first.focus();
    const box = $('#review-details');
    if (box && box.scrollIntoView) box.scrollIntoView({ block: 'nearest' });
  }

  function closeDetails(focusButton) {
    const cur = S.current;
    if (!cur || !cur.details) return;
    const code = cur.details;
    const keep = formValues();
    cur.details = null;
    setError('');
    renderPanel({ note: keep.note });
    if (focusButton) {
      const b = document.getElementById(`review-decide-${code}`);
      if (b) b.focus();
    }
  }

  function clearFieldErrors() {
    document.querySelectorAll('#review-body [data-error-for]').forEach((el) => {
      el.textContent = '';
    });
    document.querySelectorAll('#review-body [aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  }

  function setBusy(on) {
    S.busy = on;
    document.querySelectorAll('#review-decide-form button').forEach((b) => {
      if (on) b.disabled = true;
      else if (b.classList.contains('decision-btn')) b.disabled = !allowedNow(b.dataset.decision);
      else b.disabled = false;
    });
  }

  /** A server field error in the interface language (the API's messages are English). */
  function errText(field, message, code) {
    // The server's stable `code` first (required, not_allowed, too_long, in_future, before_flight,
    // out_of_range, invalid); the English message adds the details (which reason, the flight date).
    const phrase = { required: 'required', not_allowed: 'goes only', too_long: 'longer', in_future: 'future', before_flight: 'before the flight', out_of_range: 'range' }[code] || '';
    const m = `${phrase} ${String(message || '')}`;
    const date = /\((\d{4}-\d{2}-\d{2})\)/.exec(m);
    switch (field) {
      case 'reason':
        if (/goes only/.test(m)) return t('review.err.reason.only');
        if (/not a reason/.test(m)) return t('review.err.reason.invalid');
        return t('review.err.reason.required');
      case 'note':
        if (/longer/.test(m)) return t('review.err.note.long');
        if (/reopen/.test(m)) return t('review.err.note.reopen');
        return t('review.err.note.other');
      case 'eradicated_on':
        if (/goes only/.test(m)) return t('review.err.only_eradicated');
        if (/required/.test(m)) return t('review.err.eradicated_on.required');
        if (/future/.test(m)) return t('review.err.eradicated_on.future');
        if (/before the flight/.test(m)) return `${t('review.err.eradicated_on.before')}${date ? ` (${S.ctx.fmtDate(date[1])})` : ''}`;
        return t('review.err.eradicated_on.invalid');
      case 'area_destroyed_m2':
        if (/goes only/.test(m)) return t('review.err.only_eradicated');
        if (/required/.test(m)) return t('review.err.area_destroyed_m2.required');
        return t('review.err.area_destroyed_m2.range');
      case 'team':
        if (/goes only/.test(m)) return t('review.err.team.only');
        if (/longer/.test(m)) return t('review.err.team.long');
        return t('review.err.team.required');
      case 'version':
        return t('review.err.version');
      case 'decision':
        return t('review.err.decision');
      default:
        return `${field}: ${t('review.err.field')}`;
    }
  }

  const FIELD_INPUT = { reason: 'review-reason', note: 'review-note', eradicated_on: 'review-eradicated-on', area_destroyed_m2: 'review-area', team: 'review-team' };

  function showFieldErrors(problem) {
    const errors = problem && Array.isArray(problem.errors) ? problem.errors : [];
    const general = [];
    let firstInput = null;
    for (const e of errors) {
      const text = errText(e.field, e.message, e.code);
      const slot = document.querySelector(`#review-body [data-error-for="${CSS.escape(String(e.field))}"]`);
      if (slot) {
        slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
        const input = document.getElementById(FIELD_INPUT[e.field] || '');
        if (input) {
          input.setAttribute('aria-invalid', 'true');
          if (!firstInput) firstInput = input;
        }
      } else {
        general.push(text);
      }
    }
    setError(t('review.err.invalid'), 'invalid', problem && problem.detail, general);
    if (firstInput) firstInput.focus();
  }

  async function submitDecision(code) {
    const ctx = S.ctx;
    const cur = S.current;
    if (!cur || !cur.file || S.busy) return;
    const id = cur.id;
    const body = { decision: code, version: cur.file.version };
    const v = formValues();
    const note = (v.note || '').trim();
    if (note) body.note = note;
    const fields = cur.details === code ? DETAILS[code] || [] : [];
    if (fields.includes('reason') && v.reason) body.reason = v.reason;
    if (fields.includes('eradicated_on') && v.eradicated_on) body.eradicated_on = v.eradicated_on;
    if (fields.includes('area_destroyed_m2') && String(v.area || '').trim() !== '') {
      const a = Number(String(v.area).replace(',', '.'));
      body.area_destroyed_m2 = isFinite(a) ? a : -1;
    }
    if (fields.includes('team') && (v.team || '').trim()) body.team = v.team.trim();
    clearFieldErrors();
    setError('');
    setMessage(t('review.decide.busy'), 'saving');
    setBusy(true);
    try {
      const res = await ctx.api(`v1/flags/${encodeURIComponent(id)}/decisions`, { method: 'POST', body });
      if (S.current !== cur) return;
      cur.details = null;
      cur.justDecided = true;
      setBusy(false);
      setFile(res.data, { note: '' });
      setMessage(t('review.decide.done', { label: decisionLabel(code) }), 'decided');
      $('#review-panel').dataset.lastDecision = code;
      const heading = $('#review-name');
      if (heading && document.activeElement === document.body) $('#review-panel').focus({ preventScroll: true });
      ctx.flagsChanged();
      loadQueue({ keepLength: true });
    } catch (e) {
      if (S.current !== cur) return;
      setMessage('');
      setBusy(false);
      if (e instanceof ctx.ApiError && e.status === 401) return;
      if (e instanceof ctx.ApiError && e.status === 409) {
        const keep = formValues();
        // `code`: stale_version (someone else decided first), illegal_transition, superseded.
        const code = e.problem && e.problem.code;
        const key = code === 'superseded' ? 'review.conflict.superseded' : code === 'illegal_transition' ? 'review.conflict.illegal' : 'review.conflict';
        setError(t(key), 'conflict', e.message);
        await loadFile(id, { preserve: keep });
        loadQueue({ keepLength: true });
      } else if (e instanceof ctx.ApiError && e.status === 422) {
        showFieldErrors(e.problem);
      } else if (e instanceof ctx.ApiError && e.status === 403) {
        setError(t('review.err.403'), 'forbidden', e.message);
      } else if (e instanceof ctx.ApiError && e.status === 404) {
        setError(t('review.err.404'), 'error', e.message);
      } else {
        setError(e instanceof ctx.ApiError && e.status ? t('review.err.generic', { status: e.status }) : t('error.network'), 'error', e.message);
      }
    }
  }

  // ------------------------------------------------------------- history, drivers
  function historySection(f) {
    const ctx = S.ctx;
    const h = ctx.h;
    const sec = h('section', { class: 'detail-section', id: 'review-history', 'data-testid': 'review-history', 'aria-labelledby': 'review-history-heading' }, h('h3', { id: 'review-history-heading', text: t('review.history.heading') }));
    const list = Array.isArray(f.history) ? f.history : [];
    sec.dataset.count = String(list.length);
    if (!list.length) {
      sec.append(h('p', { class: 'muted', text: t('review.history.empty') }));
      return sec;
    }
    const ol = h('ol', { class: 'history' });
    for (const d of list.slice().reverse()) {
      const lines = [];
      if (d.reason) lines.push(t('review.history.reason', { r: reasonLabel(d.reason, d.reason_label) }));
      if (d.decision === 'eradicated') lines.push(t('review.history.eradicated', { d: ctx.fmtDate(d.eradicated_on), a: I.num(Number(d.area_destroyed_m2)), team: d.team || t('unknown') }));
      else if (d.team) lines.push(t('review.history.team', { team: d.team }));
      ol.append(
        h(
          'li',
          { 'data-decision': d.decision || '', 'data-actor': d.actor || '', 'data-id': String(d.id) },
          h('div', { class: 'history-head' }, h('time', { datetime: d.decided_at || '', text: ctx.fmtDateTime(d.decided_at) }), ' ', chip(d.to_status || d.decision, decisionLabel(d.decision, d.decision_label))),
          lines.map((l) => h('div', { class: 'history-detail', text: l })),
          d.note ? h('div', { class: 'history-note', text: d.note }) : null,
          h('div', { class: 'history-meta muted', text: [d.actor ? t('review.history.by', { actor: d.actor }) : null, `v${d.version}`].filter(Boolean).join(' · ') })
        )
      );
    }
    sec.append(ol);
    return sec;
  }

  // ------------------------------------------------------------- more like this
  /**
   * "More like this": the survey's other flags re-scored by how much their cells look like this
   * plot (GET /v1/flags/{id}/similar). Most useful after confirming a plot: the ones most like it
   * are the next to review. Each row opens that flag.
   */
  function similarSection(f) {
    const h = S.ctx.h;
    const cur = S.current;
    const sim = cur && cur.similar && cur.similar.id === String(f.id) ? cur.similar : null;
    const sec = h('section', { class: 'detail-section', id: 'review-similar', 'data-testid': 'review-similar', 'aria-labelledby': 'review-similar-heading', 'data-state': sim ? sim.state : 'idle' }, h('h3', { id: 'review-similar-heading', text: t('review.similar.heading') }));
    const btn = h('button', { type: 'button', id: 'review-similar-run', class: 'btn', 'data-testid': 'review-similar-run', text: sim && sim.state === 'loading' ? t('review.similar.loading') : t('review.similar.run') });
    if (sim && sim.state === 'loading') btn.disabled = true;
    btn.addEventListener('click', () => loadSimilar(f.id));
    sec.append(h('p', { class: 'muted small', text: t('review.similar.intro') }), btn);
    if (!sim || sim.state === 'loading') return sec;
    if (sim.state === 'error') {
      sec.append(h('p', { class: 'review-error-text', role: 'alert', text: sim.error }));
      return sec;
    }
    const list = sim.data && Array.isArray(sim.data.candidates) ? sim.data.candidates : [];
    if (!list.length) {
      sec.append(h('p', { class: 'muted', text: t('review.similar.none') }));
      return sec;
    }
    const ol = h('ol', { id: 'review-similar-list', class: 'review-similar-list', 'data-testid': 'review-similar-list' });
    for (const c of list.slice(0, 20)) {
      const open = h('button', { type: 'button', class: 'btn-link', 'data-id': String(c.id), text: t('review.similar.item', { id: c.id, cls: classLabel(c.class), status: statusLabel(c.status) }) });
      open.addEventListener('click', () => select(String(c.id)));
      ol.append(h('li', { 'data-id': String(c.id), 'data-similarity': String(c.similarity) }, open, ' ', h('span', { class: 'similar-score', text: t('review.similar.score', { p: pct(c.similarity) }) }), ' ', h('span', { class: 'muted', text: t('review.similar.conf', { p: pct(c.confidence) }) })));
    }
    sec.append(ol);
    return sec;
  }

  async function loadSimilar(id) {
    const cur = S.current;
    if (!cur || !S.ctx) return;
    const key = String(id);
    cur.similar = { id: key, state: 'loading' };
    renderPanel();
    try {
      const { data } = await S.ctx.api(`v1/flags/${encodeURIComponent(key)}/similar`);
      if (S.current !== cur) return;
      cur.similar = { id: key, state: 'ready', data };
    } catch (e) {
      if (S.current !== cur) return;
      cur.similar = { id: key, state: 'error', error: `${t('review.similar.error')}: ${e.message || String(e)}` };
    }
    renderPanel();
    const sec = document.getElementById('review-similar');
    if (sec) sec.scrollIntoView({ block: 'nearest' });
  }

  function driversSection(f) {
    const h = S.ctx.h;
    const sec = h('section', { class: 'detail-section', id: 'review-drivers', 'data-testid': 'review-drivers', 'aria-labelledby': 'review-drivers-heading' }, h('h3', { id: 'review-drivers-heading', text: t('review.drivers.heading') }));
    const drivers = Array.isArray(f.drivers) ? f.drivers.filter((d) => d && typeof d.feature === 'string') : [];
    if (!drivers.length) {
      sec.append(h('p', { class: 'muted', text: t('flag.drivers.none') }));
      return sec;
    }
    sec.append(h('p', { class: 'muted small', text: t('flag.drivers.intro') }));
    const ul = h('ul', { class: 'flag-drivers' });
    for (const d of drivers) {
      const z = Number(d.z);
      const dir = z > 0 ? 'up' : z < 0 ? 'down' : 'flat';
      const key = `flag.driver.${d.feature}`;
      const name = t(key) === key ? d.feature : t(key);
      ul.append(
        h(
          'li',
          { 'data-feature': d.feature, 'data-z': String(z), 'data-dir': dir },
          h('span', { class: `driver-arrow driver-${dir}`, 'aria-hidden': 'true', text: dir === 'up' ? '↑' : dir === 'down' ? '↓' : '→' }),
          h('span', { class: 'driver-name', text: name }),
          h('span', { class: 'driver-z', text: `z ${signed(z)}` }),
          h('span', { class: 'driver-dir muted', text: dir === 'flat' ? '' : t(`flag.drivers.${dir}`) })
        )
      );
    }
    sec.append(ul);
    return sec;
  }

  // ------------------------------------------------------------- evidence
  function routeMissing(status, problem) {
    return status === 405 || (status === 404 && !!problem && typeof problem.detail === 'string' && /^no such resource/i.test(problem.detail));
  }

  function warningText(w) {
    const key = `review.evidence.warn.${w.code}`;
    const v = t(key);
    return v === key ? w.message || w.code : v;
  }

  function evidenceSection(f, p) {
    const ctx = S.ctx;
    const h = ctx.h;
    const cur = S.current;
    const sec = h('section', { class: 'detail-section', id: 'review-evidence', 'data-testid': 'review-evidence', 'aria-labelledby': 'review-evidence-heading' }, h('h3', { id: 'review-evidence-heading', text: t('review.evidence.heading') }));
    const list = Array.isArray(f.evidence) ? f.evidence : [];
    sec.dataset.count = String(list.length);
    if (!list.length) sec.append(h('p', { class: 'muted', text: t('review.evidence.empty') }));
    else {
      const ul = h('ul', { class: 'evidence-list', id: 'review-evidence-list' });
      for (const e of list) {
        const bits = [e.taken_at ? t('review.evidence.taken', { t: ctx.fmtDateTime(e.taken_at) }) : null, typeof e.distance_m === 'number' ? t('review.evidence.distance', { m: I.num(Math.round(e.distance_m)) }) : e.location ? null : t('review.evidence.nogps')].filter(Boolean);
        const warns = Array.isArray(e.warnings) ? e.warnings : [];
        const li = h(
          'li',
          { 'data-id': String(e.id), 'data-warnings': String(warns.length) },
          h('span', { class: 'evidence-name', text: t('review.evidence.item', { id: e.id }) }),
          bits.length ? h('span', { class: 'muted small', text: ` · ${bits.join(' · ')}` }) : null,
          warns.length ? h('ul', { class: 'evidence-warnings' }, warns.map((w) => h('li', { 'data-code': w.code || '', text: warningText(w) }))) : null
        );
        const shown = cur.shownEvidence.get(String(e.id));
        if (shown && shown.url) li.append(h('img', { class: 'evidence-photo', src: shown.url, alt: t('review.evidence.alt', { id: e.id, flag: f.id }) }));
        else if (e.href) li.append(h('button', { type: 'button', class: 'btn btn-link', text: t('review.evidence.show', { id: e.id }), onclick: () => showEvidence(e) }));
        ul.append(li);
      }
      sec.append(ul);
    }
    if (!canReview()) return sec;
    const last = Array.isArray(f.history) && f.history.length ? f.history[f.history.length - 1] : null;
    const box = h('div', { class: 'evidence-upload' });
    if (cur.justDecided && last) box.append(h('p', { class: 'small', text: t('review.evidence.after') }));
    const input = h('input', { type: 'file', id: 'review-evidence-file', 'data-testid': 'review-evidence-file', accept: 'image/jpeg,.jpg,.jpeg', multiple: true, 'aria-describedby': 'review-evidence-hint' });
    input.addEventListener('change', () => {
      const files = Array.from(input.files || []);
      input.value = '';
      if (files.length) uploadEvidence(files);
    });
    box.append(h('label', { for: 'review-evidence-file', text: t('review.evidence.pick') }), input, h('p', { class: 'muted small', id: 'review-evidence-hint', text: t('review.evidence.hint') }));
    if (last) {
      const link = h('input', { type: 'checkbox', id: 'review-evidence-link', 'data-decision': String(last.id) });
      link.checked = p.link !== undefined ? p.link : true;
      box.append(h('label', { class: 'check', for: 'review-evidence-link' }, link, h('span', { text: t('review.evidence.link', { label: decisionLabel(last.decision, last.decision_label) }) })));
    }
    box.append(evidenceStatus());
    sec.append(box);
    return sec;
  }

  function evidenceStatus() {
    const h = S.ctx.h;
    const st = (S.current && S.current.evidence) || null;
    const el = h('div', { id: 'review-evidence-status', class: 'evidence-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'review-evidence-status', 'data-state': st ? st.state : '' });
    if (!st) return el;
    el.append(h('p', { class: st.state === 'error' || st.state === 'unsupported' ? 'error' : st.state === 'uploading' ? 'muted' : 'message', text: st.text }));
    if (st.warnings && st.warnings.length) el.append(h('ul', { class: 'evidence-warnings', id: 'review-evidence-warnings' }, st.warnings.map((w) => h('li', { 'data-code': w.code || '', text: warningText(w) }))));
    if (st.detail) el.append(h('p', { class: 'review-error-detail', text: `${t('review.err.server')} ${st.detail}` }));
    return el;
  }

  function setEvidenceStatus(st) {
    if (!S.current) return;
    S.current.evidence = st;
    const old = $('#review-evidence-status');
    if (old) old.replaceWith(evidenceStatus());
  }

  async function isJpeg(file) {
    try {
      const b = new Uint8Array(await file.slice(0, 3).arrayBuffer());
      return b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
    } catch (_) {
      return false;
    }
  }

  async function uploadEvidence(files) {
    const ctx = S.ctx;
    const cur = S.current;
    if (!cur || !cur.file) return;
    const id = cur.id;
    let uploaded = false;
    for (const file of files) {
      if (S.current !== cur) return;
      const name = file.name || 'photo.jpg';
      if (!(await isJpeg(file))) {
        setEvidenceStatus({ state: 'error', text: t('review.evidence.notjpeg', { name }) });
        continue;
      }
      const link = $('#review-evidence-link');
      const q = link && link.checked && link.dataset.decision ? `?decision=${encodeURIComponent(link.dataset.decision)}` : '';
      setEvidenceStatus({ state: 'uploading', text: t('review.evidence.uploading', { name }) });
      let res;
      let data = null;
      try {
        res = await fetch(ctx.url(`v1/flags/${encodeURIComponent(id)}/evidence${q}`), {
          method: 'POST',
          headers: { Authorization: 'Bearer ' + (ctx.token() || ''), 'Content-Type': 'image/jpeg', Accept: 'application/json, application/problem+json' },
          body: file,
          credentials: 'omit',
          cache: 'no-store'
        });
        const text = await res.text();
        try {
          data = text ? JSON.parse(text) : null;
        } catch (_) {
          data = null;
        }
      } catch (e) {
        setEvidenceStatus({ state: 'error', text: `${t('review.evidence.error', { name })}: ${t('error.network')}` });
        continue;
      }
      if (res.status === 401) {
        ctx.unauthorized();
        return;
      }
      if (res.ok) {
        uploaded = true;
        const warnings = data && Array.isArray(data.warnings) ? data.warnings : [];
        setEvidenceStatus({ state: 'done', text: t(warnings.length ? 'review.evidence.done.warn' : 'review.evidence.done', { name }), warnings });
      } else if (routeMissing(res.status, data)) {
        setEvidenceStatus({ state: 'unsupported', text: t('review.evidence.unsupported'), detail: data && data.detail });
        break;
      } else if (res.status === 413) {
        setEvidenceStatus({ state: 'error', text: t('review.evidence.413', { name }), detail: data && data.detail });
      } else {
        setEvidenceStatus({ state: 'error', text: `${t('review.evidence.error', { name })} (HTTP ${res.status})`, detail: data && (data.detail || data.title) });
      }
    }
    if (uploaded && S.current === cur) await loadFile(id, { preserve: formValues() });
  }

  async function showEvidence(e) {
    const ctx = S.ctx;
    const cur = S.current;
    try {
      const res = await fetch(ctx.url(e.href), { headers: { Authorization: 'Bearer ' + (ctx.token() || '') }, credentials: 'omit' });
      if (res.status === 401) {
        ctx.unauthorized();
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const blob = await res.blob();
      if (S.current !== cur) return;
      cur.shownEvidence.set(String(e.id), { url: URL.createObjectURL(blob) });
      renderPanel(formValues());
    } catch (err) {
      setEvidenceStatus({ state: 'error', text: `${t('review.evidence.error', { name: t('review.evidence.item', { id: e.id }) })}: ${err.message || err}` });
    }
  }

  // ------------------------------------------------------------- exports
  function exportCommune() {
    if (S.filters.commune) return S.filters.commune;
    const f = S.current && S.current.file;
    return (f && f.commune_code) || '';
  }

  function renderExportScope() {
    const sel = $('#review-export-scope');
    if (!sel || !S.ctx) return;
    const h = S.ctx.h;
    const prev = sel.value;
    const cur = S.current ? S.current.id : null;
    const commune = exportCommune();
    const opts = [
      h('option', { value: 'current', text: cur ? t('review.export.scope.current', { id: cur }) : t('review.export.scope.current.none'), disabled: !cur }),
      h('option', { value: 'picked', text: t('review.export.scope.picked', { n: I.num(S.picked.size) }), disabled: !S.picked.size }),
      h('option', { value: 'commune', text: commune ? t('review.export.scope.commune', { code: commune }) : t('review.export.scope.commune.none'), disabled: !commune })
    ];
    sel.replaceChildren(...opts);
    const enabled = opts.filter((o) => !o.disabled).map((o) => o.value);
    sel.value = enabled.includes(prev) ? prev : enabled[0] || 'current';
  }

  function filenameFrom(disposition) {
    if (!disposition) return null;
    const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(disposition);
    if (star) {
      try {
        return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
      } catch (_) {
        /* fall through */
      }
    }
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
    return plain ? plain[1].trim() : null;
  }

  function setExportStatus(state, text, detail) {
    const el = $('#review-export-status');
    if (!el) return;
    el.dataset.state = state || '';
    el.className = `small ${state === 'error' || state === 'unsupported' || state === 'nothing' ? 'error' : 'message'}`;
    el.textContent = text || '';
    if (detail && S.ctx) el.append(S.ctx.h('span', { class: 'review-error-detail', text: ` — ${detail}` }));
  }

  async function doExport(fmt) {
    const ctx = S.ctx;
    const spec = EXPORTS[fmt];
    if (!ctx || !spec) return;
    renderExportScope();
    const scope = $('#review-export-scope').value;
    const q = new URLSearchParams();
    let tag = '';
    if (scope === 'commune') {
      const code = exportCommune();
      if (!code) return setExportStatus('nothing', t('review.export.nothing'));
      q.set('commune', code);
      tag = `xa-${code}`;
    } else {
      const ids = scope === 'picked' ? Array.from(S.picked) : S.current ? [S.current.id] : [];
      if (!ids.length) return setExportStatus('nothing', t('review.export.nothing'));
      q.set('ids', ids.join(','));
      tag = ids.length === 1 ? `co-${ids[0]}` : `co-${ids.length}`;
    }
    const fallback = `vigil-${fmt === 'mbtiles' ? 'anh-' : ''}${tag}.${spec.ext}`;
    setExportStatus('busy', t('review.export.busy', { name: fallback }));
    const buttons = document.querySelectorAll('#review-export .export-btn');
    buttons.forEach((b) => {
      b.disabled = true;
    });
    try {
      const res = await fetch(ctx.url(`${spec.path}?${q}`), { headers: { Authorization: 'Bearer ' + (ctx.token() || ''), Accept: '*/*' }, credentials: 'omit', cache: 'no-store' });
      if (res.status === 401) {
        ctx.unauthorized();
        return;
      }
      if (!res.ok) {
        let problem = null;
        try {
          problem = JSON.parse(await res.text());
        } catch (_) {
          problem = null;
        }
        if (routeMissing(res.status, problem)) setExportStatus('unsupported', t('review.export.unsupported', { fmt: spec.name }));
        else setExportStatus('error', `${t('review.export.error', { fmt: spec.name })} (HTTP ${res.status})`, problem && (problem.detail || problem.title));
        return;
      }
      const blob = await res.blob();
      const name = filenameFrom(res.headers.get('Content-Disposition')) || fallback;
      const url = URL.createObjectURL(blob);
      const a = ctx.h('a', { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 60000);
      setExportStatus('done', t('review.export.done', { name }));
    } catch (e) {
      setExportStatus('error', `${t('review.export.error', { fmt: spec.name })}: ${t('error.network')}`);
    } finally {
      buttons.forEach((b) => {
        b.disabled = false;
      });
    }
  }

  // ------------------------------------------------------------- open / close
  function isTyping(el) {
    if (!el) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true;
    return el.tagName === 'INPUT' && TEXT_INPUTS.includes((el.type || 'text').toLowerCase());
  }

  function onKey(ev) {
    if (!S.open || ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    if (isTyping(ev.target)) return;
    const k = ev.key;
    if (k === 'j' || k === 'J') {
      ev.preventDefault();
      stepQueue(1);
      return;
    }
    if (k === 'k' || k === 'K') {
      ev.preventDefault();
      stepQueue(-1);
      return;
    }
    const code = Object.keys(KEYS).find((c) => KEYS[c] === k);
    if (!code || !panelOpen() || !S.current || !S.current.file) return;
    ev.preventDefault();
    chooseDecision(code);
  }

  async function setOpen(open) {
    const ctx = S.ctx;
    if (!ctx) return;
    const queue = $('#review-queue');
    const btn = $('#review-toggle');
    if (open === S.open) {
      if (open) queue.focus({ preventScroll: true });
      return;
    }
    S.open = open;
    if (open) ctx.beforeOpen();
    queue.hidden = !open;
    $('#sidebar').hidden = open;
    document.body.classList.toggle('review-open', open);
    btn.setAttribute('aria-expanded', String(open));
    if (!open) {
      closePanel();
      clearPlot();
      if (S.queueCtl) S.queueCtl.abort();
      S.queueSeq += 1;
      btn.focus({ preventScroll: true });
      return;
    }
    if (window.matchMedia && window.matchMedia('(max-width: 760px)').matches) document.body.classList.remove('sidebar-collapsed');
    queue.focus({ preventScroll: true });
    try {
      await ensureVocab();
    } catch (_) {
      return; // 401: the login screen is back
    }
    if (!S.open) return;
    renderFilters();
    renderExportScope();
    await loadQueue();
  }

  /** Closes the file (the queue stays). */
  function closePanel() {
    const panel = $('#review-panel');
    if (!panel || !S.ctx) return;
    const wasOpen = !panel.hidden;
    releaseChips();
    S.current = null;
    S.busy = false;
    panel.hidden = true;
    delete panel.dataset.id;
    delete panel.dataset.version;
    delete panel.dataset.status;
    delete panel.dataset.lastDecision;
    panel.dataset.state = '';
    $('#review-body').replaceChildren();
    setMessage('');
    setError('');
    document.body.classList.remove('review-file');
    clearPlot();
    highlightQueue();
    renderExportScope();
    if (wasOpen && S.open) {
      const first = $('#review-list .is-selected .review-item-main') || $('#review-queue');
      if (first) first.focus({ preventScroll: true });
    }
  }

  /** Escape: the details form first, then the file, then the review. */
  function escape() {
    if (S.current && S.current.details) closeDetails(true);
    else if (panelOpen()) closePanel();
    else setOpen(false);
  }

  function wire() {
    if (S.wired) return;
    S.wired = true;
    $('#review-toggle').addEventListener('click', () => setOpen(!S.open));
    $('#review-close').addEventListener('click', () => setOpen(false));
    $('#review-panel-close').addEventListener('click', closePanel);
    $('#review-filters').addEventListener('submit', (ev) => {
      ev.preventDefault();
      readFilters();
    });
    for (const id of ['#review-filter-class', '#review-filter-status', '#review-filter-sort', '#review-filter-from', '#review-filter-to']) $(id).addEventListener('change', readFilters);
    $('#review-filter-reset').addEventListener('click', () => {
      S.filters = defaultFilters();
      renderFilters();
      loadQueue();
    });
    $('#review-more').addEventListener('click', loadMore);
    document.querySelectorAll('#review-export .export-btn').forEach((b) => b.addEventListener('click', () => doExport(b.dataset.format)));
    document.addEventListener('keydown', onKey);
  }

  /**
   * ctx: { map, vector() (the map's vector overlay), api, ApiError, h, url, token(), user(),
   * unauthorized(), fmtDateTime, fmtDate, today, show, place(level, code), beforeOpen(),
   * showImagery(), flagsChanged() }
   */
  function attach(ctx) {
    S.ctx = ctx;
    wire();
    S.canReview = false;
    $('#review-toggle').hidden = false;
    $('#review-queue').dataset.state = 'idle';
    if (canReview()) {
      // The number of open flags waiting, on the header button.
      ctx
        .api('v1/review/queue?limit=1')
        .then(({ data }) => setBadge(data && typeof data.total === 'number' ? data.total : 0))
        .catch(() => setBadge(0));
    }
  }

  /** The session ended: nothing kept. */
  function detach() {
    if (!S.ctx) return; // never attached (a saved token that no longer works)
    if (S.open) {
      S.open = false;
      $('#review-queue').hidden = true;
      $('#sidebar').hidden = false;
      document.body.classList.remove('review-open');
      $('#review-toggle').setAttribute('aria-expanded', 'false');
    }
    closePanel();
    if (S.queueCtl) S.queueCtl.abort();
    S.queueSeq += 1;
    S.items = [];
    S.total = 0;
    S.picked.clear();
    S.vocab = null;
    S.canReview = false;
    S.filters = defaultFilters();
    S.queueState = 'idle';
    $('#review-list').replaceChildren();
    $('#review-count').textContent = '';
    setQueueError('');
    setQueueMessage('');
    setExportStatus('', '');
    setBadge(0);
    $('#review-toggle').hidden = true;
    clearPlot();
  }

  function relabel() {
    if (!S.ctx) return;
    if (S.open) {
      renderFilters();
      renderQueue();
    }
    renderExportScope();
    if (S.current) renderPanel(formValues());
  }

  window.VigilReview = {
    attach,
    detach,
    relabel,
    setOpen,
    closePanel,
    escape,
    select,
    isOpen: () => S.open,
    isPanelOpen: panelOpen
  };
})();
