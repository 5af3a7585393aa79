/**
 * Conv2DBackpropFilter for the wasm backend, which tfjs-backend-wasm 4.22
 * does not register at all (so gradients of conv layers fail there).
 *
 * Construction: swap the batch and channel axes and let XNNPACK's Conv2D do
 * the reduction. dW[u, v, ci, co] = sum_{n, a, b} xpad[n, s*a + u, s*b + v, ci] * dy[n, a, b, co]
 * is exactly a stride-1 conv whose "batch" is Cin, whose "input channels" are
 * the N images, whose input is xpad^T [Cin, Hp, Wp, N] and whose filter is
 * dy^T [Ho, Wo, N, Cout] dilated by the forward stride; its output
 * [Cin, kh, kw, Cout] is dW up to a transpose.
 *
 * Why not im2col + matmul: im2col of conv1 at batch 32 is [32*110*110, 147]
 * floats (230 MB) and wasm's BatchMatMul with transposeA is a slow path
 * (measured ~10x slower than this). Here the extra memory is one transposed
 * copy of x (padded) and one of dy: about the activations' own size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { computeNhwcConvInfo, expectDyShape, toNhwc, wrapTensorInfo, type ConvKernelAttrs } from './kernel-tensors.js';

export interface Conv2DBackpropFilterKernelAttrs extends ConvKernelAttrs {
  filterShape: [number, number, number, number];
}

/**
 * dW [kh, kw, Cin, Cout] of conv2d(x, W, strides, pad) given x [N, H, W, Cin]
 * and dy [N, Ho, Wo, Cout] (NHWC). Returns a new tensor owned by the caller.
 * @throws Error when the shapes do not describe a conv (tfjs's own messages);
 *   RangeError when dy's shape is not the forward conv's output shape.
 */
export function computeConv2DBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], attrs: ConvKernelAttrs): tf.Tensor4D {
  const info = computeNhwcConvInfo(x.shape, filterShape, attrs);
  expectDyShape(dy.shape, info);
  const { strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  // Only rows/cols the forward conv read: (Ho-1)*s + k, starting at -top.
  const usedHeight = (outHeight - 1) * sh + filterHeight;
  const usedWidth = (outWidth - 1) * sw + filterWidth;
  return tf.tidy(() => {
    const padded = tf.pad(x, [[0, 0], [top, Math.max(0, usedHeight - inHeight - top)], [left, Math.max(0, usedWidth - inWidth - left)], [0, 0]]);
    const used = tf.slice(padded, [0, 0, 0, 0], [-1, usedHeight, usedWidth, -1]);
    const xSwapped = tf.transpose(used, [3, 1, 2, 0]); // [Cin, Hu, Wu, N]
    const dySwapped = tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Cout]
    const grad = tf.conv2d(xSwapped, dySwapped, 1, 'valid', 'NHWC', [sh, sw]); // [Cin, kh, kw, Cout]
    return tf.transpose(grad, [1, 2, 0, 3]);
  });
}

/** The kernelFunc registered as Conv2DBackpropFilter on wasm. */
export const wasmConv2DBackpropFilter: tf.KernelFunc = ({ inputs, attrs }) => {
  const kernelAttrs = attrs as unknown as Conv2DBackpropFilterKernelAttrs;
  const format = kernelAttrs.dataFormat ?? 'NHWC';
  return tf.tidy(() => {
    const x = toNhwc(wrapTensorInfo<tf.Rank.R4>(inputs.x!), format);
    const dy = toNhwc(wrapTensorInfo<tf.Rank.R4>(inputs.dy!), format);
    return computeConv2DBackpropFilter(x, dy, kernelAttrs.filterShape, kernelAttrs);
  });
};
