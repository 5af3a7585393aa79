import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServeRunRow, ServeTopEntry, ServeUnitRow } from '../../src/store/serve-queries.js';
import { layerLabel, urls } from '../../src/serve/page-kit.js';
import { renderLayerPage } from '../../src/serve/pages-layer.js';
import { describeState } from '../../src/serve/pages-runs.js';
import { countClasses, parseCheckpointEpoch } from '../../src/serve/pages-unit.js';
import { parseUnitTableParams } from '../../src/serve/request-params.js';

const run: ServeRunRow = {
  id: 'top-activations-x', kind: 'top-activations', status: 'running', model: 'zfnet', backend: 'wasm', startedAt: '2026-12-01T10:00:00.000Z',
  updatedAt: '2026-12-01T10:00:00.000Z', finishedAt: null, heartbeatAt: '2026-12-01T10:00:00.000Z', checkpointPath: '/c/epoch-0005.safetensors', weights: 'sha',
  datasetRoot: '/data', imageRoot: '/data', split: 'val', layers: [1, 2], topK: 9, position: 250, imagesTotal: 1000, imagesSkipped: 0, shard: null,
  layerNames: new Map(), modelConfigJson: null, epochs: null,
};

const entry = (label: number, name: string | null, key: string | null): ServeTopEntry => ({ rank: 0, imageId: 1, value: 1, y: 0, x: 0, label, classKey: key, className: name, relPath: 'a' });

test('a running pass shows how far it is and how old its heartbeat is', () => {
  assert.equal(describeState(run, Date.parse('2026-12-01T10:00:42.000Z')), 'running, 250 of 1000 images (25.0%), heartbeat 42 s ago');
  assert.equal(describeState({ ...run, status: 'finished', position: 1000, heartbeatAt: null }, 0), 'finished');
});

test('checkpoint epochs come from the file name; the class histogram counts readable names, largest first', () => {
  assert.equal(parseCheckpointEpoch('out/runs/r/checkpoints/epoch-0070.safetensors'), 70);
  assert.equal(parseCheckpointEpoch('model.safetensors'), null);
  assert.equal(parseCheckpointEpoch(null), null);
  const counts = countClasses([entry(2, 'goldfish', 'n01443537'), entry(5, 'tench', 'n01440764'), entry(2, 'goldfish', 'n01443537'), entry(-1, null, null)]);
  assert.deepEqual(counts, [{ label: 'goldfish (n01443537)', count: 2 }, { label: 'tench (n01440764)', count: 1 }, { label: 'unlabelled', count: 1 }]);
});

test('the layer page escapes what the store holds and links sort headers and pages to stable URLs', () => {
  const unit: ServeUnitRow = {
    layer: 2, unit: 7, imagesSeen: 10, firingRate: 0.5, meanMax: 1, stdMax: 0, meanActivation: 0.1, maxValue: 3, dead: false,
    topLabel: 1, topClassKey: 'k', topClassName: '<script>alert(1)</script>', classPurity: 0.5,
  };
  const params = parseUnitTableParams({ sort: 'max', per: '1', page: '2' });
  const html = renderLayerPage(run, 2, params, [unit], 3, [{ label: 1, key: 'k', name: '<img src=x onerror=alert(1)>' }]);
  assert.ok(!html.includes('<script>alert(1)') && !html.includes('<img src=x'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; (k)'));
  assert.ok(html.includes(`href="${urls.unit(run.id, 2, 7)}"`));
  // The active column reverses; another column starts in its own direction; paging keeps the sort.
  assert.ok(html.includes(`href="/runs/${run.id}/layers/2?sort=max&amp;dir=asc&amp;per=1"`));
  assert.ok(html.includes(`href="/runs/${run.id}/layers/2?sort=firing-rate&amp;per=1"`));
  assert.ok(html.includes(`href="/runs/${run.id}/layers/2?sort=max&amp;per=1&amp;page=3" rel="next"`));
  assert.ok(html.includes(`href="/runs/${run.id}/layers/2?sort=max&amp;per=1" rel="prev"`));
  assert.match(html, /units 2\u20132 of 3 \(page 2 of 3\)/);
  assert.equal(layerLabel(run, 5), 'conv5');
});

test("layers are labelled by the names the run recorded, escaped, with conv k for runs from before names", () => {
  const named: ServeRunRow = { ...run, layerNames: new Map([[1, 'conv1'], [5, 'layer1.0'], [7, '<b>odd</b>']]), layers: [1, 5, 7] };
  assert.deepEqual([layerLabel(named, 5), layerLabel(named, 1), layerLabel(run, 3)], ['layer1.0', 'conv1', 'conv3']);
  const html = renderLayerPage(named, 7, parseUnitTableParams({}), [], 0, []);
  assert.ok(!html.includes('<b>odd</b>'));
  assert.match(html, /<title>&lt;b&gt;odd&lt;\/b&gt; of top-activations-x<\/title>/);
  assert.match(html, /<p>layers: <a href="\/runs\/top-activations-x\/layers\/1">conv1<\/a> <a href="\/runs\/top-activations-x\/layers\/5">layer1\.0<\/a> <b>&lt;b&gt;odd&lt;\/b&gt;<\/b><\/p>/);
});
