/* Vigil web map: offline field review (issue 16), the way Forest Watcher works for rangers.
 *
 * A reviewer downloads a *field package* for a commune — its open flags (the review queue's
 * items, with their version and allowed decisions), their outlines, their chips, the imagery
 * around them and the area's basemap (both PMTiles archives) — into IndexedDB, after seeing its
 * size against the server's cap. Out of coverage, the panel works from the package: decisions —
 * the eradication of a confirmed plot with its date, area destroyed and unit, checked here as the
 * server checks it — and phone photos (with the device's position) go into an outbox in IndexedDB,
 * each with an
 * idempotency key and the flag version it was made on. Back in coverage the outbox syncs: each
 * item is accepted, or shown as a conflict (another reviewer decided first) to resolve — never
 * overwritten silently; a replay gets the server's first answer and never a second row.
 *
 * Lost devices: a package holds only what the reviewer's jurisdiction lets the server send; it
 * expires (`[field] package_days`); logging out wipes it; a 401 (revoked or expired token) wipes
 * it at the next contact; another user's login wipes it.
 *
 * Depends on window.VigilI18n, window.maplibregl, window.pmtiles, window.VigilVectorMap (its
 * pmtiles:// protocol); attaches window.VigilField.
 */
(function () {
  'use strict';

  const I = window.VigilI18n;
  const t = I.t;
  const DB = 'vigil-field';
  const QUEUE_LIMIT = 500;
  const TEAM_KEY = 'vigil-field-team'; // the unit last recorded on this device (not a person)

  const S = { ctx: null, pkg: null, outbox: [], urls: [], map: null, busy: false, offline: false };

  // ------------------------------------------------------------ IndexedDB
  function open() {
    return new Promise((resolve, reject) => {
      // Version 2: a database left without its stores (an aborted first open) is mended too.
      const r = indexedDB.open(DB, 2);
      r.onupgradeneeded = () => {
        const db = r.result;
        if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
        if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'key' });
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }

  /** Runs `fn(store)` (which issues requests at once) in one transaction; resolves with its result. */
  async function inStore(name, mode, fn) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const req = fn(tx.objectStore(name));
      let out;
      if (req) req.onsuccess = () => (out = req.result);
      tx.oncomplete = () => {
        db.close();
        resolve(out);
      };
      tx.onerror = () => {
        db.close();
        reject(tx.error);
      };
      tx.onabort = () => {
        db.close();
        reject(tx.error || new Error('IndexedDB transaction aborted'));
      };
    });
  }
  const kvGet = (k) => inStore('kv', 'readonly', (s) => s.get(k));
  const kvPut = (k, v) => inStore('kv', 'readwrite', (s) => s.put(v, k));
  const outboxAll = async () => ((await inStore('outbox', 'readonly', (s) => s.getAll())) || []).sort((a, b) => a.seq - b.seq);
  const outboxPut = (item) => inStore('outbox', 'readwrite', (s) => s.put(item));

  /** Wipes every package and outbox item on this device. */
  function wipe() {
    for (const u of S.urls) URL.revokeObjectURL(u);
    S.urls = [];
    S.pkg = null;
    S.outbox = [];
    if (S.map) {
      S.map.remove();
      S.map = null;
    }
    return new Promise((resolve) => {
      const r = indexedDB.deleteDatabase(DB);
      r.onsuccess = r.onerror = r.onblocked = () => resolve();
    }).then(render);
  }

  // ------------------------------------------------------------ helpers
  const $ = (sel) => document.querySelector(sel);
  const h = (...a) => S.ctx.h(...a);
  const mb = (n) => I.num(Math.round((n / (1024 * 1024)) * 10) / 10);
  function say(text, kind) {
    const el = $('#field-message');
    el.textContent = text || '';
    el.dataset.state = kind || '';
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }
  async function authFetch(path, opts = {}) {
    const headers = Object.assign({}, opts.headers || {}, { Authorization: 'Bearer ' + S.ctx.token() });
    const res = await fetch(S.ctx.url(path), Object.assign({}, opts, { headers, cache: 'no-store', credentials: 'omit' }));
    if (res.status === 401) {
      // A revoked or expired token: nothing of the package stays on the device.
      await wipe();
      S.ctx.unauthorized();
      throw new Error(t('field.revoked'));
    }
    return res;
  }
  async function problem(res) {
    try {
      const j = await res.json();
      return j.detail || j.title || `HTTP ${res.status}`;
    } catch (_) {
      return `HTTP ${res.status}`;
    }
  }

  // ------------------------------------------------------------ package
  async function estimate() {
    const commune = $('#field-commune').value.trim();
    if (!/^\d{3,6}$/.test(commune)) {
      say(t('field.commune.bad'), 'error');
      return null;
    }
    say(t('field.estimating'), 'loading');
    const res = await authFetch(`v1/field-package?commune=${encodeURIComponent(commune)}`);
    if (!res.ok) {
      say(`${t('field.error')}: ${await problem(res)}`, 'error');
      return null;
    }
    const j = await res.json();
    const m = j.manifest;
    const el = $('#field-estimate');
    el.dataset.bytes = String(m.bytes_total_estimate);
    el.dataset.max = String(m.max_bytes);
    el.dataset.flags = String(m.flags);
    el.textContent = t('field.estimate', { n: I.num(m.flags), mb: mb(m.bytes_total_estimate), max: mb(m.max_bytes), date: new Date(m.expires_at).toLocaleDateString(I.lang === 'vi' ? 'vi-VN' : 'en-GB') });
    const over = m.bytes_total_estimate > m.max_bytes;
    $('#field-download').disabled = over || m.flags === 0;
    say(over ? t('field.too_big') : m.flags === 0 ? t('field.none') : '', over ? 'error' : '');
    return { commune, manifest: m, files: j.files };
  }

  async function download() {
    const est = await estimate();
    if (!est) return;
    const { commune, manifest, files } = est;
    $('#field-download').disabled = true;
    try {
      let total = 0;
      const take = async (path, what) => {
        say(t('field.downloading', { what }), 'loading');
        const res = await authFetch(path);
        if (!res.ok) throw new Error(`${what}: ${await problem(res)}`);
        const blob = await res.blob();
        total += blob.size;
        if (total > manifest.max_bytes) throw new Error(t('field.too_big'));
        return blob;
      };
      // Every open flag of the commune, a page at a time (the manifest counted them all).
      const queue = { items: [] };
      const pageSize = Number(window.VigilFieldQueuePage) || QUEUE_LIMIT; // smaller in tests
      for (let offset = 0; ; ) {
        const page = JSON.parse(await (await take(`v1/review/queue?commune=${encodeURIComponent(commune)}&limit=${pageSize}&offset=${offset}`, t('field.part.flags'))).text());
        const got = Array.isArray(page.items) ? page.items : [];
        queue.items.push(...got);
        offset += got.length;
        if (!got.length || offset >= Number(page.total)) break;
      }
      const outlines = JSON.parse(await (await take(files.flags, t('field.part.outlines'))).text());
      const chips = {};
      for (const it of queue.items) {
        const res = await authFetch(`v1/flags/${it.id}/chip.png`);
        if (res.ok) {
          chips[it.id] = await res.blob();
          total += chips[it.id].size;
        }
      }
      const imagery = await take(files.imagery, t('field.part.imagery'));
      const basemap = await take(files.basemap, t('field.part.basemap'));
      const pkg = {
        owner: S.ctx.user().name,
        commune,
        downloaded_at: new Date().toISOString(),
        expires_at: manifest.expires_at,
        bytes: total,
        items: queue.items,
        outlines,
        chips,
        imagery,
        basemap
      };
      await kvPut('package', pkg);
      S.pkg = pkg;
      say(t('field.ready', { n: I.num(queue.items.length), mb: mb(total) }), 'ok');
    } catch (e) {
      say(`${t('field.error')}: ${e.message || e}`, 'error');
    } finally {
      $('#field-download').disabled = false;
    }
    render();
  }

  // ------------------------------------------------------------ outbox
  async function record(item, kind, body, blob) {
    const all = await outboxAll();
    const entry = {
      key: newKey(),
      seq: (all.length ? all[all.length - 1].seq : 0) + 1,
      kind,
      flag: item.id,
      version: item.version,
      body,
      blob: blob || null,
      state: 'pending',
      created_at: new Date().toISOString()
    };
    if (kind === 'photo') entry.position = await position();
    await outboxPut(entry);
    S.outbox = await outboxAll();
    render();
    if (navigator.onLine) sync();
  }

  /** The device's position for a photo, or null (no permission, no fix within 10 s). */
  function position() {
    if (!navigator.geolocation) return Promise.resolve(null);
    return new Promise((resolve) => {
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: p.coords.accuracy }),
        () => resolve(null),
        { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 }
      );
    });
  }

  /** Sends one outbox item; returns its new state. `replay` sends a synced item again. */
  async function send(it) {
    const headers = { 'Idempotency-Key': it.key };
    let res;
    if (it.kind === 'decision') {
      headers['Content-Type'] = 'application/json';
      headers['If-Match'] = `"${it.version}"`;
      res = await authFetch(`v1/flags/${it.flag}/decisions`, { method: 'POST', headers, body: JSON.stringify(it.body) });
    } else {
      headers['Content-Type'] = 'image/jpeg';
      // The phone's fix stands in where the photo has no position of its own (the server decides).
      const p = it.position;
      const where = p ? `?lon=${p.lon}&lat=${p.lat}${p.accuracy_m != null ? `&accuracy_m=${p.accuracy_m}` : ''}` : '';
      res = await authFetch(`v1/flags/${it.flag}/evidence${where}`, { method: 'POST', headers, body: it.blob });
    }
    it.replayed = res.headers.get('Idempotency-Replayed') === 'true';
    if (res.ok) {
      it.state = 'synced';
      it.error = null;
      try {
        const j = await res.json();
        if (j && j.decision) it.result = { decision: j.decision.decision, version: j.decision.version };
      } catch (_) {
        /* the body is informative only */
      }
    } else if (res.status === 409 && it.kind === 'decision') {
      it.state = 'conflict';
      it.error = await problem(res);
      try {
        const d = await (await authFetch(`v1/flags/${it.flag}/decisions`)).json();
        const last = d.items[d.items.length - 1];
        it.theirs = last ? { decision: last.decision, label: last.decision_label, actor: last.actor, at: last.decided_at, version: last.version } : null;
      } catch (_) {
        it.theirs = null;
      }
    } else {
      it.state = 'error';
      it.error = await problem(res);
    }
    await outboxPut(it);
    return it.state;
  }

  async function sync() {
    if (S.busy || !navigator.onLine || !S.ctx || !S.ctx.token()) return;
    S.busy = true;
    $('#field-panel').dataset.sync = 'running';
    try {
      for (const it of await outboxAll()) {
        if (it.state !== 'pending') continue;
        try {
          await send(it);
        } catch (e) {
          if (e instanceof TypeError) break; // the network went away again
          throw e;
        }
      }
    } catch (e) {
      say(`${t('field.error')}: ${e.message || e}`, 'error');
    } finally {
      S.busy = false;
      S.outbox = await outboxAll().catch(() => []);
      $('#field-panel').dataset.sync = 'done';
      render();
    }
  }

  /** Sends every item again with its own key (what a phone does after a lost answer). */
  async function replay() {
    let replayed = 0;
    for (const it of await outboxAll()) {
      if (it.state !== 'synced') continue;
      it.state = 'pending';
      await send(it);
      if (it.replayed) replayed += 1;
    }
    S.outbox = await outboxAll();
    render();
    return { replayed };
  }

  /** A conflict resolved: `keep` sends mine again on the version now current, else drops it. */
  async function resolve(it, keep) {
    if (!keep) {
      it.state = 'dropped';
    } else {
      const res = await authFetch(`v1/flags/${it.flag}`);
      if (!res.ok) {
        say(`${t('field.error')}: ${await problem(res)}`, 'error');
        return;
      }
      const f = await res.json();
      const version = (f.flag && f.flag.version) || f.version;
      it.version = version;
      it.body = Object.assign({}, it.body, { version });
      it.key = newKey(); // another request: another key
      it.state = 'pending';
    }
    await inStore('outbox', 'readwrite', (s) => s.put(it));
    S.outbox = await outboxAll();
    render();
    sync();
  }

  // ------------------------------------------------------------ rendering
  function itemState(id) {
    const mine = S.outbox.filter((o) => o.flag === id && o.state !== 'dropped');
    return mine;
  }

  function render() {
    if (!S.ctx) return;
    const box = $('#field-package');
    const list = $('#field-list');
    const outbox = $('#field-outbox');
    list.replaceChildren();
    outbox.replaceChildren();
    const pending = S.outbox.filter((o) => o.state === 'pending').length;
    const conflicts = S.outbox.filter((o) => o.state === 'conflict');
    $('#field-panel').dataset.pending = String(pending);
    $('#field-panel').dataset.conflicts = String(conflicts.length);
    $('#field-panel').dataset.synced = String(S.outbox.filter((o) => o.state === 'synced').length);
    $('#field-status').textContent = navigator.onLine ? t('field.online', { n: I.num(pending) }) : t('field.offline', { n: I.num(pending) });
    if (!S.pkg) {
      box.dataset.state = 'none';
      box.textContent = t('field.nopackage');
      return;
    }
    box.dataset.state = 'ready';
    box.dataset.flags = String(S.pkg.items.length);
    box.textContent = t('field.package', { commune: S.pkg.commune, n: I.num(S.pkg.items.length), mb: mb(S.pkg.bytes), date: new Date(S.pkg.expires_at).toLocaleDateString(I.lang === 'vi' ? 'vi-VN' : 'en-GB') });
    for (const it of S.pkg.items) {
      const li = h('li', { class: 'field-item', 'data-id': String(it.id) });
      if (S.pkg.chips[it.id]) {
        const u = URL.createObjectURL(S.pkg.chips[it.id]);
        S.urls.push(u);
        li.append(h('img', { class: 'field-chip', src: u, alt: t('field.chip', { id: it.id }) }));
      }
      li.append(h('div', { class: 'field-title', text: `#${it.id} · ${it.class_label || it.class} · ${Math.round(it.confidence * 100)}% · ${it.status_label || it.status}` }));
      const mine = itemState(it.id);
      for (const o of mine) {
        const what = o.kind === 'photo' ? t('field.photo') : t('review.decision.' + o.body.decision);
        li.append(h('div', { class: `field-out field-out-${o.state}`, 'data-state': o.state, text: `${what}: ${t('field.state.' + o.state)}${o.error && o.state !== 'conflict' ? ' — ' + o.error : ''}` }));
      }
      const decided = mine.some((o) => o.kind === 'decision' && o.state !== 'error');
      const buttons = h('div', { class: 'field-actions' });
      if (!decided) {
        for (const d of it.allowed_decisions || []) {
          if (d === 'reopen') continue; // needs the full panel (and the network) to say why
          if (d === 'eradicated') {
            buttons.append(eradicationForm(it));
            continue;
          }
          buttons.append(
            h('button', {
              type: 'button',
              class: 'btn btn-small',
              'data-decision': d,
              text: t('review.decision.' + d),
              onclick: () => {
                const body = { decision: d, version: it.version, note: $('#field-note').value.trim() || null };
                if (d === 'false_positive') body.reason = $('#field-reason').value;
                record(it, 'decision', body);
              }
            })
          );
        }
      }
      const photo = h('input', { type: 'file', accept: 'image/jpeg', capture: 'environment', class: 'field-photo', 'data-id': String(it.id), 'aria-label': t('field.photo.add') });
      photo.addEventListener('change', () => {
        const f = photo.files && photo.files[0];
        if (f) record(it, 'photo', null, f);
        photo.value = '';
      });
      buttons.append(h('label', { class: 'btn btn-small field-photo-label' }, t('field.photo.add'), photo));
      li.append(buttons);
      list.append(li);
    }
    for (const c of conflicts) {
      const theirs = c.theirs ? `${c.theirs.label || c.theirs.decision} (${c.theirs.actor || '?'})` : t('unknown');
      outbox.append(
        h(
          'li',
          { class: 'field-conflict', 'data-id': String(c.flag), 'data-key': c.key },
          h('div', { text: t('field.conflict', { id: c.flag, mine: t('review.decision.' + c.body.decision), theirs }) }),
          h('button', { type: 'button', class: 'btn btn-small', 'data-resolve': 'keep', text: t('field.conflict.keep'), onclick: () => resolve(c, true) }),
          h('button', { type: 'button', class: 'btn btn-small', 'data-resolve': 'drop', text: t('field.conflict.drop'), onclick: () => resolve(c, false) })
        )
      );
    }
    drawMap();
  }

  /**
   * "Ghi nhận phá bỏ…": the eradication a team records on the spot — date, area destroyed and the
   * unit (never people's names) — checked here as the server will check it, then queued like any
   * decision. The unit is remembered on this device for the next plot.
   */
  function eradicationForm(it) {
    const details = h('details', { class: 'field-erad', 'data-id': String(it.id) });
    const today = new Date();
    const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const flight = it.acquired_at ? String(it.acquired_at).slice(0, 10) : '';
    const on = h('input', { type: 'date', class: 'field-erad-on', value: iso(today), max: iso(today), min: flight || null });
    const area = h('input', { type: 'number', class: 'field-erad-area', min: '0', step: '1', inputmode: 'numeric', value: it.area_m2 ? String(Math.round(it.area_m2)) : '' });
    let team = '';
    try {
      team = window.localStorage.getItem(TEAM_KEY) || '';
    } catch (_) {
      team = '';
    }
    const teamIn = h('input', { type: 'text', class: 'field-erad-team', maxlength: '120', autocomplete: 'off', value: team });
    const msg = h('p', { class: 'field-erad-error', role: 'alert', hidden: true });
    const save = h('button', {
      type: 'button',
      class: 'btn btn-small btn-primary',
      'data-decision': 'eradicated',
      text: t('field.erad.save'),
      onclick: () => {
        const problems = [];
        const day = on.value;
        if (!day || day > iso(today) || (flight && day < flight)) problems.push(t('field.erad.bad.on', { flight: flight || '—' }));
        const m2 = Number(area.value);
        if (!(m2 > 0)) problems.push(t('field.erad.bad.area'));
        const unit = teamIn.value.trim();
        if (!unit) problems.push(t('field.erad.bad.team'));
        msg.hidden = !problems.length;
        msg.textContent = problems.join(' ');
        details.dataset.state = problems.length ? 'invalid' : 'saved';
        if (problems.length) return;
        try {
          window.localStorage.setItem(TEAM_KEY, unit);
        } catch (_) {
          /* private mode: not remembered */
        }
        record(it, 'decision', { decision: 'eradicated', version: it.version, eradicated_on: day, area_destroyed_m2: m2, team: unit, note: $('#field-note').value.trim() || null });
      }
    });
    const label = (key, input) => h('label', { class: 'field-erad-field' }, h('span', { text: t(key) }), input);
    details.append(
      h('summary', { class: 'btn btn-small', 'data-decision-open': 'eradicated', text: t('field.erad.open') }),
      label('field.erad.on', on),
      label('field.erad.area', area),
      label('field.erad.team', teamIn),
      msg,
      save
    );
    return details;
  }

  /** The package's basemap, imagery and outlines on a small map, from IndexedDB only. */
  function drawMap() {
    const el = $('#field-map');
    if (!S.pkg || !window.maplibregl || S.map) return;
    const blobSource = (key, blob) => ({
      getKey: () => key,
      getBytes: async (offset, length) => ({ data: await blob.slice(offset, offset + length).arrayBuffer() })
    });
    const proto = window.VigilVectorMap.protocol();
    proto.add(new pmtiles.PMTiles(blobSource('field-basemap', S.pkg.basemap)));
    proto.add(new pmtiles.PMTiles(blobSource('field-imagery', S.pkg.imagery)));
    const b = S.pkg.outlines.features.length ? bounds(S.pkg.outlines) : null;
    S.map = new maplibregl.Map({
      container: el,
      attributionControl: false,
      style: {
        version: 8,
        sources: {
          base: { type: 'vector', url: 'pmtiles://field-basemap' },
          img: { type: 'raster', url: 'pmtiles://field-imagery', tileSize: 256 },
          flags: { type: 'geojson', data: S.pkg.outlines }
        },
        layers: [
          { id: 'bg', type: 'background', paint: { 'background-color': '#dfe8ee' } },
          { id: 'land', type: 'fill', source: 'base', 'source-layer': 'land', paint: { 'fill-color': '#f3efe6' } },
          { id: 'img', type: 'raster', source: 'img' },
          { id: 'communes', type: 'line', source: 'base', 'source-layer': 'communes', paint: { 'line-color': '#8e7cc3', 'line-dasharray': [4, 3] } },
          { id: 'flags', type: 'line', source: 'flags', paint: { 'line-color': '#d0021b', 'line-width': 2 } }
        ]
      },
      bounds: b || undefined,
      fitBoundsOptions: { padding: 20 }
    });
    S.map.on('idle', () => (el.dataset.state = 'idle'));
  }

  function bounds(fc) {
    let w = 180, s = 90, e = -180, n = -90;
    const walk = (c) => {
      if (typeof c[0] === 'number') {
        w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
      } else c.forEach(walk);
    };
    for (const f of fc.features) if (f.geometry) walk(f.geometry.coordinates);
    return [[w, s], [e, n]];
  }

  // ------------------------------------------------------------ lifecycle
  /**
   * ctx: { h, url(path), token(), user(), unauthorized() }. Loads the package kept on this device,
   * wiping it when it expired or belongs to someone else.
   */
  async function attach(ctx) {
    S.ctx = ctx;
    $('#field-estimate-btn').onclick = () => estimate().catch((e) => say(`${t('field.error')}: ${e.message || e}`, 'error'));
    $('#field-download').onclick = () => download();
    $('#field-wipe').onclick = () => wipe().then(() => say(t('field.wiped'), 'ok'));
    $('#field-sync').onclick = () => sync();
    if (!S.listening) {
      S.listening = true;
      window.addEventListener('online', () => {
        render();
        sync();
      });
      window.addEventListener('offline', render);
    }
    try {
      const pkg = await kvGet('package');
      const me = ctx.user() && ctx.user().name;
      if (pkg && (pkg.owner !== me || new Date(pkg.expires_at) < new Date())) {
        await wipe();
        say(pkg.owner !== me ? t('field.other_user') : t('field.expired'), 'info');
      } else {
        S.pkg = pkg || null;
        S.outbox = await outboxAll();
      }
    } catch (e) {
      say(`${t('field.error')}: ${e.message || e}`, 'error');
    }
    render();
    if (navigator.onLine) sync();
  }

  /** The panel takes the sidebar's place (as the review queue does). */
  function setOpen(open) {
    const panel = $('#field-panel');
    if (open && !$('#review-queue').hidden) $('#review-close').click();
    panel.hidden = !open;
    $('#sidebar').hidden = open;
    $('#field-toggle').setAttribute('aria-expanded', String(open));
    if (open) {
      panel.focus({ preventScroll: true });
      if (S.map) S.map.resize();
    }
  }

  async function hasPackage() {
    try {
      return !!(await kvGet('package'));
    } catch (_) {
      return false;
    }
  }

  window.VigilField = { attach, wipe, sync, replay, setOpen, hasPackage, relabel: render };
})();
