#!/usr/bin/env node
// Browser test of offline field review (issue 16): a reviewer downloads a commune's field package,
// the network goes away (context.setOffline), the page reloads from the service worker, three
// decisions, a photo and the eradication of a confirmed plot (date, area, unit) go into the
// outbox; meanwhile another reviewer decides one of those flags; back online the outbox syncs —
// two decisions, the eradication and the photo accepted, the third decision shown as a conflict —
// and replaying the outbox twice leaves no second row anywhere. Logging out, an expired package
// and a revoked token each wipe the package.
//
//   VIGIL_URL=… VIGIL_TOKEN=vgl_… (reviewer) VIGIL_OTHER_TOKEN=vgl_… (reviewer, same province)
//   VIGIL_COMMUNE=CODE (holding at least 3 open flags) [VIGIL_SCREENSHOT=FILE.png] node field.mjs

import { chromium } from 'playwright-core';
import { CheckFailed, expect, finishRun, launchChromium, loopback, loopbackOnly, saveScreenshot, stepRunner } from './harness.mjs';

const VIGIL_URL = (process.env.VIGIL_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.VIGIL_TOKEN || '';
const OTHER = process.env.VIGIL_OTHER_TOKEN || '';
const COMMUNE = process.env.VIGIL_COMMUNE || '';
const SHOT = process.env.VIGIL_SCREENSHOT || '';
const CHROMIUM = process.env.VIGIL_CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 45000;

function usage(msg) {
  console.error(`field: ${msg}`);
  process.exit(2);
}
if (!VIGIL_URL || !TOKEN || !OTHER || !COMMUNE) usage('VIGIL_URL, VIGIL_TOKEN, VIGIL_OTHER_TOKEN and VIGIL_COMMUNE are required');
const { allowedHosts: ALLOWED_HOSTS } = loopback(VIGIL_URL, usage);

async function api(path, token = TOKEN, opts = {}) {
  const res = await fetch(`${VIGIL_URL}${path}`, Object.assign({}, opts, { headers: Object.assign({ Authorization: `Bearer ${token}` }, opts.headers || {}) }));
  const body = await res.json().catch(() => null);
  return { status: res.status, body };
}

const results = [];
const blocked = [];
const consoleErrors = [];
let browser;
let page;
let context;
const screenshot = (suffix = '') => saveScreenshot(page, SHOT, suffix);
const finish = (code) => finishRun('field', results, browser, code);
const step = stepRunner({
  results,
  blocked,
  consoleErrors,
  screenshot,
  finish,
  diagnose: async () => {
    const s = await page.evaluate(() => ({ map: document.querySelector('#field-map') && document.querySelector('#field-map').dataset.state, pkg: document.querySelector('#field-package') && document.querySelector('#field-package').dataset.state, message: document.querySelector('#field-message') && document.querySelector('#field-message').textContent })).catch(() => null);
    console.error(`  page state: ${JSON.stringify(s)}; console: ${consoleErrors.map((e) => e.text).join(' | ')}`);
  }
});
const waitFor = (fn, arg) => page.waitForFunction(fn, arg, { timeout: STEP_TIMEOUT_MS, polling: 150 });

browser = await launchChromium(chromium, CHROMIUM);
context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'allow', geolocation: { latitude: 22.0, longitude: 105.2, accuracy: 8 }, permissions: ['geolocation'] });
await loopbackOnly(context, ALLOWED_HOSTS, blocked);
page = await context.newPage();
page.setDefaultTimeout(STEP_TIMEOUT_MS);
page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  const text = msg.text();
  // Offline, the browser logs each refused request (the page expects them).
  if (/ERR_INTERNET_DISCONNECTED|Failed to load resource|Failed to fetch/.test(text)) return;
  consoleErrors.push({ text });
});
page.on('pageerror', (err) => consoleErrors.push({ text: `uncaught: ${err.message}` }));

/** 'package' while a field package is in IndexedDB, else 'empty'. */
function packageLeft() {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const r = indexedDB.open('vigil-field');
        // No database: do not leave an empty one behind.
        r.onupgradeneeded = () => {
          r.transaction.abort();
          resolve('empty');
        };
        r.onsuccess = () => {
          const db = r.result;
          if (!db.objectStoreNames.contains('kv')) {
            db.close();
            return resolve('empty');
          }
          const g = db.transaction('kv').objectStore('kv').get('package');
          g.onsuccess = () => {
            db.close();
            resolve(g.result ? 'package' : 'empty');
          };
        };
      })
  );
}

