/**
 * The frozen table of per-batch reducers: what a forward executor does with a
 * batch's taps before anything leaves the backend. A reducer turns the taps
 * into plain typed arrays, so the same code runs in-process and inside a
 * worker thread (which posts the arrays back, transferring their buffers).
 *
 * Both executors call `runForwardRequest`, so a batch gives bit-identical
 * results whichever worker (or the main thread) ran it on the same backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { forward } from '../model/network.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig, TapName } from '../model/spec.js';
import type { ForwardModel } from './forward-model.js';
import { reduceConvTap, selectArgMaxMethod, type ArgMaxMethod, type LayerBatchReduction } from '../topk/reduce-conv-tap.js';
import { invalidParameterError } from '../errors.js';

/** Pixels of one batch: what an executor needs from an ImageBatch. */
export interface BatchPixels {
  /** [N, S, S, 3] float32, mean-subtracted, 0..255 scale */
  pixels: Float32Array;
  shape: [number, number, number, number];
}

/** A tap copied out of the backend. */
export interface TapArray {
  shape: number[];
  data: Float32Array;
}

/** What to compute for every batch. */
export type ForwardRequest =
  /** Per (image, unit) spatial max, first argmax and mean of conv layers (top-activations). */
  | { reducer: 'top-activations'; layers: number[] }
  /** The logits [N, C] (evaluation). */
  | { reducer: 'logits' }
  /** The named taps, whole (activations, occlusion, correspondence): the project's tap names, or an imported model's layer names. */
  | { reducer: 'taps'; taps: string[] }
  /**
   * Per image, the Euclidean distance of each tap of `features` to the same
   * tap of the batch's first image, that first image's norm, and the `taps`
   * whole (invariance: the original image goes first, its transformed copies after).
   */
  | { reducer: 'distances'; features: string[]; taps: string[] };

export type ReducerName = ForwardRequest['reducer'];

export interface TopActivationsResult { layers: LayerBatchReduction[] }
export interface LogitsResult { logits: TapArray }
export interface TapsResult { taps: Partial<Record<string, TapArray>> }
/** Per feature tap: ||x_i - x_0|| ([N] float64) and ||x_0||, squares summed in float64. */
export interface DistancesResult {
  distances: Partial<Record<string, Float64Array>>;
  norms: Partial<Record<string, number>>;
  taps: Partial<Record<string, TapArray>>;
}

/** The result type of each reducer. */
export interface ReducerResults {
  'top-activations': TopActivationsResult;
  logits: LogitsResult;
  taps: TapsResult;
  distances: DistancesResult;
}

export type ForwardResultOf<R extends ForwardRequest> = ReducerResults[R['reducer']];

interface BatchReducer<R extends ForwardRequest> {
  /** Taps the forward pass must return. */
  taps(request: R): TapName[];
  /** Reads the taps out as typed arrays; does not dispose them. */
  reduce(request: R, taps: Partial<Record<TapName, tf.Tensor>>): Promise<ReducerResults[R['reducer']]>;
}

type ReducerTable = { readonly [K in ReducerName]: BatchReducer<Extract<ForwardRequest, { reducer: K }>> };

let argMaxMethod: ArgMaxMethod | null = null;

async function readTap(tensor: tf.Tensor): Promise<TapArray> {
  return { shape: tensor.shape.slice(), data: (await tensor.data()) as Float32Array };
}

/** Reads the named taps (validated against the model's tap names). */
async function readTaps(names: readonly string[], taps: Partial<Record<TapName, tf.Tensor>>): Promise<Partial<Record<string, TapArray>>> {
  const out: Partial<Record<string, TapArray>> = {};
  for (const name of names) out[name] = await readTap(taps[name as TapName]!);
  return out;
}

/**
 * Per row of `rows` ([N, D] flattened), the distance to row 0, and row 0's
 * norm. Differences rounded to float32 (as the onnx graph takes them), squares summed in float64.
 * @throws RangeError for an empty batch.
 */
export function computeRowDistances(rows: Float32Array, numRows: number): { distances: Float64Array; norm: number } {
  if (numRows < 1) throw new RangeError('Expected at least one image for distances but received none');
  const size = rows.length / numRows;
  const distances = new Float64Array(numRows);
  for (let r = 0; r < numRows; r++) {
    let sum = 0;
    for (let k = 0, i = r * size; k < size; k++, i++) {
      const d = Math.fround(rows[i]! - rows[k]!);
      sum += d * d;
    }
    distances[r] = Math.sqrt(sum);
  }
  let norm = 0;
  for (let k = 0; k < size; k++) norm += rows[k]! * rows[k]!;
  return { distances, norm: Math.sqrt(norm) };
}

