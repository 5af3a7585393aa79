/**
 * Helpers shared by the project's composite wasm kernels: turning the
 * TensorInfos a kernel receives into Tensors that tfjs ops accept, and the
 * conv geometry both backprop kernels need.
 *
 * Why composite kernels may call tfjs ops: the engine runs a kernelFunc with
 * `kernelDepth > 0`, so ops issued inside it are never recorded on a gradient
 * tape, and they dispatch to the same (active) backend. Every temporary is made
 * inside `tf.tidy`, so only the returned tensor outlives the kernel.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Conv attributes as tfjs kernels receive them. */
export interface ConvKernelAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * A Tensor view of a kernel input. Inputs passed by tfjs ops already are
 * Tensors (returned as is, owned by the caller); a bare TensorInfo gets a new
 * Tensor sharing its data, which the enclosing `tf.tidy` disposes (that only
 * drops a reference, never the caller's data).
 */
export function wrapTensorInfo<R extends tf.Rank = tf.Rank>(info: tf.TensorInfo): tf.Tensor<R> {
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

/** NCHW -> NHWC for a rank-4 shape. */
export function shapeToNhwc(shape: readonly number[], dataFormat: 'NHWC' | 'NCHW'): [number, number, number, number] {
  const [a, b, c, d] = shape as [number, number, number, number];
  return dataFormat === 'NCHW' ? [a, c, d, b] : [a, b, c, d];
}

/** Rank-4 tensor in NHWC, transposing from NCHW when needed. */
export function toNhwc(x: tf.Tensor4D, dataFormat: 'NHWC' | 'NCHW'): tf.Tensor4D {
  return dataFormat === 'NCHW' ? tf.transpose(x, [0, 2, 3, 1]) : x;
}

/** Rank-4 NHWC tensor back to the requested data format. */
export function fromNhwc(x: tf.Tensor4D, dataFormat: 'NHWC' | 'NCHW'): tf.Tensor4D {
  return dataFormat === 'NCHW' ? tf.transpose(x, [0, 3, 1, 2]) : x;
}

/** Explicit padding is given in the data format's axis order; reorder NCHW's to NHWC. */
function padToNhwc(pad: ConvKernelAttrs['pad'], dataFormat: 'NHWC' | 'NCHW'): ConvKernelAttrs['pad'] {
  if (dataFormat === 'NHWC' || !Array.isArray(pad)) return pad;
  const [n, c, h, w] = pad as tf.backend_util.ExplicitPadding;
  return [n, h, w, c] as tf.backend_util.ExplicitPadding;
}

/**
 * Forward-conv geometry (NHWC, dilation 1) of the conv whose gradient a
 * backprop kernel computes; `inputShapeNhwc` is already NHWC, explicit
 * padding in `attrs` is still in `attrs.dataFormat` order.
 * @throws Error when the shapes, strides or padding are inconsistent (tfjs's own messages).
 */
export function computeNhwcConvInfo(
  inputShapeNhwc: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: ConvKernelAttrs,
): tf.backend_util.Conv2DInfo {
  const pad = padToNhwc(attrs.pad, attrs.dataFormat ?? 'NHWC');
  return tf.backend_util.computeConv2DInfo(inputShapeNhwc, filterShape, attrs.strides, 1, pad, attrs.dimRoundingMode, false, 'channelsLast');
}

/**
 * Checks that dy [N, Ho, Wo, Cout] (NHWC) is what the forward conv produces;
 * tfjs's ops do not check the spatial size, and a mismatch would silently give
 * a wrong gradient.
 * @throws RangeError naming both shapes.
 */
export function expectDyShape(dyShape: readonly number[], info: tf.backend_util.Conv2DInfo): void {
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (expected.some((v, i) => dyShape[i] !== v)) {
    throw new RangeError(`Expected dy of shape [${expected.join(', ')}] (NHWC) for a conv of input [${info.inShape.join(', ')}] and filter [${info.filterHeight}, ${info.filterWidth}, ${info.inChannels}, ${info.outChannels}] but received [${dyShape.join(', ')}]`);
  }
}