let items;
let before;
let erad; // the flag the team eradicates offline (confirmed before the package is made)
await step('a reviewer sees the package size, then downloads the commune package', async () => {
  // Another reviewer has confirmed one plot from the imagery: the team will eradicate it.
  const open = (await api(`/v1/review/queue?commune=${COMMUNE}&limit=500`)).body.items;
  expect(open.length >= 4, `commune ${COMMUNE} has ${open.length} open flags; the test needs 4`);
  const target = open[open.length - 1];
  const c = await api(`/v1/flags/${target.id}/decisions`, OTHER, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ decision: target.class === 'cannabis' ? 'confirmed_cannabis' : 'confirmed_poppy', version: target.version }) });
  expect(c.status === 201, `confirming flag ${target.id}: HTTP ${c.status} ${JSON.stringify(c.body)}`);
  await page.goto(`${VIGIL_URL}/map/`);
  await page.fill('#login-token', TOKEN);
  await page.click('#login-submit');
  await page.waitForSelector('#field-toggle:not([hidden])');
  // The service worker has the shell before the network goes.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await waitFor(() => navigator.serviceWorker.controller !== null);
  await page.click('#field-toggle');
  await page.fill('#field-commune', COMMUNE);
  await page.click('#field-estimate-btn');
  await waitFor(() => document.querySelector('#field-estimate').dataset.bytes);
  const est = await page.evaluate(() => ({ ...document.querySelector('#field-estimate').dataset, text: document.querySelector('#field-estimate').textContent }));
  const queue = (await api(`/v1/review/queue?commune=${COMMUNE}&limit=500`)).body;
  items = queue.items;
  expect(Number(est.flags) === items.length && items.length >= 3, `the estimate counts ${est.flags} flags, the queue has ${items.length}`);
  expect(Number(est.bytes) > 0 && Number(est.bytes) <= Number(est.max), `estimate ${est.bytes} bytes against a cap of ${est.max}`);
  expect(est.text.includes('MB') && est.text.includes('nghi vấn'), `the size is not shown in Vietnamese: "${est.text}"`);
  // Two flags a page, so the package is read from the queue in several pages.
  await page.evaluate(() => {
    window.VigilFieldQueuePage = 2;
  });
  await page.click('#field-download');
  await waitFor(() => document.querySelector('#field-package').dataset.state === 'ready');
  const n = await page.evaluate(() => Number(document.querySelector('#field-package').dataset.flags));
  expect(n === items.length, `the package holds ${n} flags, the queue ${items.length}`);
  await waitFor(() => document.querySelector('#field-map').dataset.state === 'idle');
  erad = items.find((it) => it.id === target.id);
  expect(erad && (erad.allowed_decisions || []).includes('eradicated'), `the confirmed flag ${target.id} cannot be eradicated: ${JSON.stringify(erad && erad.allowed_decisions)}`);
  before = {};
  for (const it of [...items.slice(0, 3), erad]) {
    const d = (await api(`/v1/flags/${it.id}/decisions`)).body;
    const e = (await api(`/v1/flags/${it.id}/evidence`)).body;
    before[it.id] = { decisions: d.items.length, evidence: (e.items || e).length };
  }
});

await step('offline: the page reloads from the service worker and works from the package', async () => {
  await context.setOffline(true);
  await page.reload();
  await waitFor(() => document.body.classList.contains('offline-field') && document.querySelector('#field-package').dataset.state === 'ready');
  const status = await page.locator('#field-status').innerText();
  expect(status.includes('Mất mạng'), `the status says "${status}"`);
  const chips = await page.evaluate(() => Array.from(document.querySelectorAll('#field-list img.field-chip')).filter((i) => i.complete && i.naturalWidth > 0).length);
  expect(chips > 0, 'no chip shown from the package');
  await waitFor(() => document.querySelector('#field-map').dataset.state === 'idle');
});

let ids;
await step('three decisions and a photo go into the outbox, with the flag version', async () => {
  ids = items.slice(0, 3).map((it) => it.id);
  for (const id of ids) {
    const btn = page.locator(`#field-list li[data-id="${id}"] button[data-decision="confirmed_poppy"], #field-list li[data-id="${id}"] button[data-decision="confirmed_cannabis"]`).first();
    await btn.click();
    await waitFor((id) => document.querySelector(`#field-list li[data-id="${id}"] .field-out[data-state="pending"]`), id);
  }
  const jpeg = Buffer.from(
    await page.evaluate(async () => {
      const cv = document.createElement('canvas');
      cv.width = 64;
      cv.height = 48;
      const g = cv.getContext('2d');
      g.fillStyle = '#3a7d2c';
      g.fillRect(0, 0, 64, 48);
      const blob = await new Promise((r) => cv.toBlob(r, 'image/jpeg', 0.9));
      return Array.from(new Uint8Array(await blob.arrayBuffer()));
    })
  );
  await page.setInputFiles(`#field-list li[data-id="${ids[0]}"] input.field-photo`, { name: 'hien-truong.jpg', mimeType: 'image/jpeg', buffer: jpeg });
  await waitFor(() => document.querySelector('#field-panel').dataset.pending === '4');
});