const REDUCERS: ReducerTable = {
  'top-activations': {
    taps: (request) => request.layers.map((layer) => `conv${layer}` as TapName),
    async reduce(request, taps) {
      argMaxMethod ??= await selectArgMaxMethod();
      const layers: LayerBatchReduction[] = [];
      for (const layer of request.layers) layers.push(await reduceConvTap(layer, taps[`conv${layer}` as TapName]!, argMaxMethod));
      return { layers };
    },
  },
  logits: {
    taps: () => ['logits'],
    reduce: async (_request, taps) => ({ logits: await readTap(taps.logits!) }),
  },
  taps: {
    taps: (request) => request.taps.slice() as TapName[], // validated against TAP_NAMES
    reduce: async (request, taps) => ({ taps: await readTaps(request.taps, taps) }),
  },
  distances: {
    taps: (request) => [...new Set([...request.features, ...request.taps])] as TapName[], // validated against TAP_NAMES
    async reduce(request, taps) {
      const result: ReducerResults['distances'] = { distances: {}, norms: {}, taps: await readTaps(request.taps, taps) };
      for (const tap of request.features) {
        const tensor = taps[tap as TapName]!;
        const { distances, norm } = computeRowDistances((await tensor.data()) as Float32Array, tensor.shape[0]!);
        [result.distances[tap], result.norms[tap]] = [distances, norm];
      }
      return result;
    },
  },
};

/** The reducers, by name. */
export const BATCH_REDUCERS: ReducerTable = Object.freeze(REDUCERS);

/**
 * Checks a request at the boundary (it may have crossed a thread).
 * @throws RangeError naming the bad reducer, layer or tap.
 */
export function validateForwardRequest(model: ForwardModel, request: ForwardRequest): void {
  if (!Object.hasOwn(BATCH_REDUCERS, request.reducer)) {
    throw invalidParameterError('reducer', `one of ${Object.keys(BATCH_REDUCERS).join(', ')}`, request.reducer);
  }
  const numbers = [...model.topLayers.keys()];
  if (request.reducer === 'top-activations') {
    if (request.layers.length === 0) throw invalidParameterError('layers', `a non-empty list of the layers ${numbers.join(', ')} of ${model.name}`, '[]');
    for (const layer of request.layers) {
      if (!model.topLayers.has(layer)) throw invalidParameterError('layers', `layers among ${numbers.join(', ')} of ${model.name}`, layer);
    }
  }
  if (request.reducer === 'taps' || request.reducer === 'distances') checkTapNames(model, 'taps', request.taps);
  if (request.reducer === 'distances') {
    if (request.features.length === 0) throw invalidParameterError('features', 'a non-empty list of taps to measure', '[]');
    checkTapNames(model, 'features', request.features);
  }
}

function checkTapNames(model: ForwardModel, option: string, names: readonly string[]): void {
  for (const tap of names) {
    if (!model.tapNames.includes(tap)) throw invalidParameterError(option, `tap names among ${model.tapNames.join(', ')}`, tap);
  }
}

/**
 * Runs the forward pass on one batch and reduces its taps. The input tensor
 * and the taps are disposed here; the result holds only typed arrays.
 * @throws RangeError when the batch shape does not match the model or the pixel count.
 */
export async function runForwardRequest<R extends ForwardRequest>(config: ModelConfig, params: ModelParams, batch: BatchPixels, request: R): Promise<ForwardResultOf<R>> {
  const reducer = BATCH_REDUCERS[request.reducer] as unknown as BatchReducer<R>;
  const expected = batch.shape.reduce((a, b) => a * b, 1);
  if (batch.pixels.length !== expected) {
    throw new RangeError(`Batch of shape [${batch.shape.join(', ')}] needs ${expected} floats but has ${batch.pixels.length}`);
  }
  const input = tf.tensor4d(batch.pixels, batch.shape, 'float32'); // [N, S, S, 3]
  let taps: Partial<Record<TapName, tf.Tensor>> = {};
  try {
    taps = forward(config, params, input, { taps: reducer.taps(request) });
    return await reducer.reduce(request, taps) as ForwardResultOf<R>;
  } finally {
    input.dispose();
    tf.dispose(Object.values(taps));
  }
}

/** The ArrayBuffers of a result's typed arrays (to transfer, not copy, across threads). */
export function collectTransferables(value: unknown, into: Set<ArrayBuffer> = new Set()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) into.add(value.buffer);
  } else if (Array.isArray(value)) {
    for (const item of value) collectTransferables(item, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) collectTransferables(item, into);
  }
  return [...into];
}
