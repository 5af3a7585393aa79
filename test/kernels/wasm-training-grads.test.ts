/**
 * The other kernels a ZFNet training step differentiates through on wasm
 * (tfjs-backend-wasm 4.22 registers LRNGrad, Step, ... itself; MaxPoolGrad
 * is the project's, since wasm's own misroutes windows whose max is <= 0).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { computeOn, makeValues, relativeError } from './compare-backends.js';

interface GradCase {
  name: string;
  shape: number[];
  f: (x: tf.Tensor) => tf.Tensor;
  /** Maps the random inputs (to make ties, zeros). */
  values?: (v: Float32Array) => Float32Array;
}

/** Gradient of sum(f(x) * g) with respect to x, plus f(x), for a fixed g. */
function gradOf(c: GradCase, seed: number): () => tf.Tensor[] {
  const { shape, f } = c;
  const values = makeValues(shape.reduce((a, b) => a * b), seed);
  return () =>
    tf.tidy(() => {
      const x = tf.tensor(c.values?.(values) ?? values, shape);
      const y = f(x);
      const g = tf.tensor(makeValues(y.size, seed + 1), y.shape);
      const grad = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx), g)))(x);
      return [y, grad];
    });
}

const scaled = (x: tf.Tensor, factor: number): tf.Tensor => tf.mul(x, factor);

const CASES: GradCase[] = [
  { name: 'relu', shape: [2, 5, 5, 4], f: (x) => tf.relu(x) },
  { name: 'max pool 3x3/2 with ceil-mode padding (-1e30 cells)', shape: [2, 11, 11, 3], f: (x) => tf.maxPool(tf.pad(x as tf.Tensor4D, [[0, 0], [0, 1], [0, 1], [0, 0]], -1e30), 3, 2, 'valid') },
  { name: 'max pool 3x3/2 valid, mixed signs (some all-negative windows)', shape: [2, 13, 13, 4], f: (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'valid') },
  { name: 'max pool 3x3/2 valid, all negative', shape: [2, 9, 9, 3], f: (x) => tf.maxPool(tf.sub(x, 2) as tf.Tensor4D, 3, 2, 'valid') },
  // Inputs as ZFNet's pools see them: rectified, many exact zeros and ties (cpu: first maximum wins).
  { name: 'max pool 3x3/2 on rectified values with ties (many all-zero windows)', shape: [2, 13, 13, 4], f: (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'valid'), values: (v) => v.map((a) => Math.max(0, Math.round(2 * a) - 1)) },
  { name: 'max pool 3x3/2 same (top-left padding)', shape: [2, 10, 10, 3], f: (x) => tf.maxPool(tf.sub(x, 2) as tf.Tensor4D, 3, 2, 'same') },
  { name: 'max pool 2x3 strides (1,2) explicit padding', shape: [2, 8, 9, 2], f: (x) => tf.maxPool(tf.sub(x, 2) as tf.Tensor4D, [2, 3], [1, 2], [[0, 0], [1, 0], [0, 1], [0, 0]]) },
  // 0..255-scale activations make the LRN denominator matter (alpha 1e-4 on squares of ~100).
  { name: 'LRN radius 2, k 2, alpha 1e-4, beta 0.75', shape: [2, 5, 5, 8], f: (x) => tf.localResponseNormalization(scaled(x, 100) as tf.Tensor4D, 2, 2, 1e-4, 0.75) },
  { name: 'dense: matMul + bias', shape: [3, 12], f: (x) => tf.add(tf.matMul(x as tf.Tensor2D, tf.tensor2d(makeValues(12 * 5, 9), [12, 5])), tf.tensor1d([1, 2, 3, 4, 5])) },
  { name: 'NHWC flatten (reshape)', shape: [2, 3, 3, 4], f: (x) => tf.reshape(x, [2, 36]) },
  { name: 'log-softmax cross-entropy on one-hot labels', shape: [4, 6], f: (x) => tf.sum(tf.mul(tf.logSoftmax(scaled(x, 5)), tf.oneHot(tf.tensor1d([0, 5, 2, 3], 'int32'), 6)), 1) },
  { name: 'softmax', shape: [3, 7], f: (x) => tf.softmax(scaled(x, 4)) },
  { name: 'dropout 0.5 with a fixed seed', shape: [4, 16], f: (x) => tf.dropout(x, 0.5, undefined, 7) },
  { name: 'bias add broadcast over NHWC', shape: [4], f: (b) => tf.add(tf.tensor4d(makeValues(2 * 3 * 3 * 4, 3), [2, 3, 3, 4]), b) },
];

describe('training-step gradients on wasm equal the cpu backend', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const [cpuY, cpuGrad] = await computeOn('cpu', gradOf(c, 21));
      const [wasmY, wasmGrad] = await computeOn('wasm', gradOf(c, 21));
      assert.ok(cpuGrad!.some((v) => v !== 0), 'the cpu gradient is all zeros: the comparison would be empty');
      assert.ok(relativeError(wasmY!, cpuY!) < 1e-4, `forward relative error ${relativeError(wasmY!, cpuY!)}`);
      assert.ok(relativeError(wasmGrad!, cpuGrad!) < 1e-4, `gradient relative error ${relativeError(wasmGrad!, cpuGrad!)}`);
    });
  }
});
