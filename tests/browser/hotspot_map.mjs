#!/usr/bin/env node
// Browser test of Vigil's web map (/map/) in headless Chromium.
//
//   VIGIL_URL=http://127.0.0.1:18181 VIGIL_TOKEN=vgl_... [VIGIL_SCREENSHOT=/tmp/map.png] node hotspot_map.mjs
//
// VIGIL_TOKEN must belong to an analyst (or admin) whose jurisdiction holds some hotspots.
// The test edits one hotspot's notes and moves it one step along its lifecycle.
// Optional: VIGIL_CHROMIUM (default /usr/bin/chromium), VIGIL_TEST_TIMEOUT_MS (default 170000).
// Exits 0 when every check passed, 1 when one failed, 2 on bad arguments.

import { chromium } from 'playwright-core';
import { CheckFailed, expect, finishRun, launchChromium, loopback, loopbackOnly, saveScreenshot, stepRunner } from './harness.mjs';

const VIGIL_URL = (process.env.VIGIL_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.VIGIL_TOKEN || '';
const SHOT = process.env.VIGIL_SCREENSHOT || '';
const CHROMIUM = process.env.VIGIL_CHROMIUM || '/usr/bin/chromium';
const TOTAL_TIMEOUT_MS = Number(process.env.VIGIL_TEST_TIMEOUT_MS || 170000);
const STEP_TIMEOUT_MS = 30000;

function usage(msg) {
  console.error(`hotspot_map: ${msg}`);
  console.error('usage: VIGIL_URL=http://127.0.0.1:PORT VIGIL_TOKEN=vgl_... [VIGIL_SCREENSHOT=FILE.png] node hotspot_map.mjs');
  process.exit(2);
}
if (!VIGIL_URL) usage('VIGIL_URL is not set');
if (!TOKEN) usage('VIGIL_TOKEN is not set');
// Every request the page makes must stay on this machine's loopback address.
const { allowedHosts: ALLOWED_HOSTS } = loopback(VIGIL_URL, usage);

// ------------------------------------------------------------------ helpers

async function apiGet(path) {
  const res = await fetch(`${VIGIL_URL}${path}`, {
    headers: { Authorization: `Bearer ${TOKEN}`, Accept: 'application/geo+json, application/json' }
  });
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

const results = [];
const blocked = []; // requests to other hosts
const consoleErrors = [];
let tolerate401From = null; // while checking a wrong token, its 401 is expected

let browser;
let page;

const screenshot = (suffix = '') => saveScreenshot(page, SHOT, suffix);

const finish = (code) => finishRun('hotspot_map', results, browser, code);

const step = stepRunner({ results, blocked, consoleErrors, screenshot, finish });

const overall = setTimeout(async () => {
  console.error(`FAIL the whole test took longer than ${TOTAL_TIMEOUT_MS} ms`);
  results.push({ name: 'total time', ok: false });
  await screenshot();
  await finish(1);
}, TOTAL_TIMEOUT_MS);

/**
 * Wait until the page has drawn hotspots for a settled view, and read what it shows.
 * want: { has: [...], hasNot: [...] } substrings the last hotspot query must (not) contain.
 * (A function, not a string: the page's CSP forbids eval.)
 */
async function settledView(want = {}) {
  await page.waitForFunction(
    ({ has = [], hasNot = [] }) => {
      const c = document.querySelector('#hotspot-count');
      const m = document.querySelector('#map');
      if (!c || c.dataset.state !== 'ready' || !m.dataset.query) return false;
      const q = m.dataset.query;
      if (!has.every((x) => q.includes(x)) || hasNot.some((x) => q.includes(x))) return false;
      if (m.dataset.tiles !== 'idle' || !window.VigilMap) return false;
      if (!m.dataset.view || m.dataset.bbox !== m.dataset.view) return false;
      // The vector tiles are asked with the same filters.
      const tq = m.dataset.tileQuery || '';
      if (!has.every((x) => tq.includes(x)) || hasNot.some((x) => tq.includes(x))) return false;
      const key = c.dataset.count + '|' + q + '|' + window.VigilMap.drawn().points.length;
      const now = Date.now();
      if (window.__settleKey !== key) {
        window.__settleKey = key;
        window.__settleAt = now;
        return false;
      }
      return now - window.__settleAt > 900;
    },
    want,
    { timeout: STEP_TIMEOUT_MS, polling: 150 }
  );
  return page.evaluate(() => {
    const c = document.querySelector('#hotspot-count');
    const m = document.querySelector('#map');
    return {
      label: c.textContent,
      count: Number(c.dataset.count),
      drawn: Number(c.dataset.drawn),
      bbox: m.dataset.bbox,
      query: m.dataset.query,
      markers: window.VigilMap.drawn().points,
      inCells: window.VigilMap.drawn().inCells
    };
  });
}

async function checkCountAgainstApi(view, what) {
  expect(view.count > 0, `${what}: the count label says ${view.count} hotspots, expected more than 0`);
  const digits = Number(view.label.split(/[(]/)[0].replace(/[^0-9]/g, ''));
  expect(digits === view.count, `${what}: the label "${view.label}" does not show numberMatched ${view.count}`);
  // The map draws every hotspot from vector tiles: one by one, or counted in cells where dense.
  expect(view.markers.length + view.inCells === view.drawn, `${what}: ${view.markers.length} hotspots drawn and ${view.inCells} in cells on the map but the page says it drew ${view.drawn}`);
  const api = await apiGet(`/collections/hotspots/items?${view.query}`);
  const matched = typeof api.numberMatched === 'number' ? api.numberMatched : null;
  if (matched !== null) {
    expect(matched === view.count, `${what}: the page shows ${view.count} hotspots but the API says numberMatched=${matched} for ?${view.query}`);
  }
  expect(view.markers.length + view.inCells === view.count, `${what}: ${view.markers.length} hotspots drawn and ${view.inCells} in cells for ${view.count} matching hotspots`);
  const ids = new Set(view.markers.map((m) => m.id));
  expect(ids.size === view.markers.length, `${what}: some hotspots were drawn twice`);
}

const text = (sel) => page.locator(sel).first().innerText();

// --------------------------------------------------------------------- run
browser = await launchChromium(chromium, CHROMIUM);
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
await loopbackOnly(context, ALLOWED_HOSTS, blocked);
page = await context.newPage();
page.setDefaultTimeout(STEP_TIMEOUT_MS);
page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  const url = (msg.location() && msg.location().url) || '';
  if (tolerate401From && url.endsWith(tolerate401From) && /\b401\b/.test(msg.text())) return;
  consoleErrors.push({ text: `${msg.text()}${url ? ` (${url})` : ''}` });
});
page.on('pageerror', (err) => consoleErrors.push({ text: `uncaught: ${err.message}` }));

await step('the map page loads with the Vietnamese login screen', async () => {
  const res = await page.goto(`${VIGIL_URL}/map/`, { waitUntil: 'domcontentloaded' });
  expect(res && res.ok(), `GET /map/ answered HTTP ${res && res.status()}`);
  await page.locator('#login-token').waitFor({ state: 'visible' });
  expect((await page.getAttribute('html', 'lang')) === 'vi', 'the page language is not vi by default');
  const submit = (await text('#login-submit')).trim();
  expect(submit === 'Đăng nhập', `the login button says "${submit}", expected "Đăng nhập"`);
  const title = await page.title();
  expect(title.includes('Bản đồ điểm, tụ điểm ma túy'), `page title "${title}" is not the Vietnamese one`);
});

await step('a wrong token is refused with a Vietnamese message', async () => {
  tolerate401From = '/v1/auth/login';
  await page.fill('#login-token', 'vgl_this_is_not_a_valid_token_0000');
  await page.click('#login-submit');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.trim().length > 0);
  const err = await text('#login-error');
  expect(err.includes('Mã truy cập không đúng'), `the login error is "${err}", expected the Vietnamese 401 message`);
  expect(await page.locator('#app').isHidden(), 'the map opened after a wrong token');
  await page.waitForTimeout(200);
  tolerate401From = null;
});

