#!/usr/bin/env node
// Browser test of the dashboard ("Bảng điều khiển", web/dashboard.js) in headless Chromium: an
// analyst of province 08 opens the map and the dashboard, reads the KPI cards (same numbers,
// ratings and texts as /v1/reports/kpis), changes the period, reads the chart over time and the
// commune choropleth with its legend, and downloads the PDF report with the token.
//
//   VIGIL_URL=http://127.0.0.1:18181 VIGIL_TOKEN=vgl_...analyst08 [VIGIL_SCREENSHOT=/tmp/d.png] node dashboard.mjs
//
// tests/web_dashboard.rs prepares the data: 4 new hotspots in 08 in 2026-H1, 1 in 2026-03.
// Every wait is for a condition on the page, never a fixed time. Exits 0 when every check passed,
// 1 when one failed, 2 on bad arguments.

import { chromium } from 'playwright-core';
import { readFile } from 'node:fs/promises';
import { CheckFailed, expect, finishRun, launchChromium, loopback, loopbackOnly, saveScreenshot } from './harness.mjs';

const VIGIL_URL = (process.env.VIGIL_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.VIGIL_TOKEN || '';
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
const { allowedHosts: ALLOWED_HOSTS } = loopback(VIGIL_URL, usage);

const STATUS_TEXT = { green: 'Đạt chỉ tiêu', amber: 'Gần đạt', red: 'Chưa đạt', info: 'Theo dõi', no_data: 'Chưa có số liệu' };
const GROUP_TEXT = { hotspots: 'Điểm ma túy', drug_free: 'Xã không ma túy', cultivation: 'Trồng cây có chất ma túy', coverage: 'Bay khảo sát' };

async function apiGet(path) {
  const res = await fetch(`${VIGIL_URL}${path}`, { headers: { Authorization: `Bearer ${TOKEN}`, Accept: 'application/json' } });
  const text = await res.text();
  if (res.status !== 200) throw new CheckFailed(`GET ${path} -> HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}
const kpis = (q) => apiGet(`/v1/reports/kpis?${q}`);

const results = [];
const blocked = [];
const consoleErrors = [];
const requests = [];
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
      return {
        panel: p && { ...p.dataset, hidden: p.hidden },
        chart: c && { ...c.dataset },
        legend: l && { ...l.dataset },
        error: (document.querySelector('#dash-error') || {}).innerText,
        download: (document.querySelector('#dash-dl-status') || {}).innerText
      };
    })
    .catch(() => null);
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    const msg = e instanceof CheckFailed ? e.message : (e && e.stack) || String(e);
    console.error(`FAIL ${name}: ${msg}`);
    if (blocked.length) console.error(`  requests to other hosts: ${blocked.join(', ')}`);
    if (consoleErrors.length) console.error(`  console errors: ${consoleErrors.join(' | ')}`);
    const s = await pageState();
    if (s) console.error(`  page state: ${JSON.stringify(s)}`);
    await screenshot();
    await finish(1);
  }
}

setTimeout(async () => {
  console.error(`FAIL the whole test took longer than ${TOTAL_TIMEOUT_MS} ms`);
  results.push({ name: 'total time', ok: false });
  await screenshot();
  await finish(1);
}, TOTAL_TIMEOUT_MS).unref();

const waitFor = (fn, arg) => page.waitForFunction(fn, arg, { timeout: STEP_TIMEOUT_MS, polling: 100 });

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
page = await context.newPage();
page.setDefaultTimeout(STEP_TIMEOUT_MS);
page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  const url = (msg.location() && msg.location().url) || '';
  consoleErrors.push(`${msg.text()}${url ? ` (${url})` : ''}`);
});
page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
page.on('request', async (req) => {
  const headers = await req.allHeaders().catch(() => ({}));
  requests.push({ method: req.method(), url: req.url(), token: headers.authorization || '' });
});

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
  const paths = page.locator('path.dash-commune');
  expect((await paths.count()) === withGeom.length, `${await paths.count()} commune shapes drawn`);
  const fills = await page.evaluate(() => new Set(Array.from(document.querySelectorAll('path.dash-commune')).map((p) => p.getAttribute('fill'))).size);
  expect(fills >= 1, 'the communes have no fill');
  const f = withGeom.find((x) => x.properties.code === '02200') || withGeom[0];
  const idx = withGeom.indexOf(f);
  await paths.nth(idx).dispatchEvent('mouseover');
  const tip = page.locator('.leaflet-tooltip.dash-tooltip');
  await tip.first().waitFor({ state: 'visible' });
  const tipText = await tip.first().innerText();
  const want = String(f.properties.hotspots_new);
  expect(tipText.includes(f.properties.name || f.properties.code) && tipText.includes(want), `the tooltip says "${tipText}", wanted ${f.properties.name}: ${want}`);
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

await step('no console errors and no request left 127.0.0.1', async () => {
  expect(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
  expect(blocked.length === 0, `requests to other hosts: ${blocked.join(', ')}`);
  expect(requests.every((r) => ALLOWED_HOSTS.has(new URL(r.url).hostname) || r.url.startsWith('blob:') || r.url.startsWith('data:')), 'a request left loopback');
});

// VIGIL_SCREENSHOT_ALWAYS=FILE.png: also a screenshot of the passing page (to look at the layout).
if (process.env.VIGIL_SCREENSHOT_ALWAYS) await page.screenshot({ path: process.env.VIGIL_SCREENSHOT_ALWAYS });
await finish(0);
