/* Vigil web map — the upload panel for drone operators.
 *
 * Plain ES2020, no build step. Defines window.VigilUpload; app.js attaches it after login when the
 * user's role is operator or admin (and detaches it on logout), passing what it needs from the map
 * (see attach()). Depends on window.VigilI18n; hashing runs in upload-hash-worker.js (sha256.js).
 *
 * One file goes: SHA-256 (in a Worker, slice by slice) → POST /v1/uploads → PUT the missing chunks
 * (PARALLEL in flight, retried with backoff) → POST …/commit → POST /v1/surveys → GET
 * /v1/surveys/{id} every second until ready / failed / cancelled.
 *
 * Resuming: localStorage["vigil.uploads.v1:<user>"] maps "name|size|lastModified" to the upload id
 * (and the survey id once ingest starts). After a reload, unfinished uploads are listed with
 * "Chọn lại tệp để tiếp tục"; picking the same file sends only the chunks the server says are
 * missing. Ingests still running resume their polling without the file.
 */
(function () {
  'use strict';

  const I = window.VigilI18n;
  const t = (k, p) => I.t(k, p);

  const PARALLEL = 3; // chunk requests in flight per file
  const HASH_SLICE = 4 << 20; // bytes per read while hashing
  const POLL_MS = 1000; // survey status
  const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  const MAX_ATTEMPTS = 8; // per request, then the file stops with "Thử lại"
  const STORE_PREFIX = 'vigil.uploads.v1:';
  const SURVEY_ERRORS = [
    'not_georeferenced',
    'unknown_crs',
    'band_layout',
    'too_many_pixels',
    'corrupt',
    'unsupported_type',
    'empty',
    'outside_jurisdiction',
    'cancelled',
    'internal'
  ];
  const FINAL = new Set(['ready', 'failed', 'cancelled', 'error']);
  // The server's stages (the contract names four; it also reports `footprint` and `classify`).
  // Others show as sent.
  const STAGES = ['validate', 'tile', 'overviews', 'footprint', 'classify', 'index'];

  let ctx = null; // from app.js while attached
  let wired = false;
  const items = new Map(); // key -> item
  let session = 0; // bumped on detach, so late callbacks of a previous login do nothing

  const $ = (sel) => document.querySelector(sel);

  // --------------------------------------------------------------- helpers
  class Stopped extends Error {
    constructor() {
      super('stopped');
      this.name = 'AbortError';
    }
  }

  /** An error the page makes itself: kind = read | empty | survey | gone. */
  class LocalError extends Error {
    constructor(kind, detail, code) {
      super(detail || kind);
      this.kind = kind;
      this.detail = detail || '';
      this.code = code || null;
    }
  }

  const isAbort = (e) => e && e.name === 'AbortError';

  function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) return reject(new Stopped());
      const id = window.setTimeout(resolve, ms);
      if (signal) {
        signal.addEventListener(
          'abort',
          () => {
            window.clearTimeout(id);
            reject(new Stopped());
          },
          { once: true }
        );
      }
    });
  }

  function fileKey(name, size, lastModified) {
    return `${name}|${size}|${lastModified}`;
  }

  function fmtBytes(n) {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let v = Number(n) || 0;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u += 1;
    }
    let s;
    try {
      s = new Intl.NumberFormat(I.lang === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: u === 0 ? 0 : 1 }).format(v);
    } catch (_) {
      s = v.toFixed(u === 0 ? 0 : 1);
    }
    return `${s} ${units[u]}`;
  }

  /** The chunk indexes in GET /v1/uploads/{id}'s `missing` ranges. */
  function missingChunks(status) {
    const out = [];
    for (const r of (status && status.missing) || []) {
      for (let n = r.first; n <= r.last; n++) out.push(n);
    }
    return out;
  }

  function retryable(e) {
    if (!e || isAbort(e) || !(e instanceof ctx.ApiError)) return false;
    return e.status === 0 || e.status === 408 || e.status === 429 || e.status >= 500;
  }

  /** Vietnamese (or English) text for an error, plus the server's own words. */
  function describeError(e) {
    const out = { key: 'upload.err.http', params: {}, detail: '', code: null, status: null, retry: false, restart: false };
    if (e instanceof LocalError) {
      out.detail = e.detail;
      if (e.kind === 'survey') {
        out.code = e.code || 'internal';
        out.key = SURVEY_ERRORS.includes(out.code) ? `survey.err.${out.code}` : 'survey.err.unknown';
        out.params = { code: out.code };
        out.restart = out.code === 'internal';
      } else {
        out.key = `upload.err.${e.kind}`;
        out.restart = e.kind === 'gone';
      }
      return out;
    }
    const status = e && typeof e.status === 'number' ? e.status : 0;
    const problem = (e && e.problem) || null;
    out.status = status;
    out.detail = problem ? problem.detail || problem.title || '' : '';
    out.params = { status };
    if (problem && typeof problem.code === 'string') {
      out.code = problem.code;
      if (SURVEY_ERRORS.includes(problem.code)) {
        out.key = `survey.err.${problem.code}`;
        return out;
      }
    }
    if (status === 0) {
      out.key = 'upload.err.network';
      out.retry = true;
    } else if (status === 401) out.key = 'upload.err.401';
    else if (status === 403) out.key = 'upload.err.403';
    else if (status === 404) {
      out.key = 'upload.err.404';
      out.restart = true;
    } else if (status === 409) {
      out.key = 'upload.err.409';
      out.retry = true;
      out.restart = true;
    } else if (status === 413) {
      const limit = problem && problem.limit && problem.limit.name;
      out.key = limit === 'upload.max_bytes' ? 'upload.err.413.size' : 'upload.err.413.quota';
      out.retry = limit !== 'upload.max_bytes';
    } else if (status === 422) {
      if (problem && problem.checksum) {
        out.key = 'upload.err.checksum';
        out.restart = true;
      } else out.key = 'upload.err.422';
    } else if (status === 429) {
      out.key = 'upload.err.429';
      out.retry = true;
    } else if (status >= 500) {
      out.key = 'upload.err.5xx';
      out.retry = true;
    }
    return out;
  }

  /** At most n holders at a time, in arrival order. */
  class Slots {
    constructor(n) {
      this.free = n;
      this.queue = [];
    }
    acquire(signal) {
      if (this.free > 0) {
        this.free -= 1;
        return Promise.resolve();
      }
      return new Promise((resolve, reject) => {
        const waiter = { resolve, reject };
        this.queue.push(waiter);
        if (signal) {
          signal.addEventListener(
            'abort',
            () => {
              const i = this.queue.indexOf(waiter);
              if (i >= 0) {
                this.queue.splice(i, 1);
                reject(new Stopped());
              }
            },
            { once: true }
          );
        }
      });
    }
    release() {
      const next = this.queue.shift();
      if (next) next.resolve();
      else this.free += 1;
    }
  }
  // One file hashes at a time (disk and CPU) and one uploads at a time (the link), so the
  // first file finishes first; ingest polling is not limited.
  const hashSlots = new Slots(1);
  const uploadSlots = new Slots(1);

  async function withSlot(slots, item, fn) {
    item.waiting = true;
    update(item);
    try {
      await slots.acquire(item.run.signal);
    } finally {
      item.waiting = false;
    }
    try {
      return await fn();
    } finally {
      slots.release();
    }
  }

  // --------------------------------------------------------------- storage
  function storeKey() {
    const u = ctx && ctx.user();
    return STORE_PREFIX + ((u && u.name) || '');
  }
  function readStore() {
    try {
      const v = JSON.parse(window.localStorage.getItem(storeKey()) || '{}');
      return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
    } catch (_) {
      return {};
    }
  }
  function writeStore(all) {
    try {
      if (Object.keys(all).length) window.localStorage.setItem(storeKey(), JSON.stringify(all));
      else window.localStorage.removeItem(storeKey());
    } catch (_) {
      /* private mode or full: resuming after a reload will not work, uploading still does */
    }
  }
  function remember(item) {
    if (!item.uploadId) return;
    const all = readStore();
    all[item.key] = {
      name: item.name,
      size: item.size,
      lastModified: item.lastModified,
      sha256: item.sha256,
      upload: item.uploadId,
      survey: item.surveyId || null,
      saved_at: new Date().toISOString()
    };
    writeStore(all);
  }
  function forget(item) {
    const all = readStore();
    if (item.key in all) {
      delete all[item.key];
      writeStore(all);
    }
  }

  // ------------------------------------------------------------------ API
  async function getUpload(item, signal) {
    const { data } = await retrying(item, () => ctx.api(`v1/uploads/${encodeURIComponent(item.uploadId)}`, { signal }), signal);
    return data;
  }

  /** Runs fn, retrying network errors, 5xx and 429 with backoff (shown on the item). */
  async function retrying(item, fn, signal) {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await fn();
        if (item.retryAttempt) {
          item.retryAttempt = 0;
          update(item);
        }
        return r;
      } catch (e) {
        if (isAbort(e) || !retryable(e) || attempt >= MAX_ATTEMPTS) throw e;
        item.retryAttempt = attempt;
        update(item);
        await sleep(BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)], signal);
      }
    }
  }

  /** PUT one chunk with XMLHttpRequest, for upload progress events. */
  function putChunk(item, n, signal) {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Stopped());
      const start = n * item.chunkSize;
      const end = Math.min(item.size, start + item.chunkSize);
      const xhr = new XMLHttpRequest();
      const onAbort = () => xhr.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        signal.removeEventListener('abort', onAbort);
        item.inflight.delete(n);
      };
      xhr.open('PUT', ctx.url(`v1/uploads/${encodeURIComponent(item.uploadId)}/chunks/${n}`));
      xhr.setRequestHeader('Authorization', 'Bearer ' + (ctx.token() || ''));
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.setRequestHeader('Accept', 'application/json, application/problem+json;q=0.9');
      xhr.upload.onprogress = (ev) => {
        item.inflight.set(n, ev.loaded);
        progressSoon(item);
      };
      xhr.onload = () => {
        settle();
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (_) {
          body = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
        if (xhr.status === 401) ctx.unauthorized();
        const problem = body && typeof body === 'object' ? body : null;
        reject(new ctx.ApiError(xhr.status, (problem && problem.detail) || `HTTP ${xhr.status}`, problem));
      };
      xhr.onerror = () => {
        settle();
        reject(new ctx.ApiError(0, t('error.network')));
      };
      xhr.onabort = () => {
        settle();
        reject(new Stopped());
      };
      item.inflight.set(n, 0);
      item.chunkRequests += 1;
      try {
        xhr.send(item.file.slice(start, end));
      } catch (e) {
        settle();
        reject(new LocalError('read', e && e.message));
      }
    });
  }

  // -------------------------------------------------------------- pipeline
  function hashFile(item, signal) {
    return new Promise((resolve, reject) => {
      let worker;
      try {
        worker = new Worker('upload-hash-worker.js');
      } catch (e) {
        reject(new LocalError('read', `cannot start the hashing worker: ${e && e.message}`));
        return;
      }
      const stop = () => {
        worker.terminate();
        reject(new Stopped());
      };
      signal.addEventListener('abort', stop, { once: true });
      worker.onmessage = (ev) => {
        const m = ev.data || {};
        if (m.type === 'progress') {
          item.hashed = m.done;
          progressSoon(item);
          return;
        }
        signal.removeEventListener('abort', stop);
        worker.terminate();
        if (m.type === 'done') resolve(m.sha256);
        else reject(new LocalError('read', m.message));
      };
      worker.onerror = (ev) => {
        ev.preventDefault();
        signal.removeEventListener('abort', stop);
        worker.terminate();
        reject(new LocalError('read', ev.message || 'worker error'));
      };
      worker.postMessage({ file: item.file, slice: HASH_SLICE });
    });
  }

  async function sendChunks(item, status, signal) {
    const todo = missingChunks(status);
    const total = status.chunks;
    if (item.resumed && todo.length < total) {
      item.note = { key: 'upload.state.resumed', params: { n: todo.length, total } };
    }
    let next = 0;
    const inner = new AbortController();
    const stopInner = () => inner.abort();
    signal.addEventListener('abort', stopInner, { once: true });
    const lane = async () => {
      while (next < todo.length) {
        const n = todo[next++];
        await sendOne(item, n, inner.signal);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, lane));
    } catch (e) {
      inner.abort(); // stop the other lanes
      throw e;
    } finally {
      signal.removeEventListener('abort', stopInner);
    }
  }

  async function sendOne(item, n, signal) {
    for (let attempt = 1; ; attempt++) {
      try {
        await putChunk(item, n, signal);
        item.received.add(n);
        if (item.retryAttempt) item.retryAttempt = 0;
        progressSoon(item);
        return;
      } catch (e) {
        if (isAbort(e)) throw e;
        if (e instanceof ctx.ApiError && e.status === 409) {
          // Another request is sending this chunk, or the session closed: ask the server.
          const st = await getUpload(item, signal);
          if (!['receiving', 'complete'].includes(st.state)) throw e;
          if (!missingChunks(st).includes(n)) {
            item.received.add(n);
            progressSoon(item);
            return;
          }
        } else if (!retryable(e)) {
          throw e;
        }
        if (attempt >= MAX_ATTEMPTS) throw e;
        item.retryAttempt = attempt;
        update(item);
        await sleep(BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)], signal);
      }
    }
  }

  function takeStatus(item, st) {
    item.uploadState = st.state;
    item.chunkSize = st.chunk_size;
    item.chunks = st.chunks;
    item.received = new Set(st.received || []);
  }

  /** Everything from the current point to a final survey state. */
  async function run(item) {
    const mine = session;
    if (item.run) item.run.abort();
    const ctl = new AbortController();
    item.run = ctl;
    const signal = ctl.signal;
    item.error = null;
    item.retryAttempt = 0;
    item.waiting = false;
    try {
      if (!item.uploadId) {
        if (!item.file) throw new LocalError('gone');
        if (item.file.size === 0) throw new LocalError('empty');
        if (!item.sha256) {
          item.phase = 'hashing';
          item.hashed = 0;
          update(item);
          item.sha256 = await withSlot(hashSlots, item, () => hashFile(item, signal));
        }
        item.hashed = item.size;
        item.phase = 'creating';
        update(item);
        const body = { filename: item.name, size: item.size, sha256: item.sha256 };
        if (item.file.type) body.content_type = item.file.type;
        const { data } = await ctx.api('v1/uploads', { method: 'POST', body, signal });
        item.uploadId = data.id;
        takeStatus(item, data);
        remember(item);
      }
      if (!item.surveyId) {
        item.hashed = item.size;
        if (!item.uploadState || item.resumed) {
          item.phase = 'checking';
          update(item);
          let st;
          try {
            st = await getUpload(item, signal);
          } catch (e) {
            if (e instanceof ctx.ApiError && e.status === 404) throw new LocalError('gone', e.message);
            throw e;
          }
          takeStatus(item, st);
          if (['failed', 'cancelled'].includes(st.state)) throw new LocalError('gone', st.failure || `upload ${st.state}`);
        }
        // Send, commit; a commit that finds chunks missing (409 + missing) sends them and retries.
        for (let round = 0; item.uploadState !== 'committed'; round++) {
          if (item.uploadState === 'receiving') {
            if (!item.file) {
              item.phase = 'needs-file';
              update(item);
              return;
            }
            await withSlot(uploadSlots, item, async () => {
              item.phase = 'uploading';
              update(item);
              await sendChunks(item, { missing: missingRanges(item), chunks: item.chunks }, signal);
            });
          }
          item.phase = 'committing';
          update(item);
          try {
            const { data } = await retrying(item, () => ctx.api(`v1/uploads/${encodeURIComponent(item.uploadId)}/commit`, { method: 'POST', signal }), signal);
            takeStatus(item, data);
          } catch (e) {
            const missing = e instanceof ctx.ApiError && e.status === 409 && e.problem && Array.isArray(e.problem.missing) ? e.problem.missing : null;
            if (!missing || round >= 2) throw e;
            takeStatus(item, await getUpload(item, signal));
          }
        }
        item.resumed = false;
        await startSurvey(item, signal);
      }
      await poll(item, signal);
    } catch (e) {
      if (mine !== session || item.run !== ctl) return;
      if (isAbort(e)) return;
      fail(item, e);
    }
  }

  function missingRanges(item) {
    const out = [];
    for (let n = 0; n < item.chunks; n++) {
      if (!item.received.has(n)) out.push({ first: n, last: n });
    }
    return out;
  }

  async function startSurvey(item, signal) {
    item.phase = 'starting';
    update(item);
    const name = item.name.replace(/\.(tiff?|gtiff?)$/i, '') || item.name;
    let survey;
    try {
      const { data } = await retrying(item, () => ctx.api('v1/surveys', { method: 'POST', body: { upload: item.uploadId, name }, signal }), signal);
      survey = data;
    } catch (e) {
      // 422: the server refused the file itself (not an image, no CRS …) before queueing it;
      // there is nothing to resume after a reload.
      if (e instanceof ctx.ApiError && e.status === 422) forget(item);
      // 409: this upload was already given to ingest (the page reloaded before it saved the id).
      if (!(e instanceof ctx.ApiError && e.status === 409)) throw e;
      const { data } = await ctx.api('v1/surveys', { signal });
      survey = ((data && data.surveys) || []).find((s) => s.upload === item.uploadId);
      if (!survey) throw e;
    }
    item.surveyId = survey.id;
    remember(item);
    takeSurvey(item, survey);
  }

  function takeSurvey(item, s) {
    item.survey = s;
    item.ingest = Math.max(0, Math.min(100, Number(s.progress) || 0));
    item.stage = s.stage || null;
    if (s.state === 'ready') item.ingest = 100;
    item.phase = ['queued', 'running', 'ready', 'failed', 'cancelled'].includes(s.state) ? s.state : 'queued';
    update(item);
  }

  async function poll(item, signal) {
    for (;;) {
      const { data } = await retrying(item, () => ctx.api(`v1/surveys/${encodeURIComponent(item.surveyId)}`, { signal }), signal);
      takeSurvey(item, data);
      if (data.state === 'ready') {
        forget(item);
        ctx.surveyReady(data);
        return;
      }
      if (data.state === 'failed' || data.state === 'cancelled') {
        forget(item);
        if (data.state === 'failed') {
          const err = data.error || {};
          item.error = describeError(new LocalError('survey', err.message || '', err.code || 'internal'));
          update(item);
        }
        return;
      }
      await sleep(POLL_MS, signal);
    }
  }

  function fail(item, e) {
    const info = describeError(e);
    item.error = info;
    item.phase = 'error';
    if (e instanceof LocalError && e.kind === 'gone') {
      // Nothing left on the server to resume: start from scratch when retried.
      forget(item);
      item.uploadId = null;
      item.surveyId = null;
      item.uploadState = null;
      item.received = new Set();
    } else if (info.restart && !info.retry) {
      forget(item);
    }
    if (!(e instanceof LocalError) && !(e instanceof ctx.ApiError)) console.warn('upload:', e);
    update(item);
  }

  async function cancel(item) {
    const mine = session;
    if (item.run) item.run.abort();
    item.run = null;
    item.phase = 'cancelling';
    item.error = null;
    update(item);
    try {
      if (item.surveyId && !FINAL.has((item.survey && item.survey.state) || '')) {
        try {
          const { data } = await ctx.api(`v1/surveys/${encodeURIComponent(item.surveyId)}/cancel`, { method: 'POST' });
          if (mine !== session) return;
          takeSurvey(item, data);
        } catch (e) {
          if (!(e instanceof ctx.ApiError && e.status === 409)) throw e;
          // Finished meanwhile: show how it ended.
          const { data } = await ctx.api(`v1/surveys/${encodeURIComponent(item.surveyId)}`);
          if (mine !== session) return;
          takeSurvey(item, data);
          if (data.state === 'ready') ctx.surveyReady(data);
        }
      } else if (item.uploadId && item.uploadState !== 'committed') {
        try {
          await ctx.api(`v1/uploads/${encodeURIComponent(item.uploadId)}`, { method: 'DELETE' });
        } catch (e) {
          if (!(e instanceof ctx.ApiError && e.status === 404)) throw e;
        }
        if (mine !== session) return;
      }
      // A committed upload whose survey never started cannot be deleted through the API
      // (DELETE refuses committed sessions); it is only forgotten here.
      forget(item);
      if (!FINAL.has(item.phase)) item.phase = 'cancelled';
      update(item);
    } catch (e) {
      if (mine !== session) return;
      fail(item, e);
    }
  }

  // -------------------------------------------------------------- entries
  function newItem(fields) {
    const item = Object.assign(
      {
        key: '',
        file: null,
        name: '',
        size: 0,
        lastModified: 0,
        sha256: null,
        uploadId: null,
        uploadState: null,
        chunkSize: 0,
        chunks: 0,
        received: new Set(),
        inflight: new Map(),
        surveyId: null,
        survey: null,
        phase: 'waiting',
        waiting: false,
        hashed: 0,
        ingest: 0,
        stage: null,
        error: null,
        note: null,
        retryAttempt: 0,
        resumed: false,
        chunkRequests: 0,
        run: null,
        el: null,
        parts: null
      },
      fields
    );
    items.set(item.key, item);
    return item;
  }

  function addFiles(fileList) {
    if (!ctx) return;
    const stored = readStore();
    for (const file of Array.from(fileList || [])) {
      const key = fileKey(file.name, file.size, file.lastModified);
      const existing = items.get(key);
      if (existing && !FINAL.has(existing.phase) && existing.phase !== 'needs-file') continue; // already going
      if (existing && (existing.phase === 'needs-file' || existing.phase === 'error')) {
        existing.file = file;
        existing.resumed = !!existing.uploadId;
        run(existing);
        continue;
      }
      if (existing) removeItem(existing);
      const entry = stored[key];
      const item = newItem({ key, file, name: file.name, size: file.size, lastModified: file.lastModified });
      if (entry && entry.upload) {
        // Picked again after a reload that this page did not list (e.g. another tab): resume.
        item.uploadId = entry.upload;
        item.sha256 = entry.sha256 || null;
        item.surveyId = entry.survey || null;
        item.resumed = true;
      }
      mount(item);
      run(item);
    }
    renderEmpty();
  }

  /** After login: list what localStorage remembers and pick each one up where it stopped. */
  function restore() {
    const stored = readStore();
    const keys = Object.keys(stored);
    for (const key of keys) {
      const e = stored[key] || {};
      if (!e.upload || items.has(key)) continue;
      const item = newItem({
        key,
        name: String(e.name || key),
        size: Number(e.size) || 0,
        lastModified: Number(e.lastModified) || 0,
        sha256: e.sha256 || null,
        uploadId: e.upload,
        surveyId: e.survey || null,
        resumed: true,
        phase: e.survey ? 'queued' : 'checking'
      });
      mount(item);
      run(item); // without a file: ingests resume polling; uploads stop at "needs-file"
    }
    renderEmpty();
    if (keys.length && ctx) ctx.open();
  }

  function removeItem(item) {
    if (item.run) item.run.abort();
    if (item.el) item.el.remove();
    items.delete(item.key);
    renderEmpty();
  }

  // ------------------------------------------------------------- rendering
  function mount(item) {
    const h = ctx.h;
    const bar = (name) => {
      const label = h('span', { class: 'upload-bar-label' });
      const prog = h('progress', { max: '100', value: '0', 'data-bar': name, 'data-testid': `upload-bar-${name}` });
      const pct = h('span', { class: 'upload-bar-pct', 'aria-hidden': 'true' });
      const row = h('div', { class: 'upload-bar', 'data-bar': name }, label, prog, pct);
      return { row, label, prog, pct };
    };
    const parts = {
      name: h('span', { class: 'upload-name', text: item.name }),
      size: h('span', { class: 'upload-size muted' }),
      hash: bar('hash'),
      upload: bar('upload'),
      ingest: bar('ingest'),
      // Live, but only changes with the phase; the byte count beside it is not announced.
      status: h('span', { role: 'status', 'data-testid': 'upload-status' }),
      bytes: h('span', { class: 'upload-bytes muted small', 'data-testid': 'upload-bytes' }),
      note: h('p', { class: 'upload-note muted small', 'data-testid': 'upload-note' }),
      errorText: h('p', { class: 'upload-error-text', 'data-testid': 'upload-error-text' }),
      errorDetailLabel: h('span', { class: 'upload-error-detail-label' }),
      errorDetailText: h('span', { lang: 'en', 'data-testid': 'upload-error-detail' }),
      cancel: h('button', { type: 'button', class: 'btn upload-cancel', 'data-testid': 'upload-cancel', onclick: () => cancel(item) }),
      retry: h('button', { type: 'button', class: 'btn upload-retry', 'data-testid': 'upload-retry', onclick: () => run(item) }),
      restart: h('button', {
        type: 'button',
        class: 'btn upload-restart',
        'data-testid': 'upload-restart',
        onclick: () => {
          forget(item);
          Object.assign(item, { sha256: null, uploadId: null, uploadState: null, surveyId: null, survey: null, received: new Set(), resumed: false, ingest: 0 });
          run(item);
        }
      }),
      show: h('a', {
        href: '#',
        class: 'btn btn-primary upload-show',
        'data-testid': 'upload-show',
        onclick: (ev) => {
          ev.preventDefault();
          if (item.survey) ctx.showSurvey(item.survey);
        }
      }),
      dismiss: h('button', { type: 'button', class: 'btn btn-ghost upload-dismiss', 'data-testid': 'upload-dismiss', onclick: () => removeItem(item) })
    };
    parts.errorDetail = h('p', { class: 'upload-error-detail small' }, parts.errorDetailLabel, ' ', parts.errorDetailText);
    parts.error = h('div', { class: 'upload-error', role: 'alert', 'data-testid': 'upload-error' }, parts.errorText, parts.errorDetail);
    item.parts = parts;
    item.el = h(
      'li',
      { class: 'upload-item', 'data-key': item.key, 'data-testid': 'upload-item' },
      h('div', { class: 'upload-head' }, parts.name, parts.size),
      h('div', { class: 'upload-bars' }, parts.hash.row, parts.upload.row, parts.ingest.row),
      h('p', { class: 'upload-status' }, parts.status, ' ', parts.bytes),
      parts.note,
      parts.error,
      h('div', { class: 'upload-actions' }, parts.show, parts.retry, parts.restart, parts.cancel, parts.dismiss)
    );
    const list = $('#upload-list');
    list.prepend(item.el);
    update(item);
  }

  function uploadedBytes(item) {
    if (!item.chunkSize) return 0;
    let bytes = 0;
    for (const n of item.received) bytes += Math.min(item.chunkSize, item.size - n * item.chunkSize);
    for (const [n, loaded] of item.inflight) if (!item.received.has(n)) bytes += loaded;
    return Math.min(bytes, item.size);
  }

  let progressQueued = new Set();
  let progressTimer = 0;
  /** Coalesces progress events (XHR, worker) into one DOM update per 100 ms (a timer, not an
   * animation frame, so that a background tab still moves on). */
  function progressSoon(item) {
    progressQueued.add(item);
    if (progressTimer) return;
    progressTimer = window.setTimeout(() => {
      progressTimer = 0;
      const todo = progressQueued;
      progressQueued = new Set();
      for (const it of todo) update(it);
    }, 100);
  }

  function setBar(b, fraction, labelKey, active) {
    const pct = Math.max(0, Math.min(100, Math.round(fraction * 1000) / 10));
    b.label.textContent = t(labelKey);
    b.prog.value = pct;
    b.prog.setAttribute('aria-label', t(labelKey));
    b.prog.dataset.value = String(pct);
    b.pct.textContent = `${Math.floor(pct)}%`;
    b.row.classList.toggle('is-active', !!active);
    b.row.classList.toggle('is-done', pct >= 100);
  }

  function statusText(item) {
    if (item.retryAttempt && !FINAL.has(item.phase)) return t('upload.state.retrying', { n: item.retryAttempt });
    if (item.waiting) return t('upload.state.waiting');
    switch (item.phase) {
      case 'running': {
        const stage = item.stage && STAGES.includes(item.stage) ? t(`upload.stage.${item.stage}`) : item.stage || '…';
        return t('upload.state.running', { stage });
      }
      case 'needs-file':
        return t('upload.state.needsFile');
      case 'hashing':
      case 'uploading':
      case 'creating':
      case 'checking':
      case 'committing':
      case 'starting':
      case 'queued':
      case 'ready':
      case 'failed':
      case 'cancelling':
      case 'cancelled':
      case 'error':
        return t(`upload.state.${item.phase}`);
      default:
        return t('upload.state.waiting');
    }
  }

  function update(item) {
    const p = item.parts;
    if (!p || !item.el) return;
    const el = item.el;
    el.dataset.state = item.phase;
    el.dataset.uploadId = item.uploadId || '';
    el.dataset.surveyId = item.surveyId || '';
    el.dataset.chunkRequests = String(item.chunkRequests);
    p.name.textContent = item.name;
    p.name.title = item.name;
    p.size.textContent = fmtBytes(item.size);
    const phase = item.phase;
    const hashFrac = item.size ? item.hashed / item.size : 0;
    const upFrac = item.uploadState === 'committed' || item.uploadState === 'complete' || item.surveyId ? 1 : item.size ? uploadedBytes(item) / item.size : 0;
    setBar(p.hash, item.sha256 || item.uploadId ? 1 : hashFrac, 'upload.bar.hash', phase === 'hashing');
    setBar(p.upload, upFrac, 'upload.bar.upload', ['uploading', 'committing', 'needs-file'].includes(phase));
    setBar(p.ingest, (item.ingest || 0) / 100, 'upload.bar.ingest', ['starting', 'queued', 'running'].includes(phase));
    p.ingest.prog.dataset.stage = item.stage || '';
    const status = statusText(item);
    if (p.status.textContent !== status) p.status.textContent = status;
    p.bytes.textContent = phase === 'uploading' ? t('upload.bytes', { done: fmtBytes(uploadedBytes(item)), total: fmtBytes(item.size) }) : '';
    if (phase === 'needs-file') {
      p.note.textContent = t('upload.state.needsFile.hint', { done: fmtBytes(uploadedBytes(item)), total: fmtBytes(item.size) });
    } else if (item.note && ['uploading', 'committing'].includes(phase)) {
      p.note.textContent = t(item.note.key, item.note.params);
    } else {
      p.note.textContent = '';
    }
    const err = item.error;
    p.error.hidden = !err;
    if (err) {
      p.error.dataset.code = err.code || (err.status !== null ? String(err.status) : '');
      p.errorText.textContent = t(err.key, err.params);
      p.errorDetail.hidden = !err.detail;
      p.errorDetailLabel.textContent = t('upload.detail');
      p.errorDetailText.textContent = err.detail || '';
    }
    const final = FINAL.has(phase);
    p.cancel.textContent = t('upload.cancel');
    // An upload that stopped on an error still holds its chunks on the server: it can be cancelled.
    const cancellable = !final || (phase === 'error' && !!item.uploadId && item.uploadState !== 'committed');
    p.cancel.hidden = !cancellable || phase === 'cancelling';
    p.retry.textContent = t('upload.retry');
    p.retry.hidden = !(phase === 'error' && err && err.retry && (item.file || item.uploadId));
    p.restart.textContent = t('upload.restart');
    p.restart.hidden = !(phase === 'error' && err && err.restart && item.file);
    p.show.textContent = t('upload.show');
    p.show.hidden = !(phase === 'ready' && item.survey && Array.isArray(item.survey.bbox));
    if (item.surveyId) p.show.setAttribute('href', `#survey=${encodeURIComponent(item.surveyId)}`);
    p.dismiss.textContent = t('upload.dismiss');
    p.dismiss.hidden = !final;
    renderBadge();
  }

  function renderEmpty() {
    const list = $('#upload-list');
    if (!list) return;
    let empty = list.querySelector('.upload-empty');
    if (items.size === 0) {
      if (!empty) {
        empty = ctx.h('li', { class: 'upload-empty muted' });
        list.append(empty);
      }
      empty.textContent = t('upload.empty');
    } else if (empty) {
      empty.remove();
    }
    renderBadge();
  }

  function renderBadge() {
    const badge = $('#upload-badge');
    if (!badge) return;
    let active = 0;
    for (const it of items.values()) if (!FINAL.has(it.phase)) active += 1;
    badge.textContent = active ? String(active) : '';
    badge.hidden = active === 0;
  }

  // ----------------------------------------------------------- public API
  function wire() {
    if (wired) return;
    wired = true;
    const input = $('#upload-files');
    input.addEventListener('change', () => {
      addFiles(input.files);
      input.value = ''; // picking the same file again must fire change again
    });
    const drop = $('#upload-drop');
    drop.addEventListener('dragover', (ev) => {
      if (!ctx) return;
      ev.preventDefault();
      drop.classList.add('is-over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('is-over'));
    drop.addEventListener('drop', (ev) => {
      ev.preventDefault();
      drop.classList.remove('is-over');
      if (ev.dataTransfer) addFiles(ev.dataTransfer.files);
    });
    // A file dropped beside the drop zone must not make the browser leave the map to show it.
    const hasFiles = (ev) => !!(ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes('Files'));
    window.addEventListener('dragover', (ev) => {
      if (ctx && hasFiles(ev)) ev.preventDefault();
    });
    window.addEventListener('drop', (ev) => {
      if (ctx && hasFiles(ev)) ev.preventDefault();
    });
    // Back online: pick up files that stopped on a network error.
    window.addEventListener('online', () => {
      if (!ctx) return;
      for (const it of items.values()) {
        if (it.phase === 'error' && it.error && it.error.status === 0 && (it.file || it.uploadId)) run(it);
      }
    });
  }

  window.VigilUpload = {
    /**
     * Starts the panel for a logged-in operator or admin. c: { api, ApiError, h, url(path),
     * token(), user(), unauthorized(), open(), surveyReady(survey), showSurvey(survey) }.
     */
    attach(c) {
      if (ctx) this.detach();
      ctx = c;
      session += 1;
      wire();
      restore();
    },
    /** Logout or 401: stops every request; what is in localStorage stays for the next login. */
    detach() {
      session += 1;
      for (const it of items.values()) if (it.run) it.run.abort();
      items.clear();
      const list = $('#upload-list');
      if (list) list.replaceChildren();
      renderBadge();
      ctx = null;
    },
    /** After a language switch. */
    relabel() {
      if (!ctx) return;
      for (const it of items.values()) update(it);
      renderEmpty();
    },
    get active() {
      return !!ctx;
    }
  };
})();
