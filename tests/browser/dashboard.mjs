#!/usr/bin/env node
// Browser test of the dashboard ("Bảng điều khiển", web/dashboard.js) in headless Chromium: an
// analyst of province 08 opens the map and the dashboard, reads the KPI cards (same numbers,
// ratings and texts as /v1/reports/kpis), changes the period, reads the chart over time and the
// commune choropleth with its legend, and downloads the PDF, XLSX and CSV reports with the token.
// Then a national analyst (VIGIL_NATIONAL_TOKEN) picks province VIGIL_HOT_PROVINCE and switches
// on the hotspot analysis layers ("Phân tích điểm nóng", web/hotspot-layers.js): the heat map's
// tiles (200 image/png with the token, drawn), Gi* (the hot commune VIGIL_HOT_COMMUNE coloured
// hot), the suggested clusters and the emerging hot spots, each as the API answers.
//
//   VIGIL_URL=http://127.0.0.1:18181 VIGIL_TOKEN=vgl_...analyst08 VIGIL_NATIONAL_TOKEN=vgl_... \
//   VIGIL_HOT_PROVINCE=14 VIGIL_HOT_COMMUNE=04006 [VIGIL_SCREENSHOT=/tmp/d.png] node dashboard.mjs
//
// tests/web_dashboard.rs prepares the data: 4 new hotspots in 08 in 2026-H1, 1 in 2026-03; in 14
// a 3 × 3 block of communes with 4 active hotspots each around VIGIL_HOT_COMMUNE.
// Every wait is for a condition on the page, never a fixed time. Exits 0 when every check passed,
// 1 when one failed, 2 on bad arguments.

import { chromium } from 'playwright-core';
import { readFile } from 'node:fs/promises';
import { CheckFailed, expect, finishRun, insidePoints, launchChromium, loopback, loopbackOnly, pixelAt, saveScreenshot, stepRunner } from './harness.mjs';

const VIGIL_URL = (process.env.VIGIL_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.VIGIL_TOKEN || '';
const NATIONAL_TOKEN = process.env.VIGIL_NATIONAL_TOKEN || '';
const HOT_PROVINCE = process.env.VIGIL_HOT_PROVINCE || '';
const HOT_COMMUNE = process.env.VIGIL_HOT_COMMUNE || '';
const SHOT = process.env.VIGIL_SCREENSHOT || '';
const CHROMIUM = process.env.VIGIL_CHROMIUM || '/usr/bin/chromium';
const TOTAL_TIMEOUT_MS = Number(process.env.VIGIL_TEST_TIMEOUT_MS || 230000);
const STEP_TIMEOUT_MS = 30000;

function usage(msg) {
  console.error(`dashboard: ${msg}`);
  console.error('usage: VIGIL_URL=http://127.0.0.1:PORT VIGIL_TOKEN=vgl_... [VIGIL_SCREENSHOT=FILE.png] node dashboard.mjs');
  process.exit(2);
}
if (!VIGIL_URL) usage('VIGIL_URL is not set');
if (!TOKEN) usage('VIGIL_TOKEN is not set');
if (!NATIONAL_TOKEN || !HOT_PROVINCE || !HOT_COMMUNE) usage('VIGIL_NATIONAL_TOKEN, VIGIL_HOT_PROVINCE and VIGIL_HOT_COMMUNE must be set');
const { allowedHosts: ALLOWED_HOSTS } = loopback(VIGIL_URL, usage);

const STATUS_TEXT = { green: 'Đạt chỉ tiêu', amber: 'Gần đạt', red: 'Chưa đạt', info: 'Theo dõi', no_data: 'Chưa có số liệu' };
const GROUP_TEXT = { hotspots: 'Điểm ma túy', drug_free: 'Xã không ma túy', cultivation: 'Trồng cây có chất ma túy', coverage: 'Bay khảo sát' };

async function apiGet(path, token = TOKEN) {
  const res = await fetch(`${VIGIL_URL}${path}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
  const text = await res.text();
  if (res.status !== 200) throw new CheckFailed(`GET ${path} -> HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}
const kpis = (q) => apiGet(`/v1/reports/kpis?${q}`);

const results = [];
const blocked = [];
const consoleErrors = [];
const requests = [];
const responses = [];
let browser;
let page;

const screenshot = (suffix = '') => saveScreenshot(page, SHOT, suffix);

const finish = (code) => finishRun('dashboard', results, browser, code);

async function pageState() {
  if (!page) return null;
  return page
    .evaluate(() => {
      const p = document.querySelector('#dashboard-panel');
      const c = document.querySelector('#dash-chart');
      const l = document.querySelector('#dash-legend');
      const hs = Array.from(document.querySelectorAll('[id^=hs-status-], [id^=hs-legend-]')).map((e) => `${e.id}: ${JSON.stringify({ ...e.dataset })} ${e.innerText.slice(0, 200)}`);
      return {
        panel: p && { ...p.dataset, hidden: p.hidden },
        chart: c && { ...c.dataset },
        legend: l && { ...l.dataset },
        hotspots: hs,
        error: (document.querySelector('#dash-error') || {}).innerText,
        download: (document.querySelector('#dash-dl-status') || {}).innerText
      };
    })
    .catch(() => null);
}

const step = stepRunner({ results, blocked, consoleErrors, screenshot, finish,
  diagnose: async () => {
    const s = await pageState();
    if (s) console.error(`  page state: ${JSON.stringify(s)}`);
  }
});

setTimeout(async () => {
  console.error(`FAIL the whole test took longer than ${TOTAL_TIMEOUT_MS} ms`);
  results.push({ name: 'total time', ok: false });
  await screenshot();
  await finish(1);
}, TOTAL_TIMEOUT_MS).unref();

// The choropleth's classes, light to dark (web/dashboard.js); no value is grey.
const RAMP = ['#fef0d9', '#fdcc8a', '#fc8d59', '#e34a33', '#b30000'];
const waitFor = (fn, arg) => page.waitForFunction(fn, arg, { timeout: STEP_TIMEOUT_MS, polling: 100 });

/**
 * A page point inside commune `f` (GeoJSON with geometry) where the map draws that commune of the
 * choropleth and nothing else is on top (no hotspot, flag, control or popup), or
 * { miss } saying why not.
 */
async function freeCommunePoint(f) {
  const code = String(f.properties.code);
  return page.evaluate(
    ({ code, pts }) => {
      const mapBox = document.querySelector('#map').getBoundingClientRect();
      const hotspots = window.VigilMap.drawn().points;
      const seen = new Set();
      for (const [lon, lat] of pts) {
        const { x, y } = window.VigilMap.toPage(lon, lat);
        if (x < mapBox.left + 12 || x > mapBox.right - 12 || y < mapBox.top + 12 || y > mapBox.bottom - 12) continue;
        const el = document.elementFromPoint(x, y);
        if (!el || !el.closest('#map') || el.closest('.maplibregl-ctrl') || el.closest('.maplibregl-popup')) {
          seen.add(el ? `${el.tagName}.${el.getAttribute('class')}` : 'none');
          continue;
        }
        if (hotspots.some((p) => Math.hypot(p.x - x, p.y - y) < 14)) continue;
        if (window.VigilMap.flagAtPage(x, y)) continue;
        const at = window.VigilMap.choroplethAtPage(x, y);
        if (at !== code) {
          seen.add(`commune ${at}`);
          continue;
        }
        return { x, y };
      }
      return { miss: `${pts.length} points inside; drawn: ${window.VigilMap.choropleth().join(',')}; on top: ${[...seen].slice(0, 5).join(' | ')}` };
    },
    { code, pts: insidePoints(f) }
  );
}

/** #rrggbb blended at `alpha` over `under` (#rrggbb), as [r, g, b]. */
function blend(hex, alpha, under) {
  const c = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
  const [a, b] = [c(hex), c(under)];
  return a.map((v, i) => alpha * v + (1 - alpha) * b[i]);
}

/** Waits until the cards, the chart and the choropleth show `query`. */
async function settled(query, points) {
  await waitFor(
    ({ q, n }) => {
      const p = document.querySelector('#dashboard-panel');
      const c = document.querySelector('#dash-chart');
      const l = document.querySelector('#dash-legend');
      return p && !p.hidden && p.dataset.state === 'ready' && p.dataset.query === q && c.dataset.state === 'ready' && c.dataset.points === String(n) && !!l;
    },
    { q: query, n: points }
  );
}

async function cards() {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('#dash-cards .dash-card')).map((c) => ({
      key: c.dataset.key,
      status: c.dataset.status,
      value: c.dataset.value,
      valueText: c.querySelector('[data-field=value]').innerText.trim(),
      target: c.querySelector('[data-field=target]').innerText.trim(),
      statusText: c.querySelector('[data-field=status]').innerText.trim(),
      border: getComputedStyle(c).borderLeftColor,
      group: c.closest('.dash-group').dataset.group
    }))
  );
}

