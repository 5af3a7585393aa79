/**
 * Transformation robustness (Mordvintsev et al. 2015; Olah et al. 2017,
 * Lucid's `standard_transforms`): at every step the model sees the canvas
 * moved, scaled and rotated by a random amount, so the image must excite the
 * unit wherever and however it lands, and pixel-exact noise patterns stop
 * paying. Lucid composes pad(12, constant 0.5), jitter 8, a scale from
 * 1 + (i - 5)/50 (i = 0..10), a rotation from -10..10 degrees (and five more
 * zeros), jitter 4, each resampling the image. Here one bilinear warp does
 * the whole move (one interpolation instead of several): the model's view
 * [S, S, 3] samples the canvas [P, P, 3] (P > S leaves room to move) at
 *   p = R(-angle) (q - cS - d) / scale + cS + off,
 * q a view pixel, cS = (S-1)/2 its centre, d the shift in px, off =
 * floor((P - S)/2) where the view sits on the canvas unmoved; samples off the
 * canvas read the constant `fill` (Lucid's 0.5 padding). The identity view
 * is an exact crop. The adjoint scatters a view gradient back to the canvas.
 *
 * Randomness apart from work: `drawViewTransform` draws the parameters from
 * a seeded Rng; `createWarp` and the rest are deterministic functions of them.
 * Also the DeepVis toolbox's Gaussian blur. Pure.
 */
import type { Rng } from '../data/seeded-rng.js';

export interface ViewTransform {
  dxPx: number;
  dyPx: number;
  scale: number;
  angleDeg: number;
}

export const IDENTITY_VIEW: Readonly<ViewTransform> = Object.freeze({ dxPx: 0, dyPx: 0, scale: 1, angleDeg: 0 });

export interface TransformRanges {
  /** Largest shift in px along each axis (an integer drawn uniformly in [-jitterPx, jitterPx]). */
  jitterPx: number;
  /** Scales drawn uniformly from this list. */
  scales: readonly number[];
  /** Angles (degrees) drawn uniformly from this list. */
  anglesDeg: readonly number[];
}

/** Lucid's random_scale list: 0.90, 0.92, ..., 1.10. */
export const LUCID_SCALES: readonly number[] = Object.freeze(Array.from({ length: 11 }, (_, i) => 1 + (i - 5) / 50));
/** Lucid's random_rotate list: -10..10 degrees and five more zeros. */
export const LUCID_ANGLES_DEG: readonly number[] = Object.freeze([...Array.from({ length: 21 }, (_, i) => i - 10), 0, 0, 0, 0, 0]);

/** One step's view parameters, drawn from `rng` (shift x, shift y, scale, angle: always four draws). */
export function drawViewTransform(ranges: TransformRanges, rng: Rng): ViewTransform {
  const span = 2 * ranges.jitterPx + 1;
  const dxPx = rng.nextInt(span) - ranges.jitterPx;
  const dyPx = rng.nextInt(span) - ranges.jitterPx;
  const scale = ranges.scales[rng.nextInt(ranges.scales.length)] ?? 1;
  const angleDeg = ranges.anglesDeg[rng.nextInt(ranges.anglesDeg.length)] ?? 0;
  return { dxPx, dyPx, scale, angleDeg };
}

/** The bilinear taps of every view pixel: canvas pixel indices (-1: off the canvas) and weights. */
export interface Warp {
  canvasPx: number;
  viewPx: number;
  /** [S * S * 4] canvas pixel index of each tap, -1 off the canvas. */
  taps: Int32Array;
  /** [S * S * 4] bilinear weight of each tap. */
  weights: Float32Array;
}

/** The taps of the view `t` of an S px view on a P px canvas. */
export function createWarp(canvasPx: number, viewPx: number, t: ViewTransform): Warp {
  const taps = new Int32Array(viewPx * viewPx * 4);
  const weights = new Float32Array(viewPx * viewPx * 4);
  const centre = (viewPx - 1) / 2;
  const off = Math.floor((canvasPx - viewPx) / 2);
  const radians = (t.angleDeg * Math.PI) / 180;
  const cos = Math.cos(radians) / t.scale, sin = Math.sin(radians) / t.scale;
  for (let i = 0; i < viewPx; i++) {
    for (let j = 0; j < viewPx; j++) {
      const u = j - centre - t.dxPx, v = i - centre - t.dyPx;
      // R(-angle) [u, v] / scale
      const px = cos * u + sin * v + centre + off;
      const py = -sin * u + cos * v + centre + off;
      const x0 = Math.floor(px), y0 = Math.floor(py);
      const fx = px - x0, fy = py - y0;
      const k = (i * viewPx + j) * 4;
      putTap(taps, weights, canvasPx, k, x0, y0, (1 - fx) * (1 - fy));
      putTap(taps, weights, canvasPx, k + 1, x0 + 1, y0, fx * (1 - fy));
      putTap(taps, weights, canvasPx, k + 2, x0, y0 + 1, (1 - fx) * fy);
      putTap(taps, weights, canvasPx, k + 3, x0 + 1, y0 + 1, fx * fy);
    }
  }
  return { canvasPx, viewPx, taps, weights };
}

