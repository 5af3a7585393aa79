/**
 * How a preferred input is parameterised: the values the optimiser moves,
 * and the canvas (RGB in 0..1, [P, P, 3]) they stand for, with the exact
 * adjoint of that map (the gradient of the canvas goes back to the values).
 * Pure; each parameterisation owns its buffers.
 *
 * - `fourier` (Olah et al. 2017, "Feature Visualization", Distill; Lucid's
 *   `fft_image` + `to_valid_rgb`): per colour channel a half spectrum
 *   [P, P/2 + 1] (re, im), initialised N(0, 0.01^2), scaled by
 *   1 / max(f, 1/P)^decay (f the frequency in cycles per pixel, decay 1) so
 *   every frequency starts with about the energy natural images have; the
 *   orthonormal inverse real FFT, divided by 4 (Lucid's constant); then
 *   the colour map below.
 * - `pixel`: the same colour map over pixel values initialised N(0, 0.01^2).
 * - `rgb` (the DeepVis toolbox, Yosinski et al. 2015): the canvas itself,
 *   started at the model's mean colour plus N(0, (10/255)^2) and kept in
 *   0..1 by clipping after each step (src/preferred/optimise-batch.ts).
 * Colour map (fourier, pixel): with `decorrelate`, Lucid's square root of
 * ImageNet's colour correlation (columns scaled to unit largest norm) maps a
 * decorrelated colour space to RGB; then a sigmoid keeps values in 0..1.
 */
import type { Rng } from '../data/seeded-rng.js';
import { createFft2Plans, irfft2, irfft2Adjoint, type Fft2Plans } from './fft.js';

export type ParamKind = 'fourier' | 'pixel' | 'rgb';
export const PARAM_KINDS: readonly ParamKind[] = Object.freeze(['fourier', 'pixel', 'rgb']);

/** Lucid's colour_correlation_svd_sqrt (rows: R, G, B). */
const COLOUR_SVD_SQRT = [[0.26, 0.09, 0.02], [0.27, 0.0, -0.05], [0.27, -0.09, 0.03]] as const;

/** COLOUR_SVD_SQRT divided by the largest norm of its columns: rgb_i = sum_j M[i][j] t_j. */
export const DECORRELATION: readonly (readonly number[])[] = (() => {
  const norms = [0, 1, 2].map((j) => Math.hypot(...COLOUR_SVD_SQRT.map((row) => row[j]!)));
  const largest = Math.max(...norms);
  return COLOUR_SVD_SQRT.map((row) => row.map((v) => v / largest));
})();

export interface ImageParam {
  readonly kind: ParamKind;
  readonly canvasPx: number;
  /** The values the optimiser moves. */
  readonly values: Float32Array;
  /** The canvas [P, P, 3] RGB 0..1 of the current values (a buffer owned by the param, rewritten by each call). */
  render(): Float32Array;
  /** The gradient of the values for `canvasGrad` [P, P, 3] at the last render(). */
  backward(canvasGrad: Float32Array): Float32Array;
}

