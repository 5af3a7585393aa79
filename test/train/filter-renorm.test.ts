import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams } from '../../src/model/params.js';
import { computeFilterRms, renormalizeConvFilters, renormalizeFilters } from '../../src/train/filter-renorm.js';

before(async () => {
  await initBackend('cpu', { log: () => {} });
});

test('renormalization caps filter RMS at the radius and leaves smaller filters exactly alone', () => {
  const start = tf.memory().numTensors;
  // [kh 2, kw 2, in 2, out 3]: filter 0 RMS 0.5, filter 1 RMS 0.05, filter 2 RMS exactly 0.1
  const values: number[] = [];
  for (let i = 0; i < 8; i++) values.push(i % 2 === 0 ? 0.5 : -0.5, 0.05, i % 2 === 0 ? 0.1 : -0.1);
  const weight = tf.tensor4d(values, [2, 2, 2, 3]);
  const out = renormalizeFilters(weight, 0.1);
  const rmsTensor = computeFilterRms(out);
  const rms = rmsTensor.arraySync();
  rmsTensor.dispose();
  assert.ok(Math.abs(rms[0]! - 0.1) < 1e-7, `filter 0 RMS ${rms[0]}`);
  const before = weight.dataSync();
  const after = out.dataSync();
  for (let i = 0; i < before.length; i++) {
    if (i % 3 !== 0) assert.equal(after[i], before[i], `value ${i} of a filter within the radius changed`);
    else assert.ok(Math.abs(after[i]! - before[i]! / 5) < 1e-7);
  }
  tf.dispose([weight, out]);
  assert.equal(tf.memory().numTensors, start);
});

test('renormalizeConvFilters updates every conv layer in place, no dense layer, no leaks', () => {
  const config = buildModelConfig('zfnet-tiny');
  const params = initParams(config, 3);
  const start = tf.memory().numTensors;
  const conv2 = params.get('conv2.weight')!;
  tf.tidy(() => conv2.assign(tf.mul(conv2, 100)));
  const fc6Before = params.get('fc6.weight')!.dataSync().slice();
  const conv1Before = params.get('conv1.weight')!.dataSync().slice();
  renormalizeConvFilters(config, params, 0.1);
  const rms2 = tf.tidy(() => computeFilterRms(conv2 as tf.Tensor4D).arraySync());
  assert.ok(rms2.every((r) => r <= 0.1 + 1e-6 && r > 0.099), `conv2 RMS ${rms2.join(', ')}`);
  assert.deepEqual(params.get('conv1.weight')!.dataSync(), conv1Before, 'conv1 (RMS ~0.01) is unchanged');
  assert.deepEqual(params.get('fc6.weight')!.dataSync(), fc6Before, 'dense layers are not renormalized');
  assert.equal(tf.memory().numTensors, start);
  disposeParams(params);
});
