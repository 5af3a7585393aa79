import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { createRng } from '../../src/data/seeded-rng.js';
import { createStrongestTracker, foldStrongest, listFound, type StrongestActivation } from '../../src/topk/strongest-tracker.js';
import { reduceConvTap } from '../../src/topk/reduce-conv-tap.js';

before(async () => { await initBackend('cpu', { log: () => {} }); });

/** Direct search over whole maps [N, H, W, C]: first image, then first row-major cell, wins ties. */
function searchDirectly(units: number[], maps: Float32Array, shape: [number, number, number, number], imageIds: number[]): StrongestActivation[] {
  const [n, h, w, c] = shape;
  return units.map((unit) => {
    const best = { unit, value: -Infinity, imageId: -1, y: -1, x: -1 };
    for (let i = 0; i < n; i++) {
      for (let cell = 0; cell < h * w; cell++) {
        const v = maps[(i * h * w + cell) * c + unit]!;
        if (v > best.value) Object.assign(best, { value: v, imageId: imageIds[i]!, y: Math.floor(cell / w), x: cell % w });
      }
    }
    return best;
  });
}

test('folding batch reductions equals a direct search of the whole maps, whatever the batching; ties go to the lower id, then the first cell', async () => {
  const rng = createRng(7);
  const shape: [number, number, number, number] = [11, 3, 4, 5];
  const maps = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < maps.length; i++) maps[i] = rng.nextInt(6); // few values: many ties
  const imageIds = Array.from({ length: shape[0] }, (_, i) => 100 + i);
  const units = [0, 2, 4];
  const expected = searchDirectly(units, maps, shape, imageIds);
  for (const batchSize of [1, 3, 11]) {
    const tracker = createStrongestTracker(units);
    for (let start = 0; start < shape[0]; start += batchSize) {
      const rows = Math.min(batchSize, shape[0] - start);
      const per = shape[1] * shape[2] * shape[3];
      const tap = tf.tensor4d(maps.subarray(start * per, (start + rows) * per), [rows, shape[1], shape[2], shape[3]]);
      const reduction = await reduceConvTap(2, tap, 'argmax');
      tap.dispose();
      foldStrongest(tracker, reduction, imageIds.slice(start, start + rows));
    }
    assert.deepEqual(tracker, expected, `batch size ${batchSize}`);
  }
});

test('an empty tracker finds nothing; non-finite activations and bad shapes are refused by name', () => {
  const tracker = createStrongestTracker([1]);
  assert.deepEqual(listFound(tracker), []);
  const reduction = { layer: 3, numImages: 1, numUnits: 2, mapHeight: 1, mapWidth: 1, maxValues: new Float32Array([0, NaN]), argmaxIndex: new Int32Array(2), meanValues: new Float32Array(2) };
  assert.throws(() => foldStrongest(tracker, reduction, [7]), { name: 'UsageError', message: 'conv3 unit 1 is NaN on image 7: the model produces non-finite activations; check the checkpoint' });
  assert.throws(() => foldStrongest(tracker, reduction, [7, 8]), { name: 'RangeError', message: 'Expected a reduction of 2 images but received 1 (conv3)' });
  assert.throws(() => foldStrongest(createStrongestTracker([2]), reduction, [7]), { name: 'RangeError', message: 'Unit 2 is not among the 2 units of conv3' });
});
