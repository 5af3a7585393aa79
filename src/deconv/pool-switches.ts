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

/** Pooled size of the padded input. */
function pooledSize(x: tf.Tensor4D, pool: PoolWindow): [number, number] {
  const [top, bottom, left, right] = pool.padding;
  const size = (px: number): number => Math.floor((px - pool.windowPx) / pool.stride) + 1;
  return [size(x.shape[1] + top + bottom), size(x.shape[2] + left + right)];
}

/** Depthwise kernel [k, k, C, k*k] whose multiplier m picks window cell m of each channel. */
function windowCellKernel(windowPx: number, channels: number): tf.Tensor4D {
  const cells = windowPx * windowPx;
  const eye = tf.reshape(tf.eye(cells), [windowPx, windowPx, 1, cells]);
  return tf.tile(eye, [1, 1, channels, 1]) as tf.Tensor4D;
}

/**
 * Switches of a max pool: for every output cell, the row-major index of the
 * window cell that holds the maximum (the first one on ties). The window
 * cells are gathered by one depthwise convolution with one-hot kernels (exact:
 * each output is one input times 1 plus zeros; fast on every backend, unlike
 * wasm's generic strided slicing), then tf.argMax picks the first maximum.
 * Ownership: returns a new int32 tensor the caller disposes; `x` is not disposed.
 * @param x pool input [N, H, W, C]
 * @returns switches [N, Ho, Wo, C], int32 in 0 .. windowPx^2 - 1
 */
export function computePoolSwitches(x: tf.Tensor4D, pool: PoolWindow): tf.Tensor4D {
  return tf.tidy(() => {
    const [ho, wo] = pooledSize(x, pool);
    const [n, , , c] = x.shape;
    const padded = padForPool(x, pool.padding); // [N, Hp, Wp, C]
    const cells = tf.depthwiseConv2d(padded, windowCellKernel(pool.windowPx, c), pool.stride, 'valid'); // [N, Ho, Wo, C * k*k]
    return tf.argMax(tf.reshape(cells, [n, ho, wo, c, pool.windowPx * pool.windowPx]), 4) as tf.Tensor4D;
  });
}

/**
 * Interleaves s*s phase grids ([N, R, Q, C] each, phase index ry * s + rx) into
 * one grid [N, R*s, Q*s, C] where phase (ry, rx) holds rows ry, ry+s, ...
 * Ownership: returns a new tensor; the phases are not disposed.
 */
export function interleavePhases(phases: tf.Tensor4D[], stride: number): tf.Tensor4D {
  if (stride === 1) return tf.clone(phases[0]!);
  return tf.tidy(() => tf.depthToSpace(tf.concat(phases, 3), stride, 'NHWC'));
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
  const [n, ho, wo, c] = y.shape;
  const s = pool.stride;
  const reach = Math.floor((pool.windowPx - 1) / s);
  const rows = Math.max(ho + reach, Math.ceil((inputPx[0] + pool.padding[0] + pool.padding[1]) / s));
  const cols = Math.max(wo + reach, Math.ceil((inputPx[1] + pool.padding[2] + pool.padding[3]) / s));
  return tf.tidy(() => {
    const phases: (tf.Tensor4D | null)[] = new Array(s * s).fill(null);
    for (let k = 0; k < pool.windowPx * pool.windowPx; k++) {
      const dy = Math.floor(k / pool.windowPx);
      const dx = k % pool.windowPx;
      const share = tf.mul(y, tf.cast(tf.equal(switches, k), 'float32'));
      const [a, b] = [Math.floor(dy / s), Math.floor(dx / s)];
      const placed = tf.pad(share, [[0, 0], [a, rows - ho - a], [b, cols - wo - b], [0, 0]]) as tf.Tensor4D; // [N, rows, cols, C]
      const phase = (dy % s) * s + (dx % s);
      phases[phase] = phases[phase] === null ? placed : (tf.add(phases[phase]!, placed) as tf.Tensor4D);
    }
    const blocks = phases.map((p) => p ?? (tf.zeros([n, rows, cols, c]) as tf.Tensor4D));
    const grid = interleavePhases(blocks, s); // [N, rows*s, cols*s, C]
    return tf.slice(grid, [0, pool.padding[0], pool.padding[2], 0], [n, inputPx[0], inputPx[1], c]);
  });
}