if (process.env.VIGIL_USER && process.env.VIGIL_PASSWORD) {
  await step('a wrong password is refused with a Vietnamese message', async () => {
    tolerate401From = '/v1/auth/login';
    await page.fill('#login-token', '');
    await page.fill('#login-name', process.env.VIGIL_USER);
    await page.fill('#login-password', 'không phải mật khẩu');
    await page.click('#login-submit');
    await page.waitForFunction(() => document.querySelector('#login-error').textContent.includes('mật khẩu'));
    const err = await text('#login-error');
    expect(err.includes('Tên đăng nhập hoặc mật khẩu không đúng'), `the login error is "${err}"`);
    expect(await page.locator('#app').isHidden(), 'the map opened after a wrong password');
    await page.waitForTimeout(200);
    tolerate401From = null;
  });

  await step('logging in with name and password opens the map, then logging out returns to the login', async () => {
    await page.fill('#login-name', process.env.VIGIL_USER);
    await page.fill('#login-password', process.env.VIGIL_PASSWORD);
    await page.click('#login-submit');
    await page.locator('#app').waitFor({ state: 'visible' });
    const stored = await page.evaluate(() => window.sessionStorage.getItem('vigil.token'));
    expect(stored && stored.startsWith('vgl_') && stored !== TOKEN, 'a password login should keep its own session token');
    expect((await page.inputValue('#login-password')) === '', 'the password field was not cleared');
    await page.click('#logout');
    await page.locator('#login-view').waitFor({ state: 'visible' });
    await page.fill('#login-name', '');
  });
}