function putTap(taps: Int32Array, weights: Float32Array, canvasPx: number, k: number, x: number, y: number, w: number): void {
  taps[k] = x >= 0 && x < canvasPx && y >= 0 && y < canvasPx ? y * canvasPx + x : -1;
  weights[k] = w;
}

/** view [S, S, 3] = warp of canvas [P, P, 3]; taps off the canvas read `fill`. */
export function warpForward(warp: Warp, canvas: Float32Array, fill: number, view: Float32Array): void {
  const { taps, weights } = warp;
  for (let p = 0; p < taps.length / 4; p++) {
    let r = 0, g = 0, b = 0;
    for (let n = 0; n < 4; n++) {
      const tap = taps[p * 4 + n]!, w = weights[p * 4 + n]!;
      if (tap < 0) { r += w * fill; g += w * fill; b += w * fill; continue; }
      r += w * canvas[tap * 3]!; g += w * canvas[tap * 3 + 1]!; b += w * canvas[tap * 3 + 2]!;
    }
    view[p * 3] = r; view[p * 3 + 1] = g; view[p * 3 + 2] = b;
  }
}

/** canvasGrad [P, P, 3] = the adjoint of warpForward applied to viewGrad [S, S, 3] (overwrites canvasGrad). */
export function warpAdjoint(warp: Warp, viewGrad: Float32Array, canvasGrad: Float32Array): void {
  const { taps, weights } = warp;
  canvasGrad.fill(0);
  for (let p = 0; p < taps.length / 4; p++) {
    const r = viewGrad[p * 3]!, g = viewGrad[p * 3 + 1]!, b = viewGrad[p * 3 + 2]!;
    for (let n = 0; n < 4; n++) {
      const tap = taps[p * 4 + n]!, w = weights[p * 4 + n]!;
      if (tap < 0 || w === 0) continue;
      canvasGrad[tap * 3] += w * r; canvasGrad[tap * 3 + 1] += w * g; canvasGrad[tap * 3 + 2] += w * b;
    }
  }
}

/** A normalised 1-D Gaussian of `sigmaPx`, truncated at 4 sigma (scipy's gaussian_filter). */
export function gaussianKernel(sigmaPx: number): Float64Array {
  const radius = Math.max(1, Math.round(4 * sigmaPx));
  const kernel = Float64Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigmaPx * sigmaPx)));
  const sum = kernel.reduce((a, v) => a + v, 0);
  return kernel.map((v) => v / sum);
}

/** Mirror index with the edge repeated (scipy's 'reflect': d c b a | a b c d | d c b a). */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  const k = ((i % period) + period) % period;
  return k < n ? k : period - 1 - k;
}

/** Blurs an [N, N, 3] image in place by a separable Gaussian of `sigmaPx` (the DeepVis toolbox's blur step). */
export function gaussianBlur(image: Float32Array, sidePx: number, sigmaPx: number): void {
  if (sigmaPx <= 0) return;
  const kernel = gaussianKernel(sigmaPx);
  const radius = (kernel.length - 1) / 2;
  const temp = new Float32Array(image.length);
  const pass = (from: Float32Array, to: Float32Array, horizontal: boolean): void => {
    for (let y = 0; y < sidePx; y++) {
      for (let x = 0; x < sidePx; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let k = -radius; k <= radius; k++) {
            const xx = horizontal ? reflectIndex(x + k, sidePx) : x;
            const yy = horizontal ? y : reflectIndex(y + k, sidePx);
            sum += kernel[k + radius]! * from[(yy * sidePx + xx) * 3 + c]!;
          }
          to[(y * sidePx + x) * 3 + c] = sum;
        }
      }
    }
  };
  pass(image, temp, true);
  pass(temp, image, false);
}
