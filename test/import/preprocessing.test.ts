import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizePixels, PLAIN_PREPROCESSING, resolvePreprocessing, TORCHVISION_PREPROCESSING } from '../../src/import/preprocessing.js';

describe('preprocessing of imported models', () => {
  it("matches torchvision's Normalize(mean, std) after ToTensor on one pixel", () => {
    const out = normalizePixels(Float32Array.of(255, 0, 127.5), TORCHVISION_PREPROCESSING);
    const expected = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0.5 - 0.406) / 0.225];
    expected.forEach((v, c) => assert.ok(Math.abs(out[c]! - v) < 1e-5, `channel ${c}: ${out[c]} vs ${v}`));
  });

  it('reorders to BGR before the per-channel mean and subtracts a mean image first', () => {
    const caffe = resolvePreprocessing({ channels: 'bgr', mean: '103.939,116.779,123.68', std: '1,1,1', scale: '255' }, PLAIN_PREPROCESSING);
    const out = normalizePixels(Float32Array.of(10, 20, 30, 40, 50, 60), caffe);
    assert.deepEqual([...out].map((v) => Number(v.toFixed(3))), [30 - 103.939, 20 - 116.779, 10 - 123.68, 60 - 103.939, 50 - 116.779, 40 - 123.68].map((v) => Number(v.toFixed(3))));
    const withMean = normalizePixels(Float32Array.of(10, 20, 30, 40, 50, 60), PLAIN_PREPROCESSING, Float32Array.of(1, 2, 3));
    assert.deepEqual([...withMean], [9, 18, 27, 39, 48, 57]);
  });

  it('scales the resize with the input size and validates every option by name', () => {
    assert.deepEqual([resolvePreprocessing({ inputSize: '112' }, TORCHVISION_PREPROCESSING).resizePx, resolvePreprocessing({}, TORCHVISION_PREPROCESSING).resizePx], [128, 256]);
    assert.throws(() => resolvePreprocessing({ channels: 'rbg' }, TORCHVISION_PREPROCESSING), { message: 'Expected one of rgb, bgr for --channels but received "rbg"' });
    assert.throws(() => resolvePreprocessing({ std: '0.2,0,0.2' }, TORCHVISION_PREPROCESSING), { message: 'Expected three positive numbers like 0.485,0.456,0.406 for --std but received "0.2,0,0.2"' });
    assert.throws(() => resolvePreprocessing({ scale: '100' }, TORCHVISION_PREPROCESSING), { message: 'Expected one of 1, 255 for --scale but received "100"' });
    assert.throws(() => resolvePreprocessing({ inputSize: '224', resize: '200' }, TORCHVISION_PREPROCESSING), { message: 'Expected a side of at least the input size 224 for --resize but received "200"' });
  });
});
