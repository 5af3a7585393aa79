import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { checkArgMaxPicksFirst, reduceConvTap, type ArgMaxMethod } from '../../src/topk/reduce-conv-tap.js';

/** Values on a coarse grid with many zeros, so ties (within a map and zero maps) are common. */
function makeTapValues(n: number, h: number, w: number, c: number, seed: number): Float32Array {
  let state = seed;
  const next = (): number => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648; };
  return Float32Array.from({ length: n * h * w * c }, (_, i) => (i % c === 2 ? 0 : Math.max(0, Math.floor(next() * 6) - 2) * 0.75));
}

function reference(values: Float32Array, n: number, h: number, w: number, c: number): { max: number[]; argmax: number[]; mean: number[] } {
  const max: number[] = []; const argmax: number[] = []; const mean: number[] = [];
  for (let img = 0; img < n; img++) {
    for (let unit = 0; unit < c; unit++) {
      let best = -Infinity; let at = -1; let sum = 0;
      for (let p = 0; p < h * w; p++) {
        const v = values[(img * h * w + p) * c + unit]!;
        sum += v;
        if (v > best) { best = v; at = p; }
      }
      max.push(best); argmax.push(at); mean.push(sum / (h * w));
    }
  }
  return { max, argmax, mean };
}

for (const backend of ['cpu', 'wasm']) {
  test(`${backend}: max, first row-major argmax and mean per (image, unit), both methods, no leaked tensors`, async () => {
    await tf.setBackend(backend);
    await tf.ready();
    assert.equal(await checkArgMaxPicksFirst(), true);
    const [n, h, w, c] = [3, 5, 7, 6];
    const values = makeTapValues(n, h, w, c, 11);
    const expected = reference(values, n, h, w, c);
    const tap = tf.tensor4d(values, [n, h, w, c]);
    const start = tf.memory().numTensors;
    for (const method of ['argmax', 'masked'] as ArgMaxMethod[]) {
      const r = await reduceConvTap(3, tap, method);
      assert.deepEqual([r.layer, r.numImages, r.mapHeight, r.mapWidth, r.numUnits], [3, n, h, w, c]);
      assert.deepEqual(Array.from(r.maxValues), expected.max);
      assert.deepEqual(Array.from(r.argmaxIndex), expected.argmax, method);
      expected.mean.forEach((m, i) => assert.ok(Math.abs(r.meanValues[i]! - m) < 1e-6));
    }
    assert.equal(tf.memory().numTensors, start);
    tap.dispose();
  });
}

before(async () => {
  await tf.setBackend('cpu');
});

test('a tap that is not rank 4 is refused with the layer named', async () => {
  const x = tf.zeros([2, 3]);
  await assert.rejects(reduceConvTap(2, x, 'argmax'), { name: 'RangeError', message: 'Expected a rank-4 conv tap [N, H, W, C] for conv2 but received shape [2, 3]' });
  x.dispose();
});
