/**
 * Model weights packed into one SharedArrayBuffer (tfjs layout), so that the
 * forward pool's workers all read the same bytes: N workers cost one copy in
 * the main thread, not N. Here, beside the parameters, because the graph
 * weights (src/onnx/graph-weights.ts) read the packed form as well as the
 * worker protocol that sends it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { paramsFromTensors, type ModelParams } from './params.js';

/** Weights in tfjs layout, packed back to back in one shared buffer. */
export interface PackedParams {
  buffer: SharedArrayBuffer;
  entries: Array<{ name: string; shape: number[]; offsetFloats: number; lengthFloats: number }>;
}

/**
 * Copies every parameter into one SharedArrayBuffer (tfjs layout). Reads the
 * variables, never disposes them.
 */
export function packParams(params: ModelParams): PackedParams {
  let totalFloats = 0;
  const entries: PackedParams['entries'] = [];
  for (const [name, variable] of params) {
    entries.push({ name, shape: variable.shape.slice(), offsetFloats: totalFloats, lengthFloats: variable.size });
    totalFloats += variable.size;
  }
  const buffer = new SharedArrayBuffer(totalFloats * 4);
  for (const entry of entries) {
    const view = new Float32Array(buffer, entry.offsetFloats * 4, entry.lengthFloats);
    view.set(params.get(entry.name)!.dataSync() as Float32Array);
  }
  return { buffer, entries };
}

/**
 * Makes variables on the current backend from packed weights. Each tensor is
 * built from a private copy: a backend may keep the array it is given (cpu
 * does), and the shared bytes must stay read-only.
 * Ownership: the caller disposes the returned params (disposeParams).
 */
export function unpackParams(packed: PackedParams): ModelParams {
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const entry of packed.entries) {
      const data = new Float32Array(packed.buffer, entry.offsetFloats * 4, entry.lengthFloats).slice();
      tensors.set(entry.name, tf.tensor(data, entry.shape, 'float32'));
    }
    return paramsFromTensors(tensors, false);
  } finally {
    tf.dispose([...tensors.values()]);
  }
}
