/**
 * The demo end to end at test scale (zfnet-tiny, a few sample images, two
 * epochs), run twice (the second run reuses every finished step), then what
 * a new user opens next: its report in headless Chromium (every image loads,
 * a unit table sorts, the legend, the occlusion rows, a unit page opens) and
 * the explorer over the demo's store (compare linked from the runs page, the
 * unit page in the paper's layout with its legend). Screenshots of each page
 * are saved under out/screenshots/.
 *
 * Chromium: $ZFNET_CHROMIUM or /usr/bin/chromium (.ci/run installs Debian's).
 * Without one the browser part is skipped outside CI and fails in CI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startServe } from '../../pipelines/serve/serve.js';
import { describeUnitStatistics } from '../../src/vocabulary.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const REPO_OUT = resolve(fileURLToPath(new URL('../../../out', import.meta.url)));
const SCREENSHOTS = join(REPO_OUT, 'screenshots');
const CHROMIUM = process.env['ZFNET_CHROMIUM'] ?? '/usr/bin/chromium';

let work = '';
let reportPath = '';
let firstRun = '';
let firstStdout = '';
let secondRun = '';

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: 'utf8', timeout: 600_000, env: { ...process.env, ZFNET_DB: join(work, 'demo.db') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Evaluated in the page: every <img> with whether it loaded. */
const IMAGES_STATE = 'Array.from(document.images).map((i) => ({ src: i.src, ok: i.complete && i.naturalWidth > 0 }))';

const DEMO_ARGS = ['demo', '--model', 'zfnet-tiny', '--epochs', '2', '--batch-size', '8', '--data', 'data', '--mosaic-units', '0-2', '--experiment-images', '1', '--backend', 'wasm'];

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
  firstStdout = first.stdout;
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
  // Both top-activations passes (the first epoch's and the last's) are found finished.
  assert.equal(secondRun.match(new RegExp(topActivationsReused.source, 'g'))?.length, 2);
  assert.match(secondRun, mosaicsReused);
  assert.doesNotMatch(firstRun, topActivationsReused);
  assert.doesNotMatch(firstRun, mosaicsReused);
  assert.match(secondRun, /a finished occlusion run of this checkpoint exists; reusing it/);
  assert.match(secondRun, /a finished invariance run of this checkpoint exists; reusing it/);
});

