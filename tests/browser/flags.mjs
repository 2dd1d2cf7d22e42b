#!/usr/bin/env node
// Browser test of the flagged plots layer ("Nghi vấn trồng cây có chất ma túy", web/flags.js) in
// headless Chromium.
//
//   VIGIL_URL=http://127.0.0.1:18181 VIGIL_TOKEN=vgl_... VIGIL_OTHER_TOKEN=vgl_... \
//     [VIGIL_SCREENSHOT=/tmp/flags.png] node flags.mjs
//
// VIGIL_TOKEN must see flags of both classes, at least one of them a re-planting of an earlier
// flag (tests/web_flags.rs prepares that); VIGIL_OTHER_TOKEN belongs to a user of another
// province, who must see none of them. Every wait is for a condition on the page, never a fixed
// time. Optional: VIGIL_CHROMIUM (default /usr/bin/chromium), VIGIL_TEST_TIMEOUT_MS (default 170000).
// Exits 0 when every check passed, 1 when one failed, 2 on bad arguments.

import { chromium } from 'playwright-core';
import { CheckFailed, expect, finishRun, insidePoints, launchChromium, loopback, loopbackOnly, pixelAt, saveScreenshot, stepRunner } from './harness.mjs';

const VIGIL_URL = (process.env.VIGIL_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.VIGIL_TOKEN || '';
const OTHER_TOKEN = process.env.VIGIL_OTHER_TOKEN || '';
const SHOT = process.env.VIGIL_SCREENSHOT || '';
const CHROMIUM = process.env.VIGIL_CHROMIUM || '/usr/bin/chromium';
const TOTAL_TIMEOUT_MS = Number(process.env.VIGIL_TEST_TIMEOUT_MS || 170000);
const STEP_TIMEOUT_MS = 30000;
const DOT_MAX_ZOOM = 16; // below it the tiles carry a dot per plot, from it the outline (src/service/flags.rs)
const LAYER_NAME = 'Nghi vấn trồng cây có chất ma túy';
// The issue's Vietnamese labels for the classifier's explained features.
const DRIVER_VI = {
  speck_density: 'mật độ đốm hoa',
  magenta_density: 'tỷ lệ đốm hồng/tím',
  white_density: 'tỷ lệ đốm trắng',
  excess_green: 'chỉ số xanh (ExG)',
  g_chroma: 'tỷ lệ kênh xanh',
  blue_excess: 'độ lam',
  texture: 'kết cấu',
  saturation: 'độ bão hòa',
  ndvi: 'NDVI'
};
const CLASS_VI = { poppy: 'Thuốc phiện', cannabis: 'Cần sa' };

function usage(msg) {
  console.error(`flags: ${msg}`);
  console.error('usage: VIGIL_URL=http://127.0.0.1:PORT VIGIL_TOKEN=vgl_... VIGIL_OTHER_TOKEN=vgl_... [VIGIL_SCREENSHOT=FILE.png] node flags.mjs');
  process.exit(2);
}
if (!VIGIL_URL) usage('VIGIL_URL is not set');
if (!TOKEN) usage('VIGIL_TOKEN is not set');
if (!OTHER_TOKEN) usage('VIGIL_OTHER_TOKEN is not set');
// Every request the page makes must stay on this machine's loopback address.
const { allowedHosts: ALLOWED_HOSTS } = loopback(VIGIL_URL, usage);

// ------------------------------------------------------------------ helpers

async function apiFetch(path, token = TOKEN) {
  const res = await fetch(`${VIGIL_URL}${path}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/geo+json, application/json' } });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (_) {
    body = text;
  }
  return { status: res.status, body, type: res.headers.get('content-type') || '' };
}
async function apiGet(path, token = TOKEN) {
  const r = await apiFetch(path, token);
  if (r.status !== 200) throw new CheckFailed(`GET ${path} -> HTTP ${r.status}: ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}`);
  return r.body;
}
/** Every feature of a flags query, following `next` links (kept on VIGIL_URL). */
async function apiAllFlags(query, token = TOKEN) {
  let path = `/collections/flags/items?${query}`;
  const out = [];
  let matched = null;
  for (let i = 0; path && i < 20; i++) {
    const page = await apiGet(path, token);
    if (matched === null) matched = page.numberMatched;
    out.push(...page.features);
    const next = (page.links || []).find((l) => l.rel === 'next');
    path = next ? new URL(next.href).pathname + new URL(next.href).search : null;
  }
  return { features: out, matched };
}

/** Hue in degrees of #rrggbb (or rgb(r, g, b)). */
function hue(color) {
  let r;
  let g;
  let b;
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color || '');
  const rgb = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/i.exec(color || '');
  if (hex) [r, g, b] = hex.slice(1).map((x) => parseInt(x, 16));
  else if (rgb) [r, g, b] = rgb.slice(1).map(Number);
  else return NaN;
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max === min) return NaN;
  let hh;
  if (max === r) hh = ((g - b) / (max - min)) % 6;
  else if (max === g) hh = (b - r) / (max - min) + 2;
  else hh = (r - g) / (max - min) + 4;
  return (hh * 60 + 360) % 360;
}
function toRgb(hexColor) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hexColor || '');
  return m ? `rgb(${m.slice(1).map((x) => parseInt(x, 16)).join(', ')})` : hexColor;
}
const isPoppyHue = (hh) => hh >= 270 && hh <= 335; // purple to magenta
const isCannabisHue = (hh) => hh >= 55 && hh <= 100; // yellow-green

const results = [];
const blocked = [];
const consoleErrors = [];
const chipRequests = []; // { url, auth, status, type }
let browser;
let page;

const screenshot = (suffix = '') => saveScreenshot(page, SHOT, suffix);

const finish = (code) => finishRun('flags', results, browser, code);

const step = stepRunner({ results, blocked, consoleErrors, screenshot, finish,
  diagnose: async () => {
    if (page) {
      const s = await page
        .evaluate(() => {
          const m = document.querySelector('#map');
          const c = document.querySelector('#flag-count');
          return { view: m.dataset.view, zoom: m.dataset.zoom, flagBbox: m.dataset.flagBbox, flagQuery: m.dataset.flagQuery, count: c && c.dataset, text: c && c.textContent };
        })
        .catch(() => null);
      if (s) console.error(`  page state: ${JSON.stringify(s)}`);
    }
  }
});

const overall = setTimeout(async () => {
  console.error(`FAIL the whole test took longer than ${TOTAL_TIMEOUT_MS} ms`);
  results.push({ name: 'total time', ok: false });
  await screenshot();
  await finish(1);
}, TOTAL_TIMEOUT_MS);

/**
 * Waits until the flags drawn are those of the current view: the page marks the view on
 * #map[data-view] and sets #flag-count to loading in the same moveend handler, so the count is
 * for the view shown once it is ready; the map (one WebGL canvas, drawn from vector tiles) is
 * idle, with the tiles asked for the current filters, and what it draws is the same on three
 * reads in a row. Then reads the count and the plots drawn (window.VigilMap.flags()).
 * want: { minZoom, maxZoom, has: [...], hasNot: [...] } (substrings of the last flags query).
 */
async function flagsSettled(want = {}) {
  await page.waitForFunction(
    ({ minZoom, maxZoom, has = [], hasNot = [] }) => {
      const m = document.querySelector('#map');
      const c = document.querySelector('#flag-count');
      if (!c || c.dataset.state !== 'ready' || !m.dataset.view || m.dataset.flagBbox !== m.dataset.view) return false;
      const z = Number(m.dataset.zoom);
      if (minZoom !== undefined && !(z >= minZoom)) return false;
      if (maxZoom !== undefined && !(z <= maxZoom)) return false;
      const q = m.dataset.flagQuery || '';
      if (!(has.every((x) => q.includes(x)) && !hasNot.some((x) => q.includes(x)))) return false;
      // The tiles' filters are the items' without bbox and limit (none drawn with no class ticked).
      const items = new URLSearchParams(q);
      items.delete('bbox');
      items.delete('limit');
      const layerOn = m.dataset.flagLayer === 'on' && (document.querySelector('#flag-class-poppy').checked || document.querySelector('#flag-class-cannabis').checked);
      if ((m.dataset.flagTileQuery || '') !== (layerOn ? items.toString() : '')) return false;
      if (layerOn && m.dataset.flagTilesLoaded !== items.toString()) return false;
      if (m.dataset.tiles !== 'idle') return false;
      const d = window.VigilMap.flags();
      const key = `${m.dataset.view} ${d.inCells} ${d.plots.map((p) => `${p.id}:${p.dot}`).sort().join(',')}`;
      if (window.__flagsKey !== key) {
        window.__flagsKey = key;
        window.__flagsReads = 1;
        return false;
      }
      window.__flagsReads += 1;
      return window.__flagsReads >= 3;
    },
    want,
    { timeout: STEP_TIMEOUT_MS, polling: 100 }
  );
  return page.evaluate(() => {
    const m = document.querySelector('#map');
    const c = document.querySelector('#flag-count');
    const d = window.VigilMap.flags();
    return {
      label: c.textContent,
      count: Number(c.dataset.count),
      drawn: Number(c.dataset.drawn),
      view: m.dataset.view,
      zoom: Number(m.dataset.zoom),
      query: m.dataset.flagQuery,
      paths: d.plots,
      dots: d.plots.filter((p) => p.dot).length,
      inCells: d.inCells,
      paint: d.paint,
      debug: { loaded: m.dataset.flagTilesLoaded, tq: m.dataset.flagTileQuery, tiles: d.tiles.map((u) => u.split('WebMercatorQuad/')[1]), classes: d.plots.map((p) => p.cls).join(',') }
    };
  });
}

async function checkAgainstApi(v, what, token = TOKEN) {
  const api = await apiAllFlags(v.query, token);
  expect(api.matched === v.count, `${what}: the page shows ${v.count} flags, the API says numberMatched=${api.matched} for ?${v.query}`);
  const digits = Number(v.label.split(/[(]/)[0].replace(/[^0-9]/g, ''));
  expect(v.count === 0 || digits === v.count, `${what}: the label "${v.label}" does not show ${v.count}`);
  expect(v.drawn === v.count, `${what}: the page says ${v.drawn} of ${v.count} flags are drawn; the tiles draw every one`);
  expect(v.paths.length + v.inCells === v.count, `${what}: ${v.paths.length} plots and ${v.inCells} in cells drawn for ${v.count} matching flags ${JSON.stringify(v.debug)}`);
  const drawn = new Set(v.paths.map((p) => p.id));
  expect(drawn.size === v.paths.length, `${what}: some flags were drawn twice`);
  if (!v.inCells) {
    const missing = api.features.filter((f) => !drawn.has(String(f.id)));
    expect(missing.length === 0, `${what}: flags ${missing.map((f) => f.id).join(', ')} are not drawn`);
  }
  for (const p of v.paths) {
    const f = api.features.find((x) => String(x.id) === p.id);
    expect(f, `${what}: flag ${p.id} is drawn but the API does not list it for ?${v.query}`);
    expect(f.properties.class === p.cls && f.properties.status === p.status, `${what}: flag ${p.id} is drawn as ${p.cls}/${p.status}, the API says ${f.properties.class}/${f.properties.status}`);
  }
  return api;
}

/**
 * A page point inside a drawn plot where a click would find that plot (and no control), or null;
 * with `alone` (ids), a point where no plot but those is drawn.
 */
async function clickablePlot(id, { alone = null } = {}) {
  const f = all.features.find((x) => String(x.id) === String(id));
  if (!f) return null;
  return page.evaluate(
    ({ fid, pts, alone }) => {
      const mapBox = document.querySelector('#map').getBoundingClientRect();
      for (const [lon, lat] of pts) {
        const { x, y } = window.VigilMap.toPage(lon, lat);
        if (x < mapBox.left + 10 || x > mapBox.right - 10 || y < mapBox.top + 10 || y > mapBox.bottom - 10) continue;
        const el = document.elementFromPoint(x, y);
        if (!el || !el.closest('#map') || el.closest('.maplibregl-ctrl') || el.closest('.maplibregl-popup') || el.closest('.maplibregl-popup')) continue;
        const hit = window.VigilMap.flagAtPage(x, y);
        if (!hit || hit.id !== fid) continue;
        if (alone && !window.VigilMap.flagIdsAtPage(x, y).every((o) => alone.includes(o))) continue;
        return { x, y };
      }
      return null;
    },
    { fid: String(id), pts: insidePoints(f), alone }
  );
}

async function panelReady(id) {
  await page.waitForFunction(
    (fid) => {
      const p = document.querySelector('#flag-panel');
      return p && !p.hidden && p.dataset.id === fid && p.dataset.state === 'ready';
    },
    String(id),
    { timeout: STEP_TIMEOUT_MS, polling: 100 }
  );
}
const field = (name) => page.locator(`#flag-panel [data-field=${name}]`).innerText();

async function chipLoaded(id) {
  await page.waitForFunction(
    () => {
      const img = document.querySelector('#flag-chip');
      const fig = document.querySelector('#flag-chip-figure');
      return (img && img.dataset.state === 'loaded') || (fig && ['missing', 'error'].includes(fig.dataset.state));
    },
    null,
    { timeout: STEP_TIMEOUT_MS, polling: 100 }
  );
  const img = await page.evaluate(() => {
    const i = document.querySelector('#flag-chip');
    const f = document.querySelector('#flag-chip-figure');
    return { state: f.dataset.state, text: f.innerText, src: i ? i.src : '', w: i ? i.naturalWidth : 0, h: i ? i.naturalHeight : 0, alt: i ? i.alt : '' };
  });
  expect(img.src, `flag ${id}: no chip image (${img.state}: ${img.text})`);
  expect(img.w > 0 && img.h > 0, `flag ${id}: the chip image did not decode (naturalWidth ${img.w})`);
  expect(img.src.startsWith('blob:'), `flag ${id}: the chip is not shown from an object URL: ${img.src}`);
  const req = chipRequests.filter((r) => r.url.endsWith(`/v1/flags/${id}/chip.png`)).pop();
  expect(req, `flag ${id}: no request for /v1/flags/${id}/chip.png was seen`);
  expect(req.auth === `Bearer ${currentToken}`, `flag ${id}: the chip request did not carry the bearer token`);
  expect(req.status === 200 && req.type.startsWith('image/png'), `flag ${id}: the chip answered ${req.status} ${req.type}`);
  return img;
}

async function login(token) {
  await page.locator('#login-token').waitFor({ state: 'visible' });
  await page.fill('#login-token', token);
  await page.click('#login-submit');
  await page.locator('#app').waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.querySelector('#hotspot-count').dataset.state === 'ready', null, { timeout: STEP_TIMEOUT_MS });
  currentToken = token;
}

// --------------------------------------------------------------------- run
let currentToken = TOKEN;
browser = await launchChromium(chromium, CHROMIUM);
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block', locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' });
await loopbackOnly(context, ALLOWED_HOSTS, blocked);
page = await context.newPage();
page.setDefaultTimeout(STEP_TIMEOUT_MS);
page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  const url = (msg.location() && msg.location().url) || '';
  consoleErrors.push(`${msg.text()}${url ? ` (${url})` : ''}`);
});
page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
page.on('response', async (res) => {
  if (!/\/v1\/flags\/[^/]+\/chip\.png$/.test(res.url())) return;
  const headers = await res.request().allHeaders();
  chipRequests.push({ url: res.url(), auth: headers.authorization || '', status: res.status(), type: res.headers()['content-type'] || '' });
});

