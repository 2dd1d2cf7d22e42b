#!/usr/bin/env node
// Browser test of the upload panel for drone operators (web/upload.js) in headless Chromium.
//
//   VIGIL_URL=http://127.0.0.1:18181 VIGIL_TOKEN=vgl_... VIGIL_SAMPLE=sample-imagery/poppy-utm48n-rgba.tif \
//     [VIGIL_SAMPLE2=sample-imagery/mixed-vn2000-rgbn.tif] [VIGIL_ANALYST_TOKEN=vgl_...] \
//     [VIGIL_SCREENSHOT=/tmp/upload.png] node upload.mjs
//
// VIGIL_TOKEN must belong to an operator (or admin) allowed to ingest VIGIL_SAMPLE (national, or
// with the scene's province). The server's [upload] chunk_bytes must be small enough to cut
// VIGIL_SAMPLE into at least 4 chunks (tests/web_upload.rs uses 65536). Every wait is for a
// condition, never a fixed time.
// Optional: VIGIL_CHROMIUM (default /usr/bin/chromium), VIGIL_TEST_TIMEOUT_MS (default 230000).
// Exits 0 when every check passed, 1 when one failed, 2 on bad arguments.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium } from 'playwright-core';
import { CheckFailed, expect, finishRun, launchChromium, loopback, loopbackOnly, pixelAt, saveScreenshot, stepRunner } from './harness.mjs';