await step('logging in with the token shows the map and the user', async () => {
  await page.fill('#login-token', TOKEN);
  await page.click('#login-submit');
  await page.locator('#app').waitFor({ state: 'visible' });
  await page.locator('#user-info').waitFor({ state: 'visible' });
  expect(await page.locator('#login-view').isHidden(), 'the login screen is still shown');
  const name = (await text('#user-info [data-testid=user-name]')).trim();
  expect(name.length > 0, 'the user name is not shown');
  const role = await page.getAttribute('#user-info [data-testid=user-role]', 'data-role');
  expect(['analyst', 'admin'].includes(role), `VIGIL_TOKEN's role is "${role}"; this test needs an analyst or admin token`);
  const stored = await page.evaluate(() => window.sessionStorage.getItem('vigil.token'));
  expect(stored === TOKEN, 'the token was not kept in sessionStorage');
  expect(await page.evaluate(() => !window.localStorage.getItem('vigil.token')), 'the token leaked into localStorage');
});

let firstView;
await step('hotspot markers are drawn and the count label matches the API', async () => {
  await page.waitForFunction(() => window.VigilMap && window.VigilMap.drawn().points.length > 0, null, { timeout: STEP_TIMEOUT_MS });
  firstView = await settledView();
  await checkCountAgainstApi(firstView, 'whole view');
  const known = new Set(['reported', 'verifying', 'eliminated', 'reemerged']);
  const bad = firstView.markers.filter((m) => !known.has(m.status));
  expect(bad.length === 0, `markers with an unknown data-status: ${bad.slice(0, 5).map((m) => `${m.id}:${m.status}`).join(', ')}`);
  console.log(`     ${firstView.count} hotspots in view, ${firstView.markers.length} markers drawn`);
});

await step('the interface is in Vietnamese by default', async () => {
  const legend = await text('#legend');
  expect(legend.includes('Phát hiện'), `the legend does not name "Phát hiện": ${legend}`);
  expect(legend.includes('Tái phức tạp'), `the legend does not name "Tái phức tạp": ${legend}`);
  expect((await text('#logout')).trim() === 'Đăng xuất', 'the logout button is not "Đăng xuất"');
  expect((await text('#hotspot-count')).includes('điểm'), 'the count label does not say "điểm"');
  expect((await text('#sidebar')).includes('Trạng thái'), 'the status filter is not labelled "Trạng thái"');
});

