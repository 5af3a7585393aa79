import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams, type ModelParams } from '../../src/model/params.js';
import { TAP_NAMES, type ModelConfig, type TapName } from '../../src/model/spec.js';
import { graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import { createOnnxForwardRunner, type OnnxForwardRunner } from '../../src/onnx/onnx-forward-runner.js';
import { LRN_FORMS } from '../../src/onnx/lower-graph-nodes.js';
import { applyScaledInit } from '../../src/train/init-scale.js';
import { runForwardRequest, type BatchPixels, type TapArray } from '../../src/workers/batch-reducers.js';
import type { LayerBatchReduction } from '../../src/topk/reduce-conv-tap.js';

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

/** max |a - b| / max |b| over the whole array. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

function assertTapsEqual(onnx: TapArray, tfjs: TapArray, label: string): void {
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

const VARIANTS = ['zfnet-tiny', 'alexnet-tiny', 'zfnet-small', 'alexnet-small'] as const;

describe('ONNX forward graphs equal the tfjs forward pass', () => {
  before(async () => {
    await initBackend('wasm', { log: () => undefined });
  });

  for (const name of VARIANTS) {
    describe(name, () => {
      let config: ModelConfig;
      let params: ModelParams;
      const runners: OnnxForwardRunner[] = [];
      before(() => {
        config = buildModelConfig(name);
        params = makeParams(config, 3);
        const weights = graphWeightsFromParams(config, params);
        for (const lrn of LRN_FORMS) runners.push(createOnnxForwardRunner({ graph: lowerModelConfig(config), weights, lrn, session: { executionProvider: 'cpu', intraOpThreads: 1 } }));
      });
      after(async () => {
        disposeParams(params);
        for (const runner of runners) await runner.release();
      });

      it('taps graph: every tap within 1e-5 relative, NHWC like tfjs (both LRN forms)', async () => {
        const batch = makeBatch(config, 3, 1);
        const request = { reducer: 'taps' as const, taps: [...TAP_NAMES] as TapName[] };
        const expected = await runForwardRequest(config, params, batch, request);
        for (const [i, runner] of runners.entries()) {
          const got = await runner.run(batch, request);
          for (const tap of TAP_NAMES) assertTapsEqual(got.taps[tap]!, expected.taps[tap]!, `${LRN_FORMS[i]} ${tap}`);
        }
      });

      it('classifier graph: logits within 1e-5 relative', async () => {
        const batch = makeBatch(config, 4, 2);
        const expected = await runForwardRequest(config, params, batch, { reducer: 'logits' });
        const got = await runners[0]!.run(batch, { reducer: 'logits' });
        assertTapsEqual(got.logits, expected.logits, 'logits');
      });

      it('top-activations graph: max, mean within 1e-5, first argmax identical, all-zero units give index 0', async () => {
        const batch = makeBatch(config, 5, 3);
        const request = { reducer: 'top-activations' as const, layers: [1, 2, 3, 4, 5] };
        const expected = await runForwardRequest(config, params, batch, request);
        const got = await runners[0]!.run(batch, request);
        got.layers.forEach((layer, i) => assertReductionsEqual(layer, expected.layers[i]!, `conv${layer.layer}`));
        const dead = got.layers[0]!; // units 0, 5, 10, ... have a -1e4 bias: their maps are all zero
        for (let image = 0; image < dead.numImages; image++) {
          assert.equal(dead.maxValues[image * dead.numUnits]!, 0);
          assert.equal(dead.argmaxIndex[image * dead.numUnits]!, 0);
        }
      });
    });
  }
});