test('the summary prints the report and the explorer command; units and top name classes with their ids, ranks 1-9', () => {
  assert.ok(firstStdout.endsWith('\nBrowse every unit, its projections, the same unit at each analysed epoch and the two runs side by side in the explorer '
    + '(http://127.0.0.1:8080/):\nrun-pipeline serve --db demo.db\n'), firstStdout);
  assert.match(firstStdout, /; the same over the first epoch's checkpoint \(run top-activations-\S+\), to compare\./);
  const units = cli(['units', '--layer', 'conv2']);
  assert.equal(units.status, 0, units.stderr);
  const classes = units.stdout.split('\n').slice(2).filter((l) => l !== '').map((l) => /  ([a-z][a-z ]+ \(n9\d{7}\))  /.exec(l)?.[1]);
  assert.ok(classes.length === 16 && classes.every((c) => c !== undefined), units.stdout);
  const top = cli(['top', '--layer', 'conv2', '--unit', '0']);
  assert.equal(top.status, 0, top.stderr);
  const rows = top.stdout.split('\n').slice(1).filter((l) => l !== '').map((l) => l.trim().split(/\s+/));
  assert.deepEqual(rows.map((r) => r[1]), ['1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.ok(rows.every((r) => /^\(n9\d{7}\)$/.test(r.at(-2)!)), top.stdout);
});

/** Headless Chromium, or null (the test skipped) when there is none outside CI. */
async function launchChromium(t: TestContext): Promise<Browser | null> {
  if (!existsSync(CHROMIUM)) {
    if (process.env['CI']) assert.fail(`Chromium not found at ${CHROMIUM}: .ci/run installs it (apt-get install chromium)`);
    t.skip(`no Chromium at ${CHROMIUM} (set ZFNET_CHROMIUM); CI installs it`);
    return null;
  }
  const { chromium } = await import('playwright-core');
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The texts of a legend's terms, in order. */
const legendTerms = (page: Page, selector: string) => page.locator(`${selector} dt`).allTextContents();

test('the report works in a real browser: images load, tables sort, legends, occlusion rows, filters, unit pages open', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(pathToFileURL(reportPath).href, { waitUntil: 'load' });
    await page.screenshot({ path: join(SCREENSHOTS, 'report-top.png'), fullPage: false });
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

    await table.screenshot({ path: join(SCREENSHOTS, 'report-unit-table.png') });

    // The explorer named, each statistic explained, the conv1 filters shown.
    assert.equal(await page.locator('#explorer code').first().textContent(), 'run-pipeline serve --db demo.db');
    const words = describeUnitStatistics(9);
    assert.deepEqual(await legendTerms(page, 'section[id^="units-"] dl.legend'), [...Array(2)].flatMap(() => ['images', 'firing rate', 'mean max', 'std max', 'mean activation', 'max', 'dead', 'top class', 'class purity']));
    assert.equal(await table.locator('th').nth(2).getAttribute('title'), `${words.firingRate.legend} (click to sort)`);
    assert.equal(await page.locator('img[src$="conv1/filters.png"]').count(), 1);
    assert.equal(await page.locator('th:text-is("val top-1 error %")').count(), 1);

    // Occlusion: one labelled row per image, its five panels side by side.
    const occlusion = page.locator('section[id^="occlusion-"] .occlusion-row');
    assert.equal(await occlusion.count(), 1);
    assert.match((await occlusion.locator('.occlusion-label').textContent())!,
      /^image \d+, class [a-z ]+ \(n9\d{7}\): p\(true class\) \d\.\d\d unoccluded, \d\.\d\d at the most damaging occluder position; strongest feature map: conv5 unit \d+$/);
    const tops = await occlusion.locator('figure').evaluateAll((figures) => figures.map((f) => Math.round(f.getBoundingClientRect().top)));
    assert.equal(tops.length, 5);
    assert.equal(new Set(tops).size, 1, `the panels share one row: ${tops.join(', ')}`);
    assert.deepEqual(await occlusion.locator('figcaption').allTextContents(), ['(a) the input', '(b) the strongest feature map\'s summed activation, by occluder position',
      '(c) the projection of its strongest activation', '(d) p(true class), by occluder position', '(e) the most probable class, by occluder position']);
    await occlusion.screenshot({ path: join(SCREENSHOTS, 'report-occlusion.png') });

    const link = table.locator('tbody a').first();
    assert.equal(await link.count(), 1, 'drawn units link to their pages');
    await link.click();
    await page.waitForLoadState('load');
    assert.match(page.url(), /conv\d\/unit-\d{4}\.html$/);
    const unitImages = await page.evaluate<Array<{ src: string; ok: boolean }>>(IMAGES_STATE);
    assert.ok(unitImages.length > 0 && unitImages.every((i) => i.ok), `the unit page shows its projections: ${JSON.stringify(unitImages)}`);
    assert.ok(await page.locator('#reading-projections').isVisible());
    await page.screenshot({ path: join(SCREENSHOTS, 'mosaics-unit.png'), fullPage: true });
    await page.goto(pathToFileURL(join(work, 'out', 'mosaics', /mosaics\/([^/]+)\//.exec(page.url())![1]!, 'index.html')).href);
    assert.ok(await page.locator('#reading-projections').isVisible());
    await page.screenshot({ path: join(SCREENSHOTS, 'mosaics-index.png'), fullPage: false });
  } finally {
    await browser.close();
  }
});

test('the explorer over the demo\'s store: compare linked from the runs page, the unit page in the paper\'s layout with its legend', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const server = await startServe({ dbPath: join(work, 'demo.db'), port: 0, host: '127.0.0.1', backend: 'wasm', outRoot: join(work, 'out'), log: () => undefined });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(server.url);
    await page.screenshot({ path: join(SCREENSHOTS, 'serve-runs.png'), fullPage: true });
    const compare = page.locator('#compare-links a');
    assert.equal(await compare.count(), 1, 'the demo\'s two runs are linked side by side');
    assert.equal(await compare.textContent(), 'epoch-0001.safetensors beside epoch-0002.safetensors');
    await compare.click();
    assert.match(page.url(), /\/compare\?a=top-activations-\S+&b=top-activations-\S+&layer=1$/);
    // Thumbnails load lazily, as they scroll into view: ask for all of them, then wait for every one.
    await page.evaluate(`document.querySelectorAll('img.thumb').forEach((i) => { i.loading = 'eager'; })`);
    await page.waitForFunction(`Array.from(document.querySelectorAll('img.thumb')).every((i) => i.complete && i.naturalWidth > 0)`);
    assert.equal(await page.locator('img.thumb').count(), 2 * 8 * 9, 'both runs: 8 conv1 units x top-9');
    await page.screenshot({ path: join(SCREENSHOTS, 'serve-compare.png'), fullPage: false });

    // A unit of the last epoch: projections left of patches, each statistic explained, the same unit at both epochs.
    const lastRun = new URL(page.url()).searchParams.get('b')!;
    await page.goto(`${server.url}runs/${lastRun}/layers/2/units/0`);
    assert.ok(await page.locator('#reading-projections').isVisible());
    await page.waitForFunction(`(() => { const imgs = Array.from(document.querySelectorAll('#projection-grid img')); return imgs.length === 9 && imgs.every((i) => i.complete && i.naturalWidth > 0); })()`, undefined, { timeout: 120_000 });
    const projections = (await page.locator('#projections-column').boundingBox())!;
    const patches = (await page.locator('#patches-column').boundingBox())!;
    assert.ok(projections.x + projections.width <= patches.x, `projections (x ${projections.x}) left of patches (x ${patches.x})`);
    assert.equal(Math.round(projections.y), Math.round(patches.y));
    const words = describeUnitStatistics(9);
    assert.deepEqual(await page.locator('#unit-stats td.legend').allTextContents(), ['imagesSeen', 'firingRate', 'meanMax', 'stdMax', 'meanActivation', 'maxValue', 'dead', 'topClass', 'classPurity']
      .map((key) => words[key as keyof typeof words].legend));
    assert.deepEqual(await page.locator('#top-entries tbody tr td:first-child').allTextContents(), ['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(await page.locator('#same-unit tbody tr').count(), 2, 'the unit at the first and the last epoch');
    await page.screenshot({ path: join(SCREENSHOTS, 'serve-unit.png'), fullPage: true });

    await page.goto(`${server.url}runs/${lastRun}/layers/2`);
    assert.equal(await page.locator('#units th[data-sort-key="firing-rate"]').getAttribute('title'), words.firingRate.legend);
    assert.deepEqual(await legendTerms(page, 'dl.legend'), ['firing rate', 'mean max', 'std max', 'mean activation', 'max', 'dead', 'top class', 'class purity']);
    await page.screenshot({ path: join(SCREENSHOTS, 'serve-layer.png'), fullPage: false });
  } finally {
    await browser.close();
    await server.close();
  }
});