await step('the status filter sends status= and shows only that status', async () => {
  const counts = {};
  for (const m of firstView.markers) counts[m.status] = (counts[m.status] || 0) + 1;
  const status = Object.keys(counts).sort((a, b) => counts[b] - counts[a])[0];
  await page.selectOption('#filter-status', status);
  const view = await settledView({ has: [`status=${status}`] });
  expect(view.markers.every((m) => m.status === status), `markers of other statuses are shown with the filter status=${status}`);
  await checkCountAgainstApi(view, `status=${status}`);
  expect(view.count <= firstView.count, 'the filtered count is larger than the unfiltered one');
  await page.click('#filter-reset');
  const back = await settledView({ hasNot: ['status='] });
  expect(back.count === firstView.count, `after clearing the filter the count is ${back.count}, was ${firstView.count}`);
});

await step('the kind and commune filters send kind= and commune=', async () => {
  const sample = await apiGet(`/collections/hotspots/items/${firstView.markers[0].id}`);
  const { kind, commune_code: commune } = sample.properties;
  expect(kind, `hotspot ${firstView.markers[0].id} has no kind`);
  await page.selectOption('#filter-kind', kind);
  const byKind = await settledView({ has: [`kind=${encodeURIComponent(kind)}`] });
  await checkCountAgainstApi(byKind, `kind=${kind}`);
  if (commune) {
    await page.fill('#filter-commune', commune);
    await page.click('#filter-apply');
    const both = await settledView({ has: [`commune=${encodeURIComponent(commune)}`] });
    expect(both.query.includes(`kind=${encodeURIComponent(kind)}`), `the kind filter was lost: ?${both.query}`);
    if (both.inCells === 0) {
      expect(both.markers.some((m) => m.id === String(sample.id)), `hotspot ${sample.id} (kind ${kind}, commune ${commune}) is not drawn with both filters`);
    }
    await checkCountAgainstApi(both, `kind=${kind}&commune=${commune}`);
  } else {
    console.log(`     hotspot ${sample.id} has no commune_code; the commune filter was not checked`);
  }
  await page.click('#filter-reset');
  const back = await settledView({ hasNot: ['kind=', 'commune='] });
  expect(back.count === firstView.count, `after clearing the filters the count is ${back.count}, was ${firstView.count}`);
});

await step('the English switch changes the labels and is remembered', async () => {
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  expect((await text('#logout')).trim() === 'Log out', 'the logout button did not change to "Log out"');
  expect((await text('#hotspot-count')).includes('hotspot'), 'the count label did not change to English');
  expect((await text('#lang-switch')).trim() === 'Tiếng Việt', 'the language switch does not offer Tiếng Việt');
  expect(await page.evaluate(() => window.localStorage.getItem('vigil.lang')) === 'en', 'the language was not saved in localStorage');
  // A reload keeps the language, and the session (sessionStorage).
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.locator('#app').waitFor({ state: 'visible' });
  expect((await page.getAttribute('html', 'lang')) === 'en', 'English was not kept across a reload');
  expect((await text('#logout')).trim() === 'Log out', 'after a reload the logout button is not "Log out"');
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.documentElement.lang === 'vi');
  expect((await text('#logout')).trim() === 'Đăng xuất', 'switching back did not restore "Đăng xuất"');
  const view = await settledView();
  expect(view.count === firstView.count, `after a reload the count is ${view.count}, was ${firstView.count}`);
});

