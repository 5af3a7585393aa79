/**
 * Registers the project's wasm kernels: backward kernels that
 * tfjs-backend-wasm 4.22 lacks (Conv2DBackpropFilter), implements as a
 * scalar loop (Conv2DBackpropInput) or resolves differently from cpu
 * (MaxPoolGrad: negative windows, ties), each composed from the backend's fast kernels (XNNPACK
 * Conv2D, MaxPool, data movement). Call after `tf.setBackend('wasm')`.
 * Gradient functions are a separate matter: in Node they come from
 * `src/train/register-gradients.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmConv2DBackpropFilter } from './wasm-conv2d-backprop-filter.js';
import { wasmConv2DBackpropInput } from './wasm-conv2d-backprop-input.js';
import { wasmMaxPoolGrad } from './wasm-max-pool-grad.js';

const BACKEND = 'wasm';

/** The project's kernels, by kernel name. */
const PROJECT_KERNELS: ReadonlyArray<readonly [string, tf.KernelFunc]> = [
  ['Conv2DBackpropInput', wasmConv2DBackpropInput],
  ['Conv2DBackpropFilter', wasmConv2DBackpropFilter],
  ['MaxPoolGrad', wasmMaxPoolGrad],
];

/** Kernels tfjs-backend-wasm had under the names we replaced, to restore them. */
const replacedKernels = new Map<string, tf.KernelConfig>();
/** True when our kernel for `kernelName` is the one registered on wasm. */
function isProjectKernelRegistered(kernelName: string, kernelFunc: tf.KernelFunc): boolean {
  return tf.getKernel(kernelName, BACKEND)?.kernelFunc === kernelFunc;
}

/**
 * Registers the project's wasm kernels, replacing tfjs-backend-wasm's own
 * under the same names (kept, so `unregisterWasmKernels` can restore them).
 * Idempotent.
 */
export function registerWasmKernels(): void {
  for (const [kernelName, kernelFunc] of PROJECT_KERNELS) {
    if (isProjectKernelRegistered(kernelName, kernelFunc)) continue;
    const existing = tf.getKernel(kernelName, BACKEND);
    if (existing !== undefined) {
      replacedKernels.set(kernelName, existing);
      tf.unregisterKernel(kernelName, BACKEND);
    }
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc });
  }
}

/**
 * Undoes `registerWasmKernels`: removes the project's kernels and restores
 * tfjs-backend-wasm's originals (for comparisons in benchmarks and tests).
 * Idempotent.
 */
export function unregisterWasmKernels(): void {
  for (const [kernelName, kernelFunc] of PROJECT_KERNELS) {
    if (!isProjectKernelRegistered(kernelName, kernelFunc)) continue;
    tf.unregisterKernel(kernelName, BACKEND);
    const original = replacedKernels.get(kernelName);
    if (original !== undefined) tf.registerKernel(original);
    replacedKernels.delete(kernelName);
  }
}

/** Names of the kernels `registerWasmKernels` registers. */
export function listProjectWasmKernels(): string[] {
  return PROJECT_KERNELS.map(([name]) => name);
}
