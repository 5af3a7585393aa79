import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { projectBatch } from '../../src/deconv/deconvnet.js';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { findLayer, type GraphNode, type GraphWeights, type ModelGraph } from '../../src/graph/model-graph.js';
import { importOnnxModel } from '../../src/import/onnx-import.js';
import { buildTorchvisionGraph } from '../../src/import/torchvision-architectures.js';
import { importTorchvisionStateDict } from '../../src/import/torchvision-import.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams } from '../../src/model/params.js';
import { buildGraphProjection } from '../../src/onnx/build-graph-projection.js';
import { DECONV_METHODS, type DeconvMethod } from '../../src/onnx/deconv-down-rules.js';
import { encodeOnnxModel } from '../../src/onnx/onnx-codec.js';
import { graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import { useBackend } from '../deconv/backends.js';
import { evaluateGraph, relativeError, seededFloats } from '../import/graph-reference.js';
import { referenceProjection } from './projection-reference.js';
import { torchStyleModel } from '../import/onnx-fixtures.js';
import { writeStateDict } from '../import/torchvision-fixtures.js';

async function runProjection(graph: ModelGraph, weights: GraphWeights, nhwc: Float32Array, entries: number, examined: string, selects: number[], method: DeconvMethod): Promise<{ projection: Float32Array; activation: Float32Array }> {
  const session = await ort.InferenceSession.create(encodeOnnxModel(buildGraphProjection(graph, weights, examined, method)));
  try {
    const s = graph.input.sizePx;
    const out = await session.run({
      pixels: new ort.Tensor('float32', nhwc, [entries, s, s, graph.input.channels]),
      select: new ort.Tensor('int64', BigInt64Array.from(selects.map(BigInt)), [entries, 1]),
    });
    return { projection: out['projection']!.data as Float32Array, activation: out['activation']!.data as Float32Array };
  } finally {
    await session.release();
  }
}

/** Checks every method on `examined` for two entries against autodiff. */
async function checkAgainstAutodiff(graph: ModelGraph, weights: GraphWeights, examined: string, selects: number[], seed: number): Promise<void> {
  const { channels, sizePx: s } = graph.input;
  const nhwc = seededFloats(2 * s * s * channels, seed, 2);
  const nchw = tf.tidy(() => tf.transpose(tf.tensor4d(nhwc, [2, s, s, channels]), [0, 3, 1, 2]) as tf.Tensor4D);
  for (const method of DECONV_METHODS) {
    const expected = referenceProjection(graph, weights, nchw, examined, selects, method);
    const { projection } = await runProjection(graph, weights, nhwc, 2, examined, selects, method);
    assert.ok(expected.some((v) => v !== 0), `${examined} ${method}: the reference is all zero`);
    const error = relativeError(projection, expected);
    assert.ok(error < 1e-4, `${graph.name} ${examined} ${method}: relative error ${error}`);
  }
  nchw.dispose();
}

describe('projection graphs of any graph (deconvnet, guided, gradient)', () => {
  before(() => useBackend('cpu'));

  it('equal autodiff with the rule of each method on a residual net with BN, LRN, avg pools, grouped conv, LeakyRelu, concat and dense', async () => {
    const { graph, weights } = importOnnxModel(encodeOnnxModel(torchStyleModel()), { source: 'fixture.onnx' });
    await checkAgainstAutodiff(graph, weights, findLayer(graph, 'layer1.0').node, [4 * 49 + 24, 2 * 49 + 10], 3);
    await checkAgainstAutodiff(graph, weights, findLayer(graph, 'concat').node, [7 * 49 + 30, 1 * 49 + 3], 4);
    await checkAgainstAutodiff(graph, weights, findLayer(graph, 'logits').node, [2, 4], 5);
  });

  it('equal autodiff on a narrow torchvision ResNet-18 (downsample branch, global pool, fc)', async () => {
    const small = buildTorchvisionGraph('resnet18', { widthDivisor: 16, inputSizePx: 32, numClasses: 3 });
    const { graph, weights } = importTorchvisionStateDict(writeStateDict(small, { seed: 9 }), { source: 'x', architecture: 'resnet18', widthDivisor: 16, inputSizePx: 32 });
    await checkAgainstAutodiff(graph, weights, findLayer(graph, 'layer2.0').node, [3 * 16 + 5, 6 * 16 + 9], 6);
    await checkAgainstAutodiff(graph, weights, findLayer(graph, 'fc').node, [0, 2], 7);
  });

  it("give the project's own zfnet deconvnet (projectBatch) on the lowered graph", async () => {
    const config = buildModelConfig('zfnet-tiny');
    const params = initParams(config, 5);
    try {
      const graph = lowerModelConfig(config);
      const weights = graphWeightsFromParams(config, params);
      const s = config.inputSizePx;
      const nhwc = seededFloats(2 * s * s * 3, 8, 100);
      const [, h, w] = inferGraphShapes(graph).get('conv3.relu')!;
      const entries = [{ imageIndex: 0, unit: 3, y: 2, x: 1 }, { imageIndex: 1, unit: 9, y: 1, x: 2 }];
      const images = tf.tensor4d(nhwc, [2, s, s, 3]);
      const expected = projectBatch(config, params, images, 'conv3', entries);
      const nhwcProjection = tf.tidy(() => tf.transpose(expected.projections, [0, 3, 1, 2]).dataSync() as Float32Array);
      const selects = entries.map((e) => (e.unit * h! + e.y) * w! + e.x);
      const { projection, activation } = await runProjection(graph, weights, nhwc, 2, 'conv3.relu', selects, 'deconvnet');
      assert.ok(relativeError(activation, expected.activations.dataSync()) < 1e-5);
      assert.ok(nhwcProjection.some((v) => v !== 0));
      const error = relativeError(projection, nhwcProjection);
      assert.ok(error < 1e-5, `relative error ${error}`);
      tf.dispose([images, expected.projections, expected.activations]);
    } finally {
      disposeParams(params);
    }
  });

  it('refuses an op with no rule on the way down, naming it', () => {
    const graph = lowerModelConfig(buildModelConfig('zfnet-tiny'));
    const config = buildModelConfig('zfnet-tiny');
    const params = initParams(config, 1);
    assert.throws(() => buildGraphProjection(graph, graphWeightsFromParams(config, params), 'probs', 'guided'), {
      message: /^The guided way down has no rule for op softmax \(node probs\); ops with rules: conv, dense, relu, leaky-relu, maxpool, /,
    });
    disposeParams(params);
  });
});