let hotspotId;
await step('clicking a marker opens the detail panel with history', async () => {
  // A hotspot drawn on the map canvas, away from other hotspots, controls and panels.
  const target = await page.evaluate(() => {
    const mapBox = document.querySelector('#map').getBoundingClientRect();
    const pts = window.VigilMap.drawn().points;
    for (const p of pts) {
      const { x, y } = p;
      if (x < mapBox.left + 20 || x > mapBox.right - 60 || y < mapBox.top + 80 || y > mapBox.bottom - 40) continue;
      if (pts.some((q) => q.id !== p.id && Math.hypot(q.x - x, q.y - y) < 16)) continue;
      const el = document.elementFromPoint(x, y);
      if (!el || !el.closest('#map') || el.closest('.maplibregl-ctrl') || el.closest('.maplibregl-popup')) continue;
      return { x, y, id: p.id };
    }
    return null;
  });
  expect(target, 'no marker can be clicked: all are covered or outside the map');
  await page.mouse.click(target.x, target.y);
  const panel = page.locator('#detail-panel');
  await panel.waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.querySelector('#detail-panel').dataset.state === 'ready');
  hotspotId = await panel.getAttribute('data-id');
  expect(hotspotId === target.id, `clicked marker ${target.id} but the panel shows ${hotspotId}`);
  const f = await apiGet(`/collections/hotspots/items/${hotspotId}`);
  const shownName = (await text('#detail-panel [data-field=name]')).trim();
  expect(shownName === String(f.properties.name), `the panel shows name "${shownName}", the API says "${f.properties.name}"`);
  const hist = page.locator('#detail-history');
  expect((await hist.getAttribute('data-state')) === 'ready', `the history did not load: ${await hist.innerText()}`);
  expect((await text('#detail-history h3')).trim() === 'Lịch sử', 'the history heading is not "Lịch sử"');
  const panelText = await panel.innerText();
  expect(panelText.includes('Không ghi thông tin cá nhân của người sử dụng ma túy'), 'the no-personal-data note is not shown');
  expect(await page.locator('#edit-notes').isVisible(), 'an analyst sees no notes field to edit');
  await page.waitForFunction((id) => window.VigilMap.selectedDrawn().includes(id), hotspotId);
  const sel = await page.evaluate(() => window.VigilMap.selectedDrawn());
  expect(sel.length === 1 && sel[0] === hotspotId, `the map highlights ${JSON.stringify(sel)}, not the clicked hotspot ${hotspotId}`);
});

await step('editing the notes and saving updates the hotspot (If-Match, PATCH)', async () => {
  const before = await apiGet(`/collections/hotspots/items/${hotspotId}`);
  const note = `Kiểm tra tự động ${new Date().toISOString()}: đã xác minh địa điểm`;
  await page.fill('#edit-notes', note);
  await page.click('#detail-save');
  await page.waitForFunction(
    () => {
      const m = document.querySelector('#detail-message').dataset.state;
      const e = document.querySelector('#detail-error').textContent.trim();
      return m === 'saved' || e.length > 0;
    },
    null,
    { timeout: STEP_TIMEOUT_MS }
  );
  const err = (await page.locator('#detail-error').textContent()).trim();
  expect(!err, `saving failed, the panel says: ${err}`);
  const after = await apiGet(`/collections/hotspots/items/${hotspotId}`);
  expect(after.properties.notes === note, `the API has notes "${after.properties.notes}", expected "${note}"`);
  if (typeof before.properties.version === 'number') {
    expect(after.properties.version > before.properties.version, `the version did not go up (${before.properties.version} -> ${after.properties.version})`);
  }
  expect(after.properties.name === before.properties.name, 'saving the notes changed the name');
  const shown = (await text('#detail-panel [data-field=notes]')).trim();
  expect(shown === note, `the panel shows notes "${shown}" after saving`);
});

await step('a status change button records a transition with history', async () => {
  const before = await apiGet(`/collections/hotspots/items/${hotspotId}`);
  const buttons = page.locator('#detail-panel .transition-btn');
  const n = await buttons.count();
  if (n === 0) {
    console.log(`     hotspot ${hotspotId} (${before.properties.status}) allows no transition; skipped`);
    return;
  }
  const to = await buttons.first().getAttribute('data-to');
  const histBefore = await apiGet(`/v1/hotspots/${hotspotId}/history`);
  await page.fill('#transition-note', 'Kiểm tra tự động chuyển trạng thái');
  await buttons.first().click();
  await page.waitForFunction(
    () => document.querySelector('#detail-message').dataset.state === 'transitioned' || document.querySelector('#detail-error').textContent.trim().length > 0
  );
  const err = (await page.locator('#detail-error').textContent()).trim();
  expect(!err, `the transition to ${to} failed, the panel says: ${err}`);
  const after = await apiGet(`/collections/hotspots/items/${hotspotId}`);
  expect(after.properties.status === to, `the API has status "${after.properties.status}", expected "${to}"`);
  const histAfter = await apiGet(`/v1/hotspots/${hotspotId}/history`);
  expect(histAfter.events.length === histBefore.events.length + 1, 'the history did not get one more event');
  await page.waitForFunction(
    ([id, st]) => {
      const p = window.VigilMap.drawn().points.find((q) => q.id === id);
      return p && p.status === st;
    },
    [hotspotId, to]
  );
  const items = await page.locator('#detail-history li').count();
  expect(items === histAfter.events.length, `the panel lists ${items} history events, the API has ${histAfter.events.length}`);
});

