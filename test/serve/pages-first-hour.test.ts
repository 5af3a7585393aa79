/**
 * The explorer's pages in the one vocabulary (issue 22): compare linked from
 * the runs page for two runs of one model, the paper's layout on the unit
 * page (projections left, patches right), ranks 1-9, class names with ids,
 * the statistics' legend and the paragraph on reading projections. Pure
 * renders of hand-made rows; the browser tests drive the real server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServeRunRow, ServeTopEntry, ServeUnitRow } from '../../src/store/serve-queries.js';
import { renderLayerPage } from '../../src/serve/pages-layer.js';
import { findComparablePairs, renderRunsPage } from '../../src/serve/pages-runs.js';
import { renderUnitPage } from '../../src/serve/pages-unit.js';
import { parseComparePair, parseUnitTableParams } from '../../src/serve/request-params.js';
import { escapeHtml } from '../../src/report/html.js';
import { describeUnitStatistics, READING_PROJECTIONS } from '../../src/vocabulary.js';

const pass = (id: string, checkpoint: string | null, startedAt: string, change: Partial<ServeRunRow> = {}): ServeRunRow => ({
  id, kind: 'top-activations', status: 'finished', model: 'zfnet-small', backend: 'onnx', startedAt, updatedAt: startedAt, finishedAt: startedAt, heartbeatAt: null,
  checkpointPath: checkpoint, weights: 'sha', datasetRoot: '/data', imageRoot: '/data', split: 'val', layers: [1, 2], topK: 9, position: 10, imagesTotal: 10,
  imagesSkipped: 0, shard: null, layerNames: new Map([[1, 'conv1'], [2, 'conv2']]), modelConfigJson: null, epochs: null, ...change,
});

const unit: ServeUnitRow = {
  layer: 2, unit: 3, imagesSeen: 300, firingRate: 0.25, meanMax: 1.5, stdMax: 0.5, meanActivation: 0.1, maxValue: 4, dead: false,
  topLabel: 1, topClassKey: 'n90000002', topClassName: 'vertical stripes', classPurity: 5 / 9,
};
const entries: ServeTopEntry[] = Array.from({ length: 9 }, (_, rank) => ({
  rank, imageId: 100 + rank, value: 4 - rank / 10, y: 1, x: 2, label: 1, classKey: 'n90000002', className: 'vertical stripes', relPath: `val/img${rank}.png`,
}));

test('two runs of one model over one split are linked side by side from the runs page, first epoch left, last right', () => {
  const last = pass('ta-last', '/runs/t/checkpoints/epoch-0008.safetensors', '2026-12-01T10:00:00Z');
  const first = pass('ta-first', '/runs/t/checkpoints/epoch-0001.safetensors', '2026-12-01T10:05:00Z');
  const other = pass('ta-other', '/x/epoch-0002.safetensors', '2026-12-01T10:06:00Z', { model: 'alexnet-small' });
  assert.deepEqual(findComparablePairs([last, other, first]).map((p) => [p.a.id, p.b.id]), [['ta-first', 'ta-last']]);
  const html = renderRunsPage([last, other, first], 0);
  assert.ok(html.includes('<ul id="compare-links"><li><a href="/compare?a=ta-first&amp;b=ta-last&amp;layer=1">epoch-0001.safetensors beside epoch-0008.safetensors</a> '
    + '(zfnet-small on val: how its units changed; each unit page also lists the unit in every run)</li></ul>'), html);
  assert.match(html, /<select name="a"><option value="ta-last">ta-last<\/option><option value="ta-other">ta-other<\/option><option value="ta-first" selected>/);
  // One run of each model: nothing to compare, and no form either with a single run.
  assert.deepEqual(findComparablePairs([last, other]), []);
  assert.ok(!renderRunsPage([last], 0).includes('id="compare"'));
});

test('/compare without its runs names a and b in the refusal', () => {
  assert.throws(() => parseComparePair({}), { statusCode: 400, message: 'Expected two top-activations runs, /compare?a=RUN&b=RUN (the runs page offers them), but a and b are missing' });
  assert.throws(() => parseComparePair({ a: 'x' }), { statusCode: 400, message: 'Expected two top-activations runs, /compare?a=RUN&b=RUN (the runs page offers them), but b is missing' });
  assert.throws(() => parseComparePair({ a: 'x', b: 'y z' }), { statusCode: 400, message: 'Expected a run id (letters, digits, . _ : -) for b but received "y z"' });
  assert.deepEqual(parseComparePair({ a: 'x', b: 'y' }), ['x', 'y']);
});

test('the unit page: how to read projections first, projections left of patches, ranks 1-9, classes by name with id, each statistic explained', () => {
  const run = pass('ta-last', '/c/epoch-0008.safetensors', '2026-12-01T10:00:00Z');
  const html = renderUnitPage({ run, layer: 2, stats: unit, entries, unitCount: 8, sameUnit: [], projections: null, field: { receptiveFieldPx: 139, inputSizePx: 112 } });
  const at = (needle: string) => html.indexOf(needle);
  assert.ok(at('id="reading-projections"') > 0 && at('id="reading-projections"') < at('id="projections-column"'));
  assert.ok(at('id="projections-column"') < at('id="patches-column"'), 'projections left, patches right');
  assert.ok(html.includes(`${escapeHtml(READING_PROJECTIONS)} conv2 sees 139 px of a 112 px input, more than the whole image: each patch is the whole input, clipped at its border.</p>`));
  assert.deepEqual([...html.matchAll(/alt="patch of rank (\d+)"/g)].map((m) => Number(m[1])), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.match(html, /<tr><td class="num" data-sort="1">1<\/td><td class="num" data-sort="4">4<\/td>/);
  const words = describeUnitStatistics(9);
  assert.ok(html.includes(`<tr data-statistic="firingRate"><th scope="row" title="${escapeHtml(words.firingRate.legend)}">firing rate</th><td class="num">25.0%</td><td class="legend">${escapeHtml(words.firingRate.legend)}</td></tr>`));
  assert.ok(html.includes('<td>vertical stripes (n90000002)</td>'));
  assert.equal(words.classPurity.legend, 'share of the top-9 images that belong to the top class (1: all 9; 1/9 or less: no class stands out)');
  assert.equal(words.meanMax.legend, 'mean of per-image max: the unit\'s largest value in each image\'s map, averaged over the images');
  assert.equal(words.dead.legend, 'the unit never fired: 0 at every position of every image (its projections are uniform grey)');
});

test('the layer page explains each statistic in its header tooltip and in a legend under the table', () => {
  const run = pass('ta-last', null, '2026-12-01T10:00:00Z');
  const html = renderLayerPage(run, 2, parseUnitTableParams({}), [unit], 1, []);
  const words = describeUnitStatistics(9);
  assert.ok(html.includes(`<th title="${escapeHtml(words.firingRate.legend)}" data-sort-key="firing-rate">`));
  assert.ok(html.includes(`<th title="${escapeHtml(words.stdMax.legend)}">std max</th>`));
  const legend = /<dl class="legend note">(.*?)<\/dl>/.exec(html);
  assert.ok(legend, 'a legend under the table');
  assert.deepEqual([...legend[1]!.matchAll(/<dt>(.*?)<\/dt>/g)].map((m) => m[1]), ['firing rate', 'mean max', 'std max', 'mean activation', 'max', 'dead', 'top class', 'class purity']);
  assert.ok(html.includes('<td data-sort="vertical stripes (n90000002)">vertical stripes (n90000002)</td>'));
});
