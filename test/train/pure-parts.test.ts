import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FEATURE_EVOLUTION_EPOCHS, findBestEpoch, selectEpochsToDelete, selectEpochsToKeep } from '../../src/train/checkpoint-retention.js';
import { advanceLrSchedule, createLrScheduleState, type LrScheduleOptions } from '../../src/train/lr-schedule.js';
import { addBatchMetrics, addClassTally, createMetricSums, rankLabels, scoreProbabilities, summarizeClassTally, summarizeMetrics, type ClassTally } from '../../src/train/topk-metrics.js';
import { createRng } from '../../src/data/seeded-rng.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { chooseMicroBatchSize } from '../../src/train/micro-batch.js';

const BASE: LrScheduleOptions = { kind: 'plateau', initialLr: 0.01, patience: 2, stepEpochs: 3, factor: 10 };

function runSchedule(options: LrScheduleOptions, errors: Array<number | null>): number[] {
  let state = createLrScheduleState(options);
  const rates: number[] = [];
  errors.forEach((e, i) => {
    state = advanceLrSchedule(options, state, i + 1, e);
    rates.push(state.learningRate);
  });
  return rates;
}

test('plateau divides by 10 after `patience` epochs without improvement, then waits again', () => {
  assert.deepEqual(runSchedule(BASE, [0.9, 0.8, 0.8, 0.81, 0.7, 0.75, 0.7]), [0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.0001]);
  assert.deepEqual(runSchedule({ ...BASE, patience: 1 }, [null]), [0.001], 'a missing validation counts as no improvement');
});

test('step divides every stepEpochs epochs; fixed never changes', () => {
  const rates = runSchedule({ ...BASE, kind: 'step' }, [1, 1, 1, 1, 1, 1]);
  assert.deepEqual(rates.map((r) => r.toPrecision(6)), ['0.0100000', '0.0100000', '0.00100000', '0.00100000', '0.00100000', '0.000100000']);
  assert.deepEqual(runSchedule({ ...BASE, kind: 'fixed' }, [1, 1, 1, 1]), [0.01, 0.01, 0.01, 0.01]);
});

test('top-k ranks equal sort-then-index on random scores, ties to the lower class', () => {
  const rng = createRng(5);
  const n = 50;
  const c = 9;
  const scores = Array.from({ length: n * c }, () => Math.round(rng.next() * 6)); // many ties
  const labels = Array.from({ length: n }, () => rng.nextInt(c));
  const ranks = rankLabels(scores, c, labels);
  labels.forEach((label, i) => {
    const row = scores.slice(i * c, (i + 1) * c);
    const order = row.map((s, k) => ({ s, k })).sort((a, b) => b.s - a.s || a.k - b.k).map((e) => e.k);
    assert.equal(ranks[i], order.indexOf(label));
  });
  assert.throws(() => rankLabels([0, 1], 2, [2]), { message: 'Expected label between 0 and 1 but received 2' });
});

test('metric sums and per-class errors', () => {
  let sums = createMetricSums();
  sums = addBatchMetrics(sums, 2, [0, 1, 7]);
  sums = addBatchMetrics(sums, 1, [0]);
  assert.deepEqual(summarizeMetrics(sums), { images: 4, loss: 7 / 4, top1Error: 0.5, top5Error: 0.25 });
  const tally: ClassTally = new Map();
  addClassTally(tally, [2, 0], [0, 5]);
  addClassTally(tally, [2, 2], [1, 0]);
  assert.deepEqual(summarizeClassTally(tally), [
    { label: 0, images: 1, top1Error: 1, top5Error: 1 },
    { label: 2, images: 3, top1Error: 1 / 3, top5Error: 0 },
  ]);
});

