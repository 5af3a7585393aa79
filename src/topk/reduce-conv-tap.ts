/**
 * The tensor side of top-activations: a conv tap [N, H, W, C] becomes, per
 * (image, unit), the spatial maximum, the first row-major position holding it
 * and the spatial mean. Only these [N, C] arrays leave the backend; the
 * activation maps never do.
 *
 * The result is a plain object of typed arrays, so a worker thread can run the
 * forward pass and post it back for the main thread to fold into the heaps.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface LayerBatchReduction {
  /** Conv layer number, 1..5. */
  layer: number;
  numImages: number;
  numUnits: number;
  /** Height and width of the unit's map (cells of the conv output). */
  mapHeight: number;
  mapWidth: number;
  /** [N, C] spatial maximum of the rectified map. */
  maxValues: Float32Array;
  /** [N, C] y * mapWidth + x of the first (row-major) cell holding the maximum. */
  argmaxIndex: Int32Array;
  /** [N, C] spatial mean of the rectified map. */
  meanValues: Float32Array;
}

/**
 * How the first maximum is found: `argmax` trusts tf.argMax to return the first
 * index among ties (true on the cpu and wasm backends, checked by
 * `checkArgMaxPicksFirst`); `masked` computes min(index where value == max),
 * which holds on any backend at the cost of a few more ops.
 */
export type ArgMaxMethod = 'argmax' | 'masked';

/**
 * The three reductions of a tap, as tensors. Ownership: the caller disposes
 * the returned tensors; intermediates are disposed here.
 */
export function reduceConvTapTensors(tap: tf.Tensor4D, method: ArgMaxMethod): { max: tf.Tensor2D; argmax: tf.Tensor2D; mean: tf.Tensor2D } {
  const [n, h, w, c] = tap.shape;
  return tf.tidy(() => {
    // Backends reduce along the innermost axis and transpose otherwise: transpose
    // once here rather than once per reduction (3x less copying of the maps).
    const maps = tf.transpose(tf.reshape(tap, [n, h * w, c]), [0, 2, 1]); // [N, C, H*W]
    const max = tf.max(maps, 2) as tf.Tensor2D; // [N, C]
    const mean = tf.mean(maps, 2) as tf.Tensor2D; // [N, C]
    if (method === 'argmax') return { max, argmax: tf.argMax(maps, 2) as tf.Tensor2D, mean };
    const isMax = tf.equal(maps, tf.reshape(max, [n, c, 1])); // [N, C, H*W]
    const index = tf.broadcastTo(tf.reshape(tf.range(0, h * w, 1, 'int32'), [1, 1, h * w]), [n, c, h * w]);
    const candidate = tf.where(isMax, index, tf.fill([n, c, h * w], h * w, 'int32'));
    return { max, argmax: tf.min(candidate, 2) as tf.Tensor2D, mean };
  });
}

/**
 * Reduces one conv tap to the plain-array form. Does not dispose `tap` (the
 * caller owns it); every tensor made here is disposed before returning.
 * @throws RangeError when the tap is not rank 4.
 */
export async function reduceConvTap(layer: number, tap: tf.Tensor, method: ArgMaxMethod): Promise<LayerBatchReduction> {
  if (tap.rank !== 4) throw new RangeError(`Expected a rank-4 conv tap [N, H, W, C] for conv${layer} but received shape [${tap.shape.join(', ')}]`);
  const [numImages, mapHeight, mapWidth, numUnits] = tap.shape as [number, number, number, number];
  const reduced = reduceConvTapTensors(tap as tf.Tensor4D, method);
  try {
    const [maxValues, argmaxIndex, meanValues] = await Promise.all([reduced.max.data(), reduced.argmax.data(), reduced.mean.data()]);
    return {
      layer, numImages, numUnits, mapHeight, mapWidth,
      maxValues: maxValues as Float32Array,
      argmaxIndex: argmaxIndex as Int32Array, // int32 dtype on every backend
      meanValues: meanValues as Float32Array,
    };
  } finally {
    tf.dispose([reduced.max, reduced.argmax, reduced.mean]);
  }
}

/**
 * Whether the active backend's tf.argMax returns the first index among tied
 * maxima (the rule the top-9 needs). Runs a tiny tensor with ties.
 */
export async function checkArgMaxPicksFirst(): Promise<boolean> {
  const indices = tf.tidy(() => tf.argMax(tf.tensor3d([0, 0, 3, 1, 3, 1, 1, 1, 3, 0], [1, 5, 2]), 1));
  try {
    const [a, b] = Array.from(await indices.data());
    return a === 1 && b === 1;
  } finally {
    indices.dispose();
  }
}

/** The method to use on the active backend. */
export async function selectArgMaxMethod(): Promise<ArgMaxMethod> {
  return (await checkArgMaxPicksFirst()) ? 'argmax' : 'masked';
}