await step('offline, the team records the eradication of the confirmed plot: date, area and unit', async () => {
  const li = `#field-list li[data-id="${erad.id}"]`;
  await page.click(`${li} summary[data-decision-open="eradicated"]`);
  // Without the unit the form says what is missing, in Vietnamese, and queues nothing.
  await page.fill(`${li} input.field-erad-team`, '');
  await page.click(`${li} button[data-decision="eradicated"]`);
  const err = await page.locator(`${li} .field-erad-error`).innerText();
  expect(err.includes('đơn vị hoặc tổ công tác'), `no Vietnamese message for the missing unit: "${err}"`);
  expect((await page.getAttribute('#field-panel', 'data-pending')) === '4', 'an eradication without its unit was queued');
  const area = await page.inputValue(`${li} input.field-erad-area`);
  expect(Number(area) === Math.round(erad.area_m2), `the area starts at ${area}, the plot is ${erad.area_m2} m²`);
  await page.fill(`${li} input.field-erad-area`, '180');
  await page.fill(`${li} input.field-erad-team`, 'Đồn Biên phòng Thanh Thủy - Tổ công tác 2');
  await page.click(`${li} button[data-decision="eradicated"]`);
  await waitFor(() => document.querySelector('#field-panel').dataset.pending === '5');
});

await step('meanwhile another reviewer decides the third flag', async () => {
  const it = items[2];
  const r = await api(`/v1/flags/${it.id}/decisions`, OTHER, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ decision: 'needs_field_check', version: it.version }) });
  expect(r.status === 201, `the other reviewer's decision: HTTP ${r.status} ${JSON.stringify(r.body)}`);
});

await step('back online: two decisions, the eradication and the photo are accepted, the third is a conflict', async () => {
  // The offline page reloads itself when the network is back (the full app, then the outbox).
  await Promise.all([page.waitForNavigation({ timeout: STEP_TIMEOUT_MS }), context.setOffline(false)]);
  await page.waitForSelector('#field-toggle:not([hidden])');
  await waitFor(() => document.querySelector('#field-panel') && document.querySelector('#field-panel').dataset.conflicts === '1' && document.querySelector('#field-panel').dataset.pending === '0');
  for (const [i, id] of ids.entries()) {
    const d = (await api(`/v1/flags/${id}/decisions`)).body.items;
    const want = before[id].decisions + 1;
    expect(d.length === want, `flag ${id}: ${d.length} decisions, expected ${want}`);
    if (i < 2) expect(d[d.length - 1].actor !== undefined && /confirmed_/.test(d[d.length - 1].decision), `flag ${id}: the last decision is ${d[d.length - 1].decision}`);
    else expect(d[d.length - 1].decision === 'needs_field_check', `flag ${id}: the other reviewer's decision was overwritten by ${d[d.length - 1].decision}`);
  }
  const ev = (await api(`/v1/flags/${ids[0]}/evidence`)).body;
  const photos = ev.items || ev;
  expect(photos.length === before[ids[0]].evidence + 1, 'the photo did not arrive once');
  // The canvas JPEG has no EXIF: the phone's position (the context's geolocation) stands in.
  const last = photos[photos.length - 1];
  const codes = (last.warnings || []).map((w) => w.code);
  const [lon, lat] = last.location || [];
  expect(Math.abs(lat - 22.0) < 1e-6 && Math.abs(lon - 105.2) < 1e-6, `the photo's position is ${JSON.stringify(last.location)}, not the device's 105.2, 22.0`);
  expect(codes.includes('gps_from_device'), `the photo's warnings ${JSON.stringify(codes)} do not say the position came from the device`);
  const text = await page.locator('#field-outbox').innerText();
  expect(text.includes(`#${ids[2]}`) && text.includes('cán bộ khác đã quyết định trước'), `the conflict is not shown: "${text}"`);
  // The eradication arrived with what the team recorded.
  const ed = (await api(`/v1/flags/${erad.id}/decisions`)).body.items;
  const e = ed[ed.length - 1];
  expect(ed.length === before[erad.id].decisions + 1 && e.decision === 'eradicated', `flag ${erad.id}: decisions ${ed.map((d) => d.decision).join(', ')}`);
  expect(e.area_destroyed_m2 === 180 && e.team === 'Đồn Biên phòng Thanh Thủy - Tổ công tác 2' && /^\d{4}-\d{2}-\d{2}$/.test(e.eradicated_on), `the eradication was recorded as ${JSON.stringify(e)}`);
});