/** A standard normal draw (Box-Muller) from `rng`. */
export function drawNormal(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Lucid's spectrum scale 1 / max(f, 1/P)^decay over a [P, P/2 + 1] half spectrum. */
export function spectrumScale(canvasPx: number, decayPower = 1): Float64Array {
  const half = canvasPx / 2 + 1;
  const scale = new Float64Array(canvasPx * half);
  const freq = (k: number): number => (k <= canvasPx / 2 ? k : k - canvasPx) / canvasPx; // numpy's fftfreq, up to the sign at P/2
  for (let ky = 0; ky < canvasPx; ky++) {
    for (let kx = 0; kx < half; kx++) {
      const f = Math.hypot(freq(ky), kx / canvasPx);
      scale[ky * half + kx] = 1 / Math.max(f, 1 / canvasPx) ** decayPower;
    }
  }
  return scale;
}

/** The colour map's forward pass over `linear` [P*P, 3] into `rgb`; keeps what the backward pass needs in `rgb`. */
function colourForward(linear: Float64Array, rgb: Float32Array, decorrelate: boolean): void {
  const m = DECORRELATION;
  for (let i = 0; i < rgb.length; i += 3) {
    const t0 = linear[i]!, t1 = linear[i + 1]!, t2 = linear[i + 2]!;
    for (let c = 0; c < 3; c++) {
      const v = decorrelate ? m[c]![0]! * t0 + m[c]![1]! * t1 + m[c]![2]! * t2 : linear[i + c]!;
      rgb[i + c] = 1 / (1 + Math.exp(-v));
    }
  }
}

/** The colour map's adjoint: d linear from d rgb, at the sigmoid outputs `rgb`. */
function colourBackward(rgb: Float32Array, grad: Float32Array, out: Float64Array, decorrelate: boolean): void {
  const m = DECORRELATION;
  for (let i = 0; i < rgb.length; i += 3) {
    const g0 = grad[i]! * rgb[i]! * (1 - rgb[i]!), g1 = grad[i + 1]! * rgb[i + 1]! * (1 - rgb[i + 1]!), g2 = grad[i + 2]! * rgb[i + 2]! * (1 - rgb[i + 2]!);
    if (!decorrelate) {
      out[i] = g0; out[i + 1] = g1; out[i + 2] = g2;
      continue;
    }
    for (let j = 0; j < 3; j++) out[i + j] = m[0]![j]! * g0 + m[1]![j]! * g1 + m[2]![j]! * g2;
  }
}

/** Fourier parameterisation: values [3, P, P/2 + 1, 2] (re, im interleaved). */
function createFourierParam(canvasPx: number, rng: Rng, decorrelate: boolean): ImageParam {
  const P = canvasPx;
  const half = P / 2 + 1;
  const plans: Fft2Plans = createFft2Plans(P, P);
  const scale = spectrumScale(P);
  const values = Float32Array.from({ length: 3 * P * half * 2 }, () => 0.01 * drawNormal(rng));
  const re = new Float64Array(P * half), im = new Float64Array(P * half);
  const plane = new Float64Array(P * P);
  const linear = new Float64Array(P * P * 3);
  const rgb = new Float32Array(P * P * 3);
  const grad = new Float32Array(values.length);
  return {
    kind: 'fourier', canvasPx, values,
    render() {
      for (let c = 0; c < 3; c++) {
        const base = c * P * half * 2;
        for (let k = 0; k < P * half; k++) { re[k] = values[base + 2 * k]! * scale[k]!; im[k] = values[base + 2 * k + 1]! * scale[k]!; }
        irfft2(plans, P, P, re, im, plane);
        for (let i = 0; i < P * P; i++) linear[i * 3 + c] = plane[i]! / 4;
      }
      colourForward(linear, rgb, decorrelate);
      return rgb;
    },
    backward(canvasGrad) {
      colourBackward(rgb, canvasGrad, linear, decorrelate);
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < P * P; i++) plane[i] = linear[i * 3 + c]! / 4;
        irfft2Adjoint(plans, P, P, plane, re, im);
        const base = c * P * half * 2;
        for (let k = 0; k < P * half; k++) { grad[base + 2 * k] = re[k]! * scale[k]!; grad[base + 2 * k + 1] = im[k]! * scale[k]!; }
      }
      return grad;
    },
  };
}

/** Pixel parameterisation through the colour map: values [P, P, 3]. */
function createPixelParam(canvasPx: number, rng: Rng, decorrelate: boolean): ImageParam {
  const n = canvasPx * canvasPx * 3;
  const values = Float32Array.from({ length: n }, () => 0.01 * drawNormal(rng));
  const linear = new Float64Array(n);
  const rgb = new Float32Array(n);
  const grad = new Float32Array(n);
  return {
    kind: 'pixel', canvasPx, values,
    render() {
      for (let i = 0; i < n; i++) linear[i] = values[i]!;
      colourForward(linear, rgb, decorrelate);
      return rgb;
    },
    backward(canvasGrad) {
      colourBackward(rgb, canvasGrad, linear, decorrelate);
      for (let i = 0; i < n; i++) grad[i] = linear[i]!;
      return grad;
    },
  };
}

/** The canvas itself (DeepVis): values [P, P, 3] RGB 0..1 around `meanRgb`. */
function createRgbParam(canvasPx: number, rng: Rng, meanRgb: readonly number[]): ImageParam {
  const n = canvasPx * canvasPx * 3;
  const values = Float32Array.from({ length: n }, (_, i) => Math.min(1, Math.max(0, meanRgb[i % 3]! + (10 / 255) * drawNormal(rng))));
  return { kind: 'rgb', canvasPx, values, render: () => values, backward: (canvasGrad) => canvasGrad };
}

export interface ImageParamOptions {
  kind: ParamKind;
  /** Canvas side; even for `fourier`. */
  canvasPx: number;
  decorrelate: boolean;
  /** RGB 0..1 the `rgb` parameterisation starts around (the model's mean colour). */
  meanRgb: readonly number[];
}

/**
 * A parameterisation drawing its initial values from `rng`.
 * @throws RangeError for an odd canvas with `fourier`
 */
export function createImageParam(options: ImageParamOptions, rng: Rng): ImageParam {
  if (options.kind === 'fourier') return createFourierParam(options.canvasPx, rng, options.decorrelate);
  if (options.kind === 'pixel') return createPixelParam(options.canvasPx, rng, options.decorrelate);
  return createRgbParam(options.canvasPx, rng, options.meanRgb);
}
