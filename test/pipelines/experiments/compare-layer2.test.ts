import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { layoutSideBySide } from '../../../pipelines/experiments/compare-layer2.js';
import { runComparePipeline } from '../../../pipelines/experiments/compare.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { getRun } from '../../../src/store/runs.js';
import { runCli } from '../../cli/run-cli.js';
import { writeTinyDataset } from '../top-activations-fixture.js';

let dir: string;
let db: Store;
const quiet = (): void => {};
const checkpoint = (model: string): string => join(dir, `${model}.safetensors`);
const layer2 = () => ({ data: join(dir, 'data'), split: 'val', units: { kind: 'list' as const, units: [0, 1, 2, 3] }, seed: 1, backend: 'cpu' as const, workers: 1 });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'compare-layer2-'));
  await writeTinyDataset(join(dir, 'data'), { classes: 2, perClass: 3, sizePx: 72 });
  for (const model of ['alexnet-tiny', 'zfnet-tiny']) {
    const made = runCli(['init', '--model', model, '--out', checkpoint(model), '--backend', 'cpu']);
    assert.equal(made.status, 0, made.stderr);
  }
  db = openStore(join(dir, 'store.db'));
  await initBackend('cpu', { log: quiet });
});

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('side-by-side layout: images in a row under labels, as tall as the tallest', () => {
  const layout = layoutSideBySide([{ widthPx: 100, heightPx: 50 }, { widthPx: 30, heightPx: 80 }], 10, 20);
  assert.deepEqual(layout.placements.map((p) => [p.left, p.top]), [[10, 30], [120, 30]]);
  assert.equal(layout.widthPx, 10 + 100 + 10 + 30 + 10);
  assert.equal(layout.heightPx, 10 + 20 + 80 + 10);
});

test('compare draws the conv2 top-9 sheets of both models side by side and records both top-activations runs', async () => {
  const start = tf.memory().numTensors;
  const outDir = join(dir, 'compare');
  const checkpoints = [checkpoint('alexnet-tiny'), checkpoint('zfnet-tiny')];
  const result = await runComparePipeline({ db, sources: checkpoints.map((c) => ({ checkpoint: c })), deadRatio: 0.1, outDir, layer2: layer2(), log: quiet });
  assert.equal(tf.memory().numTensors, start);
  const panels = result.layer2!.panels;
  assert.deepEqual(panels.map((p) => `${p.label} ${p.model} ${p.status}`), ['A alexnet-tiny finished', 'B zfnet-tiny finished']);
  const sheets = await Promise.all(panels.map((p) => sharp(join(outDir, p.sheet)).metadata()));
  const expected = layoutSideBySide(sheets.map((m) => ({ widthPx: m.width!, heightPx: m.height! })));
  const picture = await sharp(join(outDir, result.layer2!.sideBySide)).metadata();
  assert.deepEqual([picture.width, picture.height], [expected.widthPx, expected.heightPx]);
  const runIds = panels.map((p) => p.topActivationsRunId);
  const stored = getRun(db, result.runId)!;
  assert.equal(stored.status, 'finished');
  const recorded = (stored.options['layer2'] as { topActivationsRuns: Array<{ runId: string }> }).topActivationsRuns.map((r) => r.runId);
  assert.deepEqual(recorded, runIds);
  for (const id of runIds) assert.equal(getRun(db, id)?.status, 'finished');
  const summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as { layer2: { panels: Array<{ topActivationsRunId: string }> } };
  assert.deepEqual(summary.layer2.panels.map((p) => p.topActivationsRunId), runIds);

  const again = await runComparePipeline({ db, sources: checkpoints.map((c) => ({ checkpoint: c })), deadRatio: 0.1, outDir: join(dir, 'compare-again'), layer2: layer2(), log: quiet });
  assert.deepEqual(again.layer2!.panels.map((p) => `${p.topActivationsRunId} ${p.status}`), runIds.map((id) => `${id} already-finished`));
});

test('compare --no-layer2 makes the filter comparison only and rejects bad --units with one line', () => {
  const env = { ZFNET_DB: join(dir, 'cli.db') };
  const args = ['compare', '--checkpoints', checkpoint('alexnet-tiny'), checkpoint('zfnet-tiny'), '--out', join(dir, 'cli-out')];
  const filtersOnly = runCli([...args, '--no-layer2'], env);
  assert.equal(filtersOnly.status, 0, filtersOnly.stderr);
  assert.doesNotMatch(filtersOnly.stdout, /conv2/);
  const badUnits = runCli([...args, '--units', 'some'], env);
  assert.equal(badUnits.status, 2);
  assert.equal(badUnits.stderr.trim(), 'run-pipeline: Expected all, a list like 0-15 or 3,7,9, or random:N for units but received "some"');
});
