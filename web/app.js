/* Vigil web map shell.
 *
 * Plain ES2020, no framework, no build step. Everything it loads is served by
 * Vigil itself: MapLibre GL JS and pmtiles from vendor/, the Natural Earth basemap as a PMTiles
 * archive from basemap/, the big layers (provinces, communes, hotspots) as vector tiles from the
 * OGC API - Tiles endpoints (vector-map.js), and data from the OGC API - Features endpoints and /v1/.
 *
 * Depends on window.VigilVectorMap (vector-map.js: the map frame and overlay) and window.VigilI18n
 * (i18n.js); attaches window.VigilFlags
 * (flags.js), the flagged plots layer and its panel, window.VigilReview (review.js), the review
 * queue and flag files, and for operators and admins window.VigilUpload (upload.js), the upload panel.
 */
(function () {
  'use strict';

  /** A text node in a span: popups and tooltips get nodes, never HTML strings. */
  function textEl(s) {
    const span = document.createElement('span');
    span.textContent = s == null ? '' : String(s);
    return span;
  }


  const I = window.VigilI18n;
  const t = I.t;

  // ---------------------------------------------------------------- settings
  const TOKEN_KEY = 'vigil.token';
  const USER_KEY = 'vigil.user'; // the signed-in user, for an offline start with a field package
  const FIELD_ROLES = ['reviewer', 'admin'];
  const HOTSPOT_PAGE = 500; // the list: one page of the view's hotspots (the map draws them all from tiles)
  const COMMUNE_MIN_ZOOM = 10; // commune boundaries only when zoomed in this far
  const COMMUNE_PAGE = 500;
  const COMMUNE_CAP = 3000; // per view
  const COMMUNE_CACHE_MAX = 6000; // features kept before the cache is cleared
  const PROVINCE_PAGE = 100;
  const PROVINCE_CAP = 200;
  const RELOAD_DEBOUNCE_MS = 350;
  const LIST_MAX = 200;
  const EDIT_ROLES = ['analyst', 'admin'];
  const UPLOAD_ROLES = ['operator', 'admin']; // may upload survey imagery (web/upload.js)
  const SURVEY_PAGE = 500; // survey footprints per request
  const SURVEY_CAP = 5000;
  const MAX_ZOOM = 22; // drone imagery is a few cm per pixel
  const FALLBACK_COLORS = {
    reported: '#e67e22',
    verifying: '#f1c40f',
    eliminated: '#27ae60',
    reemerged: '#c0392b'
  };
  // Vietnam, mainland and islands.
  const VN_BOUNDS = [102.1, 8.2, 109.9, 23.4]; // [w, s, e, n]
  const MAX_BOUNDS = [95.5, 3.5, 120.5, 28.5];

  // The API lives at the server root; the page at <root>/map/.
  const BASE = (function () {
    const p = window.location.pathname;
    const i = p.lastIndexOf('/map/');
    return i >= 0 ? p.slice(0, i + 1) : '/';
  })();

  // ------------------------------------------------------------------- state
  const state = {
    token: null,
    user: null,
    vocab: null,
    filters: { status: '', kind: '', commune: '' },
    map: null, // the map frame (vector-map.js)
    switches: { imagery: false, footprints: true }, // overlays the layer switcher turns on and off
    layerControl: null,
    provinces: [], // the province features loaded (names, the user's extent)
    communes: new Map(), // key -> commune feature loaded (names)
    markers: new Map(), // id -> { feature }: the view's first page, for the list and the panel
    vector: null, // the MapLibre overlay of this login (vector-map.js)
    surveyById: new Map(), // id -> the survey footprint feature (collections/surveys/items)
    provincesLoaded: false,
    lastCount: null, // { matched, drawn }
    hotspotCtl: null,
    communeCtl: null,
    reloadTimer: null,
    reloadSeq: 0,
    mapReady: false,
    detail: null // { id, feature, history, historyError }
  };

  const $ = (sel, root) => (root || document).querySelector(sel);

  /** Build an element: h('p', {class: 'x', text: 'y'}, child, ...). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'text') el.textContent = v;
        else if (k === 'class') el.className = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'value') el.value = v;
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // --------------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, message, problem) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
      this.problem = problem || null;
    }
  }

  /** Resolve an API path or a server-given link against this page's origin. */
  function apiUrl(pathOrHref) {
    if (/^https?:\/\//i.test(pathOrHref)) {
      const u = new URL(pathOrHref);
      // Links from the server may name another host (proxy, 0.0.0.0 binding):
      // keep the page's own origin so that nothing leaves it.
      return new URL(u.pathname + u.search, window.location.origin).toString();
    }
    return new URL(BASE + pathOrHref.replace(/^\//, ''), window.location.origin).toString();
  }

  async function api(path, opts) {
    const o = opts || {};
    const headers = Object.assign(
      { Accept: 'application/geo+json, application/json;q=0.9, application/problem+json;q=0.8' },
      o.headers || {}
    );
    if (state.token && !o.noAuth) headers.Authorization = 'Bearer ' + state.token;
    let body;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      if (!headers['Content-Type']) headers['Content-Type'] = 'application/json';
    }
    let res;
    try {
      res = await fetch(apiUrl(path), {
        method: o.method || 'GET',
        headers,
        body,
        signal: o.signal,
        cache: 'no-store',
        credentials: 'omit'
      });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, t('error.network'));
    }
    // A merge-patch body type the server does not take: retry once as plain JSON.
    if (res.status === 415 && headers['Content-Type'] && headers['Content-Type'] !== 'application/json') {
      return api(path, Object.assign({}, o, { headers: Object.assign({}, o.headers, { 'Content-Type': 'application/json' }) }));
    }
    if (res.status === 401 && !o.noAuth) {
      onUnauthorized();
    }
    const ctype = res.headers.get('Content-Type') || '';
    let data = null;
    if (res.status !== 204) {
      const text = await res.text();
      if (text && /json/i.test(ctype)) {
        try {
          data = JSON.parse(text);
        } catch (_) {
          data = null;
        }
      } else if (text) {
        data = text;
      }
    }
    if (!res.ok) {
      const problem = data && typeof data === 'object' ? data : null;
      let msg = (problem && (problem.detail || problem.title)) || (typeof data === 'string' && data.length < 300 ? data : '');
      if (!msg) msg = res.status === 403 ? t('error.forbidden') : `${t('error.generic')} (HTTP ${res.status})`;
      if (problem && Array.isArray(problem.errors) && problem.errors.length) {
        const extra = problem.errors
          .slice(0, 5)
          .map((e) => [e.row !== undefined ? `#${e.row}` : '', e.field, e.message].filter(Boolean).join(': '))
          .filter((x) => x && !msg.includes(x));
        if (extra.length) msg += ' — ' + extra.join('; ');
      }
      throw new ApiError(res.status, msg, problem);
    }
    return { status: res.status, data, headers: res.headers };
  }

  /** GET a FeatureCollection and follow its `next` links until cap features. */
  async function fetchPages(path, cap, signal) {
    let url = path;
    const features = [];
    let numberMatched = null;
    let pages = 0;
    let truncated = false;
    while (url) {
      const { data } = await api(url, { signal });
      pages += 1;
      const fs = (data && Array.isArray(data.features) && data.features) || [];
      if (numberMatched === null && data && typeof data.numberMatched === 'number') numberMatched = data.numberMatched;
      for (const f of fs) features.push(f);
      const next = data && Array.isArray(data.links) ? data.links.find((l) => l.rel === 'next' && l.href) : null;
      if (!next || fs.length === 0) break;
      if (features.length >= cap || pages >= 50) {
        truncated = true;
        break;
      }
      url = next.href;
    }
    if (features.length > cap) {
      features.length = cap;
      truncated = true;
    }
    return { features, numberMatched, truncated };
  }

  // ------------------------------------------------------------ vocabulary
  function normaliseVocab(v) {
    const d = I.DEFAULT_VOCAB;
    const out = { kinds: [], statuses: [], transitions: {} };
    const kinds = v && Array.isArray(v.kinds) && v.kinds.length ? v.kinds : d.kinds;
    const statuses = v && Array.isArray(v.statuses) && v.statuses.length ? v.statuses : d.statuses;
    for (const k of kinds) {
      const def = d.kinds.find((x) => x.code === k.code) || {};
      out.kinds.push({ code: k.code, vi: k.vi || def.vi || k.code, en: k.en || def.en || k.code });
    }
    for (const s of statuses) {
      const def = d.statuses.find((x) => x.code === s.code) || {};
      const color = /^#[0-9a-f]{3,8}$/i.test(s.color || '') ? s.color : def.color || FALLBACK_COLORS[s.code] || '#7f8c8d';
      out.statuses.push({ code: s.code, vi: s.vi || def.vi || s.code, en: s.en || def.en || s.code, color });
    }
    out.transitions = v && v.transitions && typeof v.transitions === 'object' ? v.transitions : d.transitions;
    return out;
  }

  async function loadVocab() {
    try {
      const { data } = await api('v1/vocab');
      state.vocab = normaliseVocab(data);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw e;
      state.vocab = normaliseVocab(null);
    }
  }

  function vocabLabel(list, code, serverLabel) {
    const e = (state.vocab ? state.vocab[list] : I.DEFAULT_VOCAB[list]).find((x) => x.code === code);
    if (e) return e[I.lang] || e.vi || code;
    return serverLabel || code || t('unknown');
  }
  const kindLabel = (code, server) => vocabLabel('kinds', code, server);
  const statusLabel = (code, server) => vocabLabel('statuses', code, server);
  function statusColor(code) {
    const e = state.vocab && state.vocab.statuses.find((x) => x.code === code);
    return (e && e.color) || FALLBACK_COLORS[code] || '#7f8c8d';
  }
  function allowedTransitions(from) {
    const tr = (state.vocab && state.vocab.transitions) || I.DEFAULT_VOCAB.transitions;
    return Array.isArray(tr[from]) ? tr[from] : [];
  }

  // ----------------------------------------------------------------- login
  function showLogin(message, kind) {
    $('#app').hidden = true;
    $('#login-view').hidden = false;
    $('#user-info').hidden = true;
    $('#logout').hidden = true;
    const err = $('#login-error');
    err.textContent = message || '';
    err.dataset.state = message ? kind || 'shown' : '';
    const btn = $('#login-submit');
    btn.disabled = false;
    btn.textContent = t('login.submit');
    window.setTimeout(() => $('#login-token').focus(), 0);
  }

  function onUnauthorized() {
    if (!state.token) return;
    // A revoked or expired token wipes the field package at the first contact that says so.
    if (window.VigilField) window.VigilField.wipe();
    resetSession();
    showLogin(t('login.expired'));
  }

  function resetSession() {
    state.token = null;
    state.user = null;
    if (window.VigilField) window.VigilField.setOpen(false);
    $('#field-toggle').hidden = true;
    try {
      window.sessionStorage.removeItem(USER_KEY);
      window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      /* ignore */
    }
    if (state.hotspotCtl) state.hotspotCtl.abort();
    if (state.communeCtl) state.communeCtl.abort();
    window.clearTimeout(state.reloadTimer);
    state.reloadSeq += 1;
    closeDetail();
    if (window.VigilFlags) window.VigilFlags.detach();
    if (window.VigilReview) window.VigilReview.detach();
    if (window.VigilDashboard) window.VigilDashboard.detach();
    if (window.VigilUpload) window.VigilUpload.detach();
    setUploadOpen(false);
    $('#upload-toggle').hidden = true;
    if (state.map) {
      if (state.vector) state.vector.remove();
      state.vector = null;
      state.provinces = [];
      state.communes.clear();
      state.surveyById.clear();
      setImageryOn(false);
      state.map.closePopup();
      state.map.hideHover();
      state.imageryBounds = null;
    }
    state.markers.clear();
    state.provincesLoaded = false;
    state.lastCount = null;
    state.mapReady = false;
  }

  async function onLoginSubmit(ev) {
    ev.preventDefault();
    const input = $('#login-token');
    const nameInput = $('#login-name');
    const passwordInput = $('#login-password');
    const name = nameInput.value.trim();
    const password = passwordInput.value;
    const usePassword = name !== '' && password !== '';
    let token = input.value.trim();
    const err = $('#login-error');
    if (!usePassword && !token) {
      err.textContent = t('login.error.empty');
      (name ? passwordInput : nameInput).focus();
      return;
    }
    const btn = $('#login-submit');
    btn.disabled = true;
    btn.textContent = t('login.busy');
    err.textContent = '';
    try {
      const body = usePassword ? { name, password } : { token };
      const { data } = await api('v1/auth/login', { method: 'POST', body, noAuth: true });
      if (usePassword) token = data && data.token;
      passwordInput.value = '';
      state.token = token;
      try {
        window.sessionStorage.setItem(TOKEN_KEY, token);
      } catch (_) {
        /* keep it in memory only */
      }
      input.value = '';
      await enterApp((data && data.user) || data);
    } catch (e) {
      btn.disabled = false;
      btn.textContent = t('login.submit');
      let msg;
      if (e instanceof ApiError && e.status === 401) msg = usePassword ? t('login.error.password') : t('login.error.401');
      else if (e instanceof ApiError && e.status === 429) msg = t('login.error.429');
      else if (e instanceof ApiError && e.status === 0) msg = t('login.error.network');
      else msg = `${t('login.error.other')}: ${e.message || e}`;
      err.textContent = msg;
      err.dataset.state = 'shown';
      input.focus();
      input.select();
    }
  }

  function onLogout() {
    // Logging out leaves nothing of the field package on the device.
    if (window.VigilField) window.VigilField.wipe();
    resetSession();
    showLogin(t('login.loggedout'), 'info');
  }

  function renderUser() {
    const u = state.user;
    const el = $('#user-info');
    if (!u) {
      el.hidden = true;
      return;
    }
    const role = t('role.' + u.role) === 'role.' + u.role ? u.role : t('role.' + u.role);
    const j = u.jurisdiction || {};
    let scope = '';
    if (j.national) scope = t('user.national');
    else {
      const parts = [];
      if (Array.isArray(j.provinces) && j.provinces.length) parts.push(`${t('user.provinces')} ${j.provinces.join(', ')}`);
      if (Array.isArray(j.communes) && j.communes.length) parts.push(`${t('user.communes')} ${j.communes.join(', ')}`);
      scope = parts.join('; ');
    }
    el.replaceChildren(
      h('span', { class: 'user-name', 'data-testid': 'user-name', text: u.name || '' }),
      ' · ',
      h('span', { class: 'user-role', 'data-testid': 'user-role', 'data-role': u.role, text: role }),
      scope ? h('span', { class: 'user-scope muted', text: ` (${scope})` }) : null
    );
    el.hidden = false;
  }

  async function enterApp(user) {
    state.user = user || {};
    try {
      window.sessionStorage.setItem(USER_KEY, JSON.stringify(state.user));
    } catch (_) {
      /* offline start then needs the network */
    }
    $('#login-view').hidden = true;
    $('#app').hidden = false;
    $('#logout').hidden = false;
    renderUser();
    attachField();
    await loadVocab();
    if (!state.token) return; // 401 while loading
    renderFilters();
    setCount('loading');
    initMap();
    state.map.resize();
    attachFlags();
    attachReview();
    attachDashboard();
    renderLegend();
    loadSurveys();
    $('#upload-toggle').hidden = !canUpload();
    if (canUpload() && window.VigilUpload) {
      window.VigilUpload.attach({
        api,
        ApiError,
        h,
        url: apiUrl,
        token: () => state.token,
        user: () => state.user,
        unauthorized: onUnauthorized,
        open: () => setUploadOpen(true),
        surveyReady: () => loadSurveys(),
        showSurvey
      });
    }
    await loadProvinces();
    if (!state.token) return;
    startVectorOverlay();
    state.mapReady = true;
    reloadNow();
  }

  /** What the vector overlay draws, for the browser tests (the map itself is one canvas). */
  window.VigilMap = {
    drawn: () => (state.vector ? state.vector.drawn() : { points: [], inCells: 0 }),
    selectedDrawn: () => (state.vector ? state.vector.selectedDrawn() : []),
    flags: () => (state.vector ? state.vector.flagsDrawn() : { plots: [], inCells: 0, paint: {} }),
    flagSelectedDrawn: () => (state.vector ? state.vector.flagSelectedDrawn() : []),
    choropleth: () => (state.vector ? state.vector.choroplethDrawn() : []),
    reviewPlot: () => (state.vector ? state.vector.reviewDrawn() : null),
    /** The features of one of the dashboard's analysis layers drawn in the view. */
    analysis: (key) => (state.vector ? state.vector.analysisDrawn(key) : []),
    /** The analysis feature a click at a page point would open: { key, id }, or null. */
    analysisAtPage: (x, y) => {
      if (!state.vector) return null;
      const box = $('#map').getBoundingClientRect();
      return state.vector.analysisAt({ x: x - box.left, y: y - box.top });
    },
    surveys: () => (state.vector ? state.vector.surveysDrawn() : []),
    /** URLs of the heat map tiles the map drew with pixels. */
    heatTiles: () => (state.vector ? state.vector.heatTilesDrawn() : []),
    /** Whether every heat map tile in view has loaded. */
    heatSettled: () => (state.vector ? state.vector.heatSettled() : true),
    /** Page coordinates of a lon/lat. */
    toPage: (lon, lat) => {
      const box = $('#map').getBoundingClientRect();
      const p = state.map.toPoint(lon, lat);
      return { x: box.left + p.x, y: box.top + p.y };
    },
    /** Centres the map on a lon/lat at the zoom it has (tests: to bring a place into view). */
    centre: (lon, lat) => state.map.centre(lon, lat),
    /** Fits the map to [w, s, e, n] at once (tests: to reach a small feature). */
    fit: (b) => state.map.fit(b, { maxZoom: 18 }),
    /** The zoom (256-pixel tile zoom). */
    zoom: () => state.map.zoom(),
    /** Whether the view is moving. */
    moving: () => state.map.moving(),
    /**
     * Resolves once the map has drawn the current view with every tile loaded (a repaint is asked
     * for, so an idle map answers too).
     */
    idle: () =>
      new Promise((resolve) => {
        state.map.gl.once('idle', () => resolve(true));
        state.map.gl.triggerRepaint();
      }),
    /** Ids of the flags drawn at exactly a page point. */
    flagIdsAtPage: (x, y) => {
      if (!state.vector) return [];
      const box = $('#map').getBoundingClientRect();
      return state.vector.flagIdsAt({ x: x - box.left, y: y - box.top });
    },
    /** The code of the choropleth commune drawn at a page point, or null. */
    choroplethAtPage: (x, y) => {
      if (!state.vector) return null;
      const box = $('#map').getBoundingClientRect();
      return state.vector.choroplethAt({ x: x - box.left, y: y - box.top });
    },
    /** The flag drawn under a page point, as a click there would find it, or null. */
    flagAtPage: (x, y) => {
      if (!state.vector) return null;
      const box = $('#map').getBoundingClientRect();
      return state.vector.flagAt({ x: x - box.left, y: y - box.top });
    }
  };

  /** The vector-tile overlay of this login: provinces, communes and every hotspot. */
  function startVectorOverlay() {
    if (state.vector) state.vector.remove();
    const colours = {};
    for (const s of (state.vocab && state.vocab.statuses) || []) colours[s.code] = statusColor(s.code);
    for (const [k, v] of Object.entries(FALLBACK_COLORS)) if (!colours[k]) colours[k] = v;
    state.vector = window.VigilVectorMap.overlay(state.map, {
      apiUrl,
      token: () => state.token,
      statusColors: colours,
      hotspotQuery: hotspotQuery(null),
      flagStyle: window.VigilFlags ? window.VigilFlags.CLASS_STYLE : {},
      // A template, not apiUrl(): URL() would percent-encode the braces.
      imageryTemplate: window.location.origin + BASE + 'tiles/mosaic/{z}/{x}/{y}.png'
    });
    state.vectorQuery = hotspotQuery(null);
    state.vector.setSurveysVisible(state.switches.footprints);
    syncImagery();
    if (window.VigilFlags) window.VigilFlags.overlayReady();
  }

  /** Offline field review (field.js), for reviewers and admins. */
  function attachField() {
    const can = !!(state.user && FIELD_ROLES.includes(state.user.role) && window.VigilField);
    $('#field-toggle').hidden = !can;
    if (!can) return;
    window.VigilField.attach({ h, url: apiUrl, token: () => state.token, user: () => state.user, unauthorized: onUnauthorized });
  }

  /**
   * No network at start, but a signed-in session and a field package on this device: the field
   * panel works from the package (the map needs the network and stays closed).
   */
  async function enterOffline(user) {
    state.user = user;
    $('#login-view').hidden = true;
    $('#app').hidden = false;
    $('#logout').hidden = false;
    document.body.classList.add('offline-field');
    renderUser();
    attachField();
    window.VigilField.setOpen(true);
    window.addEventListener('online', () => window.location.reload(), { once: true });
  }

  /** The flagged plots layer (flags.js): the map, the API helpers and the panels it shares. */
  function attachFlags() {
    if (!window.VigilFlags) return;
    window.VigilFlags.attach({
      map: state.map,
      api,
      ApiError,
      h,
      fetchPages,
      url: apiUrl,
      token: () => state.token,
      unauthorized: onUnauthorized,
      vector: () => state.vector,
      ready: () => state.mapReady && !!state.token,
      viewBbox,
      fmtDateTime,
      show,
      survey: surveyProps,
      place: placeLabel,
      beforeOpen: () => {
        closeDetail();
        setUploadOpen(false);
        if (window.VigilReview) window.VigilReview.closePanel();
      },
      openHotspot: (id) => openDetail(id),
      layersChanged: () => {
        if (state.layerControl) state.layerControl.sync();
      }
    });
  }

  /** The review of flagged plots (review.js): queue, flag files and decisions. */
  function attachReview() {
    if (!window.VigilReview) return;
    window.VigilReview.attach({
      map: state.map,
      vector: () => state.vector,
      api,
      ApiError,
      h,
      url: apiUrl,
      token: () => state.token,
      user: () => state.user,
      unauthorized: onUnauthorized,
      fmtDateTime,
      fmtDate,
      today,
      show,
      place: placeLabel,
      beforeOpen: () => {
        closeDetail();
        setUploadOpen(false);
        if (window.VigilFlags) window.VigilFlags.close();
      },
      showImagery: () => {
        if (state.map && !state.switches.imagery) setImageryOn(true);
      },
      flagsChanged: () => {
        if (window.VigilFlags) window.VigilFlags.changed();
      }
    });
  }

  /** The dashboard (dashboard.js): KPI cards, chart, choropleth and report downloads, every role. */
  function attachDashboard() {
    if (!window.VigilDashboard) return;
    window.VigilDashboard.attach({
      map: state.map,
      api,
      ApiError,
      h,
      url: apiUrl,
      token: () => state.token,
      user: () => state.user,
      unauthorized: onUnauthorized,
      fmtDate,
      place: placeLabel,
      provinces: provinceList,
      tileUrl,
      vector: () => state.vector,
      beforeOpen: () => {
        closeDetail();
        setUploadOpen(false);
      }
    });
  }

  /** The provinces whose boundaries are loaded: [{code, name}], sorted by code. */
  function provinceList() {
    const out = [];
    for (const f of state.provinces) {
      const p = f.properties || {};
      const code = String(p.code || f.id || '');
      if (code) out.push({ code, name: p.name || code });
    }
    return out.sort((a, b) => a.code.localeCompare(b.code));
  }

  /**
   * The absolute URL of a tile template for the map's vector overlay (which asks it with the
   * token): `template` is a path under the server root ("v1/…/{z}/{x}/{y}.png?…") or a
   * server-given URL, of which only the path and query are kept (the page's own origin is asked).
   */
  function tileUrl(template) {
    const s = String(template);
    // Not URL(): it would percent-encode the braces.
    const abs = /^https?:\/\/[^/]+(\/.*)$/i.exec(s);
    return window.location.origin + (abs ? abs[1] : BASE + s.replace(/^\//, ''));
  }

  /** Properties of a survey footprint already loaded, or null. */
  function surveyProps(id) {
    const f = state.surveyById.get(String(id));
    return f ? f.properties || {} : null;
  }

  /** "Name (code)" of a province or commune whose boundary is loaded, else the code. */
  function placeLabel(level, code) {
    if (!code) return null;
    const list = level === 'province' ? state.provinces : state.communes.values();
    let name = null;
    for (const f of list) {
      const p = f.properties || {};
      if (String(p.code || f.id || '') === String(code) && p.name) {
        name = p.name;
        break;
      }
    }
    return name ? `${name} (${code})` : `${t(level === 'province' ? 'field.province' : 'field.commune')} ${code}`;
  }

  // ------------------------------------------------------------------- map
  function initMap() {
    if (state.map) return;
    const map = window.VigilVectorMap.frame($('#map'), { bounds: VN_BOUNDS, maxBounds: MAX_BOUNDS, minZoom: 5, maxZoom: MAX_ZOOM });
    map.on('moveend', onViewChanged);
    map.on('moveend', scheduleReload);
    map.on('click', onMapClick);
    map.on('mousemove', onMapHover);
    map.on('mouseout', () => hideHover());
    state.map = map;
    initSurveyLayers();
    if (window.ResizeObserver) new ResizeObserver(() => map.resize()).observe($('#map'));
  }

  /**
   * A click on the vector overlay: a hotspot opens its panel, a flagged plot its panel, a cell
   * of counts zooms in, a survey footprint shows the survey.
   */
  function onMapClick(e) {
    if (!state.vector || !state.mapReady) return;
    const pt = e.point;
    const hs = state.vector.hotspotAt(pt);
    if (hs) {
      openDetail(hs.id);
      return;
    }
    const flag = state.vector.flagAt(pt);
    if (flag && window.VigilFlags) {
      window.VigilFlags.clicked(flag);
      return;
    }
    const analysis = window.VigilHotspotLayers && state.vector.analysisAt(pt);
    if (analysis && window.VigilHotspotLayers.openPopup(analysis, e.lngLat)) return;
    if (state.vector.cellAt(pt) || state.vector.flagCellAt(pt)) {
      state.map.zoomTo(e.lngLat.lng, e.lngLat.lat, state.map.zoom() + 2);
      return;
    }
    const s = state.vector.surveyAt(pt);
    if (s) showSurveyFootprint(s.id);
  }

  /** Hover: the hotspot's name (as text), a cell's count by status, or the commune's name. */
  function onMapHover(e) {
    if (!state.vector || !state.mapReady) return;
    if (state.hoverFrame) return;
    state.hoverFrame = window.requestAnimationFrame(() => {
      state.hoverFrame = null;
      const pt = e.point;
      const hs = state.vector.hotspotAt(pt);
      const mapEl = $('#map');
      if (hs) {
        mapEl.style.cursor = 'pointer';
        const known = state.markers.get(hs.id) || (state.detail && state.detail.id === hs.id && state.detail);
        const name = known && known.feature && known.feature.properties && known.feature.properties.name;
        showHover(e.lngLat, name || '#' + hs.id, hs.id);
        if (!name) hoverName(hs.id, e.lngLat);
        return;
      }
      const flag = window.VigilFlags && state.vector.flagAt(pt);
      if (flag) {
        mapEl.style.cursor = 'pointer';
        showHover(e.lngLat, window.VigilFlags.hoverText(flag), null);
        return;
      }
      const cell = state.vector.cellAt(pt);
      if (cell) {
        mapEl.style.cursor = 'zoom-in';
        const parts = Object.entries(cell.breakdown).map(([k, n]) => `${statusLabel(k)}: ${I.num(n)}`);
        showHover(e.lngLat, `${t(cell.count === 1 ? 'count.points.one' : 'count.points', { n: I.num(cell.count) })}${parts.length ? ' — ' + parts.join(', ') : ''}`, null);
        return;
      }
      const flagCell = window.VigilFlags && state.vector.flagCellAt(pt);
      if (flagCell) {
        mapEl.style.cursor = 'zoom-in';
        showHover(e.lngLat, window.VigilFlags.cellText(flagCell), null);
        return;
      }
      const analysis = window.VigilHotspotLayers && state.vector.analysisAt(pt);
      const analysisText = analysis && window.VigilHotspotLayers.hoverText(analysis);
      if (analysisText) {
        mapEl.style.cursor = 'pointer';
        showHover(e.lngLat, analysisText, analysis.id, `hs-${analysis.key}`);
        return;
      }
      const choro = window.VigilDashboard && state.vector.choroplethAt(pt);
      const choroText = choro && window.VigilDashboard.choroplethText(choro);
      if (choroText) {
        mapEl.style.cursor = '';
        showHover(e.lngLat, choroText, null, 'dash-tooltip');
        return;
      }
      const survey = state.vector.surveyAt(pt);
      if (survey) {
        mapEl.style.cursor = 'pointer';
        const props = surveyProps(survey.id) || survey;
        const when = props.acquired_at || props.datetime || props.completed_at || '';
        const name = props.name || survey.id;
        showHover(e.lngLat, when ? t('survey.tooltip', { name, date: fmtDateTime(when) }) : name, null);
        return;
      }
      mapEl.style.cursor = '';
      const c = state.vector.communeAt(pt);
      if (c) showHover(e.lngLat, [c.name, c.code].filter(Boolean).join(' — '), null);
      else hideHover();
    });
  }

  /** The map's one hover tooltip; `kind` marks what it names (e.g. `dash-tooltip`). */
  function showHover(lngLat, text, id, kind) {
    const el = state.map.showHover(lngLat.lng, lngLat.lat, textEl(text));
    if (el) {
      el.dataset.id = id || '';
      el.dataset.kind = kind || '';
      el.setAttribute('data-testid', 'map-hover');
    }
  }

  function hideHover() {
    if (!state.map) return;
    state.map.hideHover();
    $('#map').style.cursor = '';
  }

  /** A hotspot's name for the hover when it is not in the list (fetched once, kept). */
  async function hoverName(id, lngLat) {
    state.hoverNames = state.hoverNames || new Map();
    let name = state.hoverNames.get(id);
    if (name === undefined) {
      try {
        const res = await api(`collections/hotspots/items/${encodeURIComponent(id)}`);
        name = (res.data && res.data.properties && res.data.properties.name) || '';
      } catch (_) {
        name = '';
      }
      if (state.hoverNames.size > 2000) state.hoverNames.clear();
      state.hoverNames.set(id, name);
    }
    const el = state.map && state.map.hoverElement();
    if (name && el && el.dataset.id === id) showHover(lngLat, name, id);
  }

  async function loadProvinces() {
    try {
      const { features } = await fetchPages(`collections/provinces/items?limit=${PROVINCE_PAGE}`, PROVINCE_CAP);
      state.provinces = features;
      state.provincesLoaded = true;
      // Start with the user's own provinces, or every province the service knows.
      const j = (state.user && state.user.jurisdiction) || {};
      let bounds = null;
      if (!j.national && Array.isArray(j.provinces) && j.provinces.length) {
        const codes = j.provinces.map(String);
        const mine = features.filter((f) => codes.includes(String((f.properties && f.properties.code) || f.id || '')));
        if (mine.length) bounds = window.VigilVectorMap.bboxOf(mine);
      }
      if (!bounds && features.length) bounds = window.VigilVectorMap.bboxOf(features);
      // At once, not animated: the vector overlay starts on this view, not on the one before.
      if (bounds) state.map.fit(bounds, { padding: 16 });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      console.warn('provinces:', e.message || e);
    }
  }

  function viewBbox() {
    const b = state.map.bbox();
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    const r = (v) => Math.round(v * 1e6) / 1e6;
    return [r(clamp(b[0], -180, 180)), r(clamp(b[1], -90, 90)), r(clamp(b[2], -180, 180)), r(clamp(b[3], -90, 90))].join(',');
  }

  /** Marks the view on #map (for tests) and tells the flags layer its plots are now stale. */
  function onViewChanged() {
    const mapEl = $('#map');
    mapEl.dataset.view = viewBbox();
    mapEl.dataset.zoom = String(Math.round(state.map.zoom() * 100) / 100);
    if (state.mapReady && window.VigilFlags) window.VigilFlags.viewChanging();
  }

  function scheduleReload() {
    if (!state.mapReady) return;
    window.clearTimeout(state.reloadTimer);
    state.reloadTimer = window.setTimeout(reloadNow, RELOAD_DEBOUNCE_MS);
  }

  function reloadNow() {
    window.clearTimeout(state.reloadTimer);
    if (!state.mapReady || !state.token) return;
    loadHotspots();
    loadCommunes();
    if (window.VigilFlags) window.VigilFlags.reload();
  }

  /** The hotspot filters as a query: with a bbox, for the items; without, for the tiles. */
  function hotspotQuery(bbox) {
    const q = new URLSearchParams();
    if (bbox) {
      q.set('bbox', bbox);
      q.set('limit', String(HOTSPOT_PAGE));
    }
    const f = state.filters;
    if (f.status) q.set('status', f.status);
    if (f.kind) q.set('kind', f.kind);
    if (f.commune) q.set('commune', f.commune);
    return q.toString();
  }

  async function loadHotspots() {
    if (state.hotspotCtl) state.hotspotCtl.abort();
    const ctl = new AbortController();
    state.hotspotCtl = ctl;
    const seq = ++state.reloadSeq;
    const bbox = viewBbox();
    const query = hotspotQuery(bbox);
    const tileQuery = hotspotQuery(null);
    if (state.vector && tileQuery !== state.vectorQuery) {
      state.vector.setHotspotQuery(tileQuery);
      state.vectorQuery = tileQuery;
    }
    setCount('loading');
    try {
      // One page for the list; the count is the API's numberMatched for the view, and the map
      // draws every one of them from the vector tiles.
      const res = await fetchPages(`collections/hotspots/items?${query}`, HOTSPOT_PAGE, ctl.signal);
      if (seq !== state.reloadSeq) return;
      listHotspots(res.features);
      const matched = res.numberMatched !== null ? res.numberMatched : res.features.length;
      const mapEl = $('#map');
      mapEl.dataset.bbox = bbox;
      mapEl.dataset.query = query;
      setCount('ready', matched, matched);
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (seq !== state.reloadSeq) return;
      if (e instanceof ApiError && e.status === 401) return;
      setCount('error', null, null, e.message);
    }
  }

  async function loadCommunes() {
    if (state.map.zoom() < COMMUNE_MIN_ZOOM) return;
    if (state.communeCtl) state.communeCtl.abort();
    const ctl = new AbortController();
    state.communeCtl = ctl;
    try {
      const q = new URLSearchParams({ bbox: viewBbox(), limit: String(COMMUNE_PAGE) });
      const { features } = await fetchPages(`collections/communes/items?${q}`, COMMUNE_CAP, ctl.signal);
      if (ctl.signal.aborted) return;
      if (state.communes.size + features.length > COMMUNE_CACHE_MAX) state.communes.clear();
      for (const f of features) {
        const key = String(f.id !== undefined ? f.id : (f.properties && f.properties.code) || JSON.stringify(f.geometry).slice(0, 64));
        if (!state.communes.has(key)) state.communes.set(key, f);
      }
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (e instanceof ApiError && e.status === 401) return;
      console.warn('communes:', e.message || e);
    }
  }

  /** A point feature's [lat, lon], or null. */
  function pointOf(f) {
    const g = f && f.geometry;
    if (!g) return null;
    let c = g.coordinates;
    if (g.type === 'MultiPoint') c = c && c[0];
    else if (g.type !== 'Point') return null;
    if (!Array.isArray(c) || c.length < 2 || !isFinite(c[0]) || !isFinite(c[1])) return null;
    return [c[1], c[0]];
  }

  /** The view's first page of hotspots, for the list and the detail panel. */
  function listHotspots(features) {
    state.markers.clear();
    for (const f of features) {
      if (f.id === undefined || f.id === null) continue;
      state.markers.set(String(f.id), { feature: f });
    }
    renderList();
  }

  /** After an edit: the list shows the new feature, the tiles are read again. */
  function refreshMarker(f) {
    const id = String(f.id);
    if (state.markers.has(id)) state.markers.set(id, { feature: f });
    if (state.hoverNames) state.hoverNames.delete(id);
    if (state.vector) state.vector.refreshHotspots();
    renderList();
  }

  function highlightSelected() {
    if (state.vector) state.vector.setSelected(state.detail ? state.detail.id : null);
    for (const b of document.querySelectorAll('#hotspot-list .list-item')) {
      b.classList.toggle('is-selected', !!state.detail && b.dataset.id === state.detail.id);
    }
  }

  // ------------------------------------------------------- sidebar widgets
  function setCount(stateName, matched, drawn, message) {
    const el = $('#hotspot-count');
    el.dataset.state = stateName;
    if (stateName === 'loading') {
      if (state.lastCount === null) el.textContent = t('count.loading');
      el.setAttribute('aria-busy', 'true');
      return;
    }
    el.removeAttribute('aria-busy');
    if (stateName === 'error') {
      el.textContent = `${t('count.error')}: ${message || ''}`;
      return;
    }
    state.lastCount = { matched, drawn };
    renderCount();
  }

  function renderCount() {
    const el = $('#hotspot-count');
    const c = state.lastCount;
    if (!c) {
      el.textContent = t('count.loading');
      return;
    }
    el.dataset.count = String(c.matched);
    el.dataset.drawn = String(c.drawn);
    el.replaceChildren(h('strong', { text: t(c.matched === 1 ? 'count.points.one' : 'count.points', { n: I.num(c.matched) }) }));
    if (c.drawn < c.matched) el.append(' ', h('span', { class: 'muted', text: t('count.shown', { m: I.num(c.drawn) }) }));
  }

  function renderFilters() {
    const fill = (sel, list, current) => {
      sel.replaceChildren(h('option', { value: '', text: t('filters.all') }));
      for (const e of list) sel.append(h('option', { value: e.code, text: e[I.lang] || e.vi || e.code }));
      sel.value = current || '';
    };
    fill($('#filter-status'), state.vocab.statuses, state.filters.status);
    fill($('#filter-kind'), state.vocab.kinds, state.filters.kind);
    $('#filter-commune').value = state.filters.commune;
  }

  function readFilters() {
    state.filters = {
      status: $('#filter-status').value,
      kind: $('#filter-kind').value,
      commune: $('#filter-commune').value.trim()
    };
    reloadNow();
  }

  // ------------------------------------------------------ survey imagery
  /** The vector overlay shows the imagery while its switch is on, over the surveys' bounds. */
  function syncImagery() {
    if (!state.vector) return;
    state.vector.setImagery(state.switches.imagery, state.imageryBounds);
  }

  /** Survey imagery on or off (its switch in the layer switcher). */
  function setImageryOn(on) {
    state.switches.imagery = !!on;
    $('#map').dataset.surveyLayer = on ? 'on' : 'off';
    syncImagery();
    if (state.layerControl) state.layerControl.sync();
  }

  /** Survey footprints on or off. */
  function setFootprintsOn(on) {
    state.switches.footprints = !!on;
    if (state.vector) state.vector.setSurveysVisible(state.switches.footprints);
    if (state.layerControl) state.layerControl.sync();
  }

  function initSurveyLayers() {
    $('#map').dataset.surveyLayer = 'off';
    state.switches.imagery = false;
    state.switches.footprints = true;
    renderLayerControl();
  }

  /** The overlay switcher; rebuilt on a language switch. */
  function renderLayerControl() {
    if (!state.map) return;
    if (!state.layerControl) state.layerControl = window.VigilVectorMap.layerSwitcher(state.map);
    const items = [
      { name: t('layer.survey.imagery'), on: () => state.switches.imagery, set: setImageryOn },
      { name: t('layer.survey.footprints'), on: () => state.switches.footprints, set: setFootprintsOn }
    ];
    if (window.VigilFlags) items.push({ name: t('layer.flags'), on: () => window.VigilFlags.isOn(), set: (on) => window.VigilFlags.setOn(on) });
    state.layerControl.render(items, t('layer.switcher'));
  }

  /** Footprints of the ready surveys the user may see; the imagery layer asks only inside them. */
  async function loadSurveys() {
    if (!state.map) return;
    const mapEl = $('#map');
    mapEl.dataset.surveysState = 'loading';
    try {
      const { features } = await fetchPages(`collections/surveys/items?limit=${SURVEY_PAGE}`, SURVEY_CAP);
      if (!state.token) return;
      state.surveyById.clear();
      for (const f of features) if (f && f.id !== undefined && f.id !== null) state.surveyById.set(String(f.id), f);
      const b = features.length ? window.VigilVectorMap.bboxOf(features) : null;
      state.imageryBounds = b ? window.VigilVectorMap.padBox(b, 0.05) : null;
      syncImagery();
      mapEl.dataset.surveys = String(features.length);
      mapEl.dataset.surveysState = 'ready';
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      mapEl.dataset.surveysState = 'error';
      console.warn('surveys:', e.message || e);
    }
  }

  /** A click on a footprint the map drew: zoom to that survey and show its imagery. */
  function showSurveyFootprint(id) {
    const f = state.surveyById.get(String(id));
    if (!f) return;
    const b = window.VigilVectorMap.bboxOf(f);
    if (b) showSurveyBounds(b, (f.properties || {}).native_zoom, f.id);
  }

  /** "Xem trên bản đồ": zoom to a survey (JSON from /v1/surveys) and turn its imagery on. */
  function showSurvey(s) {
    if (!s || !Array.isArray(s.bbox) || s.bbox.length !== 4) return;
    const b = s.bbox.map(Number);
    if (b.every(Number.isFinite)) showSurveyBounds(b, s.native_zoom, s.id);
  }

  /** Fits the map to a survey's [w, s, e, n] and shows the imagery and footprints there. */
  function showSurveyBounds(b, nativeZoom, id) {
    if (!state.map) return;
    const grown = window.VigilVectorMap.padBox(b, 0.05);
    if (state.imageryBounds) {
      const i = state.imageryBounds;
      state.imageryBounds = [Math.min(i[0], grown[0]), Math.min(i[1], grown[1]), Math.max(i[2], grown[2]), Math.max(i[3], grown[3])];
    }
    if (!state.switches.footprints) setFootprintsOn(true);
    if (state.switches.imagery) syncImagery();
    else setImageryOn(true);
    const maxZoom = Math.min(Number(nativeZoom) || MAX_ZOOM, MAX_ZOOM);
    state.map.fit(b, { padding: 24, maxZoom, animate: true });
    $('#map').dataset.surveyShown = id === undefined || id === null ? '' : String(id);
    // Where the panel floats over the map, get it out of the way.
    if (window.matchMedia && window.matchMedia('(max-width: 1100px)').matches) setUploadOpen(false);
  }

  // ----------------------------------------------------------- upload panel
  function canUpload() {
    return !!(state.user && UPLOAD_ROLES.includes(state.user.role));
  }

  function setUploadOpen(open) {
    const panel = $('#upload-panel');
    const btn = $('#upload-toggle');
    const show = !!open && canUpload();
    if (show && state.detail) closeDetail();
    if (show && window.VigilFlags) window.VigilFlags.close();
    if (show && window.VigilReview) window.VigilReview.closePanel();
    // On a phone-sized screen the sidebar drawer would cover the panel.
    if (show && window.matchMedia && window.matchMedia('(max-width: 760px)').matches) {
      document.body.classList.add('sidebar-collapsed');
      $('#sidebar-toggle').setAttribute('aria-expanded', 'false');
    }
    const was = !panel.hidden;
    panel.hidden = !show;
    document.body.classList.toggle('upload-open', show);
    btn.setAttribute('aria-expanded', String(show));
    if (show && !was) panel.focus({ preventScroll: true });
  }

  function renderLegend() {
    const ul = $('#legend');
    ul.replaceChildren();
    for (const s of state.vocab.statuses) {
      const sw = h('span', { class: 'swatch swatch-dot', 'aria-hidden': 'true' });
      sw.style.backgroundColor = s.color;
      ul.append(h('li', { 'data-status': s.code }, sw, h('span', { text: s[I.lang] || s.vi })));
    }
    ul.append(
      h('li', null, h('span', { class: 'swatch swatch-province', 'aria-hidden': 'true' }), h('span', { text: t('legend.province') })),
      h('li', null, h('span', { class: 'swatch swatch-commune', 'aria-hidden': 'true' }), h('span', { text: t('legend.commune') })),
      h('li', null, h('span', { class: 'swatch swatch-survey', 'aria-hidden': 'true' }), h('span', { text: t('legend.survey') }))
    );
    if (window.VigilFlags) ul.append(...window.VigilFlags.legendItems());
  }

  function renderList() {
    const ul = $('#hotspot-list');
    if (!ul) return;
    ul.replaceChildren();
    const all = Array.from(state.markers.values());
    if (!all.length) {
      ul.append(h('li', { class: 'muted', text: t('list.empty') }));
      return;
    }
    for (const m of all.slice(0, LIST_MAX)) {
      const f = m.feature;
      const p = f.properties || {};
      const sw = h('span', { class: 'swatch swatch-dot', 'aria-hidden': 'true' });
      sw.style.backgroundColor = statusColor(p.status);
      ul.append(
        h(
          'li',
          null,
          h(
            'button',
            { type: 'button', class: 'list-item', 'data-id': String(f.id), onclick: () => openDetail(String(f.id)) },
            sw,
            h('span', { class: 'list-name', text: p.name || '#' + f.id }),
            h('span', { class: 'list-meta muted', text: `${statusLabel(p.status, p.status_label)} · ${kindLabel(p.kind, p.kind_label)}` })
          )
        )
      );
    }
    if (all.length > LIST_MAX) ul.append(h('li', { class: 'muted', text: t('list.more', { n: I.num(all.length - LIST_MAX) }) }));
  }

  // ----------------------------------------------------------- detail panel
  function canEdit() {
    return !!(state.user && EDIT_ROLES.includes(state.user.role));
  }

  function setDetailMessage(text, kind) {
    const m = $('#detail-message');
    m.textContent = text || '';
    m.dataset.state = kind || '';
  }
  function setDetailError(text) {
    const e = $('#detail-error');
    e.textContent = text || '';
    e.dataset.state = text ? 'shown' : '';
  }

  async function openDetail(id) {
    id = String(id);
    const panel = $('#detail-panel');
    const switching = !state.detail || state.detail.id !== id;
    setUploadOpen(false);
    if (window.VigilFlags) window.VigilFlags.close();
    if (window.VigilReview) window.VigilReview.closePanel();
    state.detail = { id, feature: state.markers.has(id) ? state.markers.get(id).feature : null, history: null, historyError: null };
    panel.hidden = false;
    panel.dataset.id = id;
    panel.dataset.state = 'loading';
    document.body.classList.add('detail-open');
    setDetailError('');
    if (switching) setDetailMessage(t('detail.loading'), 'loading');
    highlightSelected();
    if (state.detail.feature) renderDetail();
    if (switching) panel.focus({ preventScroll: true });
    await reloadDetail(id);
  }

  async function reloadDetail(id, preserve) {
    const enc = encodeURIComponent(id);
    const [fRes, hRes] = await Promise.allSettled([
      api(`collections/hotspots/items/${enc}`),
      api(`v1/hotspots/${enc}/history`)
    ]);
    if (!state.detail || state.detail.id !== id) return;
    if (fRes.status === 'fulfilled') {
      state.detail.feature = fRes.value.data;
      refreshMarker(fRes.value.data);
    } else {
      setDetailError(fRes.reason.message || String(fRes.reason));
    }
    if (hRes.status === 'fulfilled') {
      const d = hRes.value.data;
      state.detail.history = (d && Array.isArray(d.events) && d.events) || (Array.isArray(d) ? d : []);
      state.detail.historyError = null;
    } else {
      state.detail.history = null;
      state.detail.historyError = hRes.reason.message || String(hRes.reason);
    }
    if ($('#detail-message').dataset.state === 'loading') setDetailMessage('');
    renderDetail(preserve);
    $('#detail-panel').dataset.state = 'ready';
  }

  function closeDetail() {
    const panel = $('#detail-panel');
    if (!panel) return;
    const wasOpen = !panel.hidden;
    state.detail = null;
    panel.hidden = true;
    delete panel.dataset.id;
    panel.dataset.state = '';
    $('#detail-body').replaceChildren();
    setDetailMessage('');
    setDetailError('');
    document.body.classList.remove('detail-open');
    if (state.map) highlightSelected();
    if (wasOpen) $('#map').focus({ preventScroll: true });
  }

  function fmtDateTime(s) {
    if (!s) return t('unknown');
    const d = new Date(s);
    if (isNaN(d.getTime())) return String(s);
    try {
      return d.toLocaleString(I.lang === 'vi' ? 'vi-VN' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' });
    } catch (_) {
      return d.toISOString();
    }
  }
  function fmtDate(s) {
    if (!s) return t('unknown');
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(s));
    if (!m) return String(s);
    return I.lang === 'vi' ? `${m[3]}/${m[2]}/${m[1]}` : `${m[3]}/${m[2]}/${m[1]}`;
  }
  function today() {
    const d = new Date();
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  }
  const show = (v) => (v === null || v === undefined || v === '' ? t('unknown') : String(v));

  function statusChip(code, serverLabel) {
    const sw = h('span', { class: 'swatch swatch-dot', 'aria-hidden': 'true' });
    sw.style.backgroundColor = statusColor(code);
    return h('span', { class: 'status-chip', 'data-status': code || '' }, sw, statusLabel(code, serverLabel));
  }

  /** Values typed in the edit form, so that a language switch does not lose them. */
  function formValues() {
    const form = $('#detail-form');
    if (!form) return null;
    const v = {};
    for (const k of ['name', 'kind', 'address', 'source', 'notes']) {
      const el = form.elements.namedItem(k);
      if (el) v[k] = el.value;
    }
    const on = $('#transition-on');
    const note = $('#transition-note');
    v._on = on ? on.value : '';
    v._note = note ? note.value : '';
    return v;
  }

  function renderDetail(preserve) {
    const d = state.detail;
    const body = $('#detail-body');
    if (!d || !d.feature) {
      body.replaceChildren();
      return;
    }
    const f = d.feature;
    const p = f.properties || {};
    const ll = pointOf(f);
    const dl = h('dl', { class: 'props', 'data-testid': 'detail-props' });
    const row = (key, value, field) => {
      dl.append(h('dt', { text: t(key) }), h('dd', { 'data-field': field }, value instanceof Node ? value : show(value)));
    };
    row('field.id', f.id, 'id');
    row('field.name', p.name, 'name');
    row('field.kind', kindLabel(p.kind, p.kind_label), 'kind');
    row('field.status', statusChip(p.status, p.status_label), 'status');
    row('field.status_since', fmtDate(p.status_since), 'status_since');
    row('field.reported_on', fmtDate(p.reported_on), 'reported_on');
    row('field.address', p.address, 'address');
    row('field.source', p.source, 'source');
    row('field.notes', p.notes, 'notes');
    row('field.commune', [p.commune_name, p.commune_code ? `(${p.commune_code})` : ''].filter(Boolean).join(' ') || null, 'commune');
    row('field.province', [p.province_name, p.province_code ? `(${p.province_code})` : ''].filter(Boolean).join(' ') || null, 'province');
    row('field.coordinates', ll ? `${ll[0].toFixed(6)}, ${ll[1].toFixed(6)}` : null, 'coordinates');
    row('field.created_at', fmtDateTime(p.created_at), 'created_at');
    row('field.updated_at', fmtDateTime(p.updated_at), 'updated_at');
    row('field.version', p.version, 'version');

    const parts = [h('h3', { class: 'detail-name', text: p.name || '#' + f.id }), dl];

    if (canEdit()) {
      parts.push(renderTransitions(p, preserve), renderEditForm(p, preserve));
    } else {
      parts.push(h('p', { class: 'muted readonly-note', 'data-testid': 'detail-readonly', text: t('detail.readonly') }));
    }
    parts.push(renderHistory(d));
    body.replaceChildren(...parts);
  }

  function privacyNote(id) {
    return h('p', { class: 'privacy-note', id, role: 'note', 'data-testid': 'privacy-note' }, h('span', { 'aria-hidden': 'true', text: '⚠ ' }), t('privacy.note'));
  }

  function renderTransitions(p, preserve) {
    const targets = allowedTransitions(p.status);
    const sec = h('section', { class: 'detail-section', id: 'detail-transitions', 'aria-labelledby': 'transition-heading' });
    sec.append(h('h3', { id: 'transition-heading', text: t('transition.heading') }));
    if (!targets.length) {
      sec.append(h('p', { class: 'muted', text: t('transition.none') }));
      return sec;
    }
    const row = h('div', { class: 'field-row' });
    row.append(
      h('div', { class: 'field' }, h('label', { for: 'transition-on', text: t('transition.on') }), h('input', { id: 'transition-on', type: 'date', value: (preserve && preserve._on) || today(), max: today(), required: true })),
      h(
        'div',
        { class: 'field grow' },
        h('label', { for: 'transition-note', text: t('transition.note') }),
        h('input', { id: 'transition-note', type: 'text', maxlength: 2000, 'aria-describedby': 'privacy-transition', value: (preserve && preserve._note) || '' })
      )
    );
    sec.append(row, privacyNote('privacy-transition'));
    const btns = h('div', { class: 'transition-buttons' });
    for (const to of targets) {
      const sw = h('span', { class: 'swatch swatch-dot', 'aria-hidden': 'true' });
      sw.style.backgroundColor = statusColor(to);
      btns.append(
        h(
          'button',
          { type: 'button', class: 'btn transition-btn', id: `transition-${to}`, 'data-to': to, 'data-testid': 'transition-button', onclick: () => doTransition(to) },
          sw,
          t('transition.to', { label: statusLabel(to) })
        )
      );
    }
    sec.append(btns);
    return sec;
  }

  function renderEditForm(p, preserve) {
    const v = preserve || {};
    const val = (k) => (k in v ? v[k] : p[k] === null || p[k] === undefined ? '' : String(p[k]));
    const form = h('form', { id: 'detail-form', class: 'detail-section', 'data-testid': 'detail-form', novalidate: true, 'aria-labelledby': 'edit-heading' });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      saveDetail();
    });
    form.append(h('h3', { id: 'edit-heading', text: t('edit.heading') }), privacyNote('privacy-edit'));
    const text = (name, multiline) => {
      const id = `edit-${name}`;
      const input = multiline
        ? h('textarea', { id, name, rows: 4, maxlength: 4000, 'aria-describedby': 'privacy-edit' })
        : h('input', { id, name, type: 'text', maxlength: 500, 'aria-describedby': 'privacy-edit', required: name === 'name' });
      input.value = val(name);
      return h('div', { class: 'field' }, h('label', { for: id, text: t(`field.${name}`) }), input);
    };
    const kindSel = h('select', { id: 'edit-kind', name: 'kind' });
    for (const k of state.vocab.kinds) kindSel.append(h('option', { value: k.code, text: k[I.lang] || k.vi }));
    if (p.kind && !state.vocab.kinds.some((k) => k.code === p.kind)) kindSel.append(h('option', { value: p.kind, text: p.kind_label || p.kind }));
    kindSel.value = val('kind');
    form.append(
      text('name'),
      h('div', { class: 'field' }, h('label', { for: 'edit-kind', text: t('field.kind') }), kindSel),
      text('address'),
      text('source'),
      text('notes', true),
      h('div', { class: 'row' }, h('button', { type: 'submit', id: 'detail-save', class: 'btn btn-primary', 'data-testid': 'detail-save', text: t('edit.save') }))
    );
    return form;
  }

  function renderHistory(d) {
    const sec = h('section', { class: 'detail-section', id: 'detail-history', 'data-testid': 'detail-history', 'aria-labelledby': 'history-heading' });
    sec.append(h('h3', { id: 'history-heading', text: t('history.heading') }));
    if (d.historyError) {
      sec.append(h('p', { class: 'error', text: `${t('history.error')}: ${d.historyError}` }));
      sec.dataset.state = 'error';
      return sec;
    }
    if (d.history === null) {
      sec.append(h('p', { class: 'muted', text: t('detail.loading') }));
      sec.dataset.state = 'loading';
      return sec;
    }
    sec.dataset.state = 'ready';
    if (!d.history.length) {
      sec.append(h('p', { class: 'muted', text: t('history.empty') }));
      return sec;
    }
    const ol = h('ol', { class: 'history' });
    // Newest first.
    const events = d.history.slice().reverse();
    for (const ev of events) {
      const head = h('div', { class: 'history-head' }, h('time', { datetime: ev.on || '', text: fmtDate(ev.on) }), ' ');
      if (ev.from) head.append(statusChip(ev.from), h('span', { 'aria-hidden': 'true', text: ' → ' }), h('span', { class: 'sr-only', text: ' → ' }));
      else head.append(h('span', { class: 'muted', text: t('history.created') + ': ' }));
      head.append(statusChip(ev.to));
      const meta = [];
      if (ev.actor) meta.push(t('history.by', { actor: ev.actor }));
      if (ev.recorded_at) meta.push(t('history.recorded', { t: fmtDateTime(ev.recorded_at) }));
      ol.append(
        h(
          'li',
          { 'data-to': ev.to || '' },
          head,
          ev.note ? h('div', { class: 'history-note', text: ev.note }) : null,
          meta.length ? h('div', { class: 'history-meta muted', text: meta.join(' · ') }) : null
        )
      );
    }
    sec.append(ol);
    return sec;
  }

  function busy(on) {
    $('#detail-panel').querySelectorAll('#detail-form button, #detail-form input, #detail-form select, #detail-form textarea, .transition-btn').forEach((el) => {
      el.disabled = on;
    });
  }

  async function saveDetail() {
    const d = state.detail;
    if (!d || !d.feature || !canEdit()) return;
    const id = d.id;
    const p = d.feature.properties || {};
    const form = $('#detail-form');
    const changes = {};
    for (const k of ['name', 'kind', 'address', 'source', 'notes']) {
      const el = form.elements.namedItem(k);
      if (!el) continue;
      const nv = k === 'notes' ? el.value.replace(/\s+$/, '') : el.value.trim();
      const ov = p[k] === null || p[k] === undefined ? '' : String(p[k]);
      if (nv !== ov) changes[k] = nv === '' && k !== 'name' ? null : nv;
    }
    setDetailError('');
    if (!Object.keys(changes).length) {
      setDetailMessage(t('edit.nochange'), 'nochange');
      return;
    }
    setDetailMessage(t('edit.saving'), 'saving');
    busy(true);
    const headers = { 'Content-Type': 'application/merge-patch+json' };
    if (p.version !== undefined && p.version !== null) headers['If-Match'] = `"${p.version}"`;
    try {
      const res = await api(`collections/hotspots/items/${encodeURIComponent(id)}`, { method: 'PATCH', headers, body: { properties: changes } });
      if (!state.detail || state.detail.id !== id) return;
      const f = res.data;
      if (f && typeof f === 'object' && f.properties) {
        state.detail.feature = f;
        refreshMarker(f);
      }
      await reloadDetail(id);
      setDetailMessage(t('edit.saved'), 'saved');
      scheduleReload();
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        setDetailError(t('edit.conflict'));
        setDetailMessage('');
        // Show the newest version, keeping in the form only what this user changed.
        const keep = {};
        for (const [k, v] of Object.entries(changes)) keep[k] = v === null ? '' : v;
        await reloadDetail(id, keep);
      } else {
        setDetailMessage('');
        setDetailError(e.message || String(e));
      }
    } finally {
      busy(false);
    }
  }

  async function doTransition(to) {
    const d = state.detail;
    if (!d || !canEdit()) return;
    const id = d.id;
    const on = ($('#transition-on') && $('#transition-on').value) || today();
    const note = ($('#transition-note') && $('#transition-note').value.trim()) || '';
    const body = { to, on };
    if (note) body.note = note;
    setDetailError('');
    setDetailMessage(t('transition.busy'), 'saving');
    busy(true);
    try {
      const res = await api(`v1/hotspots/${encodeURIComponent(id)}/transitions`, { method: 'POST', body });
      if (!state.detail || state.detail.id !== id) return;
      const f = res.data;
      if (f && typeof f === 'object' && f.properties) {
        state.detail.feature = f;
        refreshMarker(f);
      }
      const noteEl = $('#transition-note');
      if (noteEl) noteEl.value = '';
      await reloadDetail(id);
      setDetailMessage(t('transition.done', { label: statusLabel(to) }), 'transitioned');
      scheduleReload();
    } catch (e) {
      setDetailMessage('');
      setDetailError(e.message || String(e));
    } finally {
      busy(false);
    }
  }

  // ------------------------------------------------------------- language
  function switchLanguage() {
    const keep = formValues();
    I.setLang(I.lang === 'vi' ? 'en' : 'vi');
    syncLangSwitch();
    document.title = `Vigil — ${t('app.title')}`;
    if (state.vocab) {
      renderFilters();
      renderLegend();
      renderList();
    }
    renderCount();
    renderUser();
    if (state.detail) renderDetail(keep);
    renderLayerControl();
    if (window.VigilFlags) window.VigilFlags.relabel();
    if (window.VigilReview) window.VigilReview.relabel();
    if (window.VigilDashboard) window.VigilDashboard.relabel();
    if (window.VigilUpload) window.VigilUpload.relabel();
    const err = $('#login-error');
    if (err.textContent) err.textContent = '';
  }

  function syncLangSwitch() {
    const b = $('#lang-switch');
    b.setAttribute('lang', I.lang === 'vi' ? 'en' : 'vi');
    b.dataset.lang = I.lang;
  }

  // ----------------------------------------------------------------- start
  async function start() {
    I.applyStatic(document);
    syncLangSwitch();
    document.title = `Vigil — ${t('app.title')}`;

    $('#login-form').addEventListener('submit', onLoginSubmit);
    $('#login-show').addEventListener('change', (ev) => {
      $('#login-token').type = ev.target.checked ? 'text' : 'password';
    });
    $('#logout').addEventListener('click', onLogout);
    $('#field-toggle').addEventListener('click', () => window.VigilField.setOpen($('#field-panel').hidden));
    $('#field-close').addEventListener('click', () => window.VigilField.setOpen(false));
    // The app shell works without the network (sw.js); data never goes into its cache.
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('sw.js').catch((e) => console.warn('service worker:', e.message || e));
    }
    $('#lang-switch').addEventListener('click', switchLanguage);
    $('#filters').addEventListener('submit', (ev) => {
      ev.preventDefault();
      readFilters();
    });
    $('#filter-status').addEventListener('change', readFilters);
    $('#filter-kind').addEventListener('change', readFilters);
    $('#filter-reset').addEventListener('click', () => {
      $('#filter-status').value = '';
      $('#filter-kind').value = '';
      $('#filter-commune').value = '';
      readFilters();
    });
    $('#detail-close').addEventListener('click', closeDetail);
    $('#upload-toggle').addEventListener('click', () => setUploadOpen($('#upload-panel').hidden));
    $('#upload-close').addEventListener('click', () => {
      setUploadOpen(false);
      $('#upload-toggle').focus();
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Escape') return;
      if (state.detail && !$('#detail-panel').hidden) closeDetail();
      else if (window.VigilFlags && window.VigilFlags.isOpen()) window.VigilFlags.close();
      else if (window.VigilReview && window.VigilReview.isOpen()) window.VigilReview.escape();
      else if (!$('#upload-panel').hidden) setUploadOpen(false);
    });
    const toggle = $('#sidebar-toggle');
    toggle.addEventListener('click', () => {
      const collapsed = document.body.classList.toggle('sidebar-collapsed');
      toggle.setAttribute('aria-expanded', String(!collapsed));
    });
    if (window.matchMedia && window.matchMedia('(max-width: 760px)').matches) {
      document.body.classList.add('sidebar-collapsed');
      toggle.setAttribute('aria-expanded', 'false');
    }

    let saved = null;
    try {
      saved = window.sessionStorage.getItem(TOKEN_KEY);
    } catch (_) {
      saved = null;
    }
    if (!saved) {
      showLogin('');
      return;
    }
    state.token = saved;
    try {
      const { data } = await api('v1/me');
      await enterApp((data && data.user) || data);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // onUnauthorized showed the login
      if (e instanceof ApiError && e.status === 0 && window.VigilField) {
        let user = null;
        try {
          user = JSON.parse(window.sessionStorage.getItem(USER_KEY) || 'null');
        } catch (_) {
          user = null;
        }
        if (user && FIELD_ROLES.includes(user.role) && (await window.VigilField.hasPackage())) {
          await enterOffline(user);
          return;
        }
      }
      resetSession();
      showLogin(e instanceof ApiError && e.status === 0 ? t('login.error.network') : `${t('login.error.other')}: ${e.message || e}`);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
