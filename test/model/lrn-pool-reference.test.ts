/**
 * Contrast normalization (LRN) and ceil-mode max pooling against values
 * computed apart from the project's op definitions: numbers worked out by
 * hand from the formulas in zfnet-paper.md, and plain JS loops written from
 * the same formulas (not from tfjs or src/model). cpu and wasm share the op
 * definitions, so agreeing with each other proves nothing about either;
 * each must agree with these.
 *
 * LRN (project choice, zfnet-paper.md): b_c = a_c / (k + alpha * sum_{c' =
 * c-2..c+2, inside 0..C-1} a_c'^2)^beta, k = 2, alpha = 1e-4 (not divided by
 * the window size), beta = 0.75.
 * Ceil-mode 3x3/2 pooling: output side ceil((H - 3) / 2) + 1; the last
 * window may run past the bottom/right edge and only real cells compete.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select-backend.js';
import { createRng } from '../../src/data/seeded-rng.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { forward } from '../../src/model/network.js';
import type { LrnLayerSpec, MaxPoolLayerSpec, ModelConfig } from '../../src/model/spec.js';

const BACKENDS = ['cpu', 'wasm'] as const;
const quiet = { log: () => {} };

/** The norm1 and pool1 specs zfnet uses, so the test runs the project's real layers. */
function zfnetLayers(): { pool: MaxPoolLayerSpec; lrn: LrnLayerSpec } {
  const layers = buildModelConfig('zfnet').layers;
  return { pool: layers.find((l) => l.name === 'pool1') as MaxPoolLayerSpec, lrn: layers.find((l) => l.name === 'norm1') as LrnLayerSpec };
}

/** A network of only pool1 then norm1 on an [H, H, C] input (no weights needed). */
function poolThenNorm(sizePx: number, channels: number): ModelConfig {
  const { pool, lrn } = zfnetLayers();
  return { name: 'pool-norm', inputSizePx: sizePx, inputChannels: channels, numClasses: 1, classIds: null, layers: [pool, lrn] };
}

/** A network of only norm1 (an LRN over the input channels). */
function normOnly(sizePx: number, channels: number): ModelConfig {
  return { name: 'norm', inputSizePx: sizePx, inputChannels: channels, numClasses: 1, classIds: null, layers: [zfnetLayers().lrn] };
}

/** Runs `config` on `input` ([H, H, C] values, batch 1) and returns the requested taps' values. */
async function runTaps(backend: (typeof BACKENDS)[number], config: ModelConfig, input: Float32Array, taps: Array<'pool1' | 'norm1'>): Promise<Float32Array[]> {
  await initBackend(backend, quiet);
  const start = tf.memory().numTensors;
  const x = tf.tensor4d(input, [1, config.inputSizePx, config.inputSizePx, config.inputChannels]);
  const out = forward(config, new Map(), x, { taps });
  const values = taps.map((t) => out[t]!.dataSync() as Float32Array);
  tf.dispose([x, ...Object.values(out)]);
  assert.equal(tf.memory().numTensors, start, `${backend} leaked tensors`);
  return values;
}

/** Ceil-mode max pooling written from the definition: [H, H, C] -> [O, O, C]. */
function referenceCeilMaxPool(input: Float32Array, sizePx: number, channels: number, windowPx: number, stride: number): { values: Float64Array; sizePx: number } {
  let outPx = Math.ceil((sizePx - windowPx) / stride) + 1;
  if ((outPx - 1) * stride >= sizePx) outPx -= 1; // a window must start on a real cell
  const values = new Float64Array(outPx * outPx * channels);
  for (let oy = 0; oy < outPx; oy++) {
    for (let ox = 0; ox < outPx; ox++) {
      for (let c = 0; c < channels; c++) {
        let best = -Infinity;
        for (let y = oy * stride; y < Math.min(oy * stride + windowPx, sizePx); y++) {
          for (let x = ox * stride; x < Math.min(ox * stride + windowPx, sizePx); x++) best = Math.max(best, input[(y * sizePx + x) * channels + c]!);
        }
        values[(oy * outPx + ox) * channels + c] = best;
      }
    }
  }
  return { values, sizePx: outPx };
}

