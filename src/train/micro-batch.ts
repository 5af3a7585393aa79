/**
 * How many images one forward/backward pass may hold on a backend. The wasm
 * backend's heap is capped at 4 GiB; full-size zfnet keeps about 100 MB of
 * activations and backward temporaries per 224 px image (measured: batch 16
 * peaks near 3.9 GB RSS, batch 32 runs out of wasm memory), so a paper-size
 * batch of 128 is split into micro-batches whose gradients are summed before
 * the one update (src/train/train-step.ts). Other backends take whole batches.
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

/**
 * The micro-batch size for a backend: the whole batch except on wasm, where
 * it is what fits WASM_HEAP_BUDGET_BYTES (at least 1).
 */
export function chooseMicroBatchSize(config: ModelConfig, batchSize: number, backend: string): number {
  if (backend !== 'wasm') return batchSize;
  const free = WASM_HEAP_BUDGET_BYTES - BYTES_PER_PARAMETER * countParameters(config);
  const fit = Math.floor(free / (BYTES_PER_ACTIVATION * countActivationsPerImage(config)));
  return Math.max(1, Math.min(batchSize, fit));
}