async function sameAsApi(api, what) {
  const got = await cards();
  const keys = Object.keys(api.kpis);
  expect(got.length === keys.length, `${what}: ${got.length} cards, the API has ${keys.length} KPIs`);
  const borders = {};
  for (const k of Object.values(api.kpis)) {
    const c = got.find((x) => x.key === k.key);
    expect(c, `${what}: no card for ${k.key}`);
    const want = k.value === null ? '' : String(k.value);
    expect(c.value === want, `${what}: ${k.key} shows ${c.value}, the API ${want}`);
    expect(c.status === k.status, `${what}: ${k.key} is rated ${c.status}, the API ${k.status}`);
    expect(c.statusText === STATUS_TEXT[k.status], `${what}: ${k.key} says "${c.statusText}" for ${k.status}`);
    expect(c.group === k.group, `${what}: ${k.key} is in group ${c.group}, the API ${k.group}`);
    if (k.target) expect(c.target === k.target.label, `${what}: ${k.key} target "${c.target}", the API "${k.target.label}"`);
    borders[k.status] = borders[k.status] || new Set();
    borders[k.status].add(c.border);
  }
  const colours = Object.entries(borders).filter(([s]) => ['green', 'amber', 'red'].includes(s));
  for (const [s, set] of colours) expect(set.size === 1, `${what}: the ${s} cards have different colours ${[...set]}`);
  const distinct = new Set(colours.map(([, set]) => [...set][0]));
  expect(distinct.size === colours.length, `${what}: green/amber/red cards share a colour`);
  return got;
}

async function chartSameAsApi(periods, key) {
  const pts = await page.evaluate(() => Array.from(document.querySelectorAll('#dash-chart circle.dash-point')).map((c) => ({ period: c.dataset.period, value: c.dataset.value })));
  expect(pts.length === periods.length, `the chart has ${pts.length} points, expected ${periods.length}`);
  for (let i = 0; i < periods.length; i += 1) {
    const api = await kpis(`period=${periods[i]}&province=08`);
    const v = api.kpis[key].value;
    expect(pts[i].period === periods[i], `chart point ${i} is ${pts[i].period}, expected ${periods[i]}`);
    expect(pts[i].value === (v === null ? '' : String(v)), `chart point ${periods[i]}: ${pts[i].value}, the API ${v}`);
  }
}

// --------------------------------------------------------------------- run
browser = await launchChromium(chromium, CHROMIUM);
const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, serviceWorkers: 'block', locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh', acceptDownloads: true });
await loopbackOnly(context, ALLOWED_HOSTS, blocked);
/** Records the console errors, requests (with their token) and responses of `p`. */
function watch(p) {
  p.setDefaultTimeout(STEP_TIMEOUT_MS);
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = (msg.location() && msg.location().url) || '';
    consoleErrors.push(`${msg.text()}${url ? ` (${url})` : ''}`);
  });
  p.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  p.on('request', async (req) => {
    const headers = await req.allHeaders().catch(() => ({}));
    requests.push({ method: req.method(), url: req.url(), token: headers.authorization || '' });
  });
  // Recorded at once (in the order the browser saw them); the headers come later (`ready`).
  p.on('response', (res) => {
    const e = { url: res.url(), status: res.status(), type: '', token: '' };
    e.ready = Promise.all([res.allHeaders(), res.request().allHeaders()])
      .then(([h, rh]) => {
        e.type = h['content-type'] || '';
        e.token = rh.authorization || '';
      })
      .catch(() => {});
    responses.push(e);
  });
}
page = await context.newPage();
watch(page);

