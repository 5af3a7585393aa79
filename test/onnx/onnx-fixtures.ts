/** Test helpers of the onnx engine tests: seeded batches and weights, tolerant comparisons. */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initParams, type ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { applyScaledInit } from '../../src/train/init-scale.js';
import type { BatchPixels, TapArray } from '../../src/workers/batch-reducers.js';
import type { LayerBatchReduction } from '../../src/topk/reduce-conv-tap.js';
import { relativeError } from '../kernels/compare-backends.js';

export { relativeError };

/** Seeded pixels in the project's range (mean-subtracted 0..255). */
export function makeBatch(config: ModelConfig, n: number, seed: number): BatchPixels {
  const s = config.inputSizePx;
  const pixels = Float32Array.from({ length: n * s * s * 3 }, (_, i) => Math.sin(i * 0.0137 + seed) * 90 + Math.cos(i * 0.00071) * 30);
  return { pixels, shape: [n, s, s, 3] };
}

/** Scaled init and small random biases (so maps are neither vanishing nor all positive), with some units pushed to all-zero maps. */
export function makeParams(config: ModelConfig, seed: number, deadUnits = true): ModelParams {
  const params = initParams(config, seed);
  applyScaledInit(config, params);
  for (const [name, variable] of params) {
    if (!name.endsWith('.bias')) continue;
    const values = Float32Array.from({ length: variable.size }, (_, i) => Math.sin(i * 1.7 + seed) * 0.05);
    if (deadUnits && name.startsWith('conv')) for (let i = 0; i < values.length; i += 5) values[i] = -1e4; // all-zero maps: every cell ties
    variable.assign(tf.tensor1d(values));
  }
  return params;
}

export function assertTapsEqual(onnx: TapArray, tfjs: TapArray, label: string): void {
  assert.deepEqual(onnx.shape, tfjs.shape, `${label} shape`);
  const error = relativeError(onnx.data, tfjs.data);
  assert.ok(error < 1e-5, `${label}: relative error ${error}`);
}

/** Reductions equal: max and mean within 1e-5 relative, argmax identical. */
export function assertReductionsEqual(onnx: LayerBatchReduction, tfjs: LayerBatchReduction, label: string): void {
  const { maxValues: _m, argmaxIndex: _a, meanValues: _v, ...onnxShape } = onnx;
  const { maxValues: _m2, argmaxIndex: _a2, meanValues: _v2, ...tfjsShape } = tfjs;
  assert.deepEqual(onnxShape, tfjsShape, `${label} shape`);
  assert.ok(relativeError(onnx.maxValues, tfjs.maxValues) < 1e-5, `${label} max: ${relativeError(onnx.maxValues, tfjs.maxValues)}`);
  assert.ok(relativeError(onnx.meanValues, tfjs.meanValues) < 1e-5, `${label} mean: ${relativeError(onnx.meanValues, tfjs.meanValues)}`);
  assert.deepEqual(Array.from(onnx.argmaxIndex), Array.from(tfjs.argmaxIndex), `${label} argmax`);
  assert.ok(onnx.argmaxIndex instanceof Int32Array, `${label} argmax is Int32Array`);
}

