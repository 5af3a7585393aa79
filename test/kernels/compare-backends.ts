/** Test helper: run the same computation on cpu and on wasm (with the project's kernels) and compare. */
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmKernels } from '../../src/kernels/register-wasm-kernels.js';
import '../../src/train/register-gradients.js';
import { useBackend } from '../deconv/backends.js';

/**
 * Normwise relative error max|a - b| / max|b|: float32 sums taken in a
 * different order differ by a few ulps of the tensor's scale.
 */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertSameLength(a, b);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

function assertSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`length ${a.length} differs from ${b.length}`);
}

/**
 * Runs `compute` on `backend` (wasm gets the project's kernels) and returns
 * the values of the tensors it returns; asserts nothing leaked.
 * @throws Error when the number of live tensors differs afterwards.
 */
export async function computeOn(backend: 'cpu' | 'wasm', compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(backend);
  if (backend === 'wasm') registerWasmKernels();
  const before = tf.memory().numTensors;
  const outputs = compute();
  const values = outputs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outputs);
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`${after - before} tensors leaked on ${backend}`);
  return values;
}

/** Deterministic pseudo-random values in [-1, 1) (no tfjs RNG, same on every backend). */
export function makeValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = ((state >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}
