/**
 * The regularisers as pure functions: the view warp (identity is a crop,
 * integer shifts move, the adjoint is exact), the seeded transform draws, the
 * DeepVis blur, and each image parameterisation's backward pass against
 * finite differences.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../src/data/seeded-rng.js';
import { createImageParam, DECORRELATION, spectrumScale, type ParamKind } from '../../src/preferred/image-param.js';
import { createWarp, drawViewTransform, gaussianBlur, gaussianKernel, IDENTITY_VIEW, LUCID_ANGLES_DEG, LUCID_SCALES, warpAdjoint, warpForward } from '../../src/preferred/view-transforms.js';
import { seededFloats } from '../import/graph-reference.js';

const P = 20;
const S = 14;
const off = (P - S) / 2;

test('the unmoved view is an exact crop of the canvas centre; an integer shift moves the crop', () => {
  const canvas = seededFloats(P * P * 3, 1);
  const view = new Float32Array(S * S * 3);
  warpForward(createWarp(P, S, IDENTITY_VIEW), canvas, 0.5, view);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) assert.equal(view[(y * S + x) * 3 + c], canvas[((y + off) * P + x + off) * 3 + c]);
  warpForward(createWarp(P, S, { dxPx: 2, dyPx: -1, scale: 1, angleDeg: 0 }), canvas, 0.5, view);
  // content moves right by 2 and up by 1: view (x, y) shows canvas (x + off - 2, y + off + 1)
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) assert.equal(view[(y * S + x) * 3], canvas[((y + off + 1) * P + x + off - 2) * 3]);
});

test('samples off the canvas read the fill value (Lucid pads with grey)', () => {
  const canvas = new Float32Array(P * P * 3);
  const view = new Float32Array(S * S * 3);
  warpForward(createWarp(P, S, { dxPx: 0, dyPx: 0, scale: 0.5, angleDeg: 0 }), canvas, 0.5, view);
  assert.equal(view[0], 0.5); // the corner samples 2x as far out: off the canvas
  assert.equal(view[((S / 2) * S + S / 2) * 3], 0); // the centre reads the (zero) canvas
});

test('warpAdjoint is the adjoint of warpForward (fill 0) for scaled and rotated views', () => {
  for (const t of [{ dxPx: 1, dyPx: 2, scale: 1.1, angleDeg: 7 }, { dxPx: -3, dyPx: 0, scale: 0.9, angleDeg: -10 }, IDENTITY_VIEW]) {
    const warp = createWarp(P, S, t);
    const x = seededFloats(P * P * 3, 2);
    const y = seededFloats(S * S * 3, 3);
    const wx = new Float32Array(S * S * 3);
    warpForward(warp, x, 0, wx);
    const wty = new Float32Array(P * P * 3);
    warpAdjoint(warp, y, wty);
    const lhs = wx.reduce((a, v, i) => a + v * y[i]!, 0);
    const rhs = x.reduce((a, v, i) => a + v * wty[i]!, 0);
    assert.ok(Math.abs(lhs - rhs) < 1e-4 * Math.abs(lhs), `${JSON.stringify(t)}: ${lhs} vs ${rhs}`);
  }
});

test('view transforms are drawn from the seeded stream, within the ranges', () => {
  const ranges = { jitterPx: 8, scales: LUCID_SCALES, anglesDeg: LUCID_ANGLES_DEG };
  const a = Array.from({ length: 50 }, ((rng) => () => drawViewTransform(ranges, rng))(createRng(7)));
  const b = Array.from({ length: 50 }, ((rng) => () => drawViewTransform(ranges, rng))(createRng(7)));
  assert.deepEqual(a, b);
  for (const t of a) {
    assert.ok(Number.isInteger(t.dxPx) && Math.abs(t.dxPx) <= 8 && Number.isInteger(t.dyPx) && Math.abs(t.dyPx) <= 8);
    assert.ok(t.scale >= 0.9 - 1e-12 && t.scale <= 1.1 + 1e-12 && Math.abs(t.angleDeg) <= 10);
  }
  assert.deepEqual(LUCID_SCALES.map((s) => Math.round(s * 100)), [90, 92, 94, 96, 98, 100, 102, 104, 106, 108, 110]);
  assert.equal(LUCID_ANGLES_DEG.filter((a) => a === 0).length, 6);
});

test('the DeepVis blur keeps a constant image and its kernel sums to one', () => {
  const kernel = gaussianKernel(1);
  assert.equal(kernel.length, 9);
  assert.ok(Math.abs(kernel.reduce((a, v) => a + v, 0) - 1) < 1e-12);
  const image = new Float32Array(10 * 10 * 3).fill(0.25);
  gaussianBlur(image, 10, 1);
  image.forEach((v) => assert.ok(Math.abs(v - 0.25) < 1e-6));
  const spike = new Float32Array(10 * 10 * 3);
  spike[(5 * 10 + 5) * 3] = 1;
  gaussianBlur(spike, 10, 1);
  assert.ok(Math.abs(spike.reduce((a, v) => a + v, 0) - 1) < 1e-5, 'mass is kept away from the border');
  assert.ok(spike[(5 * 10 + 5) * 3]! < 0.2 && spike[(5 * 10 + 6) * 3]! > 0.05);
});

test("Lucid's spectrum scale and colour decorrelation", () => {
  const scale = spectrumScale(8);
  assert.equal(scale[0], 8); // DC: 1 / max(0, 1/8)
  assert.ok(Math.abs(scale[1]! - 8) < 1e-12); // f = 1/8
  assert.ok(Math.abs(scale[2]! - 4) < 1e-12); // f = 2/8
  const norms = [0, 1, 2].map((j) => Math.hypot(...DECORRELATION.map((row) => row[j]!)));
  assert.ok(Math.abs(Math.max(...norms) - 1) < 1e-12);
});

for (const kind of ['fourier', 'pixel', 'rgb'] as ParamKind[]) {
  test(`the ${kind} parameterisation's backward pass is its exact gradient (finite differences)`, () => {
    const param = createImageParam({ kind, canvasPx: 12, decorrelate: true, meanRgb: [0.4, 0.5, 0.6] }, createRng(3));
    param.values.forEach((v, i) => { param.values[i] = v + seededFloats(1, i + 11, kind === 'rgb' ? 0.1 : 0.5)[0]!; });
    const weights = seededFloats(12 * 12 * 3, 5);
    const loss = (): number => param.render().reduce((a, v, i) => a + v * weights[i]!, 0);
    const canvas = param.render();
    canvas.forEach((v) => assert.ok(kind === 'rgb' || (v > 0 && v < 1)));
    const grad = Float32Array.from(param.backward(weights));
    for (const i of [0, 1, 7, 100, param.values.length - 1]) {
      const keep = param.values[i]!;
      const h = 1e-2;
      param.values[i] = keep + h; const up = loss();
      param.values[i] = keep - h; const down = loss();
      param.values[i] = keep;
      const numeric = (up - down) / (2 * h);
      assert.ok(Math.abs(numeric - grad[i]!) < 2e-3 * Math.max(1, Math.abs(numeric)), `${kind} value ${i}: ${numeric} vs ${grad[i]}`);
    }
  });
}