let h1;
let march;
await step('the API has the known figures (4 new hotspots in 2026-H1, 1 in 2026-03)', async () => {
  h1 = await kpis('period=2026-H1&province=08');
  march = await kpis('period=2026-03&province=08');
  expect(h1.kpis.hotspots_new.value === 4, `2026-H1: ${h1.kpis.hotspots_new.value} new hotspots`);
  expect(march.kpis.hotspots_new.value === 1, `2026-03: ${march.kpis.hotspots_new.value} new hotspots`);
});

await step('the analyst opens the map and the dashboard, in Vietnamese', async () => {
  const res = await page.goto(`${VIGIL_URL}/map/`, { waitUntil: 'domcontentloaded' });
  expect(res && res.ok(), `GET /map/ answered HTTP ${res && res.status()}`);
  await page.locator('#login-token').waitFor({ state: 'visible' });
  await page.fill('#login-token', TOKEN);
  await page.click('#login-submit');
  await page.locator('#app').waitFor({ state: 'visible' });
  await waitFor(() => document.querySelector('#hotspot-count').dataset.state === 'ready');
  expect((await page.getAttribute('html', 'lang')) === 'vi', 'the page language is not vi by default');
  await page.locator('#dashboard-toggle').waitFor({ state: 'visible' });
  const label = (await page.locator('#dashboard-toggle').innerText()).trim();
  expect(label === 'Bảng điều khiển', `the dashboard button says "${label}"`);
  await page.click('#dashboard-toggle');
  await page.locator('#dashboard-panel').waitFor({ state: 'visible' });
  expect((await page.getAttribute('#dashboard-toggle', 'aria-expanded')) === 'true', 'the button does not say it is expanded');
  expect((await page.inputValue('#dash-area')) === 'province:08', 'the area is not the analyst\'s province 08 by default');
});

await step('2026-H1: the KPI cards show the API\'s numbers, ratings and texts, grouped', async () => {
  await page.selectOption('#dash-period-kind', 'half');
  await page.fill('#dash-year', '2026');
  await page.dispatchEvent('#dash-year', 'change');
  await page.selectOption('#dash-sub', '1');
  await settled('period=2026-H1&province=08', 4);
  const got = await sameAsApi(h1, '2026-H1');
  const nw = got.find((c) => c.key === 'hotspots_new');
  expect(nw.valueText === '4' && nw.statusText === 'Chưa đạt', `new hotspots card: "${nw.valueText}", "${nw.statusText}"`);
  const groups = await page.evaluate(() => Array.from(document.querySelectorAll('#dash-cards .dash-group')).map((g) => [g.dataset.group, g.querySelector('h3').innerText.trim()]));
  for (const [g, text] of groups) expect(GROUP_TEXT[g] === text, `group ${g} is headed "${text}"`);
  expect(groups.length === 4, `${groups.length} groups: ${groups.map((g) => g[0])}`);
  const title = await page.locator('#dash-title').innerText();
  expect(title.includes('Tuyên Quang'), `the title says "${title}"`);
});

await step('the chart has one point per half-year (2024-H2 … 2026-H1), as the API', async () => {
  expect((await page.inputValue('#dash-chart-kpi')) === 'hotspots_new', 'the chart does not show new hotspots');
  await chartSameAsApi(['2024-H2', '2025-H1', '2025-H2', '2026-H1'], 'hotspots_new');
  expect(await page.locator('#dash-chart svg polyline').count() === 1, 'the chart has no line');
});

await step('the choropleth draws the communes of 08 with a legend and a tooltip', async () => {
  const fc = await apiGet('/v1/reports/communes?period=2026-H1&province=08');
  const withGeom = fc.features.filter((f) => f.geometry);
  expect(withGeom.length >= 2, `the API gives ${withGeom.length} communes with a boundary`);
  const legend = page.locator('#dash-legend');
  await legend.waitFor({ state: 'visible' });
  expect((await legend.getAttribute('data-communes')) === String(withGeom.length), `the legend counts ${await legend.getAttribute('data-communes')} communes`);
  const text = await legend.innerText();
  expect(text.includes('Chú giải'), `the legend says "${text}"`);
  // Every commune is drawn by the map from the communes' vector tiles, in its class colour.
  const codes = withGeom.map((f) => String(f.properties.code));
  await waitFor((codes) => document.querySelector('#map').dataset.tiles === 'idle' && codes.every((c) => window.VigilMap.choropleth().includes(c)), codes).catch(async (e) => {
    const st = await page.evaluate(() => ({ drawn: window.VigilMap.choropleth(), set: document.querySelector('#map').dataset.choropleth, tiles: document.querySelector('#map').dataset.tiles, err: document.querySelector('#map').dataset.tileError, view: document.querySelector('#map').dataset.view, zoom: document.querySelector('#map').dataset.zoom }));
    throw new CheckFailed(`the choropleth draws ${JSON.stringify(st)}; the API has ${codes.join(',')}: ${e.message}`);
  });
  const max = Math.max(...withGeom.map((f) => f.properties.hotspots_new).filter((v) => typeof v === 'number'));
  const stepSize = max <= 0 ? 1 : Math.max(1, Math.ceil(max / RAMP.length));
  let checked = 0;
  for (const f of withGeom) {
    const at = await freeCommunePoint(f);
    if (at.miss) continue;
    const v = f.properties.hotspots_new;
    const want = typeof v !== 'number' ? '#cccccc' : RAMP[max <= 0 ? 0 : Math.min(RAMP.length - 1, Math.floor(v / stepSize))];
    const got = (await pixelAt(page, at.x, at.y)).match(/\d+/g).map(Number);
    // 65 % of the class colour over the land (#f3efe6) and the province's faint tint.
    const exp = blend(want, 0.65, '#f3efe6');
    const off = Math.max(...got.map((g, i) => Math.abs(g - exp[i])));
    expect(off <= 14, `commune ${f.properties.code} (${v} new hotspots) is drawn rgb(${got.join(', ')}), expected ${want} at 65 % ≈ rgb(${exp.map(Math.round).join(', ')})`);
    checked += 1;
  }
  expect(checked >= 2, `only ${checked} communes could be checked by their pixels`);
  const f = withGeom.find((x) => x.properties.code === '02200') || withGeom[0];
  const at = await freeCommunePoint(f);
  expect(!at.miss, `no free point of commune ${f.properties.code}: ${at.miss}`);
  await page.mouse.move(at.x, at.y);
  const tip = page.locator('.map-hover[data-kind=dash-tooltip]');
  await tip.first().waitFor({ state: 'visible' });
  const tipText = await tip.first().innerText();
  const want = String(f.properties.hotspots_new);
  expect(tipText.includes(f.properties.name || f.properties.code) && tipText.includes(want), `the tooltip says "${tipText}", wanted ${f.properties.name}: ${want}`);
  await page.mouse.move(5, 5);
});

