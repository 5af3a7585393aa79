/**
 * How many images one forward/backward pass may hold on a backend.
 * - wasm: tfjs-backend-wasm's heap is capped at 4 GiB; full-size zfnet keeps
 *   about 100 MB of activations and backward temporaries per 224 px image
 *   (measured: batch 16 peaks near 3.9 GB RSS, batch 32 runs out of wasm memory).
 * - onnx: the whole training graph's values of a pass live at once; measured
 *   on full zfnet (whole process peak RSS): batch 16 2.95 GB, 32 3.0 GB, 64
 *   5.8 GB (about 87 MB, 37 bytes per activation value, per image past the
 *   weights' share), so the paper's batch of 128 runs as passes of at most 62
 *   to stay within 8 GB.
 * A larger batch is split into balanced micro-batches whose gradients are
 * summed before the one update (src/train/train-step.ts, onnx-train-session.ts).
 * Other backends take whole batches.
 */
import { computeGeometry, countParameters } from '../model/geometry.js';
import type { ModelConfig } from '../model/spec.js';

/** Usable wasm heap, leaving room for the runtime and fragmentation. */
export const WASM_HEAP_BUDGET_BYTES = 3 * 1024 ** 3;
/** Bytes kept per activation value during a step (forward tape, padding, backward temporaries), calibrated on full zfnet. */
export const BYTES_PER_ACTIVATION = 48;
/** Bytes per parameter during a step: weights, momentum, gradients, update temporaries (float32 each). */
export const BYTES_PER_PARAMETER = 16;

/** Activation values of one image through the spatial layers (input included). */
export function countActivationsPerImage(config: ModelConfig): number {
  let total = config.inputSizePx * config.inputSizePx * config.inputChannels;
  for (const layer of computeGeometry(config)) total += layer.outputShape.reduce((a, b) => a * b, 1);
  return total;
}

/** Activation memory the onnx engine may use in one pass (the weights, momentum and their copies come on top). */
export const ONNX_ACTIVATION_BUDGET_BYTES = 5.5 * 1024 ** 3;
/** Bytes per activation value in one onnx training pass (forward values, switches, backward temporaries), measured on full zfnet. */
export const ONNX_BYTES_PER_ACTIVATION = 40;

/**
 * The micro-batch size for a backend: what fits its budget (at least 1), the
 * passes balanced (128 in passes of at most 62 runs as 43 + 43 + 42); the whole
 * batch where there is no budget (tfjs cpu and tensorflow).
 */
export function chooseMicroBatchSize(config: ModelConfig, batchSize: number, backend: string): number {
  let fit: number;
  if (backend === 'wasm') fit = Math.floor((WASM_HEAP_BUDGET_BYTES - BYTES_PER_PARAMETER * countParameters(config)) / (BYTES_PER_ACTIVATION * countActivationsPerImage(config)));
  else if (backend === 'onnx') fit = Math.floor(ONNX_ACTIVATION_BUDGET_BYTES / (ONNX_BYTES_PER_ACTIVATION * countActivationsPerImage(config)));
  else return batchSize;
  const passes = Math.ceil(batchSize / Math.max(1, fit));
  return Math.ceil(batchSize / passes);
}
