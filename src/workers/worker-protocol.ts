/**
 * Messages between the forward pool (main thread) and its workers. The
 * weights travel packed into one SharedArrayBuffer (src/model/packed-params.ts,
 * re-exported here): every worker reads the same bytes, so N workers cost one
 * copy in the main thread, not N.
 */
import type { BackendChoice, BackendInfo } from '../backend/select-backend.js';
import type { ExecutionProviderName, InferenceEngineName } from '../backend-choice.js';
import { UsageError } from '../errors.js';
import type { PackedParams } from '../model/packed-params.js';
import type { ModelConfig } from '../model/spec.js';
import type { BatchPixels, ForwardRequest, ForwardResultOf } from './batch-reducers.js';

export { packParams, unpackParams, type PackedParams } from '../model/packed-params.js';

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

/** What a forward worker runs its batches with (one per engine: tfjs-worker-runner.ts, onnx-worker-runner.ts). */
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