const VIGIL_URL = (process.env.VIGIL_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.VIGIL_TOKEN || '';
const ANALYST_TOKEN = process.env.VIGIL_ANALYST_TOKEN || '';
const SAMPLE = process.env.VIGIL_SAMPLE || '';
const SAMPLE2 = process.env.VIGIL_SAMPLE2 || '';
const SHOT = process.env.VIGIL_SCREENSHOT || '';
const CHROMIUM = process.env.VIGIL_CHROMIUM || '/usr/bin/chromium';
const TOTAL_TIMEOUT_MS = Number(process.env.VIGIL_TEST_TIMEOUT_MS || 230000);
const STEP_TIMEOUT_MS = 30000;
const INGEST_TIMEOUT_MS = 120000;
const PASSED_BEFORE_RELOAD = 2; // chunks let through before the connection "drops"
const SURVEY_ERRORS = ['not_georeferenced', 'unknown_crs', 'band_layout', 'too_many_pixels', 'corrupt', 'unsupported_type', 'empty', 'outside_jurisdiction', 'cancelled', 'internal'];

function usage(msg) {
  console.error(`upload: ${msg}`);
  console.error('usage: VIGIL_URL=http://127.0.0.1:PORT VIGIL_TOKEN=vgl_... VIGIL_SAMPLE=FILE.tif [VIGIL_SAMPLE2=FILE.tif] [VIGIL_ANALYST_TOKEN=vgl_...] node upload.mjs');
  process.exit(2);
}
if (!VIGIL_URL) usage('VIGIL_URL is not set');
if (!TOKEN) usage('VIGIL_TOKEN is not set');
if (!SAMPLE) usage('VIGIL_SAMPLE is not set');
// Every request the page makes must stay on this machine's loopback address.
const { allowedHosts: ALLOWED_HOSTS } = loopback(VIGIL_URL, usage);
let sampleBytes;
try {
  sampleBytes = readFileSync(SAMPLE);
} catch (e) {
  usage(`cannot read VIGIL_SAMPLE ${SAMPLE}: ${e.message}`);
}
const sampleSha = createHash('sha256').update(sampleBytes).digest('hex');

// ------------------------------------------------------------------ helpers

async function apiGet(path) {
  const res = await fetch(`${VIGIL_URL}${path}`, { headers: { Authorization: `Bearer ${TOKEN}`, Accept: 'application/json' } });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (_) {
    body = text;
  }
  if (!res.ok) throw new CheckFailed(`GET ${path} -> HTTP ${res.status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`);
  return body;
}

/** Polls fn (an async check in this process, e.g. the API) until it returns a truthy value. */
async function until(what, fn, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new CheckFailed(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const CHUNK_URL = /\/v1\/uploads\/([0-9a-f]{32})\/chunks\/(\d+)$/;
const abortedOnPurpose = new Set(); // URLs whose requests this test aborts or holds
const results = [];
const blocked = [];
const consoleErrors = [];
let refusalExpected = false; // while the non-raster file is refused at POST /v1/surveys
let browser;
let page;

const screenshot = (suffix = '') => saveScreenshot(page, SHOT, suffix);

const tmp = mkdtempSync(join(tmpdir(), 'vigil-upload-test-'));
const finish = (code) => finishRun('upload', results, browser, code, () => rmSync(tmp, { recursive: true, force: true }));

const step = stepRunner({ results, blocked, consoleErrors, screenshot, finish,
  diagnose: async () => {
    if (page) {
      const items = await page
        .evaluate(() => Array.from(document.querySelectorAll('.upload-item')).map((li) => `${li.dataset.key} [${li.dataset.state}] ${li.innerText.replace(/\s+/g, ' ')}`))
        .catch(() => []);
      if (items.length) console.error(`  upload panel:\n    ${items.join('\n    ')}`);
    }
  }
});

const overall = setTimeout(async () => {
  console.error(`FAIL the whole test took longer than ${TOTAL_TIMEOUT_MS} ms`);
  results.push({ name: 'total time', ok: false });
  await screenshot();
  await finish(1);
}, TOTAL_TIMEOUT_MS);

const itemSel = (name) => `.upload-item[data-key^="${name.replace(/"/g, '\\"')}|"]`;

/** Waits until the panel's item for file `name` is in one of `states`; returns its state. */
async function itemState(name, states, timeout = STEP_TIMEOUT_MS) {
  const handle = await page.waitForFunction(
    ({ sel, states }) => {
      const li = document.querySelector(sel);
      return li && states.includes(li.dataset.state) ? li.dataset.state : null;
    },
    { sel: itemSel(name), states },
    { timeout, polling: 100 }
  );
  return handle.jsonValue();
}

async function login(token) {
  await page.locator('#login-token').waitFor({ state: 'visible' });
  await page.fill('#login-token', token);
  await page.click('#login-submit');
  await page.locator('#app').waitFor({ state: 'visible' });
  await page.locator('#user-info [data-testid=user-role]').waitFor({ state: 'visible' });
}

// --------------------------------------------------------------------- run
browser = await launchChromium(chromium, CHROMIUM);
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
await loopbackOnly(context, ALLOWED_HOSTS, blocked, { fallback: true });
page = await context.newPage();
page.setDefaultTimeout(STEP_TIMEOUT_MS);
page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  const url = (msg.location() && msg.location().url) || '';
  // Requests this test aborts or holds on purpose are logged by Chromium as failed loads.
  if (abortedOnPurpose.has(url) && /Failed to load resource/.test(msg.text())) return;
  // The server refuses a file that is no image with 422 when it is queued (issue 13).
  if (refusalExpected && /\/v1\/surveys$/.test(url) && /status of 422/.test(msg.text())) return;
  consoleErrors.push({ text: `${msg.text()}${url ? ` (${url})` : ''}` });
});
page.on('pageerror', (err) => consoleErrors.push({ text: `uncaught: ${err.message}` }));

await step('the hashing worker matches the FIPS 180-4 SHA-256 vectors, slice by slice', async () => {
  const res = await page.goto(`${VIGIL_URL}/map/`, { waitUntil: 'domcontentloaded' });
  expect(res && res.ok(), `GET /map/ answered HTTP ${res && res.status()}`);
  const got = await page.evaluate(async () => {
    const hash = (blob, slice) =>
      new Promise((resolve, reject) => {
        const w = new Worker('upload-hash-worker.js');
        w.onmessage = (ev) => {
          if (ev.data.type === 'done') {
            w.terminate();
            resolve(ev.data.sha256);
          } else if (ev.data.type === 'error') {
            w.terminate();
            reject(new Error(ev.data.message));
          }
        };
        w.onerror = (ev) => reject(new Error(ev.message));
        w.postMessage({ file: blob, slice });
      });
    // Deterministic bytes (an LCG), hashed here and in Node.
    const lcg = new Uint8Array(3 * 65536 + 17);
    let x = 12345;
    for (let i = 0; i < lcg.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      lcg[i] = x >>> 24;
    }
    return {
      empty: await hash(new Blob([]), 4096),
      abc: await hash(new Blob(['abc']), 4096),
      two_blocks: await hash(new Blob(['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq']), 5),
      million_a: await hash(new Blob(['a'.repeat(1000000)]), 1000), // slices not a multiple of 64
      lcg: await hash(new Blob([lcg]), 65536 + 3),
      lcg_one_slice: await hash(new Blob([lcg]), 1 << 22)
    };
  });
  const lcg = Buffer.alloc(3 * 65536 + 17);
  let x = 12345;
  for (let i = 0; i < lcg.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    lcg[i] = x >>> 24;
  }
  const lcgSha = createHash('sha256').update(lcg).digest('hex');
  const want = {
    empty: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    abc: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    two_blocks: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    million_a: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    lcg: lcgSha,
    lcg_one_slice: lcgSha
  };
  for (const [k, v] of Object.entries(want)) expect(got[k] === v, `SHA-256 of ${k}: the worker says ${got[k]}, expected ${v}`);
});

if (ANALYST_TOKEN) {
  await step('an analyst gets no upload button', async () => {
    await login(ANALYST_TOKEN);
    const role = await page.getAttribute('#user-info [data-testid=user-role]', 'data-role');
    expect(role === 'analyst', `VIGIL_ANALYST_TOKEN's role is "${role}"`);
    expect(await page.locator('#upload-toggle').isHidden(), 'an analyst sees the upload button');
    expect(await page.locator('#upload-panel').isHidden(), 'an analyst sees the upload panel');
    await page.click('#logout');
    await page.locator('#login-view').waitFor({ state: 'visible' });
  });
}

await step('an operator opens the Vietnamese upload panel', async () => {
  await login(TOKEN);
  const role = await page.getAttribute('#user-info [data-testid=user-role]', 'data-role');
  expect(['operator', 'admin'].includes(role), `VIGIL_TOKEN's role is "${role}"; this test needs an operator or admin`);
  await page.locator('#upload-toggle').waitFor({ state: 'visible' });
  expect((await page.locator('#upload-toggle').innerText()).includes('Tải ảnh bay lên'), 'the upload button is not "Tải ảnh bay lên"');
  await page.click('#upload-toggle');
  await page.locator('#upload-panel').waitFor({ state: 'visible' });
  expect((await page.locator('#upload-title').innerText()).trim() === 'Tải ảnh bay khảo sát lên', 'the panel heading is not Vietnamese');
  expect((await page.getAttribute('#upload-toggle', 'aria-expanded')) === 'true', 'the upload button does not say it is expanded');
});

// Chunk requests: let PASSED_BEFORE_RELOAD through, then the "connection drops" (aborted) until
// the reload; after it, count what the page sends.
let phase = 'before';
let passed = 0;
let abortedBefore = 0;
const chunksAfter = [];
const createsAfter = [];
const held = [];
await page.route(CHUNK_URL, async (route) => {
  if (route.request().method() !== 'PUT') return route.fallback();
  if (phase === 'before') {
    if (passed < PASSED_BEFORE_RELOAD) {
      passed += 1;
      return route.fallback();
    }
    abortedBefore += 1;
    abortedOnPurpose.add(route.request().url());
    return route.abort('connectionreset');
  }
  if (phase === 'hold') {
    abortedOnPurpose.add(route.request().url());
    held.push(route); // never answered: the cancel step aborts it
    return undefined;
  }
  chunksAfter.push(route.request().url());
  return route.fallback();
});
page.on('request', (req) => {
  if (phase === 'after' && req.method() === 'POST' && /\/v1\/uploads$/.test(req.url())) createsAfter.push(req.url());
});

const sampleName = basename(SAMPLE);
let upload; // the POST /v1/uploads answer
await step('picking a scene hashes it, starts an upload and sends chunks until the connection drops', async () => {
  const created = page.waitForResponse((r) => r.request().method() === 'POST' && /\/v1\/uploads$/.test(r.url()));
  await page.setInputFiles('#upload-files', SAMPLE);
  const res = await created;
  expect(res.status() === 201, `POST /v1/uploads answered ${res.status()}: ${await res.text()}`);
  upload = await res.json();
  const sent = JSON.parse(res.request().postData() || '{}');
  expect(sent.sha256 === sampleSha, `the page sent SHA-256 ${sent.sha256}, the file's is ${sampleSha}`);
  expect(sent.size === sampleBytes.length && sent.filename === sampleName, `the page declared ${JSON.stringify(sent)}`);
  expect(upload.chunks >= 4, `the server cuts the sample into ${upload.chunks} chunks of ${upload.chunk_size} bytes; set [upload] chunk_bytes smaller`);
  // The server has exactly the chunks let through; the others keep failing (retried with backoff).
  const st = await until(`the server to hold ${PASSED_BEFORE_RELOAD} chunks`, async () => {
    const s = await apiGet(`/v1/uploads/${upload.id}`);
    return s.received.length === PASSED_BEFORE_RELOAD ? s : null;
  });
  expect(st.state === 'receiving', `upload state ${st.state}`);
  await page.waitForFunction(() => document.querySelector('.upload-item .upload-status').textContent.includes('Mất kết nối'), null, { polling: 100 });
  const stored = await page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('vigil.uploads.v1:')).map(([, v]) => JSON.parse(v)));
  const entry = stored.length ? Object.values(stored[0]).find((e) => e.upload === upload.id) : null;
  expect(entry, `localStorage does not remember upload ${upload.id}: ${JSON.stringify(stored)}`);
  const bar = Number(await page.getAttribute(`${itemSel(sampleName)} progress[data-bar=upload]`, 'value'));
  expect(bar > 0 && bar < 100, `the upload bar shows ${bar}% with ${PASSED_BEFORE_RELOAD} of ${upload.chunks} chunks`);
  expect(Number(await page.getAttribute(`${itemSel(sampleName)} progress[data-bar=hash]`, 'value')) === 100, 'the hashing bar is not full');
  console.log(`     ${upload.chunks} chunks of ${upload.chunk_size} bytes; ${PASSED_BEFORE_RELOAD} sent, ${abortedBefore} attempts dropped`);
});

