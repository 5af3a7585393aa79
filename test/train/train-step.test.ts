import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { paramsFromTensors, disposeParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { createMomentumBuffers, disposeMomentumBuffers } from '../../src/train/sgd-momentum.js';
import { computeCrossEntropy, computeProbabilities, runTrainStep } from '../../src/train/train-step.js';

before(async () => {
  await initBackend('cpu', { log: () => {} });
});

/** 1x1 input, 1x1 conv with 2 filters + ReLU, then a 2-way dense layer: small enough to differentiate by hand. */
const CONFIG: ModelConfig = {
  name: 'hand', inputSizePx: 1, inputChannels: 3, numClasses: 2, classIds: null,
  layers: [
    { kind: 'conv', name: 'conv1', filters: 2, kernelPx: 1, stride: 1, padding: [0, 0, 0, 0], relu: true },
    { kind: 'dense', name: 'fc8', units: 2, relu: false, dropout: 0 },
  ],
};
const X = [[1, -2, 0.5], [0.3, 0.8, -1.5]];
const LABELS = [1, 0];
const WC0 = [[0.4, -0.3], [-0.2, 0.25], [0.1, 0.2]]; // [in 3][filters 2]
const WD0 = [[0.5, -0.4], [0.3, 0.6]]; // [in 2][out 2]
const HYPER = { learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, filterRadius: 0.2, dropoutMasks: new Map<string, Float32Array>() };

type M = number[][];
const matMul = (a: M, b: M): M => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const transpose = (a: M): M => a[0]!.map((_, j) => a.map((row) => row[j]!));
const zip = (a: M, b: M, f: (x: number, y: number) => number): M => a.map((row, i) => row.map((v, j) => f(v, b[i]![j]!)));
const colSum = (a: M): number[] => a[0]!.map((_, j) => a.reduce((s, row) => s + row[j]!, 0));

let renormalizedFilters = 0;

interface HandState { wc: M; bc: number[]; wd: M; bd: number[]; vwc: M; vbc: number[]; vwd: M; vbd: number[] }

/** One SGD step computed in float64 by hand: forward, softmax CE gradient, Krizhevsky momentum update, renormalization. */
function handStep(s: HandState): { state: HandState; loss: number } {
  const pre = matMul(X, s.wc).map((row) => row.map((v, j) => v + s.bc[j]!));
  const h = pre.map((row) => row.map((v) => Math.max(0, v)));
  const logits = matMul(h, s.wd).map((row) => row.map((v, j) => v + s.bd[j]!));
  const n = X.length;
  let loss = 0;
  const dLogits = logits.map((row, i) => {
    const m = Math.max(...row);
    const z = row.reduce((acc, v) => acc + Math.exp(v - m), 0);
    loss -= (row[LABELS[i]!]! - m - Math.log(z)) / n;
    return row.map((v, j) => (Math.exp(v - m) / z - (j === LABELS[i] ? 1 : 0)) / n);
  });
  const gWd = matMul(transpose(h), dLogits);
  const gBd = colSum(dLogits);
  const dPre = zip(matMul(dLogits, transpose(s.wd)), pre, (g, p) => (p > 0 ? g : 0));
  const gWc = matMul(transpose(X), dPre);
  const gBc = colSum(dPre);
  const { learningRate: lr, momentum: mu, weightDecay: wd } = HYPER;
  const vel = (v: number, g: number, w: number) => mu * v - lr * (g + wd * w);
  const vwc = s.vwc.map((row, i) => row.map((v, j) => vel(v, gWc[i]![j]!, s.wc[i]![j]!)));
  const vwd = s.vwd.map((row, i) => row.map((v, j) => vel(v, gWd[i]![j]!, s.wd[i]![j]!)));
  const vbc = s.vbc.map((v, j) => vel(v, gBc[j]!, s.bc[j]!));
  const vbd = s.vbd.map((v, j) => vel(v, gBd[j]!, s.bd[j]!));
  let wc = zip(s.wc, vwc, (w, v) => w + v);
  const rms = [0, 1].map((j) => Math.sqrt(wc.reduce((acc, row) => acc + row[j]! ** 2, 0) / 3));
  renormalizedFilters += rms.filter((r) => r > HYPER.filterRadius).length;
  wc = wc.map((row) => row.map((w, j) => (rms[j]! > HYPER.filterRadius ? (w * HYPER.filterRadius) / rms[j]! : w)));
  const state = { wc, bc: s.bc.map((b, j) => b + vbc[j]!), wd: zip(s.wd, vwd, (w, v) => w + v), bd: s.bd.map((b, j) => b + vbd[j]!), vwc, vbc, vwd, vbd };
  return { state, loss };
}

function assertClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-5, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test('two SGD-momentum steps with weight decay and renormalization equal the hand-computed updates', () => {
  const start = tf.memory().numTensors;
  const tensors = new Map<string, tf.Tensor>([
    ['conv1.weight', tf.tensor4d(WC0.flat(), [1, 1, 3, 2])], ['conv1.bias', tf.tensor1d([0.05, -0.02])],
    ['fc8.weight', tf.tensor2d(WD0)], ['fc8.bias', tf.tensor1d([0.01, 0])],
  ]);
  const params = paramsFromTensors(tensors);
  tf.dispose([...tensors.values()]);
  const buffers = createMomentumBuffers(params);
  let hand: HandState = { wc: WC0, bc: [0.05, -0.02], wd: WD0, bd: [0.01, 0], vwc: [[0, 0], [0, 0], [0, 0]], vbc: [0, 0], vwd: [[0, 0], [0, 0]], vbd: [0, 0] };
  const input = { pixels: new Float32Array(X.flat()), shape: [2, 1, 1, 3] as [number, number, number, number], labels: LABELS };
  for (let step = 0; step < 2; step++) {
    const result = runTrainStep(CONFIG, params, buffers, input, HYPER);
    const expected = handStep(hand);
    hand = expected.state;
    assert.ok(Math.abs(result.loss - expected.loss) < 1e-5, `loss ${result.loss} vs ${expected.loss}`);
    assertClose(params.get('conv1.weight')!.dataSync(), hand.wc.flat(), `step ${step} conv1.weight`);
    assertClose(params.get('conv1.bias')!.dataSync(), hand.bc, `step ${step} conv1.bias`);
    assertClose(params.get('fc8.weight')!.dataSync(), hand.wd.flat(), `step ${step} fc8.weight`);
    assertClose(params.get('fc8.bias')!.dataSync(), hand.bd, `step ${step} fc8.bias`);
    assertClose(buffers.get('fc8.weight')!.dataSync(), hand.vwd.flat(), `step ${step} fc8 velocity`);
  }
  assert.ok(renormalizedFilters > 0, 'the example exercises renormalization');
  disposeMomentumBuffers(buffers);
  disposeParams(params);
  assert.equal(tf.memory().numTensors, start);
});

test('a batch split into micro-batches gives the same update as the whole batch (no dropout)', () => {
  const start = tf.memory().numTensors;
  const makeParams = () => {
    const tensors = new Map<string, tf.Tensor>([
      ['conv1.weight', tf.tensor4d(WC0.flat(), [1, 1, 3, 2])], ['conv1.bias', tf.tensor1d([0.05, -0.02])], ['fc8.weight', tf.tensor2d(WD0)], ['fc8.bias', tf.tensor1d([0.01, 0])],
    ]);
    const params = paramsFromTensors(tensors);
    tf.dispose([...tensors.values()]);
    return params;
  };
  const input = { pixels: new Float32Array([...X.flat(), 0.2, -0.7, 1.1]), shape: [3, 1, 1, 3] as [number, number, number, number], labels: [1, 0, 1] };
  const results = [3, 1, 2].map((micro) => {
    const params = makeParams();
    const buffers = createMomentumBuffers(params);
    const step = runTrainStep(CONFIG, params, buffers, input, { ...HYPER, microBatchSize: micro });
    const values = [...params.values()].flatMap((p) => [...p.dataSync()]);
    disposeMomentumBuffers(buffers);
    disposeParams(params);
    return { step, values };
  });
  for (const r of results.slice(1)) {
    assert.ok(Math.abs(r.step.loss - results[0]!.step.loss) < 1e-6);
    assert.deepEqual(r.step.ranks, results[0]!.step.ranks);
    assertClose(r.values, results[0]!.values, 'params');
  }
  assert.equal(tf.memory().numTensors, start);
});

test('cross-entropy of uniform logits is log(C); probabilities leave no tensors', () => {
  const start = tf.memory().numTensors;
  const loss = tf.tidy(() => computeCrossEntropy(tf.zeros([3, 4]) as tf.Tensor2D, tf.tensor1d([0, 1, 3], 'int32')).dataSync()[0]!);
  assert.ok(Math.abs(loss - Math.log(4)) < 1e-6);
  const tensors = new Map<string, tf.Tensor>([
    ['conv1.weight', tf.tensor4d(WC0.flat(), [1, 1, 3, 2])], ['conv1.bias', tf.zeros([2])], ['fc8.weight', tf.tensor2d(WD0)], ['fc8.bias', tf.zeros([2])],
  ]);
  const params = paramsFromTensors(tensors);
  tf.dispose([...tensors.values()]);
  const probs = computeProbabilities(CONFIG, params, new Float32Array(X.flat()), [2, 1, 1, 3]);
  assert.equal(probs.length, 4);
  assert.ok(Math.abs(probs[0]! + probs[1]! - 1) < 1e-6);
  disposeParams(params);
  assert.equal(tf.memory().numTensors, start);
});
