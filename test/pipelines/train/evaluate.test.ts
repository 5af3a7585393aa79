import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { applyScaledInit } from '../../../src/train/init-scale.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { loadCheckpoint, saveCheckpoint } from '../../../src/checkpoint/checkpoint-file.js';
import { resolveMeanImage } from '../../../src/store/mean-store.js';
import { createRng } from '../../../src/data/seeded-rng.js';
import { buildModelConfig } from '../../../src/model/architectures.js';
import { forward } from '../../../src/model/network.js';
import { disposeParams, initParams } from '../../../src/model/params.js';
import type { Store } from '../../../src/store/open-store.js';
import { createRun } from '../../../src/store/runs.js';
import { createTrainingStore } from '../../../src/store/training-store.js';
import { runEvaluatePipeline } from '../../../pipelines/train/evaluate.js';
import { createSquareStream, prepareDataset } from '../../../pipelines/shared/input-stream.js';
import { makeTempDir, openTempStore, writeFolderTree } from '../../data/fixtures.js';
import { runCli } from '../../cli/run-cli.js';

let tmp: { dir: string; cleanup: () => void };
let data: string;
let checkpoint: string;
const quiet = () => {};
const CLASS_COUNTS: Record<string, number> = { a: 2, b: 2, c: 1, d: 1 };

/** `val/<class>/img_<i>.png` of seeded noise (48x40 px), so that the ten crops of an image differ from each other. */
async function writeNoiseTree(root: string): Promise<void> {
  const rng = createRng(17);
  for (const [cls, count] of Object.entries(CLASS_COUNTS)) {
    mkdirSync(join(root, 'val', cls), { recursive: true });
    for (let i = 0; i < count; i++) {
      const pixels = Buffer.from(Array.from({ length: 48 * 40 * 3 }, () => rng.nextInt(256)));
      await sharp(pixels, { raw: { width: 48, height: 40, channels: 3 } }).png().toFile(join(root, 'val', cls, `img_${i}.png`));
    }
  }
}

interface HandEvaluation { top1Error: number; loss: number; classTop1Errors: number[]; predictions: number[] }

/**
 * The checkpoint's errors computed without the evaluate code: the decoded
 * squares, crops cut here (centre, or centre and four corners then the same
 * mirrored), the forward pass on the main thread, each image's crop
 * probabilities averaged in float64 and its argmax compared with the label.
 */
async function evaluateByHand(db: Store, crops: 'centre' | 'ten'): Promise<HandEvaluation> {
  const { config, params, mean: checkpointMean } = loadCheckpoint(checkpoint);
  const { dataset } = await prepareDataset({ db, data, splits: ['val'], log: quiet });
  const mean = resolveMeanImage(db, dataset.id, config, { mean: checkpointMean }).mean.pixels;
  const sizePx = config.inputSizePx;
  const classes = config.numClasses;
  const wrongByClass = new Array<number>(classes).fill(0);
  const imagesByClass = new Array<number>(classes).fill(0);
  const predictions: number[] = [];
  let lossSum = 0;
  for await (const { record, square, squarePx } of createSquareStream({ db, dataset, split: 'val', inputSizePx: sizePx, order: 'sorted' })) {
    const far = squarePx - sizePx;
    const corners = crops === 'centre' ? [[far >> 1, far >> 1]] : [[far >> 1, far >> 1], [0, 0], [far, 0], [0, far], [far, far]];
    const flips = crops === 'centre' ? [false] : [false, true];
    const input = new Float32Array(corners.length * flips.length * sizePx * sizePx * 3); // [crops, S, S, 3]
    let o = 0;
    for (const flip of flips) {
      for (const [x0, y0] of corners) {
        for (let y = 0; y < sizePx; y++) {
          for (let x = 0; x < sizePx; x++) {
            const s = ((y0! + y) * squarePx + x0! + (flip ? sizePx - 1 - x : x)) * 3;
            for (let c = 0; c < 3; c++) input[o++] = square[s + c]! - mean[s + c]!;
          }
        }
      }
    }
    const rows = corners.length * flips.length;
    const probs = tf.tidy(() => forward(config, params, tf.tensor4d(input, [rows, sizePx, sizePx, 3]), { taps: ['probs'] }).probs!.dataSync());
    const averaged = Array.from({ length: classes }, (_, k) => Array.from({ length: rows }, (_, r) => probs[r * classes + k]!).reduce((a, b) => a + b, 0) / rows);
    const predicted = averaged.indexOf(Math.max(...averaged));
    const label = record.label!;
    predictions.push(predicted);
    imagesByClass[label]! += 1;
    if (predicted !== label) wrongByClass[label]! += 1;
    lossSum -= Math.log(averaged[label]!);
  }
  disposeParams(params);
  const images = predictions.length;
  assert.equal(images, 6);
  return {
    top1Error: wrongByClass.reduce((a, b) => a + b, 0) / images, loss: lossSum / images, predictions,
    classTop1Errors: wrongByClass.map((w, k) => w / imagesByClass[k]!),
  };
}