let missingBefore;
await step('after a reload the upload is listed with "Chọn lại tệp để tiếp tục"', async () => {
  missingBefore = upload.chunks - PASSED_BEFORE_RELOAD;
  await page.reload({ waitUntil: 'domcontentloaded' });
  phase = 'after';
  await page.locator('#app').waitFor({ state: 'visible' });
  await page.locator('#upload-panel').waitFor({ state: 'visible' }); // opens by itself
  expect(await itemState(sampleName, ['needs-file']), 'the upload is not waiting for its file');
  const txt = await page.locator(itemSel(sampleName)).innerText();
  expect(txt.includes('Chọn lại tệp để tiếp tục'), `the pending upload says "${txt}"`);
  expect((await page.getAttribute(itemSel(sampleName), 'data-upload-id')) === upload.id, 'the listed upload has another id');
});

let survey;
await step('picking the same file again sends only the missing chunks, then ingest reaches ready', async () => {
  const polls = [];
  const onResponse = async (r) => {
    if (r.request().method() === 'GET' && /\/v1\/surveys\/[^/]+$/.test(r.url()) && r.ok()) {
      try {
        const s = await r.json();
        polls.push({ state: s.state, progress: s.progress, stage: s.stage });
      } catch (_) {
        /* navigated away */
      }
    }
  };
  page.on('response', onResponse);
  await page.setInputFiles('#upload-files', SAMPLE);
  const end = await itemState(sampleName, ['ready', 'failed', 'cancelled', 'error'], INGEST_TIMEOUT_MS);
  page.off('response', onResponse);
  if (end !== 'ready') {
    const err = await page.locator(`${itemSel(sampleName)} [data-testid=upload-error]`).innerText().catch(() => '');
    throw new CheckFailed(`the upload ended "${end}": ${err}`);
  }
  expect(createsAfter.length === 0, `the page started a new upload after the reload (${createsAfter.length} POST /v1/uploads)`);
  expect(chunksAfter.length === missingBefore, `after the reload the page sent ${chunksAfter.length} chunks; ${missingBefore} were missing`);
  expect(chunksAfter.length < upload.chunks, `after the reload the page sent all ${upload.chunks} chunks again`);
  const idx = new Set(chunksAfter.map((u) => Number(CHUNK_URL.exec(u)[2])));
  expect(idx.size === chunksAfter.length, `a chunk was sent twice after the reload: ${chunksAfter.join(', ')}`);
  const st = await apiGet(`/v1/uploads/${upload.id}`);
  expect(st.state === 'committed', `the upload is ${st.state}, expected committed`);
  const surveyId = await page.getAttribute(itemSel(sampleName), 'data-survey-id');
  survey = await apiGet(`/v1/surveys/${surveyId}`);
  expect(survey.state === 'ready' && survey.upload === upload.id, `survey ${surveyId}: ${JSON.stringify(survey)}`);
  expect(polls.length > 0 && polls[polls.length - 1].state === 'ready', `the page's survey polls: ${JSON.stringify(polls)}`);
  const ingestBar = Number(await page.getAttribute(`${itemSel(sampleName)} progress[data-bar=ingest]`, 'value'));
  expect(ingestBar === 100, `the ingest bar shows ${ingestBar}% when ready`);
  const status = (await page.locator(`${itemSel(sampleName)} [data-testid=upload-status]`).innerText()).trim();
  expect(status.startsWith('Hoàn tất'), `the ready status says "${status}"`);
  const left = await page.evaluate((id) => Object.entries(localStorage).some(([k, v]) => k.startsWith('vigil.uploads.v1:') && v.includes(id)), upload.id);
  expect(!left, 'localStorage still remembers the finished upload');
  console.log(`     resumed with ${chunksAfter.length} of ${upload.chunks} chunks; ${polls.length} polls: ${polls.map((p) => `${p.state}${p.stage ? '/' + p.stage : ''} ${p.progress}%`).join(', ')}`);
});

