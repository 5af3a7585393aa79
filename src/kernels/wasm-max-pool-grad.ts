/**
 * MaxPoolGrad for the wasm backend. tfjs-backend-wasm 4.22 has one, but it
 * disagrees with the cpu backend (and with this project's tie rule): it
 * starts each window's running max at FLT_MIN (the smallest positive float)
 * instead of -infinity, so in a window whose maximum is <= 1.2e-38 (all
 * values negative, for instance) the gradient goes to the window's first
 * cell wherever the maximum is; and among equal maxima it picks the last,
 * where cpu picks the first in row-major order. (Its MaxPoolWithArgmax starts
 * from FLT_MIN too.)
 *
 * This kernel computes the gradient from fast ops: the pooled max comes from
 * wasm's (XNNPACK) MaxPool; per window tap, a strided slice compared with it
 * selects the first maximum in row-major order, and dy lands in the tap's
 * stride phase, shifted by the tap's whole-stride offset; the phases are put
 * back into space as in Conv2DBackpropInput. Memory: s_h*s_w phase buffers of
 * about dy's size, i.e. about x's size in all.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapTensorInfo } from './kernel-tensors.js';
import { interleavePhases, splitPhases } from './wasm-conv2d-backprop-input.js';

export interface MaxPoolGradKernelAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** x padded with -infinity so that window (oy, ox) tap (u, v) is xp[oy*sh + u, ox*sw + v]; rows cover Ho + Mh - 1 phases. */
function padForWindows(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight, outWidth, inHeight, inWidth } = info;
  const rows = (outHeight + Math.ceil(kh / sh) - 1) * sh;
  const cols = (outWidth + Math.ceil(kw / sw) - 1) * sw;
  const { top, left } = info.padInfo;
  const padded = tf.pad(x, [[0, 0], [top, Math.max(0, rows - inHeight - top)], [left, Math.max(0, cols - inWidth - left)], [0, 0]], -Infinity);
  return tf.slice(padded, [0, 0, 0, 0], [-1, rows, cols, -1]);
}

/**
 * Values of tap (u, v) of every window, [N, Ho, Wo, C], from the phase-split
 * padded input [N, A, B, sh*sw*C] (one channel slice: no strided slice).
 */
function sliceTap(phased: tf.Tensor4D, info: tf.backend_util.Conv2DInfo, u: number, v: number): tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, outHeight, outWidth, inChannels } = info;
  const phase = (u % sh) * sw + (v % sw);
  return tf.slice(phased, [0, Math.floor(u / sh), Math.floor(v / sw), phase * inChannels], [-1, outHeight, outWidth, inChannels]);
}

/** The gradient routed to the first maximum of each window, from fast ops. dx: [N, H, W, C]. */
export function computeMaxPoolGradByTaps(dy: tf.Tensor4D, x: tf.Tensor4D, y: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const mh = Math.ceil(kh / sh);
  const mw = Math.ceil(kw / sw);
  return tf.tidy(() => {
    const phased = splitPhases(padForWindows(x, info), sh, sw);
    const phases: tf.Tensor4D[] = Array.from({ length: sh * sw }, () => tf.zeros([info.batchSize, info.outHeight + mh - 1, info.outWidth + mw - 1, info.inChannels]));
    let unassigned: tf.Tensor = tf.onesLike(y);
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++) {
        const phase = (u % sh) * sw + (v % sw);
        // One tidy per tap keeps the live set at a few [N, Ho, Wo, C] tensors.
        const [nextUnassigned, nextPhase] = tf.tidy(() => {
          const chosen = tf.mul(tf.cast(tf.equal(sliceTap(phased, info, u, v), y), 'float32'), unassigned);
          const [m, n] = [Math.floor(u / sh), Math.floor(v / sw)];
          const shifted = tf.pad(tf.mul(dy, chosen), [[0, 0], [m, mh - 1 - m], [n, mw - 1 - n], [0, 0]]);
          return [tf.sub(unassigned, chosen), tf.add(phases[phase]!, shifted)];
        });
        tf.dispose([unassigned, phases[phase]!]);
        [unassigned, phases[phase]] = [nextUnassigned!, nextPhase as tf.Tensor4D];
      }
    }
    const full = interleavePhases(tf.concat(phases, 3), sh, sw);
    return tf.slice(full, [0, info.padInfo.top, info.padInfo.left, 0], [-1, info.inHeight, info.inWidth, -1]);
  });
}

/** The kernelFunc registered as MaxPoolGrad on wasm. */
export const wasmMaxPoolGrad: tf.KernelFunc = ({ inputs, attrs }) => {
  const poolAttrs = attrs as unknown as MaxPoolGradKernelAttrs;
  return tf.tidy(() => {
    const dy = wrapTensorInfo<tf.Rank.R4>(inputs.dy!);
    const x = wrapTensorInfo<tf.Rank.R4>(inputs.input!);
    const info = tf.backend_util.computePool2DInfo(x.shape, poolAttrs.filterSize, poolAttrs.strides, 1, poolAttrs.pad, poolAttrs.dimRoundingMode);
    const y = tf.maxPool(x, poolAttrs.filterSize, poolAttrs.strides, poolAttrs.pad, poolAttrs.dimRoundingMode);
    return computeMaxPoolGradByTaps(dy, x, y, info);
  });
};
