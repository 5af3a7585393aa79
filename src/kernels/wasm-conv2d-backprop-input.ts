/**
 * Conv2DBackpropInput for the wasm backend (the gradient of conv2d with
 * respect to its input, and tf.conv2dTranspose), built from ONE stride-1
 * XNNPACK Conv2D plus cheap data movement, instead of tfjs-backend-wasm's
 * scalar C++ loop.
 *
 * Construction (sub-pixel / phase decomposition). With stride s, padding p
 * and q = i + p, the input gradient is
 *   dx[i] = sum_m dy[floor(q/s) - m] * w[s*m + (q mod s)],
 * so each output phase r = q mod s is a stride-1 correlation of dy with the
 * flipped sub-filter w[r], w[s + r], ... (ceil(k/s) taps; zero-padded to the
 * same count for every phase). All s_h*s_w phases become the output channels
 * of a single conv ([M_h, M_w, Cout, s_h*s_w*Cin] filter), and the phases are
 * interleaved back into space with a reshape and a rank-4 transpose. Unlike convolving a zero-dilated dy, no multiply is
 * spent on inserted zeros; the only extra work is the zero taps that pad each
 * phase to ceil(k/s) (e.g. 16 vs 12.25 taps per phase for 7x7/2).
 *
 * Memory: the conv output is [N, ~H/s_h, ~W/s_w, s_h*s_w*Cin], i.e. about the
 * size of dx itself, plus its transposed copy; no im2col.
 */
import * as tf from '@tensorflow/tfjs-core';
import { computeNhwcConvInfo, expectDyShape, fromNhwc, shapeToNhwc, toNhwc, wrapTensorInfo, type ConvKernelAttrs } from './kernel-tensors.js';

export interface Conv2DBackpropInputKernelAttrs extends ConvKernelAttrs {
  inputShape: [number, number, number, number];
}

/**
 * The phase filter: w [kh, kw, Cin, Cout] -> [Mh, Mw, Cout, sh*sw*Cin], flipped
 * spatially, channel (ry*sw + rx)*Cin + ci holding w[sh*m + ry, sw*n + rx, ci, :].
 */
export function buildPhaseFilter(filter: tf.Tensor4D, strideHeight: number, strideWidth: number): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const mh = Math.ceil(kh / strideHeight);
  const mw = Math.ceil(kw / strideWidth);
  return tf.tidy(() => {
    const padded = tf.pad(filter, [[0, mh * strideHeight - kh], [0, mw * strideWidth - kw], [0, 0], [0, 0]]);
    const split = tf.reshape(padded, [mh, strideHeight, mw, strideWidth, ci, co]);
    const grouped = tf.transpose(split, [0, 2, 5, 1, 3, 4]); // [Mh, Mw, Cout, sh, sw, Cin]
    return tf.reverse(tf.reshape(grouped, [mh, mw, co, strideHeight * strideWidth * ci]), [0, 1]) as tf.Tensor4D;
  });
}

/**
 * [N, A, B, sh*sw*C] phases -> [N, A*sh, B*sw, C]. A rank-4 transpose
 * (XNNPACK) rather than wasm's depthToSpace, which is a per-element loop
 * about 20x slower at these sizes.
 */
export function interleavePhases(phases: tf.Tensor4D, strideHeight: number, strideWidth: number): tf.Tensor4D {
  if (strideHeight === 1 && strideWidth === 1) return phases;
  const [n, a, b, depth] = phases.shape;
  const c = depth / (strideHeight * strideWidth);
  const split = tf.reshape(phases, [n * a, b, strideHeight, strideWidth * c]);
  return tf.reshape(tf.transpose(split, [0, 2, 1, 3]), [n, a * strideHeight, b * strideWidth, c]);
}

/** Inverse of `interleavePhases`: [N, A*sh, B*sw, C] -> [N, A, B, sh*sw*C]. */
export function splitPhases(x: tf.Tensor4D, strideHeight: number, strideWidth: number): tf.Tensor4D {
  if (strideHeight === 1 && strideWidth === 1) return x;
  const [n, rows, cols, c] = x.shape;
  const [a, b] = [rows / strideHeight, cols / strideWidth];
  const split = tf.reshape(x, [n * a, strideHeight, b, strideWidth * c]);
  return tf.reshape(tf.transpose(split, [0, 2, 1, 3]), [n, a, b, strideHeight * strideWidth * c]);
}

/**
 * dx [N, H, W, Cin] of conv2d(x, filter, strides, pad) given dy [N, Ho, Wo, Cout] (NHWC).
 * Returns a new tensor owned by the caller; temporaries are disposed.
 * @throws Error when the shapes do not describe a conv (tfjs's own messages);
 *   RangeError when dy's shape is not the forward conv's output shape.
 */
export function computeConv2DBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: [number, number, number, number], attrs: ConvKernelAttrs): tf.Tensor4D {
  const info = computeNhwcConvInfo(inputShape, filter.shape, attrs);
  expectDyShape(dy.shape, info);
  const { strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth } = info;
  const { top, left } = info.padInfo;
  const mh = Math.ceil(info.filterHeight / sh);
  const mw = Math.ceil(info.filterWidth / sw);
  // Phase rows a = 0..A-1 cover q = i + top for every i < H.
  const bottom = Math.max(0, Math.ceil((inHeight + top) / sh) - outHeight);
  const right = Math.max(0, Math.ceil((inWidth + left) / sw) - outWidth);
  return tf.tidy(() => {
    const phaseFilter = buildPhaseFilter(filter, sh, sw);
    const phases = tf.conv2d(dy, phaseFilter, 1, [[0, 0], [mh - 1, bottom], [mw - 1, right], [0, 0]]);
    const full = interleavePhases(phases, sh, sw); // [N, >= H + top, >= W + left, Cin]
    return tf.slice(full, [0, top, left, 0], [-1, inHeight, inWidth, -1]);
  });
}

/** The kernelFunc registered as Conv2DBackpropInput on wasm. */
export const wasmConv2DBackpropInput: tf.KernelFunc = ({ inputs, attrs }) => {
  const kernelAttrs = attrs as unknown as Conv2DBackpropInputKernelAttrs;
  const format = kernelAttrs.dataFormat ?? 'NHWC';
  return tf.tidy(() => {
    const dy = toNhwc(wrapTensorInfo<tf.Rank.R4>(inputs.dy!), format);
    const filter = wrapTensorInfo<tf.Rank.R4>(inputs.filter!);
    const dx = computeConv2DBackpropInput(dy, filter, shapeToNhwc(kernelAttrs.inputShape, format), kernelAttrs);
    return fromNhwc(dx, format);
  });
};
