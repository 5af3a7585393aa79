import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { computePoolSwitches, unpoolWithSwitches, type PoolWindow } from '../../src/deconv/pool-switches.js';
import { TEST_BACKENDS, useBackend } from './backends.js';

const POOL: PoolWindow = { windowPx: 3, stride: 2, padding: [0, 0, 0, 0] };

/** Plain-JS reference of switches and unpooling on one channel, padding cells never win. */
function referenceUnpool(x: number[][], y: number[][], pool: PoolWindow): { switches: number[][]; unpooled: number[][] } {
  const [top, , left] = pool.padding;
  const h = x.length;
  const w = x[0]!.length;
  const unpooled = x.map((row) => row.map(() => 0));
  const switches = y.map((row, i) => row.map((v, j) => {
    let best = -Infinity;
    let bestK = 0;
    for (let k = 0; k < pool.windowPx * pool.windowPx; k++) {
      const r = i * pool.stride + Math.floor(k / pool.windowPx) - top;
      const c = j * pool.stride + (k % pool.windowPx) - left;
      const value = r >= 0 && r < h && c >= 0 && c < w ? x[r]![c]! : -1e30;
      if (value > best) { best = value; bestK = k; }
    }
    const r = i * pool.stride + Math.floor(bestK / pool.windowPx) - top;
    const c = j * pool.stride + (bestK % pool.windowPx) - left;
    unpooled[r]![c]! += v;
    return bestK;
  }));
  return { switches, unpooled };
}

for (const backend of TEST_BACKENDS) {
  test(`${backend}: ties go to the first maximum in row-major window order`, async () => {
    await useBackend(backend);
    const start = tf.memory().numTensors;
    // one 3x3 window, all equal: switch 0; then a window whose max 5 appears at k=4 and k=8
    const flat = tf.tensor4d([1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 3, 3, 1]);
    const tied = tf.tensor4d([0, 0, 0, 0, 5, 0, 0, 0, 5], [1, 3, 3, 1]);
    const s1 = computePoolSwitches(flat, POOL);
    const s2 = computePoolSwitches(tied, POOL);
    assert.deepEqual(Array.from(await s1.data()), [0]);
    assert.deepEqual(Array.from(await s2.data()), [4]);
    tf.dispose([flat, tied, s1, s2]);
    assert.equal(tf.memory().numTensors, start);
  });

  test(`${backend}: unpooling routes values to the switches and adds shared winners`, async () => {
    await useBackend(backend);
    const start = tf.memory().numTensors;
    // 5x5 with its maximum in the centre: all four overlapping 3x3/2 windows pick (2, 2)
    const x = tf.tensor4d(Array.from({ length: 25 }, (_, i) => (i === 12 ? 9 : i % 3)), [1, 5, 5, 1]);
    const switches = computePoolSwitches(x, POOL);
    assert.deepEqual(Array.from(await switches.data()), [8, 6, 2, 0]);
    const y = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const unpooled = unpoolWithSwitches(y, switches, POOL, [5, 5]);
    const expected = new Array(25).fill(0);
    expected[12] = 10;
    assert.deepEqual(Array.from(await unpooled.data()), expected);
    tf.dispose([x, switches, y, unpooled]);
    assert.equal(tf.memory().numTensors, start);
  });

  test(`${backend}: ceil-mode switches and unpooling equal a plain-JS reference`, async () => {
    await useBackend(backend);
    const start = tf.memory().numTensors;
    // 8x8, ceil mode pads bottom/right by one: output 4x4; integer values give many ties
    const pool: PoolWindow = { windowPx: 3, stride: 2, padding: [0, 1, 0, 1] };
    let seed = 7;
    const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % 5; };
    const rows = Array.from({ length: 8 }, () => Array.from({ length: 8 }, rand));
    const ys = Array.from({ length: 4 }, () => Array.from({ length: 4 }, () => rand() + 1));
    const x = tf.tensor4d(rows.flat(), [1, 8, 8, 1]);
    const switches = computePoolSwitches(x, pool);
    const y = tf.tensor4d(ys.flat(), [1, 4, 4, 1]);
    const unpooled = unpoolWithSwitches(y, switches, pool, [8, 8]);
    const reference = referenceUnpool(rows, ys, pool);
    assert.deepEqual(Array.from(await switches.data()), reference.switches.flat());
    assert.deepEqual(Array.from(await unpooled.data()), reference.unpooled.flat());
    tf.dispose([x, switches, y, unpooled]);
    assert.equal(tf.memory().numTensors, start);
  });
}

test('unpooling rejects values and switches of different shapes', async () => {
  await useBackend('cpu');
  const y = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
  const s = tf.zeros([1, 2, 3, 1], 'int32') as tf.Tensor4D;
  assert.throws(() => unpoolWithSwitches(y, s, POOL, [5, 5]), { message: 'Unpooling needs values and switches of one shape but received [1, 2, 2, 1] and [1, 2, 3, 1]' });
  tf.dispose([y, s]);
});
