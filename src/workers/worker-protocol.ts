/**
 * Messages between the forward pool (main thread) and its workers, and the
 * packing of model weights into one SharedArrayBuffer: every worker reads the
 * same bytes, so N workers cost one copy in the main thread, not N.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice, BackendInfo } from '../backend/select-backend.js';
import type { ExecutionProviderName, InferenceEngineName } from '../backend/backend-choice.js';
import { UsageError } from '../errors.js';
import { paramsFromTensors, type ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import type { BatchPixels, ForwardRequest, ForwardResultOf } from './batch-reducers.js';

/** Weights in tfjs layout, packed back to back in one shared buffer. */
export interface PackedParams {
  buffer: SharedArrayBuffer;
  entries: Array<{ name: string; shape: number[]; offsetFloats: number; lengthFloats: number }>;
}

/** Where a worker gets its model: weights packed by the main thread, or a checkpoint file it loads itself. */
export type WorkerModelSource =
  | { kind: 'packed'; config: ModelConfig; packed: PackedParams; sha256?: string | null }
  | { kind: 'checkpoint'; path: string }
  /** The tensors of a checkpoint read by the main thread (PyTorch layout; onnx engine), copied to each worker. */
  | { kind: 'contents'; config: ModelConfig; tensors: Map<string, { shape: number[]; data: Float32Array }>; sha256: string | null }
  /** An imported model file (onnx engine only); the worker refuses a file whose SHA-256 is not `sha256`. */
  | { kind: 'imported'; path: string; sha256: string };

/** The workerData every forward worker starts with. */
export interface ForwardWorkerData {
  workerIndex: number;
  backend: BackendChoice;
  model: WorkerModelSource;
  /** Which engine the worker runs (default tfjs, with `backend`). */
  engine?: InferenceEngineName;
  /** onnx: the execution provider and the intra-op threads of the worker's session. */
  onnx?: { executionProvider: ExecutionProviderName; intraOpThreads: number; cacheDir?: string; lrn?: 'pool' | 'onnx' };
}

/** What a forward worker runs its batches with (one per engine: tfjs-worker-runner.ts, src/onnx/onnx-worker-runner.ts). */
export interface WorkerRunner {
  /** What the worker's engine reported (posted with 'ready'). */
  backend: BackendInfo;
  modelName: string;
  /** @throws RangeError naming the bad reducer, layer or tap (the request crossed a thread). */
  validate(request: ForwardRequest): void;
  run<R extends ForwardRequest>(batch: BatchPixels, request: R): Promise<ForwardResultOf<R>>;
}

export type MainToWorker = { type: 'batch'; batchIndex: number; batch: BatchPixels; request: ForwardRequest };

/** An error as it crosses the thread boundary. */
export interface WorkerErrorInfo {
  name: string;
  message: string;
  stack: string | undefined;
  usage: boolean;
}

export type WorkerToMain =
  | { type: 'ready'; backend: BackendInfo; modelName: string }
  | { type: 'init-failed'; error: WorkerErrorInfo }
  | { type: 'result'; batchIndex: number; result: unknown }
  | { type: 'batch-failed'; batchIndex: number; error: WorkerErrorInfo };

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

/** Rebuilds an error from a worker (`prefix: message`), keeping usage errors one-line errors. */
export function rebuildWorkerError(prefix: string, info: WorkerErrorInfo): Error {
  const message = `${prefix}: ${info.message}`;
  const error = info.name === 'UsageError' ? new UsageError(message) : new Error(message);
  if (info.usage) Object.assign(error, { usage: true });
  if (info.stack !== undefined) error.stack = `${error.name}: ${message}\n  in worker: ${info.stack}`;
  return error;
}

/** Flattens an error for postMessage. */
export function describeWorkerError(error: unknown): WorkerErrorInfo {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, stack: e.stack, usage: (e as { usage?: unknown }).usage === true };
}
