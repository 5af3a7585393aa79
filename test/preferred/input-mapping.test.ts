import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizePixels, TORCHVISION_PREPROCESSING, type Preprocessing } from '../../src/import/preprocessing.js';
import { mapGradientToRgb, mapToModelInput, mapToRgb255, neutralRgb01, probeInputMapping } from '../../src/preferred/input-mapping.js';
import { seededFloats } from '../import/graph-reference.js';

const S = 6;
const CAFFE: Preprocessing = { ...TORCHVISION_PREPROCESSING, channelOrder: 'bgr', valueScale: 255, mean: [103.939, 116.779, 123.68], std: [1, 1, 1] };
const meanImage = Float32Array.from({ length: S * S * 3 }, (_, i) => 100 + (i % 17));

const models = {
  'project (minus a per-pixel mean image)': (rgb: Float32Array) => rgb.map((v, i) => v - meanImage[i]!),
  'torchvision (0..1, mean/std)': (rgb: Float32Array) => normalizePixels(rgb, TORCHVISION_PREPROCESSING),
  'caffe (BGR, 0..255, mean)': (rgb: Float32Array) => normalizePixels(rgb, CAFFE),
};

for (const [name, normalize] of Object.entries(models)) {
  test(`the probed mapping reproduces the model's own preprocessing, undoes it, and its gradient is the transpose: ${name}`, () => {
    const mapping = probeInputMapping(S, normalize);
    const rgb01 = seededFloats(S * S * 3, 4).map((v) => (v + 1) / 2);
    const input = new Float32Array(S * S * 3);
    mapToModelInput(mapping, rgb01, input);
    const want = normalize(rgb01.map((v) => v * 255));
    input.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-3 * Math.max(1, Math.abs(want[i]!)), `value ${i}`));
    mapToRgb255(mapping, input).forEach((v, i) => assert.ok(Math.abs(v - rgb01[i]! * 255) < 1e-2, `display ${i}`));
    // <A x, g> = <x, A^T g> for the linear part
    const g = seededFloats(S * S * 3, 9);
    const back = new Float32Array(S * S * 3);
    mapGradientToRgb(mapping, g, back);
    const zero = new Float32Array(S * S * 3);
    mapToModelInput(mapping, new Float32Array(S * S * 3), zero);
    const lhs = input.reduce((a, v, i) => a + (v - zero[i]!) * g[i]!, 0);
    const rhs = rgb01.reduce((a, v, i) => a + v * back[i]!, 0);
    assert.ok(Math.abs(lhs - rhs) < 1e-3 * Math.abs(lhs));
  });
}

test('a BGR model reads its channels swapped, and the neutral colour is the mean it subtracts', () => {
  const mapping = probeInputMapping(S, models['caffe (BGR, 0..255, mean)']);
  assert.deepEqual(mapping.source, [2, 1, 0]);
  const neutral = neutralRgb01(mapping);
  [123.68, 116.779, 103.939].forEach((v, c) => assert.ok(Math.abs(neutral[c]! * 255 - v) < 1e-3));
});

test('a preprocessing that mixes colour channels is refused', () => {
  assert.throws(() => probeInputMapping(S, (rgb) => rgb.map((_, i) => rgb[i - (i % 3)]! + rgb[i - (i % 3) + 1]!)), /mixes colour channels/);
});