// What the server says the analyst may see, to compare the page with.
let all;
await step('the API lists flags of both classes, one a re-planting (test data)', async () => {
  all = await apiAllFlags('limit=1000');
  const classes = new Set(all.features.map((f) => f.properties.class));
  expect(classes.has('poppy') && classes.has('cannabis'), `the analyst sees classes ${[...classes].join(', ')}; the test needs poppy and cannabis`);
  expect(
    all.features.some((f) => f.properties.replanting && f.properties.replanting_of !== null),
    'no flag is a re-planting of an earlier one; tests/web_flags.rs should have prepared one'
  );
  console.log(`     ${all.features.length} flags: ${all.features.map((f) => `#${f.id} ${f.properties.class}${f.properties.replanting ? ' (tái trồng)' : ''}`).join(', ')}`);
});

await step('logging in shows the map; the flags layer is off, with its Vietnamese legend', async () => {
  const res = await page.goto(`${VIGIL_URL}/map/`, { waitUntil: 'domcontentloaded' });
  expect(res && res.ok(), `GET /map/ answered HTTP ${res && res.status()}`);
  await login(TOKEN);
  expect((await page.getAttribute('html', 'lang')) === 'vi', 'the page language is not vi by default');
  expect((await page.getAttribute('#map', 'data-flag-layer')) === 'off', 'the flags layer is on before it was turned on');
  expect((await page.evaluate(() => window.VigilMap.flags().plots.length)) === 0, 'flag plots are drawn before the layer was turned on');
  expect((await page.getAttribute('#flag-count', 'data-state')) === 'off', 'the flag count is not "off"');
  const legend = await page.locator('#legend').innerText();
  for (const s of ['Nghi vấn trồng thuốc phiện', 'Nghi vấn trồng cần sa', 'Tái trồng']) expect(legend.includes(s), `the legend does not say "${s}": ${legend}`);
  const sidebar = await page.locator('#flag-section').innerText();
  expect(sidebar.includes('Nghi vấn — cần kiểm tra thực địa'), `the sidebar does not say a flag is a lead to check: ${sidebar}`);
});

let wide;
await step('turning the layer on in the layer switcher loads the flags in view', async () => {
  await page.hover('.vigil-layers');
  const label = page.locator('.vigil-layers-list label', { hasText: LAYER_NAME });
  await label.waitFor({ state: 'visible' });
  await label.locator('input').check();
  await page.waitForFunction(() => document.querySelector('#map').dataset.flagLayer === 'on');
  wide = await flagsSettled();
  await checkAgainstApi(wide, 'the first view');
  expect(wide.count > 0, `no flags in the first view (${wide.view}); the analyst's province should hold them`);
  expect(wide.label.includes('nghi vấn'), `the count label "${wide.label}" is not Vietnamese`);
  expect(await page.isChecked('#flag-layer-toggle'), 'the sidebar switch does not show the layer as on');
  if (wide.zoom < DOT_MAX_ZOOM) expect(wide.dots === wide.paths.length, `at zoom ${wide.zoom} each plot should be a dot: ${wide.dots} dots, ${wide.paths.length} plots`);
  // The dots are drawn in the class colours (those no other dot or hotspot covers).
  const hotspots = await page.evaluate(() => window.VigilMap.drawn().points);
  const alone = wide.paths.filter((x) => x.dot && x.inMap && ![...wide.paths.filter((q) => q.id !== x.id), ...hotspots.map((h) => ({ box: h }))].some((q) => Math.hypot((q.box.x ?? q.box.x) - x.box.x, q.box.y - x.box.y) < 16));
  for (const p of alone.slice(0, 6)) {
    const colour = await pixelAt(page, p.box.x, p.box.y);
    const ok = p.cls === 'poppy' ? isPoppyHue(hue(colour)) : isCannabisHue(hue(colour));
    expect(ok, `the dot of ${p.cls} flag ${p.id} is drawn ${colour}`);
  }
  await page.mouse.move(5, 400); // let the layer switcher collapse
  console.log(`     ${wide.count} flags in view at zoom ${wide.zoom}`);
});

let near;
await step('zooming to the flags draws their polygons in the two class colours', async () => {
  await page.click('#flag-zoom');
  near = await flagsSettled({ minZoom: DOT_MAX_ZOOM });
  await checkAgainstApi(near, 'zoomed to the flags');
  expect(near.dots === 0, `${near.dots} dots are still drawn at zoom ${near.zoom}`);
  const byClass = { poppy: near.paths.filter((p) => p.cls === 'poppy'), cannabis: near.paths.filter((p) => p.cls === 'cannabis') };
  expect(byClass.poppy.length > 0 && byClass.cannabis.length > 0, `both classes should be drawn: ${near.paths.map((p) => p.cls).join(', ')}`);
  expect(byClass.poppy.length + byClass.cannabis.length === near.paths.length, 'a drawn plot has no class');
  const dash = near.paint['flag-line-replanting'];
  const plain = near.paint['flag-line'];
  expect(dash && Array.isArray(dash.dash) && dash.width >= 3, `the re-planting outline is not thick and dashed: ${JSON.stringify(dash)}`);
  expect(plain && !plain.dash && plain.width < dash.width, `the plain outline is dashed or as thick as the re-planting one: ${JSON.stringify(plain)}`);
  // Colours are read off the canvas: inside each plot, its class's fill over the map.
  const sampled = { poppy: 0, cannabis: 0 };
  for (const p of near.paths) {
    expect(p.inMap, `flag ${p.id} is outside the map after zooming to the flags`);
    expect(p.box.w >= 8 && p.box.h >= 8, `flag ${p.id} is drawn ${p.box.w.toFixed(1)}×${p.box.h.toFixed(1)} px at zoom ${near.zoom}`);
    const apiF = all.features.find((f) => String(f.id) === p.id);
    expect(apiF && apiF.properties.class === p.cls, `flag ${p.id} is drawn as ${p.cls}, the API says ${apiF && apiF.properties.class}`);
    expect(p.replanting === !!apiF.properties.replanting, `flag ${p.id}: drawn re-planting=${p.replanting}, the API says ${apiF.properties.replanting}`);
    if (p.replanting) expect(p.layers.includes('flag-line-replanting') && !p.layers.includes('flag-line'), `re-planting flag ${p.id} is outlined by ${p.layers.join(', ')}, not the thick dashed outline`);
    else expect(p.layers.includes('flag-line') && !p.layers.includes('flag-line-replanting'), `flag ${p.id} is not a re-planting but is outlined by ${p.layers.join(', ')}`);
    // A point inside this plot and no other (plots of a re-planted field overlap).
    // A point inside this plot where only plots of its class are drawn (a re-flown field's
    // plots overlap the earlier ones).
    const same = all.features.filter((f) => f.properties.class === p.cls).map((f) => String(f.id));
    const at = await clickablePlot(p.id, { alone: same });
    if (!at) continue;
    const colour = await pixelAt(page, at.x, at.y);
    const ok = p.cls === 'poppy' ? isPoppyHue(hue(colour)) : isCannabisHue(hue(colour));
    expect(ok, `inside ${p.cls} flag ${p.id} the map is ${colour}, not ${p.cls === 'poppy' ? 'magenta/purple' : 'yellow-green'}`);
    sampled[p.cls] += 1;
  }
  expect(sampled.poppy > 0 && sampled.cannabis > 0, `no plot of each class could be checked by its pixels: ${JSON.stringify(sampled)} of ${near.paths.map((p) => `${p.id} ${p.cls}`).join(', ')}`);
  // The legend shows the same colours.
  const legend = await page.evaluate(() =>
    Object.fromEntries(['poppy', 'cannabis'].map((c) => [c, getComputedStyle(document.querySelector(`#legend li[data-flag-class=${c}] .swatch`)).borderTopColor]))
  );
  const style = await page.evaluate(() => window.VigilFlags.CLASS_STYLE);
  for (const c of ['poppy', 'cannabis']) expect(legend[c] === toRgb(style[c].stroke), `the legend's ${c} colour ${legend[c]} is not the map's ${style[c].stroke}`);
  console.log(`     zoom ${near.zoom}: ${byClass.poppy.length} poppy, ${byClass.cannabis.length} cannabis, ${near.paths.filter((p) => p.replanting).length} re-planting`);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await screenshot('-plots');
});

let replant;
await step("clicking a re-planting flag opens its panel: Vietnamese class, confidence, area, drivers and the chip", async () => {
  const candidates = near.paths.filter((p) => p.replanting);
  let target = null;
  for (const c of candidates) {
    const at = await clickablePlot(c.id);
    if (at) {
      target = { id: c.id, at };
      break;
    }
  }
  expect(target, `no re-planting flag can be clicked (${candidates.map((c) => c.id).join(', ')} covered or outside the map)`);
  await page.mouse.click(target.at.x, target.at.y);
  await panelReady(target.id);
  const f = await apiGet(`/collections/flags/items/${target.id}`);
  const p = f.properties;
  replant = f;
  const panel = await page.locator('#flag-panel').innerText();
  expect(panel.includes('Nghi vấn — cần kiểm tra thực địa'), 'the panel does not say the flag is a lead to check on the ground');
  expect((await field('class')).trim() === CLASS_VI[p.class], `class shown "${await field('class')}", expected "${CLASS_VI[p.class]}"`);
  const conf = await field('confidence');
  expect(conf.includes(String(Math.round(p.confidence * 100))) && conf.includes('%'), `confidence shown "${conf}" for ${p.confidence}`);
  const area = (await field('area')).trim();
  const wantArea = `${new Intl.NumberFormat('vi-VN').format(Math.round(p.area_m2 * 10) / 10)} m²`;
  expect(area === wantArea, `area shown "${area}", expected "${wantArea}"`);
  if (p.acquired_at) {
    const d = new Date(p.acquired_at);
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', day: 'numeric', month: 'numeric', year: 'numeric' }).formatToParts(d);
    const get = (k) => Number(parts.find((x) => x.type === k).value);
    const re = new RegExp(`\\b0?${get('day')}/0?${get('month')}/(20)?${String(get('year')).slice(2)}\\b`);
    const shown = await field('acquired_at');
    expect(re.test(shown), `acquisition date shown "${shown}", expected the day ${get('day')}/${get('month')}/${get('year')} of ${p.acquired_at}`);
  }
  const survey = await field('survey');
  expect(survey.includes(p.survey), `survey shown "${survey}", expected it to name ${p.survey}`);
  const surveyF = await apiGet(`/collections/surveys/items/${p.survey}`);
  if (surveyF.properties && surveyF.properties.name) expect(survey.includes(surveyF.properties.name), `survey shown "${survey}" without its name "${surveyF.properties.name}"`);
  expect((await field('model_version')).trim() === p.model_version, `model version shown "${await field('model_version')}", expected ${p.model_version}`);
  expect((await field('status')).includes('Mới'), `status shown "${await field('status')}" for ${p.status}`);
  const nearCount = await page.getAttribute('#flag-panel [data-field=near_hotspots] [data-count]', 'data-count');
  expect(Number(nearCount) === p.near_hotspots.length, `nearby hotspots shown ${nearCount}, the API lists ${p.near_hotspots.length}`);
  // Re-planting badge and the link to the earlier flag.
  expect((await page.locator('[data-testid=flag-replanting-badge]').innerText()).trim() === 'Tái trồng', 'no "Tái trồng" badge');
  const earlier = await page.getAttribute('[data-testid=flag-replanting-link]', 'data-id');
  expect(earlier === String(p.replanting_of), `the re-planting link goes to ${earlier}, the API says ${p.replanting_of}`);
  // Drivers in Vietnamese, with the sign of the z-score.
  const drivers = await page.$$eval('#flag-drivers li', (lis) =>
    lis.map((li) => ({ feature: li.dataset.feature, z: Number(li.dataset.z), arrow: li.querySelector('.driver-arrow').textContent, name: li.querySelector('.driver-name').textContent, text: li.textContent }))
  );
  expect(drivers.length === p.drivers.length && drivers.length > 0, `${drivers.length} drivers shown, the API has ${p.drivers.length}`);
  for (const [i, d] of p.drivers.entries()) {
    const s = drivers[i];
    expect(s.feature === d.feature, `driver ${i} is ${s.feature}, the API says ${d.feature}`);
    if (DRIVER_VI[d.feature]) expect(s.name === DRIVER_VI[d.feature], `driver ${d.feature} is labelled "${s.name}", expected "${DRIVER_VI[d.feature]}"`);
    const arrow = d.z > 0 ? '↑' : d.z < 0 ? '↓' : '→';
    expect(s.arrow === arrow, `driver ${d.feature} (z ${d.z}) has arrow ${s.arrow}, expected ${arrow}`);
    expect(s.text.includes(d.z > 0 ? 'cao hơn' : 'thấp hơn') || d.z === 0, `driver ${d.feature} does not say higher/lower in Vietnamese: ${s.text}`);
  }
  expect((await page.locator('#flag-drivers h3').innerText()).includes('Vì sao'), 'the drivers section is not headed in Vietnamese');
  await page.waitForFunction((id) => window.VigilMap.flagSelectedDrawn().includes(id), target.id);
  const sel = await page.evaluate(() => window.VigilMap.flagSelectedDrawn());
  expect(sel.length === 1 && sel[0] === target.id, `the map highlights ${JSON.stringify(sel)}, not the clicked plot ${target.id}`);
  const img = await chipLoaded(target.id);
  console.log(`     flag ${target.id}: ${p.class} ${p.confidence} ${p.area_m2} m², drivers ${p.drivers.map((d) => `${d.feature} ${d.z}`).join(', ')}; chip ${img.w}×${img.h}`);
  await screenshot('-panel');
});

await step('the re-planting link opens the earlier, eradicated flag', async () => {
  const earlier = String(replant.properties.replanting_of);
  await page.click('[data-testid=flag-replanting-link]');
  await panelReady(earlier);
  const f = await apiGet(`/collections/flags/items/${earlier}`);
  expect((await field('id')).trim() === earlier, `the panel shows flag ${await field('id')}, expected ${earlier}`);
  expect((await field('class')).trim() === CLASS_VI[f.properties.class], `class shown "${await field('class')}" for the earlier flag`);
  if (f.properties.status === 'eradicated') expect((await field('status')).trim() === 'Đã phá bỏ', `status shown "${await field('status')}" for an eradicated flag`);
  expect((await page.locator('[data-testid=flag-replanting-badge]').count()) === (f.properties.replanting ? 1 : 0), 'the re-planting badge does not follow the earlier flag');
  await chipLoaded(earlier);
  await page.click('#flag-close');
  await page.waitForFunction(() => document.querySelector('#flag-panel').hidden);
});

await step('the class and confidence filters send class= and min_confidence= and change the count', async () => {
  await page.click('#flag-zoom');
  const both = await flagsSettled({ minZoom: DOT_MAX_ZOOM, hasNot: ['class=', 'min_confidence='] });
  await checkAgainstApi(both, 'both classes');
  const cannabis = both.paths.filter((p) => p.cls === 'cannabis').length;
  expect(cannabis > 0, 'no cannabis flag in view to filter out');
  await page.uncheck('#flag-class-cannabis');
  const poppy = await flagsSettled({ has: ['class=poppy'] });
  await checkAgainstApi(poppy, 'class=poppy');
  expect(poppy.count === both.count - cannabis, `with cannabis unticked the count is ${poppy.count}, expected ${both.count} − ${cannabis}`);
  expect(poppy.paths.every((p) => p.cls === 'poppy'), 'cannabis plots are still drawn with only poppy ticked');
  await page.uncheck('#flag-class-poppy');
  await page.waitForFunction(() => document.querySelector('#flag-count').dataset.count === '0' && window.VigilMap.flags().plots.length === 0);
  await page.check('#flag-class-cannabis');
  const onlyCannabis = await flagsSettled({ has: ['class=cannabis'] });
  await checkAgainstApi(onlyCannabis, 'class=cannabis');
  expect(onlyCannabis.count === cannabis, `cannabis alone: ${onlyCannabis.count}, expected ${cannabis}`);
  await page.check('#flag-class-poppy');
  const back = await flagsSettled({ hasNot: ['class='] });
  expect(back.count === both.count, `both classes again: ${back.count}, was ${both.count}`);
  await page.selectOption('#flag-min-confidence', '0.95');
  const confident = await flagsSettled({ has: ['min_confidence=0.95'] });
  await checkAgainstApi(confident, 'min_confidence=0.95');
  expect(confident.count <= both.count, 'a minimum confidence added flags');
  await page.selectOption('#flag-min-confidence', '');
  const reset = await flagsSettled({ hasNot: ['min_confidence='] });
  expect(reset.count === both.count, `after clearing the confidence filter: ${reset.count}, was ${both.count}`);
  console.log(`     ${both.count} flags, ${poppy.count} poppy, ${cannabis} cannabis, ${confident.count} at ≥ 95 %`);
});

await step('the English switch relabels the layer, the legend and the panel', async () => {
  const id = near.paths.find((p) => p.cls === 'poppy').id;
  await page.click('#flag-list-box summary');
  await page.click(`#flag-list .list-item[data-id="${id}"]`);
  await panelReady(id);
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  expect((await field('class')).trim() === 'Opium poppy', `class in English: "${await field('class')}"`);
  expect((await page.locator('#flag-count').innerText()).includes('flagged plot'), 'the count is not in English');
  expect((await page.locator('#legend').innerText()).includes('Suspected cannabis'), 'the legend is not in English');
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.documentElement.lang === 'vi');
  expect((await field('class')).trim() === 'Thuốc phiện', 'the class did not return to Vietnamese');
  await chipLoaded(id);
});