await step('March 2026: the values change (1 new hotspot) and the chart shows six months', async () => {
  await page.selectOption('#dash-period-kind', 'month');
  await page.selectOption('#dash-sub', '3');
  await settled('period=2026-03&province=08', 6);
  const got = await sameAsApi(march, '2026-03');
  const nw = got.find((c) => c.key === 'hotspots_new');
  expect(nw.value === '1' && nw.valueText === '1', `new hotspots in March: ${nw.valueText}`);
  await chartSameAsApi(['2025-10', '2025-11', '2025-12', '2026-01', '2026-02', '2026-03'], 'hotspots_new');
});

await step('the PDF report for March downloads with the token and is a PDF', async () => {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#dash-dl-pdf')]);
  const file = await dl.path();
  const bytes = await readFile(file);
  expect(bytes.subarray(0, 4).toString('latin1') === '%PDF', `the download starts with ${JSON.stringify(bytes.subarray(0, 8).toString('latin1'))}`);
  const r = requests.find((x) => x.url.includes('/v1/reports/report.pdf?period=2026-03&province=08'));
  expect(r, 'no request for the PDF report of 2026-03 in 08');
  expect(r.token === `Bearer ${TOKEN}`, 'the PDF request did not carry the token');
  await waitFor(() => document.querySelector('#dash-dl-status').dataset.state === 'done');
  console.log(`     ${dl.suggestedFilename()}: ${bytes.length} bytes`);
});

const REPORT_TYPES = {
  xlsx: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'PK'],
  csv: ['text/csv', null]
};
for (const [fmt, [type, magic]] of Object.entries(REPORT_TYPES)) {
  await step(`the ${fmt.toUpperCase()} report for March downloads with the token as ${type}`, async () => {
    const want = `/v1/reports/report.${fmt}?period=2026-03&province=08`;
    const [res, dl] = await Promise.all([
      page.waitForResponse((r) => r.url().includes(want)),
      page.waitForEvent('download'),
      page.click(`#dash-dl-${fmt}`)
    ]);
    expect(res.status() === 200, `${want} answered HTTP ${res.status()}`);
    const ctype = (await res.allHeaders())['content-type'] || '';
    expect(ctype.startsWith(type), `${want} has Content-Type ${ctype}, wanted ${type}`);
    const r = requests.find((x) => x.url.includes(want));
    expect(r && r.token === `Bearer ${TOKEN}`, `the ${fmt} request did not carry the token`);
    const bytes = await readFile(await dl.path());
    if (magic) expect(bytes.subarray(0, 2).toString('latin1') === magic, `the ${fmt} download starts with ${JSON.stringify(bytes.subarray(0, 4).toString('latin1'))}`);
    else expect(bytes.length > 0 && bytes.toString('utf8').includes('hotspots_new'), `the ${fmt} download does not name hotspots_new: ${bytes.toString('utf8').slice(0, 200)}`);
    await waitFor(() => document.querySelector('#dash-dl-status').dataset.state === 'done');
    console.log(`     ${dl.suggestedFilename()}: ${bytes.length} bytes`);
  });
}

await step('in English the dashboard keeps its period and area and says the ratings in English', async () => {
  await page.click('#lang-switch');
  await waitFor(() => document.documentElement.lang === 'en');
  const label = (await page.locator('#dashboard-toggle').innerText()).trim();
  expect(label === 'Dashboard', `the dashboard button says "${label}" in English`);
  await settled('period=2026-03&province=08', 6);
  const got = await cards();
  const nw = got.find((c) => c.key === 'hotspots_new');
  expect(nw && nw.value === '1' && nw.statusText === 'Off target', `new hotspots in English: ${nw && nw.value}, "${nw && nw.statusText}"`);
  const heading = await page.locator('.dash-group[data-group=hotspots] h3').innerText();
  expect(heading.trim() === 'Drug hotspots', `the hotspots group is headed "${heading}" in English`);
  await page.click('#lang-switch');
  await waitFor(() => document.documentElement.lang === 'vi');
  await settled('period=2026-03&province=08', 6);
});

// ------------------------------------------------------- hotspot analysis (national analyst)
const HP = HOT_PROVINCE;
const apiNat = (path) => apiGet(path, NATIONAL_TOKEN);
/** Waits until layer `key` is drawn for the province (or, with '', the whole country). */
const layerReady = (key, province = HP) =>
  waitFor(
    ({ k, p }) => {
      const s = document.querySelector(`#hs-status-${k}`);
      const l = document.querySelector(`#hs-legend-${k}`);
      const q = l ? l.dataset.query || '' : '';
      const mine = p ? q.split('&').includes(`province=${p}`) : !q.includes('province=');
      return s && s.dataset.state === 'ready' && l && l.dataset.state === 'ready' && mine;
    },
    { k: key, p: province }
  );
async function switchOn(key, province = HP) {
  await page.locator(`#hs-on-${key}`).check();
  await layerReady(key, province);
}
async function closePopup() {
  // An event, not a click: the popup may open under the dashboard panel.
  if (await page.locator('.maplibregl-popup-close-button').count()) await page.locator('.maplibregl-popup-close-button').first().dispatchEvent('click');
  await waitFor(() => !document.querySelector('.maplibregl-popup:not(.map-hover)'));
}
/** Clicks the shape (an event at its middle: it may lie under another layer) and returns its popup. */
/**
 * Clicks analysis feature `f` (GeoJSON from the API; `key` its layer) at a point inside it where
 * the map finds that very feature, and returns its popup.
 */