test('retention keeps the feature-evolution epochs, the last and the best', () => {
  const scores = Array.from({ length: 70 }, (_, i) => ({ epoch: i + 1, valError: i + 1 === 33 ? 0.1 : 0.5 }));
  const options = { keepEpochs: FEATURE_EVOLUTION_EPOCHS, keepAll: false };
  assert.deepEqual(selectEpochsToKeep(scores, options), [1, 2, 5, 10, 20, 30, 33, 40, 64, 70]);
  assert.equal(selectEpochsToDelete(scores, options).length, 60);
  assert.deepEqual(selectEpochsToKeep(scores.slice(0, 4), { keepEpochs: [], keepAll: false }), [1, 4], 'last, and the earliest of tied bests');
  assert.deepEqual(selectEpochsToDelete(scores.slice(0, 4), { keepEpochs: [], keepAll: true }), []);
  assert.equal(findBestEpoch([{ epoch: 1, valError: null }, { epoch: 2, valError: 0.3 }, { epoch: 3, valError: 0.3 }]), 2);
  assert.equal(findBestEpoch([{ epoch: 1, valError: null }]), null);
});

test('ten-crop scoring averages each image\'s crop probabilities before ranking', () => {
  // image 0 (label 1): crop rows favour class 0 once and class 1 twice -> average favours 1
  const probs = new Float32Array([0.9, 0.1, 0.2, 0.8, 0.3, 0.7, /* image 1, label 0 */ 0.6, 0.4, 0.6, 0.4, 0.6, 0.4]);
  const scored = scoreProbabilities(probs, 2, [1, 1, 1, 0, 0, 0], 3);
  assert.deepEqual(scored.labels, [1, 0]);
  assert.deepEqual(scored.ranks, [0, 0]);
  const expected = -(Math.log((0.1 + 0.8 + 0.7) / 3) + Math.log(0.6)) / 2;
  assert.ok(Math.abs(scored.meanLoss - expected) < 1e-6);
});

test('micro-batches: full zfnet on wasm is split to fit the 4 GiB heap, on onnx into balanced passes within its budget; small models and other backends take whole batches', () => {
  const zfnet = buildModelConfig('zfnet');
  assert.equal(chooseMicroBatchSize(zfnet, 128, 'wasm'), 19);
  assert.equal(chooseMicroBatchSize(zfnet, 128, 'onnx'), 43); // 3 passes of 43, 43, 42 (at most 62 fit)
  assert.equal(chooseMicroBatchSize(zfnet, 32, 'onnx'), 32);
  assert.equal(chooseMicroBatchSize(zfnet, 62, 'onnx'), 62);
  assert.equal(chooseMicroBatchSize(zfnet, 63, 'onnx'), 32);
  assert.equal(chooseMicroBatchSize(buildModelConfig('zfnet-small'), 128, 'onnx'), 128);
  assert.equal(chooseMicroBatchSize(zfnet, 128, 'cpu'), 128);
  assert.equal(chooseMicroBatchSize(buildModelConfig('zfnet-small'), 128, 'wasm'), 128);
  assert.equal(chooseMicroBatchSize(zfnet, 8, 'wasm'), 8);
});

test('scaled init: He std for ReLU layers (conv1 divided by the input RMS), 0.001 for the classifier', async () => {
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend } = await import('../../src/backend/select-backend.js');
  const { disposeParams, initParams } = await import('../../src/model/params.js');
  const { applyScaledInit, computeScaledInitStd, INPUT_RMS } = await import('../../src/train/init-scale.js');
  await initBackend('cpu', { log: () => {} });
  const config = buildModelConfig('zfnet-tiny');
  const params = initParams(config, 2);
  const stds = computeScaledInitStd(config);
  assert.equal(stds.get('conv1.weight'), Math.sqrt(2 / (7 * 7 * 3)) / INPUT_RMS);
  assert.equal(stds.get('conv3.weight'), Math.sqrt(2 / (3 * 3 * 16)));
  assert.equal(stds.get('fc8.weight'), 0.001);
  assert.equal(stds.has('conv1.bias'), false);
  const before = params.get('fc6.weight')!.dataSync().slice();
  applyScaledInit(config, params);
  const after = params.get('fc6.weight')!.dataSync();
  const ratio = stds.get('fc6.weight')! / 0.01;
  assert.ok(before.every((v, i) => Math.abs(after[i]! - v * ratio) <= 1e-6 * Math.abs(v * ratio) + 1e-12));
  disposeParams(params);
  assert.equal(tf.memory().numTensors, 0);
});