await step('the flag panel fits a narrow (laptop) window', async () => {
  await page.setViewportSize({ width: 900, height: 650 });
  await page.waitForFunction(() => document.querySelector('#map').getBoundingClientRect().width > 300);
  const boxes = await page.evaluate(() => {
    const r = (s) => {
      const b = document.querySelector(s).getBoundingClientRect();
      return { x: b.x, y: b.y, w: b.width, h: b.height };
    };
    const img = document.querySelector('#flag-chip');
    return { map: r('#map'), panel: r('#flag-panel'), img: img ? r('#flag-chip') : null, vw: window.innerWidth, sw: document.documentElement.scrollWidth };
  });
  expect(boxes.map.w > 300 && boxes.map.h > 300, `the map is too small in a 900x650 window: ${JSON.stringify(boxes.map)}`);
  expect(boxes.panel.x >= 0 && boxes.panel.x + boxes.panel.w <= boxes.vw + 1, `the flag panel is off screen: ${JSON.stringify(boxes.panel)}`);
  expect(boxes.img && boxes.img.w <= boxes.panel.w, `the chip is wider than the panel: ${JSON.stringify(boxes)}`);
  expect(boxes.sw <= boxes.vw + 1, `the page scrolls sideways (${boxes.sw} > ${boxes.vw})`);
  await screenshot('-narrow');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.querySelector('#flag-panel').hidden);
});

