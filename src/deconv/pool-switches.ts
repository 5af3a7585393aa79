/**
 * Max-pool switches and unpooling for the deconvnet, built only from ops every
 * backend has (wasm has no usable maxPoolWithArgmax for ceil-mode padding).
 *
 * A switch is the index of the winning cell inside its pooling window, in
 * row-major window order (`dy * windowPx + dx`). Ties go to the first maximum
 * in that order (project choice, zfnet-paper.md): tf.argMax returns the first
 * maximum on cpu and wasm, checked in test/deconv/pool-switches.test.ts.
 * Unpooling places each pooled value at its switch; where overlapping windows
 * share a winner the values add (project choice).
 */
import * as tf from '@tensorflow/tfjs-core';
import { POOL_PAD_VALUE } from '../model/network.js';
import type { Padding4 } from '../model/spec.js';

export interface PoolWindow {
  windowPx: number;
  stride: number;
  /** Padding actually applied (ceil-mode extra included): [top, bottom, left, right]. */
  padding: Padding4;
}

function padForPool(x: tf.Tensor4D, padding: Padding4): tf.Tensor4D {
  if (padding.every((v) => v === 0)) return x;
  return tf.pad(x, [[0, 0], [padding[0], padding[1]], [padding[2], padding[3]], [0, 0]], POOL_PAD_VALUE);
}

/** Output side of a valid pool over a padded side. */
function pooledSize(paddedPx: number, pool: PoolWindow): number {
  return Math.floor((paddedPx - pool.windowPx) / pool.stride) + 1;
}

/**
 * Switches of a max pool: for every output cell, the row-major index of the
 * window cell that holds the maximum (first one on ties).
 * Ownership: returns a new int32 tensor the caller disposes; `x` is not disposed.
 * @param x pool input [N, H, W, C]
 * @returns switches [N, Ho, Wo, C], int32 in 0 .. windowPx^2 - 1
 */
export function computePoolSwitches(x: tf.Tensor4D, pool: PoolWindow): tf.Tensor4D {
  return tf.tidy(() => {
    const padded = padForPool(x, pool.padding); // [N, Hp, Wp, C]
    const [n, hp, wp, c] = padded.shape;
    const ho = pooledSize(hp, pool);
    const wo = pooledSize(wp, pool);
    const shifted: tf.Tensor4D[] = [];
    for (let dy = 0; dy < pool.windowPx; dy++) {
      for (let dx = 0; dx < pool.windowPx; dx++) {
        const end = [n, dy + (ho - 1) * pool.stride + 1, dx + (wo - 1) * pool.stride + 1, c];
        shifted.push(tf.stridedSlice(padded, [0, dy, dx, 0], end, [1, pool.stride, pool.stride, 1]) as tf.Tensor4D);
      }
    }
    return tf.argMax(tf.stack(shifted, 4), 4) as tf.Tensor4D; // [N, Ho, Wo, C]
  });
}

/**
 * Spreads `y` ([N, Ho, Wo, C]) onto the padded input grid so that cell (i, j)
 * lands at (offsetY + i * stride, offsetX + j * stride); zeros elsewhere.
 * @returns [N, rowsPx, colsPx, C]
 */
function placeStrided(y: tf.Tensor4D, stride: number, offsetY: number, offsetX: number, windowPx: number, rowsPx: number, colsPx: number): tf.Tensor4D {
  const [n, ho, wo, c] = y.shape;
  const cells = tf.reshape(y, [n, ho, 1, wo, 1, c]);
  const dilated: tf.Tensor4D = tf.reshape(tf.pad(cells, [[0, 0], [0, 0], [0, stride - 1], [0, 0], [0, stride - 1], [0, 0]]), [n, ho * stride, wo * stride, c]) as tf.Tensor4D;
  const shifted = tf.pad(dilated, [[0, 0], [offsetY, windowPx - 1 - offsetY], [offsetX, windowPx - 1 - offsetX], [0, 0]]);
  return tf.slice(shifted, [0, 0, 0, 0], [n, rowsPx, colsPx, c]);
}

/**
 * Unpools `y` with recorded switches: each value goes to its window's winning
 * cell, overlapping windows that share a winner add, the padding is cropped.
 * Ownership: returns a new tensor the caller disposes; inputs are not disposed.
 * @param y values on the pooled grid [N, Ho, Wo, C]
 * @param switches from computePoolSwitches [N, Ho, Wo, C]
 * @param inputPx [H, W] of the pool input (before padding)
 * @returns [N, H, W, C]
 * @throws RangeError when `y` and `switches` differ in shape
 */
export function unpoolWithSwitches(y: tf.Tensor4D, switches: tf.Tensor4D, pool: PoolWindow, inputPx: [number, number]): tf.Tensor4D {
  if (y.shape.join() !== switches.shape.join()) {
    throw new RangeError(`Unpooling needs values and switches of one shape but received [${y.shape.join(', ')}] and [${switches.shape.join(', ')}]`);
  }
  const [top, bottom, left, right] = pool.padding;
  const rowsPx = inputPx[0] + top + bottom;
  const colsPx = inputPx[1] + left + right;
  return tf.tidy(() => {
    let sum: tf.Tensor4D | null = null;
    for (let k = 0; k < pool.windowPx * pool.windowPx; k++) {
      const share = tf.mul(y, tf.cast(tf.equal(switches, k), 'float32')) as tf.Tensor4D;
      const placed = placeStrided(share, pool.stride, Math.floor(k / pool.windowPx), k % pool.windowPx, pool.windowPx, rowsPx, colsPx);
      sum = sum === null ? placed : (tf.add(sum, placed) as tf.Tensor4D);
    }
    return tf.slice(sum!, [0, top, left, 0], [y.shape[0], inputPx[0], inputPx[1], y.shape[3]]);
  });
}