await step('replaying the outbox twice leaves no second row', async () => {
  for (let k = 0; k < 2; k++) {
    const r = await page.evaluate(() => window.VigilField.replay());
    expect(r.replayed === 4, `replay ${k + 1}: ${r.replayed} of 4 synced items answered as replays`);
  }
  for (const id of [...ids, erad.id]) {
    const d = (await api(`/v1/flags/${id}/decisions`)).body.items;
    expect(d.length === before[id].decisions + 1, `flag ${id}: ${d.length} decisions after two replays`);
  }
  const ev = (await api(`/v1/flags/${ids[0]}/evidence`)).body;
  expect((ev.items || ev).length === before[ids[0]].evidence + 1, 'a replayed photo made a second row');
});

await step('the conflict is resolved by dropping mine; logging out wipes the package', async () => {
  await page.click('#field-toggle');
  await page.click('#field-outbox button[data-resolve="drop"]');
  await waitFor(() => document.querySelector('#field-panel').dataset.conflicts === '0');
  await page.click('#logout');
  await page.waitForSelector('#login-view:not([hidden])');
  expect((await packageLeft()) === 'empty', 'the package is still on the device after logging out');
});

await step('an expired package is wiped when the app opens', async () => {
  await page.fill('#login-token', TOKEN);
  await page.click('#login-submit');
  await page.waitForSelector('#field-toggle:not([hidden])');
  await page.click('#field-toggle');
  await page.fill('#field-commune', COMMUNE);
  await page.click('#field-estimate-btn');
  await waitFor(() => !document.querySelector('#field-download').disabled);
  await page.click('#field-download');
  await waitFor(() => document.querySelector('#field-package').dataset.state === 'ready');
  // The package's expiry moves into the past (as days passing would), then the app opens again.
  await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const r = indexedDB.open('vigil-field');
        r.onsuccess = () => {
          const tx = r.result.transaction('kv', 'readwrite');
          const store = tx.objectStore('kv');
          const g = store.get('package');
          g.onsuccess = () => {
            g.result.expires_at = new Date(Date.now() - 60000).toISOString();
            store.put(g.result, 'package');
          };
          tx.oncomplete = () => {
            r.result.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      })
  );
  await page.reload();
  await page.waitForSelector('#field-toggle:not([hidden])');
  await waitFor(() => document.querySelector('#field-package').dataset.state === 'none' && document.querySelector('#field-message').textContent.includes('hết hạn'));
});

await step('a revoked token wipes the package at the next contact', async () => {
  if (!process.env.VIGIL_BIN || !process.env.VIGIL_DATA_DIR || !process.env.VIGIL_REVIEWER) throw new CheckFailed('VIGIL_BIN, VIGIL_DATA_DIR and VIGIL_REVIEWER are needed for this step');
  await page.waitForSelector('#field-toggle:not([hidden])');
  if (await page.locator('#field-panel').isHidden()) await page.click('#field-toggle');
  await page.fill('#field-commune', COMMUNE);
  await page.click('#field-estimate-btn');
  await waitFor(() => !document.querySelector('#field-download').disabled);
  await page.click('#field-download');
  await waitFor(() => document.querySelector('#field-package').dataset.state === 'ready');
  expect((await packageLeft()) === 'package', 'the package was not stored before the revocation');
  // The administrator disables the reviewer (every token revoked) while the phone holds a package.
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.env.VIGIL_BIN, ['user', 'disable', '--name', process.env.VIGIL_REVIEWER, '--data-dir', process.env.VIGIL_DATA_DIR], { stdio: 'pipe' });
  // The server stops accepting the token within its 30 s authentication cache: the phone asks
  // for the package size (a contact) until it is told the token is no longer good.
  const deadline = Date.now() + 40000;
  while (Date.now() < deadline && (await page.locator('#login-view').isHidden())) {
    if (await page.locator('#field-estimate-btn').isVisible()) await page.click('#field-estimate-btn');
    await page.waitForSelector('#login-view:not([hidden])', { timeout: 3000 }).catch(() => null);
  }
  expect(await page.locator('#login-view').isVisible(), 'the page still works with a revoked token 40 s after the revocation');
  expect((await packageLeft()) === 'empty', 'the package is still on the device after the server refused the revoked token');
  const status = (await api('/v1/me')).status;
  expect(status === 401, `the revoked token is answered ${status} by /v1/me`);
});

await step('no request left 127.0.0.1 and the console shows no errors', async () => {
  expect(blocked.length === 0, `requests to other hosts: ${blocked.join(', ')}`);
  expect(consoleErrors.length === 0, `console errors: ${consoleErrors.map((e) => e.text).join(' | ')}`);
});

await screenshot();
await finish(results.every((r) => r.ok) ? 0 : 1);
