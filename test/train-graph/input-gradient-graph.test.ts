import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { findLayer, type GraphWeights, type ModelGraph } from '../../src/graph/model-graph.js';
import { importOnnxModel } from '../../src/import/onnx-import.js';
import { buildTorchvisionGraph } from '../../src/import/torchvision-architectures.js';
import { importTorchvisionStateDict } from '../../src/import/torchvision-import.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams } from '../../src/model/params.js';
import { encodeOnnxModel } from '../../src/onnx/onnx-codec.js';
import { graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import { buildInputGradientGraph, objectiveCellWeights, OBJECTIVE_KINDS, type ObjectiveKind } from '../../src/train-graph/build-input-gradient-graph.js';
import { useBackend } from '../deconv/backends.js';
import { evaluateGraph, relativeError, seededFloats } from '../import/graph-reference.js';
import { torchStyleModel } from '../import/onnx-fixtures.js';
import { writeStateDict } from '../import/torchvision-fixtures.js';

/** The objective and d objective / d pixels (NHWC) by tf.grad through the direct graph evaluation: exact autodiff, no custom rules. */
function referenceGradient(graph: ModelGraph, weights: GraphWeights, nhwc: Float32Array, rows: number, node: string, units: number[], objective: ObjectiveKind): { objective: Float32Array; gradient: Float32Array } {
  const { sizePx: s, channels } = graph.input;
  const shape = inferGraphShapes(graph).get(node)!;
  const cells = objectiveCellWeights(shape, objective);
  const perChannel = cells.length;
  const mask = new Float32Array(rows * shape[0]! * perChannel);
  units.forEach((unit, b) => mask.set(cells, (b * shape[0]! + unit) * perChannel));
  return tf.tidy(() => {
    const weightsMask = tf.tensor2d(mask, [rows, shape[0]! * perChannel]);
    const objectiveOf = (x: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.reshape(evaluateGraph(graph, weights, tf.transpose(x, [0, 3, 1, 2])).get(node)!, [rows, -1]), weightsMask), 1);
    const x = tf.tensor4d(nhwc, [rows, s, s, channels]);
    const gradient = tf.grad((input: tf.Tensor) => tf.sum(objectiveOf(input)))(x);
    return { objective: objectiveOf(x).dataSync() as Float32Array, gradient: gradient.dataSync() as Float32Array };
  });
}

async function runGraph(graph: ModelGraph, weights: GraphWeights, nhwc: Float32Array, rows: number, node: string, units: number[], objective: ObjectiveKind): Promise<{ objective: Float32Array; gradient: Float32Array }> {
  const session = await ort.InferenceSession.create(encodeOnnxModel(buildInputGradientGraph(graph, weights, { node, objective })));
  try {
    const { sizePx: s, channels } = graph.input;
    const out = await session.run({
      pixels: new ort.Tensor('float32', nhwc, [rows, s, s, channels]),
      unit: new ort.Tensor('int64', BigInt64Array.from(units.map(BigInt)), [rows]),
    });
    return { objective: out['objective']!.data as Float32Array, gradient: out['gradient']!.data as Float32Array };
  } finally {
    await session.release();
  }
}

async function checkLayer(graph: ModelGraph, weights: GraphWeights, layer: string, units: number[], seed: number, scale: number): Promise<void> {
  const { sizePx: s, channels } = graph.input;
  const rows = units.length;
  const nhwc = seededFloats(rows * s * s * channels, seed, scale);
  const node = findLayer(graph, layer).node;
  for (const objective of OBJECTIVE_KINDS) {
    const expected = referenceGradient(graph, weights, nhwc, rows, node, units, objective);
    const actual = await runGraph(graph, weights, nhwc, rows, node, units, objective);
    assert.ok(expected.gradient.some((v) => v !== 0), `${graph.name} ${layer} ${objective}: the reference gradient is all zero (a dead unit makes no test)`);
    assert.ok(expected.objective.some((v) => v !== 0), `${graph.name} ${layer} ${objective}: every reference objective is zero`);
    assert.ok(relativeError(actual.objective, expected.objective) < 1e-5, `${graph.name} ${layer} ${objective}: objective off by ${relativeError(actual.objective, expected.objective)}`);
    const error = relativeError(actual.gradient, expected.gradient);
    assert.ok(error < 1e-4, `${graph.name} ${layer} ${objective}: gradient relative error ${error}`);
  }
}

describe('input-gradient graph (exact backprop to the pixels, one unit per row)', () => {
  before(() => useBackend('cpu'));

  it('equals tf.grad on zfnet-tiny and alexnet-tiny (LRN exact, ceil-mode pools, dense layers) for both objectives', async () => {
    for (const [name, layers] of [['zfnet-tiny', ['conv1', 'conv2', 'conv5', 'fc7']], ['alexnet-tiny', ['conv3', 'conv5']]] as const) {
      const config = buildModelConfig(name);
      const params = initParams(config, 11);
      try {
        const graph = lowerModelConfig(config);
        const weights = graphWeightsFromParams(config, params);
        // Large enough values that LRN's denominator departs from k (its derivative's second term matters).
        for (const [i, layer] of layers.entries()) await checkLayer(graph, weights, layer, [1, 3, 0, 2, 5, 6], 20 + i, 400);
      } finally {
        disposeParams(params);
      }
    }
  });

  it('equals tf.grad on imported graphs (batch norm, LRN, average pools, residual joins, concat, LeakyRelu; a narrow ResNet-18)', async () => {
    const { graph, weights } = importOnnxModel(encodeOnnxModel(torchStyleModel()), { source: 'fixture.onnx' });
    await checkLayer(graph, weights, 'layer1.0', [3, 2, 0], 3, 2);
    await checkLayer(graph, weights, 'concat', [7, 1], 4, 2);
    const small = buildTorchvisionGraph('resnet18', { widthDivisor: 16, inputSizePx: 32, numClasses: 3 });
    const resnet = importTorchvisionStateDict(writeStateDict(small, { seed: 9 }), { source: 'x', architecture: 'resnet18', widthDivisor: 16, inputSizePx: 32 });
    await checkLayer(resnet.graph, resnet.weights, 'layer2.0', [3, 6], 6, 2);
    await checkLayer(resnet.graph, resnet.weights, 'fc', [0, 2], 7, 2);
  });

  it('puts the centre objective on cell (floor(H/2), floor(W/2)) and the mean on every cell', () => {
    assert.deepEqual([...objectiveCellWeights([4, 3, 4], 'centre')], [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    assert.deepEqual([...objectiveCellWeights([4, 2, 2], 'mean')], [0.25, 0.25, 0.25, 0.25]);
    assert.deepEqual([...objectiveCellWeights([10], 'centre')], [1]);
  });

  it('refuses a node that is not in the graph, naming it', () => {
    const config = buildModelConfig('zfnet-tiny');
    const params = initParams(config, 1);
    try {
      assert.throws(() => buildInputGradientGraph(lowerModelConfig(config), graphWeightsFromParams(config, params), { node: 'conv9.relu', objective: 'mean' }), /Graph zfnet-tiny has no node named conv9\.relu/);
    } finally {
      disposeParams(params);
    }
  });
});
