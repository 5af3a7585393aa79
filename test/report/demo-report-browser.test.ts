/**
 * The demo end to end at test scale (zfnet-tiny, a few sample images), run
 * twice (the second run reuses every finished step), then its report opened
 * in headless Chromium: every image loads, a unit table sorts, a unit page
 * opens; a screenshot is saved under out/.
 *
 * Chromium: $ZFNET_CHROMIUM or /usr/bin/chromium (.ci/run installs Debian's).
 * Without one the browser part is skipped outside CI and fails in CI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const REPO_OUT = resolve(fileURLToPath(new URL('../../../out', import.meta.url)));
const CHROMIUM = process.env['ZFNET_CHROMIUM'] ?? '/usr/bin/chromium';

let work = '';
let reportPath = '';
let firstRun = '';
let secondRun = '';

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: 'utf8', timeout: 600_000, env: { ...process.env, ZFNET_DB: join(work, 'demo.db') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Evaluated in the page: every <img> with whether it loaded. */
const IMAGES_STATE = 'Array.from(document.images).map((i) => ({ src: i.src, ok: i.complete && i.naturalWidth > 0 }))';

const DEMO_ARGS = ['demo', '--model', 'zfnet-tiny', '--epochs', '1', '--batch-size', '8', '--data', 'data', '--mosaic-units', '0-2', '--experiment-images', '1', '--backend', 'wasm'];

before(() => {
  work = mkdtempSync(join(tmpdir(), 'zfnet-demo-'));
  const sample = cli(['sample-data', '--out', 'data', '--train-per-class', '3', '--val-per-class', '2']);
  assert.equal(sample.status, 0, sample.stderr);
  const first = cli(DEMO_ARGS);
  assert.equal(first.status, 0, first.stderr);
  const m = /\n(\/.*index\.html)\n/.exec(first.stdout);
  assert.ok(m, `demo printed no report path: ${first.stdout}`);
  reportPath = m[1]!;
  firstRun = first.stderr + first.stdout;
  const second = cli(DEMO_ARGS);
  assert.equal(second.status, 0, second.stderr);
  secondRun = second.stderr + second.stdout;
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

test('the demo writes a report and a second run reuses every finished step', () => {
  assert.ok(existsSync(reportPath));
  assert.match(secondRun, /training run train-\S+ is finished; reusing it/);
  // Each step reports its own reuse: top-activations finds its finished pass, mosaics finds every unit page drawn (3 units x 5 layers).
  const topActivationsReused = /run top-activations-\S+ is already finished \(\d+ images, \d+ skipped\); nothing to do/;
  const mosaicsReused = /mosaics of top-activations-\S+ \(deconvnet\): \d+ projections, 15 units \(15 already drawn by an earlier call with the same run, weights and method; reused\)/;
  assert.match(secondRun, topActivationsReused);
  assert.match(secondRun, mosaicsReused);
  assert.doesNotMatch(firstRun, topActivationsReused);
  assert.doesNotMatch(firstRun, mosaicsReused);
  assert.match(secondRun, /a finished occlusion run of this checkpoint exists; reusing it/);
  assert.match(secondRun, /a finished invariance run of this checkpoint exists; reusing it/);
});

test('the report works in a real browser: images load, tables sort, unit pages open', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env['CI']) assert.fail(`Chromium not found at ${CHROMIUM}: .ci/run installs it (apt-get install chromium)`);
    t.skip(`no Chromium at ${CHROMIUM} (set ZFNET_CHROMIUM); CI installs it`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(pathToFileURL(reportPath).href, { waitUntil: 'load' });
    const images = await page.evaluate<Array<{ src: string; ok: boolean }>>(IMAGES_STATE);
    assert.ok(images.length >= 3, `expected mosaic, occlusion and invariance images, found ${images.length}`);
    assert.deepEqual(images.filter((i) => !i.ok).map((i) => i.src), []);

    const table = page.locator('table.sortable[id^="units-"]').first();
    const maxColumn = await table.locator('th').evaluateAll((ths) => ths.findIndex((th) => th.textContent === 'max'));
    const tableId = await table.getAttribute('id');
    const readColumn = () => page.evaluate<number[]>(`Array.from(document.getElementById(${JSON.stringify(tableId)}).tBodies[0].rows).map((r) => Number(r.cells[${maxColumn}].dataset.sort))`);
    await table.locator('th').nth(maxColumn).click();
    const ascending = await readColumn();
    assert.deepEqual(ascending, [...ascending].sort((a, b) => a - b));
    await table.locator('th').nth(maxColumn).click();
    const descending = await readColumn();
    assert.deepEqual(descending, [...ascending].reverse());

    mkdirSync(REPO_OUT, { recursive: true });
    await page.screenshot({ path: join(REPO_OUT, 'report-screenshot.png'), fullPage: false });

    const link = table.locator('tbody a').first();
    assert.equal(await link.count(), 1, 'drawn units link to their pages');
    await link.click();
    await page.waitForLoadState('load');
    assert.match(page.url(), /conv\d\/unit-\d{4}\.html$/);
    const unitImages = await page.evaluate<Array<{ src: string; ok: boolean }>>(IMAGES_STATE);
    assert.ok(unitImages.length > 0 && unitImages.every((i) => i.ok), `the unit page shows its projections: ${JSON.stringify(unitImages)}`);
  } finally {
    await browser.close();
  }
});