await step('a hotspot name with HTML in it is shown as text, never as markup (issue 13)', async () => {
  const evil = '<img src=x onerror="window.__vigilXss=1">';
  const f = await apiGet(`/collections/hotspots/items/${hotspotId}`);
  const res = await fetch(`${VIGIL_URL}/collections/hotspots/items/${hotspotId}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/merge-patch+json', 'If-Match': `"${f.properties.version}"` },
    body: JSON.stringify({ properties: { name: evil } })
  });
  expect(res.ok, `PATCH the name -> HTTP ${res.status}: ${await res.text()}`);
  await page.reload();
  await page.waitForFunction(
    (id) => window.VigilMap && document.querySelector('#map').dataset.tiles === 'idle' && window.VigilMap.drawn().points.some((q) => q.id === id),
    hotspotId,
    { timeout: STEP_TIMEOUT_MS }
  );
  const at = await page.evaluate((id) => window.VigilMap.drawn().points.find((q) => q.id === id), hotspotId);
  await page.mouse.move(at.x + 1, at.y + 1);
  await page.mouse.move(at.x, at.y);
  await page.waitForFunction(
    (evil) => Array.from(document.querySelectorAll('.maplibregl-popup.map-hover')).some((t) => t.textContent.includes(evil)),
    evil,
    { timeout: STEP_TIMEOUT_MS }
  );
  const got = await page.evaluate(() => {
    const tips = Array.from(document.querySelectorAll('.maplibregl-popup'));
    return { texts: tips.map((t) => t.textContent), imgs: document.querySelectorAll('.map-hover img').length, xss: window.__vigilXss };
  });
  expect(got.imgs === 0, 'the name became an <img> element in the tooltip');
  expect(got.texts.some((t) => t.includes(evil)), `the tooltip says ${JSON.stringify(got.texts)}, not the name as text`);
  expect(got.xss === undefined, 'the onerror handler ran');
  await page.mouse.move(5, 5);
});

await step('the layout works in a narrow (laptop) window', async () => {
  await page.setViewportSize({ width: 900, height: 650 });
  await page.waitForTimeout(600);
  const boxes = await page.evaluate(() => {
    const r = (s) => {
      const b = document.querySelector(s).getBoundingClientRect();
      return { x: b.x, y: b.y, w: b.width, h: b.height };
    };
    return { map: r('#map'), panel: r('#detail-panel'), vw: window.innerWidth, sw: document.documentElement.scrollWidth };
  });
  expect(boxes.map.w > 300 && boxes.map.h > 300, `the map is too small in a 900x650 window: ${JSON.stringify(boxes.map)}`);
  expect(boxes.panel.x >= 0 && boxes.panel.x + boxes.panel.w <= boxes.vw + 1, `the detail panel is off screen: ${JSON.stringify(boxes.panel)}`);
  expect(boxes.sw <= boxes.vw + 1, `the page scrolls sideways (${boxes.sw} > ${boxes.vw})`);
  await screenshot('-narrow');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.waitForTimeout(600);
});

await step('no request left 127.0.0.1', async () => {
  expect(blocked.length === 0, `the page tried to load from other hosts: ${blocked.join(', ')}`);
});

await step('the console shows no errors', async () => {
  expect(consoleErrors.length === 0, `console errors: ${consoleErrors.map((c) => c.text).join(' | ')}`);
});

await screenshot();
clearTimeout(overall);
await finish(0);