await step('"Xem trên bản đồ" zooms to the survey and its imagery tiles load (200 image/png)', async () => {
  const tile = page.waitForResponse(
    (r) => /\/tiles\/mosaic\/\d+\/\d+\/\d+\.png$/.test(r.url()) && r.status() === 200 && (r.headers()['content-type'] || '').startsWith('image/png'),
    { timeout: STEP_TIMEOUT_MS }
  );
  const show = page.locator(`${itemSel(sampleName)} [data-testid=upload-show]`);
  expect((await show.innerText()).trim() === 'Xem trên bản đồ', 'the link is not "Xem trên bản đồ"');
  await show.click();
  const res = await tile;
  expect(res.request().headers()['authorization'] === `Bearer ${TOKEN}`, 'the tile request did not carry the bearer token');
  await page.waitForFunction(() => document.querySelector('#map').dataset.surveyLayer === 'on');
  // The map drew imagery tiles (a 204 outside the survey draws nothing and counts for nothing).
  await page.waitForFunction(() => Number(document.querySelector('#map').dataset.imageryTiles) > 0, null, { polling: 100 });
  const view = await page.evaluate(() => {
    const m = document.querySelector('#map');
    return { shown: m.dataset.surveyShown, surveys: Number(m.dataset.surveys || 0), state: m.dataset.surveysState };
  });
  expect(view.shown === String(survey.id), `the map shows survey ${view.shown}, expected ${survey.id}`);
  await page.waitForFunction(() => document.querySelector('#map').dataset.surveysState === 'ready' && Number(document.querySelector('#map').dataset.surveys) >= 1, null, { polling: 100 });
  // The footprint is drawn by the map from /collections/surveys/tiles/… (the flight's outline).
  await page.waitForFunction((id) => window.VigilMap.surveys().includes(id), String(survey.id), { polling: 100 });
  const [w, s, e, n] = survey.bbox;
  // The imagery is on the canvas: points inside the survey change colour when it is switched off.
  await page.waitForFunction(() => document.querySelector('#map').dataset.tiles === 'idle', null, { polling: 100 });
  const spots = await page.evaluate(([w, s, e, n]) => [[0.5, 0.5], [0.3, 0.3], [0.7, 0.7], [0.3, 0.7], [0.7, 0.3]].map(([fx, fy]) => window.VigilMap.toPage(w + (e - w) * fx, s + (n - s) * fy)), [w, s, e, n]);
  const withImagery = [];
  for (const p of spots) withImagery.push(await pixelAt(page, p.x, p.y));
  const toggle = page.locator('.vigil-layers-list label', { hasText: 'Ảnh bay khảo sát' }).locator('input');
  await page.hover('.vigil-layers');
  await toggle.uncheck();
  await page.waitForFunction(() => document.querySelector('#map').dataset.surveyLayer === 'off');
  await page.waitForFunction(() => document.querySelector('#map').dataset.tiles === 'idle', null, { polling: 100 });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const without = [];
  for (const p of spots) without.push(await pixelAt(page, p.x, p.y));
  const changed = withImagery.filter((c, i) => c !== without[i]).length;
  expect(changed >= 3, `switching the imagery off changed ${changed} of 5 pixels inside the survey (${withImagery.join(' ')} → ${without.join(' ')})`);
  await toggle.check();
  await page.waitForFunction(() => document.querySelector('#map').dataset.surveyLayer === 'on');
  await page.mouse.move(5, 400);
  const layersText = await page.locator('.vigil-layers').textContent();
  expect(layersText.includes('Ảnh bay khảo sát') && layersText.includes('Phạm vi bay'), `the layer switcher says "${layersText}"`);
  console.log(`     survey ${survey.id} bbox ${[w, s, e, n].map((v) => v.toFixed(5)).join(',')}, tile ${new URL(res.url()).pathname}`);
  await screenshot('-ready');
});