await step('a province-24 analyst sees no flags over the same place', async () => {
  const bboxes = all.features.map((f) => f.bbox);
  const flagsBox = [Math.min(...bboxes.map((b) => b[0])), Math.min(...bboxes.map((b) => b[1])), Math.max(...bboxes.map((b) => b[2])), Math.max(...bboxes.map((b) => b[3]))];
  await page.click('#logout');
  await page.locator('#login-view').waitFor({ state: 'visible' });
  expect((await page.evaluate(() => window.VigilMap.flags().plots.length)) === 0, 'flag plots stay on the map after logging out');
  await login(OTHER_TOKEN);
  await page.check('#flag-layer-toggle');
  let v = await flagsSettled();
  // Zoom out until the view covers the province-08 flags.
  const covers = (view) => {
    const [w, s, e, n] = view.split(',').map(Number);
    return w <= flagsBox[0] && s <= flagsBox[1] && e >= flagsBox[2] && n >= flagsBox[3];
  };
  for (let i = 0; i < 8 && !covers(v.view); i++) {
    const z = v.zoom;
    await page.click('.maplibregl-ctrl-zoom-out');
    v = await flagsSettled({ maxZoom: z - 0.5 });
  }
  expect(covers(v.view), `the view ${v.view} never covered the flags at ${flagsBox.join(',')}`);
  expect(v.count === 0 && v.paths.length === 0 && v.dots === 0 && v.inCells === 0, `the province-24 analyst sees ${v.count} flags (${v.paths.length} plots, ${v.dots} dots, ${v.inCells} in cells)`);
  await checkAgainstApi(v, 'province 24', OTHER_TOKEN);
  const mine = await apiGet(`/collections/flags/items?${v.query}`);
  expect(mine.numberMatched > 0, `the province-08 analyst would see no flags in ${v.view} either, so this proves nothing`);
  const id = all.features[0].id;
  const item = await apiFetch(`/collections/flags/items/${id}`, OTHER_TOKEN);
  expect(item.status === 404, `GET /collections/flags/items/${id} as the province-24 analyst answered ${item.status}`);
  const chip = await apiFetch(`/v1/flags/${id}/chip.png`, OTHER_TOKEN);
  expect(chip.status === 404, `GET /v1/flags/${id}/chip.png as the province-24 analyst answered ${chip.status}`);
  console.log(`     view ${v.view} at zoom ${v.zoom}: 0 flags for province 24, ${mine.numberMatched} for province 08`);
});

await step('no request left 127.0.0.1', async () => {
  expect(blocked.length === 0, `the page tried to load from other hosts: ${blocked.join(', ')}`);
});

await step('the console shows no errors', async () => {
  expect(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
});

await screenshot();
clearTimeout(overall);
await finish(0);