/** LRN across channels written from the paper notes' formula, at every pixel of [pixels, C]. */
function referenceLrn(input: ArrayLike<number>, channels: number, k: number, alpha: number, beta: number, radius: number): Float64Array {
  const out = new Float64Array(input.length);
  for (let p = 0; p < input.length / channels; p++) {
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let d = Math.max(0, c - radius); d <= Math.min(channels - 1, c + radius); d++) sum += input[p * channels + d]! ** 2;
      out[p * channels + c] = input[p * channels + c]! / (k + alpha * sum) ** beta;
    }
  }
  return out;
}

/** Largest |a - b| / max(|b|, 1e-3) over the elements. */
function maxRelativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-3));
  return worst;
}

describe('LRN and ceil-mode pooling against independent values', () => {
  it('zfnet\'s norm and pool layers carry the constants of the paper notes', () => {
    const { pool, lrn } = zfnetLayers();
    assert.deepEqual([pool.windowPx, pool.stride, pool.ceilMode, pool.padding], [3, 2, true, [0, 0, 0, 0]]);
    assert.deepEqual([lrn.size, lrn.k, lrn.alpha, lrn.beta], [5, 2, 1e-4, 0.75]);
  });

  for (const backend of BACKENDS) {
    it(`${backend}: a hand-computed 6x6 ceil-mode pool gives 3x3 and the edge cells never win`, async () => {
      // x[y][x] = -(6y + x) - 1: all negative, so a zero (or any padded value) winning would show;
      // each window's max is its top-left cell. The third column/row of windows starts at 4
      // and covers cells 4..5 only (floor mode would give 2x2).
      const input = Float32Array.from({ length: 36 }, (_, i) => -i - 1);
      const [pooled] = await runTaps(backend, { ...poolThenNorm(6, 1), layers: [zfnetLayers().pool] }, input, ['pool1']);
      assert.deepEqual([...pooled!], [-1, -3, -5, -13, -15, -17, -25, -27, -29]);
    });

    it(`${backend}: a hand-computed LRN over 6 channels at two pixels`, async () => {
      // Worked by hand from b_c = a_c / (2 + 1e-4 * sum_{|c'-c|<=2} a_c'^2)^0.75; e.g. channel 0 of the
      // first pixel: 10 / (2 + 1e-4 * (100 + 400 + 900))^0.75 = 10 / 2.14^0.75 = 5.651838.
      const input = Float32Array.from([10, 20, 30, 40, 50, 60, -60, 5, 0, 25, -35, 45]);
      const expected = [5.651838, 10.70864, 14.86675, 17.99954, 22.73503, 27.94418, -31.48635, 2.572979, 0, 13.00594, -18.22261, 23.42907];
      // Two pixels side by side: a 1x2 image does not fit a square input, so use 2x2 and repeat them.
      const square = Float32Array.from([...input, ...input]);
      const [normed] = await runTaps(backend, normOnly(2, 6), square, ['norm1']);
      assert.ok(maxRelativeDiff(normed!, [...expected, ...expected]) < 2e-6, `${backend}: ${[...normed!].join(', ')}`);
      // Had alpha been divided by the window size (Caffe/PyTorch), channel 0 would be 10 / 2.028^0.75 = 5.88.
      assert.ok(Math.abs(normed![0]! - 5.651838) < 1e-4);
    });

    it(`${backend}: pool1 then norm1 on random maps equals plain loops (odd and even sizes, 55 from 110)`, async () => {
      const rng = createRng(13);
      const { lrn } = zfnetLayers();
      for (const [sizePx, channels] of [[8, 3], [9, 7], [110, 6]] as const) {
        const input = Float32Array.from({ length: sizePx * sizePx * channels }, () => (rng.next() - 0.5) * 200);
        const [pooled, normed] = await runTaps(backend, poolThenNorm(sizePx, channels), input, ['pool1', 'norm1']);
        const pool = referenceCeilMaxPool(input, sizePx, channels, 3, 2);
        if (sizePx === 110) assert.equal(pool.sizePx, 55);
        assert.equal(pooled!.length, pool.values.length, `${sizePx} px: ${pooled!.length / channels} cells, the formula gives ${pool.sizePx}x${pool.sizePx}`);
        assert.deepEqual([...pooled!], [...pool.values].map(Math.fround), `${backend} pool at ${sizePx} px`);
        const norm = referenceLrn(pooled!, channels, lrn.k, lrn.alpha, lrn.beta, (lrn.size - 1) / 2);
        assert.ok(maxRelativeDiff(normed!, norm) < 2e-6, `${backend} LRN at ${sizePx} px: ${maxRelativeDiff(normed!, norm)}`);
      }
    });
  }
});