async function popupOf(key, f, id) {
  await closePopup();
  const find = () => page.evaluate(
    ({ key, id, pts }) => {
      const mapBox = document.querySelector('#map').getBoundingClientRect();
      for (const [lon, lat] of pts) {
        const { x, y } = window.VigilMap.toPage(lon, lat);
        if (x < mapBox.left + 8 || x > mapBox.right - 8 || y < mapBox.top + 8 || y > mapBox.bottom - 8) continue;
        const el = document.elementFromPoint(x, y);
        if (!el || !el.closest('#map') || el.closest('.maplibregl-ctrl') || el.closest('.maplibregl-popup')) continue;
        if (window.VigilMap.drawn().points.some((p) => Math.hypot(p.x - x, p.y - y) < 12)) continue;
        const hit = window.VigilMap.analysisAtPage(x, y);
        if (hit && hit.key === key && hit.id === id) return { x, y };
      }
      return null;
    },
    { key, id: String(id), pts: f.geometry.type === 'Point' ? [f.geometry.coordinates] : insidePoints(f) }
  );
  let at = await find();
  if (!at && f.geometry.type !== 'Point') {
    // A small shape (a cluster is as wide as its hotspots' markers): closer, it has room.
    const all = (f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates).flat(2);
    const xs = all.map((c) => c[0]);
    const ys = all.map((c) => c[1]);
    await page.evaluate((b) => window.VigilMap.fit(b), [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]);
    // Drawn at the new view (the analysis sources are tiled again at its zoom), not just idle
    // from before the fit.
    await page.evaluate(() => window.VigilMap.idle());
    await waitFor(() => document.querySelector('#map').dataset.tiles === 'idle' && document.querySelector('#hotspot-count').dataset.state === 'ready');
    at = await find();
  }
  expect(at, `no free point of ${key} ${id} to click`);
  await page.mouse.click(at.x, at.y);
  const box = page.locator('.maplibregl-popup .hs-popup');
  await box.first().waitFor({ state: 'visible' });
  return box.first();
}

/**
 * Waits until the map holds the `n` features of analysis layer `key` and draws some of them in
 * the view, and returns them ({ id, colour, kind, count, rendered }).
 */
async function analysisDrawn(key, n, what) {
  await waitFor(({ key, n }) => {
    const a = window.VigilMap.analysis(key);
    return document.querySelector('#map').dataset.tiles === 'idle' && a.length === n && a.some((x) => x.rendered);
  }, { key, n }).catch(async () => {
    const a = await page.evaluate((k) => window.VigilMap.analysis(k), key);
    throw new CheckFailed(`${what}: the map holds ${a.length} ${key} features (${a.filter((x) => x.rendered).length} drawn in view), the API has ${n}`);
  });
  return page.evaluate((k) => window.VigilMap.analysis(k), key);
}

/** Double-clicks `times` times beside the middle of commune `code` of the choropleth (not on a marker). */
async function zoomNear(code, times) {
  const period = new URLSearchParams(await page.getAttribute('#dashboard-panel', 'data-query')).get('period');
  const fc = await apiNat(`/v1/reports/communes?period=${period}&province=${HP}`);
  const idx = fc.features.findIndex((f) => f.geometry && f.properties.code === code);
  expect(idx >= 0, `the choropleth has no commune ${code}`);
  for (let i = 0; i < times; i += 1) {
    // Until the view stops moving.
    await waitFor(() => !window.VigilMap.moving() && document.querySelector('#hotspot-count').dataset.state === 'ready');
    // A point of the commune where nothing but the commune itself is on top (no marker, legend, panel).
    let at = await freeCommunePoint(fc.features[idx]);
    if (at.miss) {
      // The zoom-ins before may have left the commune outside the view: bring it to the middle,
      // at the same zoom, and look again.
      const [lon, lat] = insidePoints(fc.features[idx])[0];
      await page.evaluate(([x, y]) => window.VigilMap.centre(x, y), [lon, lat]);
      await page.evaluate(() => window.VigilMap.idle());
      await waitFor(() => document.querySelector('#map').dataset.tiles === 'idle' && document.querySelector('#hotspot-count').dataset.state === 'ready');
      at = await freeCommunePoint(fc.features[idx]);
    }
    expect(at && !at.miss, `no free point of commune ${code} to double-click: ${at && at.miss}`);
    const z0 = Number(await page.getAttribute('#map', 'data-zoom'));
    await page.mouse.dblclick(at.x, at.y);
    await waitFor((z) => Number(document.querySelector('#map').dataset.zoom) > z, z0);
  }
}

