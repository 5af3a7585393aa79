import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModelConfig as getArchitecture } from '../../src/model/architectures.js';
import { computeGeometry } from '../../src/model/geometry.js';
import { findLayer, validateGraph, consumersOf, type ModelGraph } from '../../src/graph/model-graph.js';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { parameterShapes } from '../../src/model/geometry.js';

test('lowered zfnet: every layer shape equals computeGeometry (NHWC there, NCHW here)', () => {
  for (const name of ['zfnet', 'alexnet', 'zfnet-small', 'zfnet-tiny', 'alexnet-tiny']) {
    const config = getArchitecture(name);
    const graph = lowerModelConfig(config);
    validateGraph(graph);
    const shapes = inferGraphShapes(graph);
    for (const geometry of computeGeometry(config)) {
      const layer = findLayer(graph, geometry.name); // the last dense layer answers by its alias
      const shape = shapes.get(layer.node)!;
      const expected = geometry.outputShape.length === 3 ? [geometry.outputShape[2], geometry.outputShape[0], geometry.outputShape[1]] : geometry.outputShape;
      assert.deepEqual(shape, expected, `${name} ${geometry.name}`);
    }
  }
});

test('lowered zfnet: taps are the rectified conv outputs, weights have the checkpoint shapes', () => {
  const config = getArchitecture('zfnet');
  const graph = lowerModelConfig(config);
  assert.equal(findLayer(graph, 'conv1').node, 'conv1.relu');
  assert.equal(findLayer(graph, 'fc8').name, 'logits');
  assert.equal(graph.logits, 'fc8');
  assert.deepEqual(graph.weightShapes['conv1.weight'], [96, 3, 7, 7]);
  assert.deepEqual(graph.weightShapes['fc6.weight'], [4096, 9216]);
  assert.equal(Object.keys(graph.weightShapes).length, parameterShapes(config).size);
  assert.deepEqual(consumersOf(graph).get('conv1.relu'), ['pool1']);
});

test('validateGraph names the node that reads a missing input', () => {
  const graph: ModelGraph = {
    name: 'broken', input: { channels: 3, sizePx: 8 }, logits: 'b', probs: null, layers: [], weightShapes: {},
    nodes: [{ name: 'a', op: { op: 'relu' }, inputs: ['input'] }, { name: 'b', op: { op: 'add' }, inputs: ['a', 'c'] }],
  };
  assert.throws(() => validateGraph(graph), { message: 'Graph broken: node b reads c, which is not an earlier node' });
});

test('findLayer lists the layers when the name is unknown', () => {
  const graph = lowerModelConfig(getArchitecture('zfnet-tiny'));
  assert.throws(() => findLayer(graph, 'conv9'), /Expected one of the layers conv1, pool1, norm1, conv2, .* of zfnet-tiny but received conv9/);
});
