import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/backend/select-backend.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, type ModelParams } from '../../src/model/params.js';
import { TAP_NAMES, type ModelConfig, type TapName } from '../../src/model/spec.js';
import { graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import { createOnnxForwardRunner, type OnnxForwardRunner } from '../../src/workers/onnx-forward-runner.js';
import { LRN_FORMS } from '../../src/onnx/lower-graph-nodes.js';
import { runForwardRequest } from '../../src/workers/batch-reducers.js';
import { assertReductionsEqual, assertTapsEqual, makeBatch, makeParams, relativeError } from './onnx-fixtures.js';

/**
 * The tiny and small variants, and the small ones at 224 px: zfnet's and alexnet's full-size
 * geometry (110/26/13/13/13 and 55/27/13/13/13 maps, a 6x6 pool5 flattened into fc6) with narrow
 * layers, so every graph kind's shape inference is checked at full size without 250 MB of weights.
 */
const VARIANTS: ReadonlyArray<[string, { inputSizePx?: number }]> = [
  ['zfnet-tiny', {}], ['alexnet-tiny', {}], ['zfnet-small', {}], ['alexnet-small', {}], ['zfnet-small', { inputSizePx: 224 }], ['alexnet-small', { inputSizePx: 224 }],
];

describe('ONNX forward graphs equal the tfjs forward pass', () => {
  before(async () => {
    await initBackend('wasm', { log: () => undefined });
  });

  for (const [name, overrides] of VARIANTS) {
    describe(`${name}${overrides.inputSizePx === undefined ? '' : ` at ${overrides.inputSizePx} px (full-size geometry)`}`, () => {
      let config: ModelConfig;
      let params: ModelParams;
      const runners: OnnxForwardRunner[] = [];
      before(() => {
        config = buildModelConfig(name, overrides);
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

      it('distances graph: float64 distances to the batch\'s first image and its norm within 1e-5 relative of the tfjs reducer, the first image again at 0, probs whole', async () => {
        const batch = makeBatch(config, 4, 4);
        const perImage = batch.pixels.length / 4;
        batch.pixels.copyWithin(2 * perImage, 0, perImage); // image 2 is image 0 again
        const features = ['conv1', 'conv5', 'fc7'];
        const request = { reducer: 'distances' as const, features, taps: ['probs'] };
        const expected = await runForwardRequest(config, params, batch, request);
        const got = await runners[0]!.run(batch, request);
        for (const tap of features) {
          const [d, e] = [got.distances[tap]!, expected.distances[tap]!];
          const [n, m] = [got.norms[tap]!, expected.norms[tap]!];
          assert.ok(d instanceof Float64Array && d.length === 4, `${tap}: [4] float64`);
          assert.ok(e[1]! > 0 && e[3]! > 0, `${tap}: other images are away from the first`);
          assert.ok(relativeError(d, e) < 1e-5, `${tap} distances: ${Array.from(d)} vs ${Array.from(e)}`);
          assert.ok(m > 0 && Math.abs(n - m) <= 1e-5 * m, `${tap} norm of the first image: ${n} vs ${m}`);
          assert.equal(d[0], 0, `${tap}: the first image is at distance 0`);
          assert.ok(d[2]! <= 1e-5 * d[1]! && e[2]! <= 1e-5 * e[1]!, `${tap}: the first image again is at distance ${d[2]} (onnx), ${e[2]} (tfjs)`);
        }
        assertTapsEqual(got.taps['probs']!, expected.taps['probs']!, 'probs');
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