await step('a national analyst opens the dashboard: the hotspot analysis asks for a province, then takes 14', async () => {
  const context2 = await browser.newContext({ viewport: { width: 1400, height: 900 }, serviceWorkers: 'block', locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' });
  await loopbackOnly(context2, ALLOWED_HOSTS, blocked);
  page = await context2.newPage();
  watch(page);
  await page.goto(`${VIGIL_URL}/map/`, { waitUntil: 'domcontentloaded' });
  await page.locator('#login-token').waitFor({ state: 'visible' });
  await page.fill('#login-token', NATIONAL_TOKEN);
  await page.click('#login-submit');
  await page.locator('#app').waitFor({ state: 'visible' });
  // The map has fitted the provinces (which would otherwise move it after the dashboard did).
  await waitFor(() => document.querySelector('#hotspot-count').dataset.state === 'ready');
  await page.click('#dashboard-toggle');
  await page.locator('#dashboard-panel').waitFor({ state: 'visible' });
  const heading = (await page.locator('#hs-heading').innerText()).trim();
  expect(heading === 'Phân tích điểm nóng', `the section is headed "${heading}"`);
  expect((await page.inputValue('#dash-area')) === '', 'a national analyst does not start with the whole country');
  const hint = await page.locator('#hs-area').innerText();
  expect(hint.includes('toàn quốc'), `with the whole country the section says "${hint}"`);
  // The whole country, as the API allows national users.
  const all = await apiNat('/v1/analytics/clusters?eps_m=150&min_points=3');
  await switchOn('clusters', '');
  await analysisDrawn('clusters', all.features.filter((f) => f.geometry).length, 'clusters of the whole country');
  await waitFor((code) => !!document.querySelector(`#dash-area option[value="province:${code}"]`), HP);
  await page.selectOption('#dash-area', `province:${HP}`);
  await waitFor((code) => document.querySelector('#dash-hotspots').dataset.province === code, HP);
  const area = await page.locator('#hs-area').innerText();
  expect(area.includes(HP), `the section names "${area}", not province ${HP}`);
  // The province's choropleth is drawn (and the map fitted to it), not the whole country's.
  const q = await page.getAttribute('#dashboard-panel', 'data-query');
  const period = new URLSearchParams(q).get('period');
  const fc = await apiNat(`/v1/reports/communes?period=${period}&province=${HP}`);
  const n14 = String(fc.features.filter((f) => f.geometry).length);
  await waitFor(
    ({ n, p }) => {
      const l = document.querySelector('#dash-legend');
      const panel = document.querySelector('#dashboard-panel');
      return panel.dataset.state === 'ready' && panel.dataset.query.endsWith(`province=${p}`) && l && l.dataset.communes === n;
    },
    { n: n14, p: HP }
  );
});

await step('Bản đồ nhiệt: the density tiles answer 200 image/png to the token and are drawn, with a YlOrRd legend', async () => {
  const tj = await apiNat(`/v1/analytics/density.json?province=${HP}&bandwidth_m=1000`);
  expect(typeof tj['vigil:max'] === 'number' && tj['vigil:max'] > 0, `density.json has vigil:max ${tj['vigil:max']}`);
  await page.locator('#hs-on-heat').check();
  // Below the TileJSON's minzoom the layer asks to zoom in: do so until tiles load.
  for (let i = 0; i < 8; i += 1) {
    await waitFor(() => ['ready', 'zoom', 'error'].includes(document.querySelector('#hs-status-heat').dataset.state));
    const st = await page.getAttribute('#hs-status-heat', 'data-state');
    if (st !== 'zoom') break;
    await page.click('.maplibregl-ctrl-zoom-in');
  }
  await layerReady('heat');
  await waitFor(() => Number(document.querySelector('#map').dataset.heatTiles) > 0);
  // Closer to the hot commune, where the kernels are wider than the hotspot markers.
  await zoomNear(HOT_COMMUNE, 2);
  await layerReady('heat');
  await waitFor(() => Number(document.querySelector('#map').dataset.heatTiles) > 0 && window.VigilMap.heatSettled());
  const tiles = responses.filter((r) => r.url.includes('/v1/analytics/density/') && r.url.includes(`province=${HP}`));
  expect(tiles.length > 0, 'no density tile was requested');
  await Promise.all(tiles.map((r) => r.ready));
  const ok = tiles.filter((r) => r.status === 200);
  expect(ok.length > 0, `no density tile answered 200: ${tiles.map((r) => r.status)}`);
  expect(tiles.every((r) => r.status === 200 || r.status === 204), `density tiles answered ${tiles.map((r) => r.status)}`);
  expect(ok.every((r) => r.type.startsWith('image/png')), `density tiles are ${[...new Set(ok.map((r) => r.type))]}`);
  expect(tiles.every((r) => r.token === `Bearer ${NATIONAL_TOKEN}`), 'a density tile request did not carry the token');
  expect(ok.every((r) => /bandwidth_m=1000/.test(r.url)), 'a tile was asked without bandwidth_m=1000');
  // The tiles the map drew, read again with the token: every coloured pixel is on the ramp, and
  // a pixel free to click (no marker, control, popup or analysis feature there) is found.
  const heat = await page.evaluate(async (token) => {
    const box = document.querySelector('#map').getBoundingClientRect();
    let coloured = 0;
    let ramp = 0;
    let spot = null;
    const urls = window.VigilMap.heatTiles();
    for (const url of urls) {
      const m = /\/density\/(\d+)\/(\d+)\/(\d+)\.png/.exec(url);
      const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
      if (res.status !== 200) continue;
      const bmp = await createImageBitmap(await res.blob());
      const c = document.createElement('canvas');
      c.width = bmp.width;
      c.height = bmp.height;
      const g = c.getContext('2d');
      g.drawImage(bmp, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] === 0) continue;
        coloured += 1;
        // YlOrRd: red is the strongest channel (#ffffb2 … #bd0026).
        if (d[i + 3] < 64 || (d[i] >= d[i + 1] && d[i] >= d[i + 2])) ramp += 1;
      }
      const [z, tx, ty] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const n = 2 ** z;
      for (let y = 2; !spot && y < c.height - 2; y += 3) {
        for (let x = 2; x < c.width - 2; x += 3) {
          const a = d[(y * c.width + x) * 4 + 3];
          if (a < 110 || a > 240) continue;
          const lon = ((tx + (x + 0.5) / c.width) / n) * 360 - 180;
          const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * (ty + (y + 0.5) / c.height)) / n))) * 180) / Math.PI;
          const p = window.VigilMap.toPage(lon, lat);
          if (p.x < box.left + 8 || p.y < box.top + 8 || p.x > box.right - 8 || p.y > box.bottom - 8) continue;
          const el = document.elementFromPoint(p.x, p.y);
          if (!el || !el.closest('#map') || el.closest('.maplibregl-ctrl') || el.closest('.maplibregl-popup')) continue;
          // Where the map draws an analysis feature, a click opens that feature's popup.
          if (window.VigilMap.analysisAtPage(p.x, p.y)) continue;
          // Nor where a hotspot is drawn (its popup would open).
          if (window.VigilMap.drawn().points.some((q) => Math.hypot(q.x - p.x, q.y - p.y) < 14)) continue;
          spot = { x: p.x, y: p.y, alpha: a };
          break;
        }
      }
      bmp.close();
    }
    return { tiles: urls.length, coloured, ramp, spot };
  }, NATIONAL_TOKEN);
  expect(heat.tiles > 0, 'the map drew no heat tile');
  expect(heat.coloured > 0, 'every pixel of the drawn heat tiles is transparent');
  expect(heat.ramp === heat.coloured, `${heat.coloured - heat.ramp} of ${heat.coloured} heat pixels are not on the YlOrRd ramp`);
  const lg = page.locator('#hs-legend-heat');
  expect(Number(await lg.getAttribute('data-max')) === tj['vigil:max'], `the legend tops at ${await lg.getAttribute('data-max')}, density.json at ${tj['vigil:max']}`);
  const text = await lg.innerText();
  expect(text.includes('Bản đồ nhiệt') && text.includes('điểm/km²') && text.includes('1 km'), `the heat legend says "${text}"`);
  expect(await page.locator('#hs-legend-heat .hs-ramp').count() === 1, 'the heat legend has no colour ramp');
  // A click on a coloured pixel (where no marker or panel is) tells the density there.
  const spot = heat.spot;
  expect(spot, 'no coloured heat pixel is free to click');
  const drawnWith = await pixelAt(page, spot.x, spot.y);
  await page.mouse.click(spot.x, spot.y);
  const pop = page.locator('.maplibregl-popup .hs-popup[data-layer=heat]');
  await pop.waitFor({ state: 'visible' });
  const ptext = await pop.innerText();
  expect(ptext.includes('Mật độ tại đây') && ptext.includes('điểm/km²'), `the heat popup says "${ptext}"`);
  const shown = Number(await pop.getAttribute('data-value'));
  const want = ((spot.alpha - 96) / 159) * tj['vigil:max'];
  expect(Math.abs(shown - want) <= 0.15 * tj['vigil:max'], `the heat popup says ${shown} per km², the pixel ${want}`);
  await closePopup();
  // The map draws the heat there: switched off, that pixel changes.
  await page.locator('#hs-on-heat').uncheck();
  await waitFor(() => document.querySelector('#hs-status-heat').dataset.state === 'off');
  await page.waitForTimeout(300);
  const drawnWithout = await pixelAt(page, spot.x, spot.y);
  expect(drawnWith !== drawnWithout, `the pixel under the heat is ${drawnWith} with the layer and without it`);
  await page.locator('#hs-on-heat').check();
  await layerReady('heat');
  await waitFor(() => Number(document.querySelector('#map').dataset.heatTiles) > 0 && window.VigilMap.heatSettled());
  await closePopup();
  console.log(`     ${ok.length} tiles 200 image/png, ${heat.coloured} coloured pixels (${drawnWith} on the map, ${drawnWithout} without); max ${tj['vigil:max']} per km²; ${(ptext.match(/Mật độ tại đây[^\n]*/) || [''])[0]}`);
});