before(async () => {
  await initBackend('cpu', { log: quiet });
  tmp = makeTempDir('zfnet-evaluate-');
  data = join(tmp.dir, 'data');
  await writeNoiseTree(data);
  const config = buildModelConfig('zfnet-tiny', { classIds: ['a', 'b', 'c', 'd'] });
  // Seed 3: a random model on whose six images the ten crops change at least one answer (most seeds' random
  // models give every image the same class, crop or not). The scaled init keeps every layer's activations near
  // unit size (the paper's std 0.01 leaves the tiny model's logits near 1e-8, so every image scores ln 4); its
  // classifier is then scaled up so the crops' scores, and so their averages, differ by more than rounding.
  const params = initParams(config, 3);
  applyScaledInit(config, params);
  const fc8 = params.get('fc8.weight')!;
  tf.tidy(() => fc8.assign(tf.mul(fc8, 300)));
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

test('evaluate\'s errors and loss equal a computation by hand, and ten crops score differently from the centre crop', async () => {
  const db = openTempStore(tmp.dir, 'by-hand.db');
  const centre = await runEvaluatePipeline({ db, backend: 'cpu', checkpoint, split: 'val', tenCrop: false, data, batchSize: 4, log: quiet });
  const ten = await runEvaluatePipeline({ db, backend: 'cpu', checkpoint, split: 'val', tenCrop: true, data, batchSize: 2, log: quiet });
  const start = tf.memory().numTensors;
  const handCentre = await evaluateByHand(db, 'centre');
  const handTen = await evaluateByHand(db, 'ten');
  assert.equal(tf.memory().numTensors, start);
  // The random model is wrong on some images either way, so errors of 0 cannot pass.
  assert.ok(handCentre.top1Error > 0 && handTen.top1Error > 0, `by hand: centre ${handCentre.top1Error}, ten-crop ${handTen.top1Error}`);
  // Averaging ten crops changes the scores (the reason fc8 is scaled): the mean loss moves, and so does at least one image's answer.
  assert.ok(Math.abs(handTen.loss - handCentre.loss) > 0.1, `by hand: loss centre ${handCentre.loss}, ten-crop ${handTen.loss}`);
  assert.notDeepEqual(handTen.predictions, handCentre.predictions);
  for (const [result, hand] of [[centre, handCentre], [ten, handTen]] as const) {
    const mode = result.evaluation.tenCrop ? 'ten-crop' : 'centre';
    assert.ok(Math.abs(result.evaluation.top1Error - hand.top1Error) < 1e-12, `${mode}: top-1 error ${result.evaluation.top1Error}, by hand ${hand.top1Error}`);
    assert.ok(Math.abs(result.evaluation.loss! - hand.loss) < 1e-4 * hand.loss, `${mode}: loss ${result.evaluation.loss}, by hand ${hand.loss}`);
    assert.deepEqual(result.classErrors.map((c) => c.top1Error), hand.classTop1Errors, `${mode}: per-class top-1 errors`);
  }
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
  assert.match(list.stdout, /train-20260101-000000-zfnet-tiny\s+train\s+running\s+zfnet-tiny\s+cpu\s+\S+ \S+\s+epoch 2\/70 val top-1 error 25\.0%/);
  assert.match(list.stdout, /mean-20260101-000001\s+mean\s+running/);
  const one = runCli(['runs', '--db', dbPath, '--run', 'train-20260101-000000-zfnet-tiny']);
  assert.match(one.stdout, /^epoch\s+steps\s+loss\s+train top-1 err\s+val top-1 err\s+val top-5 err\s+lr/m);
  assert.match(one.stdout, /^1\s+3\s+1\.5000\s+50\.0%\s+25\.0%\s+0\.0%\s+0\.0100\s+10\.0\s+2\.0\s+\(deleted\)$/m);
  const json = JSON.parse(runCli(['runs', '--db', dbPath, '--run', 'train-20260101-000000-zfnet-tiny', '--json']).stdout) as { epochs: unknown[] };
  assert.equal(json.epochs.length, 2);
  const missing = runCli(['runs', '--db', dbPath, '--run', 'nope']);
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, 'run-pipeline: No run nope in the store (run-pipeline runs lists them)\n');
});
