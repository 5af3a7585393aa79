import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/backend/select-backend.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, type ModelParams } from '../../src/model/params.js';
import { TAP_NAMES, type ModelConfig, type TapName } from '../../src/model/spec.js';
import { graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import { createOnnxForwardRunner, type OnnxForwardRunner } from '../../src/onnx/onnx-forward-runner.js';
import { LRN_FORMS } from '../../src/onnx/lower-graph-nodes.js';
import { runForwardRequest } from '../../src/workers/batch-reducers.js';
import { assertReductionsEqual, assertTapsEqual, makeBatch, makeParams, relativeError } from './onnx-fixtures.js';

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

      it('distances graph: float64 distances to a reference image within 1e-5 relative of the tfjs reducer, the reference itself at 0, probs whole', async () => {
        const referenceBatch = makeBatch(config, 1, 7);
        const { taps } = await runForwardRequest(config, params, referenceBatch, { reducer: 'taps', taps: ['conv1', 'conv5', 'fc7'] });
        const batch = makeBatch(config, 3, 4);
        batch.pixels.set(referenceBatch.pixels, batch.pixels.length / 3); // image 1 is the reference image
        const request = {
          reducer: 'distances' as const, taps: ['probs' as const],
          references: (['conv1', 'conv5', 'fc7'] as const).map((tap) => ({ tap, values: taps[tap]!.data })),
        };
        const expected = await runForwardRequest(config, params, batch, request);
        const got = await runners[0]!.run(batch, request);
        for (const tap of ['conv1', 'conv5', 'fc7'] as const) {
          const [d, e] = [got.distances[tap]!, expected.distances[tap]!];
          assert.ok(d instanceof Float64Array && d.length === 3, `${tap}: [3] float64`);
          assert.ok(e[0]! > 0 && e[2]! > 0, `${tap}: other images are away from the reference`);
          assert.ok(relativeError(d, e) < 1e-5, `${tap}: ${Array.from(d)} vs ${Array.from(e)}`);
          assert.ok(d[1]! <= 1e-5 * d[0]! && e[1]! <= 1e-5 * e[0]!, `${tap}: the reference image is at distance ${d[1]} (onnx), ${e[1]} (tfjs)`);
        }
        assertTapsEqual(got.taps.probs!, expected.taps.probs!, 'probs');
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