await step('a non-raster file is refused with a Vietnamese message (and the English detail)', async () => {
  const bad = join(tmp, 'ghi-chu-khong-phai-anh.tif');
  writeFileSync(bad, 'Đây là một tệp văn bản, không phải ảnh GeoTIFF.\n'.repeat(40));
  refusalExpected = true;
  await page.setInputFiles('#upload-files', bad);
  const name = basename(bad);
  const end = await itemState(name, ['failed', 'error', 'ready'], INGEST_TIMEOUT_MS);
  expect(end !== 'ready', 'a text file was ingested as a survey');
  const box = page.locator(`${itemSel(name)} [data-testid=upload-error]`);
  await box.waitFor({ state: 'visible' });
  const code = await box.getAttribute('data-code');
  const text = (await box.locator('[data-testid=upload-error-text]').innerText()).trim();
  const detail = (await box.locator('[data-testid=upload-error-detail]').innerText()).trim();
  const want = await page.evaluate((c) => window.VigilI18n.t(`survey.err.${c}`), code);
  expect(SURVEY_ERRORS.includes(code), `the error code is "${code}", not one of the contract's`);
  expect(text === want, `the message is "${text}", expected the Vietnamese text for ${code}: "${want}"`);
  expect(/[ăâđêôơưạảãáàếềểễệốồổỗộớờởỡợứừửữự]/i.test(text), `the message "${text}" is not Vietnamese`);
  expect(detail.length > 0, 'the server detail is not shown under the message');
  console.log(`     ${end}: ${code} — "${text}" / ${detail}`);
  // The language switch turns it into English, and back.
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  const en = (await box.locator('[data-testid=upload-error-text]').innerText()).trim();
  const wantEn = await page.evaluate((c) => window.VigilI18n.t(`survey.err.${c}`), code);
  expect(en === wantEn && en !== text, `in English the message is "${en}"`);
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.documentElement.lang === 'vi');
});

