import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { findStrongestPositions, projectBatch, type ProjectionEntry } from '../../src/deconv/deconvnet.js';
import { placeUnitFilters } from '../../src/deconv/project-down.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { computeGeometry } from '../../src/model/geometry.js';
import { disposeParams, paramsFromTensors, type ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { TEST_BACKENDS, useBackend } from './backends.js';
import { initLiveParams, strongestUnitEntries } from './live-params.js';

/**
 * conv1: 2 filters 2x2 (f0 = x[i][j] - x[i+1][j+1], f1 = x[i+1][j+1]) -> 4x4x2,
 * pool1: 2x2/2 -> 2x2x2, conv2: 1x1 with weights (2, -1) -> 2x2x1.
 */
const HAND_CONFIG: ModelConfig = {
  name: 'hand', inputSizePx: 5, inputChannels: 1, numClasses: 1, classIds: null,
  layers: [
    { kind: 'conv', name: 'conv1', filters: 2, kernelPx: 2, stride: 1, padding: [0, 0, 0, 0], relu: true },
    { kind: 'maxpool', name: 'pool1', windowPx: 2, stride: 2, padding: [0, 0, 0, 0], ceilMode: false },
    { kind: 'conv', name: 'conv2', filters: 1, kernelPx: 1, stride: 1, padding: [0, 0, 0, 0], relu: true },
  ],
};
const HAND_IMAGE = [
  1, 0, 0, 0, 0,
  0, 2, 0, 0, 1,
  0, 0, 0, 3, 0,
  0, 0, 0, 0, 0,
  1, 0, 0, 0, 0,
];

function handParams(): ModelParams {
  // tfjs layout [kh, kw, in, out]: index (dy * 2 + dx) * 2 + filter
  const conv1 = tf.tensor4d([1, 0, 0, 0, 0, 0, -1, 1], [2, 2, 1, 2]);
  const tensors = new Map<string, tf.Tensor>([
    ['conv1.weight', conv1], ['conv1.bias', tf.zeros([2])],
    ['conv2.weight', tf.tensor4d([2, -1], [1, 1, 2, 1])], ['conv2.bias', tf.zeros([1])],
  ]);
  const params = paramsFromTensors(tensors);
  tf.dispose([...tensors.values()]);
  return params;
}

function sparse(cells: Record<number, number>): number[] {
  return Array.from({ length: 25 }, (_, i) => cells[i] ?? 0);
}

for (const backend of TEST_BACKENDS) {
  test(`${backend}: a projection equals the hand computation`, async () => {
    await useBackend(backend);
    const start = tf.memory().numTensors;
    const params = handParams();
    const image = tf.tensor4d(HAND_IMAGE, [1, 5, 5, 1]);
    // conv1 f0 = [[0,0,0,0],[0,2,0,0],[0,0,0,3],[0,0,0,0]]; f1 = [[2,0,0,1],[0,0,3,0],[0,0,0,0],[0,0,0,0]]
    // pool1 f0 = [[2,0],[0,3]] (switches (1,1),(0,2),(2,0),(2,3)); f1 = [[2,3],[0,0]] (switches (0,0),(1,2),(2,0),(2,2))
    // conv2 = relu(2 * f0 - f1) = [[2,0],[0,6]]
    const entries: ProjectionEntry[] = [
      { imageIndex: 0, unit: 0, y: 1, x: 1 }, // 6: (12, -6) -> unpool -> f1's -6 rectified away -> 12 at (2,3), -12 at (3,4)
      { imageIndex: 0, unit: 0, y: 0, x: 0 }, // 2: (4, -2) -> 4 at conv1 (1,1) -> 4 at (1,1), -4 at (2,2)
      { imageIndex: 0, unit: 0, y: 0, x: 1 }, // 0: nothing
    ];
    const result = projectBatch(HAND_CONFIG, params, image, 'conv2', entries);
    assert.deepEqual(result.projections.shape, [3, 5, 5, 1]);
    assert.deepEqual(Array.from(await result.activations.data()), [6, 2, 0]);
    const data = Array.from(await result.projections.data());
    assert.deepEqual(data.slice(0, 25), sparse({ 13: 12, 19: -12 }));
    assert.deepEqual(data.slice(25, 50), sparse({ 6: 4, 12: -4 }));
    assert.deepEqual(data.slice(50), sparse({}));
    const strongest = await findStrongestPositions(HAND_CONFIG, params, image, 'conv2', [0]);
    assert.deepEqual(strongest, [{ y: 1, x: 1, value: 6 }]);
    tf.dispose([image, result.projections, result.activations]);
    disposeParams(params);
    assert.equal(tf.memory().numTensors, start);
  });

  for (const model of ['zfnet-tiny', 'alexnet-tiny']) {
    test(`${backend}: ${model} batched projections equal one-at-a-time projections`, async () => {
      await useBackend(backend);
      const start = tf.memory().numTensors;
      const config = buildModelConfig(model);
      // Live weights and each cell's strongest unit: at the paper's init most deep units are dead, and equal
      // all-zero projections would pass.
      const params = initLiveParams(config, 3);
      const images = tf.randomUniform([2, 64, 64, 3], -100, 100, 'float32', 5) as tf.Tensor4D;
      const geometry = computeGeometry(config);
      for (const layer of ['conv1', 'conv3', 'conv5']) {
        const [h, w] = geometry.find((g) => g.name === layer)!.outputShape as [number, number, number];
        const entries: ProjectionEntry[] = strongestUnitEntries(config, params, images, layer, [[1, h - 1, 0], [0, Math.floor(h / 2), w - 1], [1, 0, Math.floor(w / 2)]]);
        const batched = projectBatch(config, params, images, layer, entries);
        assert.deepEqual(batched.projections.shape, [3, 64, 64, 3]);
        const all = await batched.projections.data();
        const activations = await batched.activations.data();
        for (let e = 0; e < entries.length; e++) {
          const single = projectBatch(config, params, images, layer, [entries[e]!]);
          const one = await single.projections.data();
          const [activation] = await single.activations.data();
          const part = all.subarray(e * one.length, (e + 1) * one.length);
          const scale = Math.max(...Array.from(one, Math.abs));
          assert.ok(activation! > 0 && scale > 0, `${layer} entry ${e}: activation ${activation}, projection peak ${scale}`);
          assert.ok(Math.abs(activations[e]! - activation!) <= 1e-5 * activation!, `${layer} entry ${e}: activation ${activations[e]} batched vs ${activation}`);
          one.forEach((v, i) => assert.ok(Math.abs(v - part[i]!) <= 1e-4 * scale, `${layer} entry ${e} pixel ${i}: ${v} vs ${part[i]}`));
          tf.dispose([single.projections, single.activations]);
        }
        tf.dispose([batched.projections, batched.activations]);
      }
      images.dispose();
      disposeParams(params);
      assert.equal(tf.memory().numTensors, start);
    });
  }

  test(`${backend}: placing a unit's filter equals the transposed convolution of a one-hot map`, async () => {
    await useBackend(backend);
    const start = tf.memory().numTensors;
    const weight = tf.randomNormal([7, 7, 3, 4], 0, 1, 'float32', 11) as tf.Tensor4D;
    const kept = [{ unit: 3, y: 0, x: 0 }, { unit: 1, y: 14, x: 7 }, { unit: 0, y: 15, x: 15 }];
    const values = tf.tensor1d([2, 0.5, 3]);
    // 7x7/2 with pad 1 on 35 px (like zfnet's conv1): 16x16 cells, the last one touching the bottom/right padding
    const inputPx: [number, number] = [35, 35];
    const placed = placeUnitFilters(weight, kept, values, 2, [1, 1, 1, 1], inputPx);
    const oneHot = tf.buffer([3, 16, 16, 4]);
    kept.forEach((k, e) => oneHot.set([2, 0.5, 3][e]!, e, k.y, k.x, k.unit));
    const map = oneHot.toTensor() as tf.Tensor4D;
    const full = tf.conv2dTranspose(map, weight, [3, 37, 37, 3], 2, 'valid');
    const reference = tf.slice(full, [0, 1, 1, 0], [3, 35, 35, 3]);
    const [a, b] = [await placed.data(), await reference.data()];
    assert.equal(a.length, b.length);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-5, `pixel ${i}: ${v} vs ${b[i]}`));
    tf.dispose([weight, values, placed, map, full, reference]);
    assert.equal(tf.memory().numTensors, start);
  });
}

test('bad layers and entries are named', async () => {
  await useBackend('cpu');
  const params = handParams();
  const image = tf.tensor4d(HAND_IMAGE, [1, 5, 5, 1]);
  assert.throws(() => projectBatch(HAND_CONFIG, params, image, 'pool1', [{ imageIndex: 0, unit: 0, y: 0, x: 0 }]), { message: 'Expected one of conv1, conv2 for layer but received "pool1"' });
  assert.throws(() => projectBatch(HAND_CONFIG, params, image, 'conv2', [{ imageIndex: 0, unit: 0, y: 2, x: 0 }]), { message: 'Projection entry 0 (image 0, unit 0, at 2,0) is outside conv2: 1 images, 1 units, 2x2 cells' });
  assert.throws(() => projectBatch(HAND_CONFIG, params, image, 'conv2', []), { message: 'Expected at least one projection entry for conv2 but received none' });
  image.dispose();
  disposeParams(params);
});

