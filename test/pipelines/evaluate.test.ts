import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { saveCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams } from '../../src/model/params.js';
import { createRun } from '../../src/store/runs.js';
import { createTrainingStore } from '../../src/store/training-store.js';
import { runEvaluatePipeline } from '../../pipelines/evaluate.js';
import { makeTempDir, openTempStore, writeFolderTree } from '../data/fixtures.js';
import { runCli } from '../cli/run-cli.js';

let tmp: { dir: string; cleanup: () => void };
let data: string;
let checkpoint: string;
const quiet = () => {};

before(async () => {
  await initBackend('cpu', { log: quiet });
  tmp = makeTempDir('zfnet-evaluate-');
  data = join(tmp.dir, 'data');
  await writeFolderTree(data, { val: { a: 2, b: 2, c: 1, d: 1 } });
  const config = buildModelConfig('zfnet-tiny', { classIds: ['a', 'b', 'c', 'd'] });
  const params = initParams(config, 5);
  // A larger fc8 so that the random model's scores differ between crops and classes.
  const fc8 = params.get('fc8.weight')!;
  tf.tidy(() => fc8.assign(tf.mul(fc8, 1000)));
  checkpoint = join(tmp.dir, 'model.safetensors');
  saveCheckpoint(checkpoint, { config, params });
  disposeParams(params);
});
after(() => tmp.cleanup());

test('evaluate stores centre and ten-crop errors with per-class rows that add up, and writes the CSV', async () => {
  const start = tf.memory().numTensors;
  const db = openTempStore(tmp.dir);
  const csv = join(tmp.dir, 'classes.csv');
  const centre = await runEvaluatePipeline({ db, backend: 'cpu', checkpoint, split: 'val', tenCrop: false, data, batchSize: 4, perClassCsv: csv, log: quiet });
  const ten = await runEvaluatePipeline({ db, backend: 'cpu', checkpoint, split: 'val', tenCrop: true, data, batchSize: 2, log: quiet });
  for (const { evaluation, classErrors } of [centre, ten]) {
    assert.equal(evaluation.images, 6);
    assert.deepEqual(classErrors.map((c) => [c.classKey, c.images]), [['a', 2], ['b', 2], ['c', 1], ['d', 1]]);
    const wrong = classErrors.reduce((s, c) => s + c.top1Error * c.images, 0);
    assert.ok(Math.abs(wrong / 6 - evaluation.top1Error) < 1e-12);
    assert.equal(evaluation.top5Error, 0, '4 classes: the label is always in the top 5');
  }
  const stored = createTrainingStore(db).listEvaluations();
  assert.deepEqual(stored.map((e) => e.tenCrop), [false, true]);
  assert.equal(createTrainingStore(db).listClassErrors(stored[1]!.id).length, 4);
  const lines = readFileSync(csv, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'label,class_key,name,images,top1_error,top5_error');
  assert.equal(lines.length, 5);
  assert.equal(tf.memory().numTensors, start);
  db.close();
});

test('evaluate refuses a checkpoint whose classes are not the dataset\'s', async () => {
  const db = openTempStore(tmp.dir, 'mismatch.db');
  const other = join(tmp.dir, 'other');
  await writeFolderTree(other, { val: { a: 1, b: 1, c: 1, e: 1 } });
  await assert.rejects(runEvaluatePipeline({ db, backend: 'cpu', checkpoint, split: 'val', tenCrop: false, data: other, batchSize: 4, log: quiet }),
    { message: `Checkpoint ${checkpoint} has class 3 = d but dataset ${join(tmp.dir, 'other')} has e` });
  await assert.rejects(runEvaluatePipeline({ db, backend: 'cpu', checkpoint: join(tmp.dir, 'none.safetensors'), split: 'val', tenCrop: false, data, batchSize: 4, log: quiet }),
    { message: `Checkpoint ${join(tmp.dir, 'none.safetensors')} does not exist` });
  db.close();
});

test('runs lists every run with training progress; --run shows the epochs table and --json', () => {
  const dbPath = join(tmp.dir, 'runs.db');
  const db = openTempStore(tmp.dir, 'runs.db');
  createRun(db, { id: 'train-20260101-000000-zfnet-tiny', kind: 'train', model: 'zfnet-tiny', backend: 'cpu', options: { epochs: 70 } });
  createRun(db, { id: 'mean-20260101-000001', kind: 'mean' });
  const store = createTrainingStore(db);
  for (const epoch of [1, 2]) {
    store.saveEpoch({
      runId: 'train-20260101-000000-zfnet-tiny', epoch, steps: 3, trainImages: 12, trainLoss: 1.5 / epoch, trainTop1Error: 0.5, trainTop5Error: 0, valImages: 4,
      valLoss: 1.2, valTop1Error: 0.25, valTop5Error: 0, learningRate: 0.01, imagesPerS: 10, wallS: 2, checkpointPath: `/x/epoch-000${epoch}.safetensors`,
      checkpointKept: epoch === 2, completedAt: '2026-01-01T00:00:00.000Z',
    });
  }
  db.close();
  const list = runCli(['runs', '--db', dbPath]);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /train-20260101-000000-zfnet-tiny\s+train\s+running\s+zfnet-tiny\s+cpu\s+\S+ \S+\s+epoch 2\/70 val top-1 25\.0%/);
  assert.match(list.stdout, /mean-20260101-000001\s+mean\s+running/);
  const one = runCli(['runs', '--db', dbPath, '--run', 'train-20260101-000000-zfnet-tiny']);
  assert.match(one.stdout, /^1\s+3\s+1\.5000\s+50\.0%\s+25\.0%\s+0\.0%\s+0\.0100\s+10\.0\s+2\.0\s+\(deleted\)$/m);
  const json = JSON.parse(runCli(['runs', '--db', dbPath, '--run', 'train-20260101-000000-zfnet-tiny', '--json']).stdout) as { epochs: unknown[] };
  assert.equal(json.epochs.length, 2);
  const missing = runCli(['runs', '--db', dbPath, '--run', 'nope']);
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, 'run-pipeline: No run nope in the store (run-pipeline runs lists them)\n');
});