await step('Bản đồ nhiệt: a 2 km bandwidth asks density.json and the tiles again', async () => {
  const before = responses.length;
  await page.selectOption('#hs-bandwidth', '2000');
  await waitFor(() => document.querySelector('#hs-legend-heat') && document.querySelector('#hs-legend-heat').dataset.bandwidth === '2000');
  await layerReady('heat');
  await waitFor(() => Number(document.querySelector('#map').dataset.heatTiles) > 0 && window.VigilMap.heatSettled());
  const later = responses.slice(before);
  expect(later.some((r) => r.url.includes('/v1/analytics/density.json?') && r.url.includes('bandwidth_m=2000') && r.status === 200), 'no density.json with bandwidth_m=2000');
  expect(later.some((r) => r.url.includes('/v1/analytics/density/') && r.url.includes('bandwidth_m=2000') && r.status === 200), 'no tile with bandwidth_m=2000');
  const text = await page.locator('#hs-legend-heat').innerText();
  expect(text.includes('2 km'), `the heat legend says "${text}"`);
});

await step(`Gi*: the legend shows and commune ${HOT_COMMUNE} is drawn as a hot spot, as the API says`, async () => {
  const gi = await apiNat(`/v1/analytics/gistar?province=${HP}&grid=commune&permutations=999`);
  const hot = gi.features.find((f) => String(f.properties.id) === HOT_COMMUNE);
  expect(hot && String(hot.properties.class_fdr).startsWith('hot_'), `the API does not call ${HOT_COMMUNE} hot: ${JSON.stringify(hot && hot.properties)}`);
  await switchOn('gistar');
  const lg = page.locator('#hs-legend-gistar');
  expect(await lg.isVisible(), 'the Gi* legend is not visible');
  const want = [...new Set(gi.features.map((f) => f.properties.class_fdr))].sort().join(',');
  const got = (await lg.getAttribute('data-classes')).split(',').sort().join(',');
  expect(got === want, `the legend has classes ${got}, the API ${want}`);
  const text = await lg.innerText();
  expect(text.includes('Điểm nóng – độ tin cậy 99%') && text.includes('Điểm lạnh – độ tin cậy 99%') && text.includes('Không có ý nghĩa thống kê'), `the Gi* legend says "${text}"`);
  const shapes = await analysisDrawn('gistar', gi.features.filter((f) => f.geometry).length, 'Gi* by commune');
  const d = shapes.find((x) => x.id === HOT_COMMUNE);
  const drawn = d && { cls: d.kind, fill: String(d.colour).toLowerCase() };
  const colours = await page.evaluate(() => window.VigilHotspotLayers.GI_COLORS);
  expect(drawn && drawn.cls === hot.properties.class_fdr, `commune ${HOT_COMMUNE} is drawn as ${drawn && drawn.cls}, the API says ${hot.properties.class_fdr}`);
  expect(drawn.fill === colours[hot.properties.class_fdr].toLowerCase() && ['#d62f27', '#ed7551', '#fab984'].includes(drawn.fill), `commune ${HOT_COMMUNE} is filled ${drawn.fill}`);
  const cold = shapes.filter((x) => x.kind === 'not_significant').map((x) => String(x.colour).toLowerCase());
  expect(cold.every((f) => f !== drawn.fill), 'not-significant communes share the hot colour');
  const pop = await popupOf('gistar', hot, HOT_COMMUNE);
  const ptext = await pop.innerText();
  expect(ptext.includes(hot.properties.label) && ptext.includes('Số điểm đang hoạt động') && ptext.includes(String(hot.properties.value)) && ptext.includes('Xã mẫu'), `the popup says "${ptext}"`);
});

await step('Gi*: a 5 km hexagon grid asks grid=hex&cell_m=5000', async () => {
  const before = responses.length;
  await page.selectOption('#hs-grid', 'hex5000');
  await waitFor(() => document.querySelector('#hs-legend-gistar') && document.querySelector('#hs-legend-gistar').dataset.grid === 'hex5000' && document.querySelector('#hs-legend-gistar').dataset.state === 'ready');
  const r = responses.slice(before).find((x) => x.url.includes('/v1/analytics/gistar?') && x.url.includes('grid=hex') && x.url.includes('cell_m=5000'));
  expect(r && r.status === 200, `gistar with hexagons answered ${r && r.status}`);
  const gi = await apiNat(`/v1/analytics/gistar?province=${HP}&grid=hex&cell_m=5000&permutations=999`);
  await analysisDrawn('gistar', gi.features.filter((f) => f.geometry).length, 'Gi* by 5 km hexagon');
  await page.selectOption('#hs-grid', 'commune');
  await waitFor(() => document.querySelector('#hs-legend-gistar').dataset.grid === 'commune' && document.querySelector('#hs-legend-gistar').dataset.state === 'ready');
});

