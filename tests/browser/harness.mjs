// What every browser test script shares: the loopback-only rule, the Chromium launch flags this
// machine needs, and the check helpers. Plain ES module, no dependencies beyond playwright-core.

/** A failed check (the scripts report these as FAIL lines, not crashes). */
export class CheckFailed extends Error {}

export function expect(cond, msg) {
  if (!cond) throw new CheckFailed(msg);
}

/**
 * Parses VIGIL_URL and returns { baseUrl, allowedHosts }: every request the page makes must stay on
 * this machine's loopback address. Calls `usage` (which exits) on anything else.
 */
export function loopback(raw, usage) {
  let baseUrl;
  try {
    baseUrl = new URL(raw);
  } catch (_) {
    usage(`VIGIL_URL is not a URL: ${raw}`);
  }
  const allowedHosts = new Set(['127.0.0.1']);
  if (['localhost', '[::1]'].includes(baseUrl.hostname)) allowedHosts.add(baseUrl.hostname);
  if (!allowedHosts.has(baseUrl.hostname)) usage(`VIGIL_URL must point at 127.0.0.1, not ${baseUrl.hostname}`);
  return { baseUrl, allowedHosts };
}

/** Headless Debian Chromium with the flags a closed network needs (no background connections). */
export function launchChromium(chromium, executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  });
}

/**
 * Aborts every request of `context` that leaves `allowedHosts`, recording its URL in `blocked`.
 * With `fallback`, allowed requests go on to routes registered later instead of straight out.
 */
export async function loopbackOnly(context, allowedHosts, blocked, { fallback = false } = {}) {
  await context.route('**/*', (route) => {
    const url = route.request().url();
    let host = '';
    try {
      host = new URL(url).hostname;
    } catch (_) {
      /* not a URL */
    }
    if (allowedHosts.has(host)) return fallback ? route.fallback() : route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
}

/** Saves a screenshot of `page` to `shot` (with `suffix` before `.png`); no-op without either. */
export async function saveScreenshot(page, shot, suffix = '') {
  if (!shot || !page) return;
  const file = suffix ? shot.replace(/(\.png)?$/i, `${suffix}.png`) : shot;
  try {
    await page.screenshot({ path: file, fullPage: false });
    console.log(`  screenshot: ${file}`);
  } catch (e) {
    console.error(`  could not save screenshot ${file}: ${e.message}`);
  }
}

/** Prints `name: N passed, M failed`, closes the browser, runs `cleanup`, exits with `code`. */
export async function finishRun(name, results, browser, code, cleanup = () => {}) {
  const passed = results.filter((r) => r.ok).length;
  console.log(`${name}: ${passed} passed, ${results.length - passed} failed`);
  try {
    if (browser) await browser.close();
  } catch (_) {
    /* already gone */
  }
  cleanup();
  process.exit(code);
}

/**
 * The scripts' `step(name, fn)`: runs one named check, prints `ok` with its time, or on failure
 * prints why (with requests to other hosts, console errors and what `diagnose` prints), saves a
 * screenshot and ends the run with exit code 1.
 */
export function stepRunner({ results, blocked, consoleErrors, screenshot, finish, diagnose = async () => {} }) {
  return async function step(name, fn) {
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
      const errors = consoleErrors.map((c) => (typeof c === 'string' ? c : c.text));
      if (errors.length) console.error(`  console errors: ${errors.join(' | ')}`);
      await diagnose();
      await screenshot();
      await finish(1);
    }
  };
}

/**
 * The colour of the page's pixel at (x, y) as `rgb(r, g, b)`, read from a 1 × 1 screenshot: the
 * map is one WebGL canvas, so what it drew is checked by its pixels. A PNG of one pixel is one
 * filter byte and the pixel, whatever the filter (its neighbours are all zero).
 */
export async function pixelAt(page, x, y) {
  const { inflateSync } = await import('node:zlib');
  const png = await page.screenshot({ clip: { x: Math.round(x), y: Math.round(y), width: 1, height: 1 } });
  let at = 8;
  const idat = [];
  let colourType = 2;
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('ascii', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      if (data[8] !== 8) throw new CheckFailed(`pixelAt: a ${data[8]}-bit screenshot`);
      colourType = data[9];
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  if (colourType !== 2 && colourType !== 6) throw new CheckFailed(`pixelAt: PNG colour type ${colourType}`);
  return `rgb(${raw[1]}, ${raw[2]}, ${raw[3]})`;
}

/**
 * Points inside a GeoJSON feature's (multi)polygon, lon/lat, from an 11 × 11 grid over its bbox
 * (computed from the geometry when the feature has none), nearest the middle first.
 */
export function insidePoints(f) {
  const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
  const inRing = (x, y, ring) => {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
  const inside = (x, y) => polys.some((rings) => inRing(x, y, rings[0]) && !rings.slice(1).some((h) => inRing(x, y, h)));
  const all = polys.flat(2);
  const [w, s, e, n] = Array.isArray(f.bbox) && f.bbox.length === 4 ? f.bbox : [Math.min(...all.map((c) => c[0])), Math.min(...all.map((c) => c[1])), Math.max(...all.map((c) => c[0])), Math.max(...all.map((c) => c[1]))];
  const out = [];
  for (let i = 1; i < 12; i++) for (let j = 1; j < 12; j++) {
    const x = w + ((e - w) * i) / 12;
    const y = s + ((n - s) * j) / 12;
    if (inside(x, y)) out.push([x, y]);
  }
  // Nearest the middle first.
  const mx = (w + e) / 2;
  const my = (s + n) / 2;
  return out.sort((a, b) => Math.hypot(a[0] - mx, a[1] - my) - Math.hypot(b[0] - mx, b[1] - my));
}
