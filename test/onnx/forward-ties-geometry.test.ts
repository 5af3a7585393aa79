import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { convertToTorch, parameterLayouts } from '../../src/model/torch-layout.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import type { GraphOp, ModelGraph } from '../../src/graph/model-graph.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, type ModelParams } from '../../src/model/params.js';
import type { TapName } from '../../src/model/spec.js';
import { LRN_FORMS, type LrnForm } from '../../src/onnx/lower-graph-nodes.js';
import { createOnnxForwardRunner } from '../../src/workers/onnx-forward-runner.js';
import { runForwardRequest } from '../../src/workers/batch-reducers.js';
import { makeBatch, relativeError } from './onnx-fixtures.js';

const SESSION = { executionProvider: 'cpu' as const, intraOpThreads: 1 };

/** A weightless graph: input [C, S, S] -> one op, examined as layer `x`. */
function singleOpGraph(channels: number, sizePx: number, op: GraphOp, kind: 'conv' | 'norm' | 'pool'): ModelGraph {
  return {
    name: `single-${op.op}`, input: { channels, sizePx },
    nodes: [{ name: 'x', op, inputs: ['input'] }],
    logits: 'x', probs: null, layers: [{ name: 'x', node: 'x', kind, aliases: [] }], weightShapes: {},
  };
}

/** NHWC pixels from an NCHW fill function. */
function nhwc(channels: number, sizePx: number, value: (c: number, y: number, x: number) => number): Float32Array {
  const out = new Float32Array(sizePx * sizePx * channels);
  for (let y = 0; y < sizePx; y++) for (let x = 0; x < sizePx; x++) for (let c = 0; c < channels; c++) out[(y * sizePx + x) * channels + c] = value(c, y, x);
  return out;
}

describe('onnx graphs and ties: the first maximum in row-major order', () => {
  it('top-activations argmax picks the first of tied maxima (all-zero maps give 0), max and mean exact', async () => {
    const s = 5;
    // Channel 0: all zero (ReLU of negatives). 1: the max 3 at (1, 2) and (3, 0). 2: max 7 everywhere on row 4. 3: a single max.
    const value = (c: number, y: number, x: number): number => [-1 - x, (y === 1 && x === 2) || (y === 3 && x === 0) ? 3 : (x + y) % 2, y === 4 ? 7 : 1, y * s + x === 17 ? 9 : 0][c]!;
    const graph = singleOpGraph(4, s, { op: 'relu' }, 'conv');
    graph.layers[0]!.name = 'conv1';
    const runner = createOnnxForwardRunner({ graph, weights: new Map(), session: SESSION });
    try {
      const result = await runner.run({ pixels: nhwc(4, s, value), shape: [1, s, s, 4] }, { reducer: 'top-activations', layers: [1] });
      const layer = result.layers[0]!;
      assert.deepEqual(Array.from(layer.argmaxIndex), [0, 1 * s + 2, 4 * s + 0, 17]);
      assert.deepEqual(Array.from(layer.maxValues), [0, 3, 7, 9]);
      const means = [0, 1, 2, 3].map((c) => { let sum = 0; for (let i = 0; i < s * s; i++) sum += Math.max(0, value(c, Math.floor(i / s), i % s)); return sum / (s * s); });
      Array.from(layer.meanValues).forEach((m, c) => assert.ok(Math.abs(m - means[c]!) < 1e-6, `mean ${c}: ${m} vs ${means[c]}`));
    } finally {
      await runner.release();
    }
  });

  it('ceil-mode max pooling: the extra cells never win, tied and all-negative windows give the true maximum', async () => {
    const s = 6; // 3x3 stride 2 ceil mode: 3 outputs per axis, the last window runs one cell past the edge
    const value = (c: number, y: number, x: number): number => (c === 0 ? -5 : (y + x) % 3 === 0 ? 2 : -1);
    const graph = singleOpGraph(2, s, { op: 'maxpool', window: [3, 3], stride: [2, 2], padding: [0, 0, 0, 0], ceilMode: true }, 'pool');
    const runner = createOnnxForwardRunner({ graph, weights: new Map(), session: SESSION });
    try {
      const tap = (await runner.run({ pixels: nhwc(2, s, value), shape: [1, s, s, 2] }, { reducer: 'taps', taps: ['x' as TapName] })).taps['x' as TapName]!;
      assert.deepEqual(tap.shape, [1, 3, 3, 2]);
      for (let oy = 0; oy < 3; oy++) for (let ox = 0; ox < 3; ox++) for (let c = 0; c < 2; c++) {
        let best = -Infinity;
        for (let y = oy * 2; y < Math.min(s, oy * 2 + 3); y++) for (let x = ox * 2; x < Math.min(s, ox * 2 + 3); x++) best = Math.max(best, value(c, y, x));
        assert.equal(tap.data[(oy * 3 + ox) * 2 + c], best, `(${oy}, ${ox}, ${c})`);
      }
    } finally {
      await runner.release();
    }
  });

  for (const lrn of LRN_FORMS) {
    it(`LRN (${lrn} form) equals the project's formula b = a / (k + alpha * sum of 5 squares)^beta, alpha not divided by size`, async () => {
      const [c, s] = [7, 3];
      const op = { op: 'lrn' as const, size: 5, k: 2, alpha: 1e-4, beta: 0.75 };
      const value = (ch: number, y: number, x: number): number => Math.sin(ch * 3.1 + y * 1.7 + x) * 250;
      const runner = createOnnxForwardRunner({ graph: singleOpGraph(c, s, op, 'norm'), weights: new Map(), session: SESSION, lrn: lrn as LrnForm });
      try {
        const tap = (await runner.run({ pixels: nhwc(c, s, value), shape: [1, s, s, c] }, { reducer: 'taps', taps: ['x' as TapName] })).taps['x' as TapName]!;
        for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) for (let ch = 0; ch < c; ch++) {
          let sum = 0;
          for (let j = Math.max(0, ch - 2); j <= Math.min(c - 1, ch + 2); j++) sum += value(j, y, x) ** 2;
          const expected = value(ch, y, x) / (op.k + op.alpha * sum) ** op.beta;
          const got = tap.data[(y * s + x) * c + ch]!;
          assert.ok(Math.abs(got - expected) <= 2e-6 * Math.abs(expected), `(${y}, ${x}, ${ch}): ${got} vs ${expected}`);
        }
      } finally {
        await runner.release();
      }
    });
  }
});