if (SAMPLE2) {
  await step('an ingest being polled at a reload is polled again after it, without the file', async () => {
    const name = basename(SAMPLE2);
    // Survey polls fail (the page retries) until the reload.
    let holdPolls = true;
    const SURVEY_URL = /\/v1\/surveys\/[0-9A-Za-z_-]+$/;
    const pollRoute = (route) => {
      if (route.request().method() !== 'GET' || !holdPolls) return route.fallback();
      abortedOnPurpose.add(route.request().url());
      return route.abort('connectionreset');
    };
    await page.route(SURVEY_URL, pollRoute);
    const created = page.waitForResponse((r) => r.request().method() === 'POST' && /\/v1\/surveys$/.test(r.url()));
    await page.setInputFiles('#upload-files', SAMPLE2);
    const res = await created;
    expect(res.status() === 202, `POST /v1/surveys answered ${res.status()}: ${await res.text()}`);
    const queued = await res.json();
    await page.waitForFunction((sel) => (document.querySelector(sel) || { textContent: '' }).textContent.includes('Mất kết nối'), `${itemSel(name)} .upload-status`, { polling: 100 });
    const remembered = await page.evaluate((id) => Object.entries(localStorage).some(([k, v]) => k.startsWith('vigil.uploads.v1:') && v.includes(`"survey":"${id}"`)), queued.id);
    expect(remembered, `localStorage does not remember survey ${queued.id}`);
    const sentAfter = [];
    const onRequest = (req) => sentAfter.push(`${req.method()} ${new URL(req.url()).pathname}`);
    await page.reload({ waitUntil: 'domcontentloaded' });
    holdPolls = false;
    page.on('request', onRequest);
    await page.locator('#upload-panel').waitFor({ state: 'visible' });
    const end = await itemState(name, ['ready', 'failed', 'cancelled', 'error'], INGEST_TIMEOUT_MS);
    page.off('request', onRequest);
    await page.unroute(SURVEY_URL, pollRoute);
    expect(end === 'ready', `after the reload the survey ended "${end}"`);
    expect((await page.getAttribute(itemSel(name), 'data-survey-id')) === queued.id, 'the item follows another survey');
    const polled = sentAfter.filter((r) => r === `GET /v1/surveys/${queued.id}`).length;
    const writes = sentAfter.filter((r) => /^(PUT|POST|DELETE) \/v1\/(uploads|surveys)/.test(r));
    expect(polled > 0, 'the survey was not polled after the reload');
    expect(writes.length === 0, `after the reload the page sent ${writes.join(', ')}`);
    const left = await page.evaluate((id) => Object.entries(localStorage).some(([k, v]) => k.startsWith('vigil.uploads.v1:') && v.includes(id)), queued.id);
    expect(!left, 'localStorage still remembers the finished survey');
    console.log(`     survey ${queued.id}: ${polled} poll(s) after the reload, then ready`);
  });

  await step('"Hủy" during an upload deletes it on the server', async () => {
    phase = 'hold';
    const name = basename(SAMPLE2);
    const created = page.waitForResponse((r) => r.request().method() === 'POST' && /\/v1\/uploads$/.test(r.url()));
    await page.setInputFiles('#upload-files', SAMPLE2);
    const res = await created;
    expect(res.status() === 201, `POST /v1/uploads answered ${res.status()}`);
    const up = await res.json();
    await itemState(name, ['uploading']);
    await until('a chunk request to be held', async () => held.length > 0);
    const deleted = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith(`/v1/uploads/${up.id}`));
    await page.click(`${itemSel(name)} [data-testid=upload-cancel]`);
    const del = await deleted;
    expect(del.status() === 200, `DELETE /v1/uploads/${up.id} answered ${del.status()}`);
    expect((await itemState(name, ['cancelled', 'error'])) === 'cancelled', 'the item did not end cancelled');
    const st = await apiGet(`/v1/uploads/${up.id}`);
    expect(st.state === 'cancelled', `the server says the upload is ${st.state}`);
    for (const r of held.splice(0)) await r.abort('aborted').catch(() => {});
    phase = 'after';
  });
}

await step('no request left 127.0.0.1', async () => {
  expect(blocked.length === 0, `the page tried to load from other hosts: ${blocked.join(', ')}`);
});

await step('the console shows no errors', async () => {
  expect(consoleErrors.length === 0, `console errors: ${consoleErrors.map((c) => c.text).join(' | ')}`);
});

await screenshot();
clearTimeout(overall);
await finish(0);