await step('Cụm đề xuất: as many suggested clusters on the map as the API gives, each with its count', async () => {
  const fc = await apiNat(`/v1/analytics/clusters?province=${HP}&eps_m=150&min_points=3`);
  expect(fc.features.length > 0, 'the API gives no cluster');
  await switchOn('clusters');
  const drawnClusters = await analysisDrawn('clusters', fc.features.filter((f) => f.geometry).length, 'clusters of the province');
  const n = drawnClusters.length;
  expect((await page.getAttribute('#hs-legend-clusters', 'data-count')) === String(fc.features.length), 'the clusters legend has another count');
  const counts = drawnClusters.map((c) => Number(c.count)).sort();
  const want = fc.features.map((f) => f.properties.count).sort();
  expect(JSON.stringify(counts) === JSON.stringify(want), `cluster sizes ${counts}, the API ${want}`);
  const first = fc.features[0].properties;
  const pop = await popupOf('clusters', fc.features[0], first.cluster);
  const ptext = await pop.innerText();
  expect(ptext.includes('Cụm đề xuất tụ điểm') && ptext.includes('Số điểm trong cụm') && ptext.includes(String(first.count)), `the cluster popup says "${ptext}"`);
  console.log(`     ${n} clusters`);
});

await step('Xu hướng điểm nóng: the legend lists the patterns of the API, the popup a strip of the periods', async () => {
  const fc = await apiNat(`/v1/analytics/emerging?province=${HP}&grid=commune&step=quarter&periods=12&measure=active`);
  expect(Array.isArray(fc.periods) && fc.periods.length === 12, `the API gives ${fc.periods && fc.periods.length} periods`);
  await switchOn('emerging');
  const lg = page.locator('#hs-legend-emerging');
  const want = [...new Set(fc.features.map((f) => f.properties.pattern))].sort();
  const got = (await lg.getAttribute('data-patterns')).split(',').filter(Boolean).sort();
  expect(JSON.stringify(got) === JSON.stringify(want), `the legend lists ${got}, the API ${want}`);
  const items = await page.evaluate(() => Array.from(document.querySelectorAll('#hs-legend-emerging li[data-pattern]')).map((li) => [li.dataset.pattern, li.innerText.trim()]));
  expect(items.length === want.length, `${items.length} legend rows for ${want.length} patterns`);
  for (const [pat, text] of items) {
    const label = fc.features.find((f) => f.properties.pattern === pat).properties.label;
    expect(text.startsWith(label), `legend row ${pat} says "${text}", the API "${label}"`);
  }
  await analysisDrawn('emerging', fc.features.filter((x) => x.geometry).length, 'emerging hot spots');
  const f = fc.features.find((x) => x.properties.pattern !== 'no_pattern') || fc.features.find((x) => String(x.properties.id) === HOT_COMMUNE) || fc.features[0];
  const pop = await popupOf('emerging', f, f.properties.id);
  const ptext = await pop.innerText();
  expect(ptext.includes(f.properties.label), `the popup says "${ptext}", wanted "${f.properties.label}"`);
  const bins = await page.evaluate(() => Array.from(document.querySelectorAll('.maplibregl-popup .hs-strip rect')).map((r) => Number(r.dataset.bin)));
  expect(JSON.stringify(bins) === JSON.stringify(f.properties.bins), `the strip shows ${bins}, the API ${f.properties.bins}`);
  console.log(`     patterns: ${want.join(', ')}`);
  await saveScreenshot(page, SHOT, '-hotspots');
});

await step('switching a layer off takes it and its legend off the map', async () => {
  await closePopup();
  await page.locator('#hs-on-gistar').uncheck();
  await waitFor(() => window.VigilMap.analysis('gistar').length === 0 && !document.querySelector('#hs-legend-gistar'));
  expect(await page.locator('#hs-legend-emerging').isVisible(), 'the other legends went too');
});

await step('an API error is shown in Vietnamese with the server\'s detail, then the layer loads again', async () => {
  const detail = 'permutations=lỗi thử nghiệm';
  await page.route('**/v1/analytics/gistar?**', (route) =>
    route.fulfill({ status: 400, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Bad Request', status: 400, detail }) })
  );
  await page.locator('#hs-on-gistar').check();
  await waitFor(() => document.querySelector('#hs-status-gistar').dataset.state === 'error');
  const text = (await page.locator('#hs-status-gistar').innerText()).trim();
  expect(text === `Không tải được lớp Điểm nóng/điểm lạnh thống kê (Gi*): ${detail}`, `the error says "${text}"`);
  const lg = (await page.locator('#hs-legend-gistar').innerText()).trim();
  expect(lg.includes(detail), `the Gi* legend says "${lg}" on an error`);
  expect((await page.evaluate(() => window.VigilMap.analysis('gistar').length)) === 0, 'Gi* shapes drawn from an error');
  await page.unroute('**/v1/analytics/gistar?**');
  // The browser logs the refused request itself: not an error of the page.
  for (let i = consoleErrors.length - 1; i >= 0; i -= 1) if (consoleErrors[i].includes('/v1/analytics/gistar') && consoleErrors[i].includes('400')) consoleErrors.splice(i, 1);
  await page.selectOption('#hs-grid', 'hex2000');
  await layerReady('gistar');
  await waitFor(() => window.VigilMap.analysis('gistar').length > 0);
});

await step('no console errors and no request left 127.0.0.1', async () => {
  expect(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
  expect(blocked.length === 0, `requests to other hosts: ${blocked.join(', ')}`);
  expect(requests.every((r) => ALLOWED_HOSTS.has(new URL(r.url).hostname) || r.url.startsWith('blob:') || r.url.startsWith('data:')), 'a request left loopback');
});

// VIGIL_SCREENSHOT_ALWAYS=FILE.png: also a screenshot of the passing page (to look at the layout).
if (process.env.VIGIL_SCREENSHOT_ALWAYS) await page.screenshot({ path: process.env.VIGIL_SCREENSHOT_ALWAYS });
await finish(0);