describe('onnx graphs at full-size geometry (224 px, conv1..pool5, batch 1) equal tfjs', () => {
  before(async () => {
    await initBackend('wasm', { log: () => undefined });
  });

  for (const name of ['zfnet', 'alexnet']) {
    describe(name, () => {
      const config = buildModelConfig(name);
      let params: ModelParams;
      before(() => {
        // Conv layers only: a pass up to pool5 never reads fc6..fc8 (250 MB that the test does not need).
        params = new Map();
        parameterLayouts(config).filter((l) => l.name.startsWith('conv')).forEach((layout, i) => {
          const fanIn = layout.tfjsShape.slice(0, -1).reduce((a, b) => a * b, 1);
          const init = layout.name.endsWith('.bias') ? tf.fill(layout.tfjsShape, 0.01) : tf.randomNormal(layout.tfjsShape, 0, Math.sqrt(2 / fanIn) / (i === 0 ? 64 : 1), 'float32', 7 + i);
          params.set(layout.name, tf.variable(init, false));
          init.dispose();
        });
      });
      after(() => disposeParams(params));

      it('taps conv1..pool5 within 1e-5 and top-activation reductions identical in argmax', async () => {
        const weights = new Map(parameterLayouts(config).filter((l) => params.has(l.name)).map((l) => [l.name, convertToTorch(l, params.get(l.name)!.dataSync() as Float32Array)]));
        const runner = createOnnxForwardRunner({ graph: lowerModelConfig(config), weights, session: SESSION });
        try {
          const batch = makeBatch(config, 1, 5);
          const taps = ['conv1', 'pool1', 'norm1', 'conv2', 'pool2', 'norm2', 'conv3', 'conv4', 'conv5', 'pool5'] as TapName[];
          const expected = await runForwardRequest(config, params, batch, { reducer: 'taps', taps });
          const got = await runner.run(batch, { reducer: 'taps', taps });
          for (const tap of taps) {
            assert.deepEqual(got.taps[tap]!.shape, expected.taps[tap]!.shape, tap);
            assert.ok(relativeError(got.taps[tap]!.data, expected.taps[tap]!.data) < 1e-5, `${tap}: ${relativeError(got.taps[tap]!.data, expected.taps[tap]!.data)}`);
          }
          const request = { reducer: 'top-activations' as const, layers: [1, 2, 3, 4, 5] };
          const top = await runner.run(batch, request);
          const reference = await runForwardRequest(config, params, batch, request);
          top.layers.forEach((layer, i) => {
            assert.deepEqual([layer.numUnits, layer.mapHeight, layer.mapWidth], [reference.layers[i]!.numUnits, reference.layers[i]!.mapHeight, reference.layers[i]!.mapWidth]);
            assert.deepEqual(Array.from(layer.argmaxIndex), Array.from(reference.layers[i]!.argmaxIndex), `conv${layer.layer} argmax`);
            assert.ok(relativeError(layer.maxValues, reference.layers[i]!.maxValues) < 1e-5);
          });
        } finally {
          await runner.release();
        }
      });
    });
  }
});
