/**
 * The explorer in headless Chromium, on a real server (127.0.0.1, a free
 * port) over the fixture's store, with the real renderer (tfjs wasm in the
 * render thread): runs -> run -> layer, sort and filter, a unit page whose
 * projections are rendered on demand and appear, an image page with its
 * occlusion map, and back and forward through it all.
 *
 * Chromium: $ZFNET_CHROMIUM or /usr/bin/chromium (.ci/run installs Debian's).
 * Without one the test is skipped outside CI and fails in CI.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startServe, type RunningServer } from '../../pipelines/serve/serve.js';
import { writeServeFixture, type ServeFixture } from './serve-fixture.js';

const CHROMIUM = process.env['ZFNET_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let dir = '';
let fixture: ServeFixture;
let server: RunningServer | null = null;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'serve-browser-'));
  fixture = await writeServeFixture(dir);
  server = await startServe({ dbPath: fixture.dbPath, port: 0, host: '127.0.0.1', backend: 'wasm', outRoot: join(dir, 'out'), log: () => undefined });
});
after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Evaluated in the page: whether every image matching `selector` has loaded. */
const loaded = (selector: string) => `(() => { const imgs = Array.from(document.querySelectorAll(${JSON.stringify(selector)})); return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0); })()`;

test('browse runs, a layer (sorted, filtered), a unit with on-demand projections, an image; back and forward', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env['CI']) assert.fail(`Chromium not found at ${CHROMIUM}: .ci/run installs it (apt-get install chromium)`);
    t.skip(`no Chromium at ${CHROMIUM} (set ZFNET_CHROMIUM); CI installs it`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
    const [runId] = fixture.runIds;
    await page.goto(server!.url);
    assert.equal(await page.locator(`#runs a[href="/runs/${runId}"]`).count(), 1);
    await page.click(`#runs a[href="/runs/${runId}"]`);
    assert.ok(page.url().endsWith(`/runs/${runId}`));
    await page.click('#layers-table a:text-is("conv2")');
    assert.ok(page.url().endsWith(`/runs/${runId}/layers/2`));

    const maxColumn = async () => page.evaluate<number[]>(`Array.from(document.querySelectorAll('#units tbody tr')).map((r) => Number(r.cells[5].dataset.sort))`);
    await page.click('#units th[data-sort-key="max"] a');
    assert.match(page.url(), /\?sort=max$/);
    const descending = await maxColumn();
    assert.deepEqual(descending, [...descending].sort((a, b) => b - a));
    await page.click('#units th[data-sort-key="max"] a');
    assert.match(page.url(), /sort=max&dir=asc/);
    assert.deepEqual(await maxColumn(), [...descending].reverse());

    await page.fill('input[name="min-rate"]', '0.5');
    await page.click('form.filters button[type="submit"]');
    assert.match(page.url(), /min-rate=0\.5/);
    const rates = await page.evaluate<number[]>(`Array.from(document.querySelectorAll('#units tbody tr')).map((r) => Number(r.cells[1].dataset.sort))`);
    assert.ok(rates.length > 0 && rates.every((r) => r >= 0.5), `filtered rates ${rates.join(', ')}`);
    const layerUrl = page.url();

    await page.click('#units tbody tr:first-child td:first-child a');
    const unitUrl = page.url();
    assert.match(unitUrl, /\/layers\/2\/units\/\d+$/);
    await page.waitForFunction(loaded('#patch-grid img'));
    // Not rendered yet: the page asks, shows progress, and swaps the projections in.
    await page.waitForFunction(loaded('#projection-grid img'), undefined, { timeout: 120_000 });
    assert.equal(await page.locator('#projection-grid img').count(), await page.locator('#patch-grid img').count());

    await page.click('#patch-grid a >> nth=0');
    assert.match(page.url(), /\/images\/\d+$/);
    await page.waitForFunction(loaded('#image'));
    await page.waitForFunction(loaded('#occlusion-map'), undefined, { timeout: 120_000 });
    await page.waitForSelector('#activation-layers table.activations', { timeout: 120_000 });
    const imageUrl = page.url();

    await page.goBack();
    assert.equal(page.url(), unitUrl);
    // Rendered now: the page comes with its projections (served from the cache).
    await page.waitForFunction(loaded('#projection-grid img'));
    await page.goBack();
    assert.equal(page.url(), layerUrl);
    assert.equal(await page.inputValue('input[name="min-rate"]'), '0.5');
    await page.goForward();
    assert.equal(page.url(), unitUrl);
    await page.goForward();
    assert.equal(page.url(), imageUrl);
  } finally {
    await browser.close();
  }
});
