import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFft2Plans, createFftPlan, fftInPlace, irfft2, irfft2Adjoint, nextFftSize } from '../../src/preferred/fft.js';
import { seededFloats } from '../import/graph-reference.js';

/** Direct O(n^2) DFT, the definition. */
function naiveDft(re: Float64Array, im: Float64Array, inverse: boolean): [Float64Array, Float64Array] {
  const n = re.length;
  const sign = inverse ? 1 : -1;
  const outRe = new Float64Array(n), outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const a = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      outRe[k] += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
      outIm[k] += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
    }
  }
  return [outRe, outIm];
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

test('the mixed-radix FFT equals the direct DFT both ways for lengths of many factorisations', () => {
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 14, 15, 16, 25, 30, 32, 60, 64, 72, 120, 128, 240]) {
    const plan = createFftPlan(n);
    for (const inverse of [false, true]) {
      const re = Float64Array.from(seededFloats(n, n * 7 + 1));
      const im = Float64Array.from(seededFloats(n, n * 7 + 2));
      const [wantRe, wantIm] = naiveDft(re, im, inverse);
      fftInPlace(plan, re, im, inverse);
      assert.ok(maxDiff(re, wantRe) < 1e-9 * n && maxDiff(im, wantIm) < 1e-9 * n, `n ${n} inverse ${inverse}`);
    }
  }
});

test('nextFftSize gives the smallest even size with factors 2, 3 and 5', () => {
  assert.equal(nextFftSize(240), 240);
  assert.equal(nextFftSize(241), 250);
  assert.equal(nextFftSize(259), 270);
  assert.equal(nextFftSize(67), 72);
  assert.equal(nextFftSize(1), 2);
});

/** irfft2 by its definition: (1/sqrt(hw)) sum c(kx) Re(S exp(2 pi i (ky y/h + kx x/w))). */
function naiveIrfft2(h: number, w: number, re: Float64Array, im: Float64Array): Float64Array {
  const half = w / 2 + 1;
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let ky = 0; ky < h; ky++) {
        for (let kx = 0; kx < half; kx++) {
          const c = kx === 0 || kx === w / 2 ? 1 : 2;
          const a = 2 * Math.PI * (ky * y / h + kx * x / w);
          sum += c * (re[ky * half + kx]! * Math.cos(a) - im[ky * half + kx]! * Math.sin(a));
        }
      }
      out[y * w + x] = sum / Math.sqrt(h * w);
    }
  }
  return out;
}

test('irfft2 follows its definition (numpy irfftn with norm=ortho)', () => {
  for (const [h, w] of [[6, 8], [8, 8], [10, 6], [12, 10], [30, 30]] as const) {
    const half = w / 2 + 1;
    const re = Float64Array.from(seededFloats(h * half, h + w));
    const im = Float64Array.from(seededFloats(h * half, h * w));
    const image = new Float64Array(h * w);
    irfft2(createFft2Plans(h, w), h, w, re, im, image);
    assert.ok(maxDiff(image, naiveIrfft2(h, w, re, im)) < 1e-10, `${h}x${w}`);
  }
});

test('irfft2Adjoint is the adjoint of irfft2: <irfft2(S), G> = <S, adjoint(G)>', () => {
  for (const [h, w] of [[8, 8], [6, 10], [30, 30]] as const) {
    const half = w / 2 + 1;
    const plans = createFft2Plans(h, w);
    const re = Float64Array.from(seededFloats(h * half, 3));
    const im = Float64Array.from(seededFloats(h * half, 4));
    const grad = Float64Array.from(seededFloats(h * w, 5));
    const image = new Float64Array(h * w);
    irfft2(plans, h, w, re, im, image);
    const gRe = new Float64Array(h * half), gIm = new Float64Array(h * half);
    irfft2Adjoint(plans, h, w, grad, gRe, gIm);
    const lhs = image.reduce((a, v, i) => a + v * grad[i]!, 0);
    const rhs = re.reduce((a, v, i) => a + v * gRe[i]! + im[i]! * gIm[i]!, 0);
    assert.ok(Math.abs(lhs - rhs) < 1e-9 * Math.abs(lhs) + 1e-12, `${h}x${w}: ${lhs} vs ${rhs}`);
  }
});
