/**
 * The forward executor a pipeline calls: either in-process (one worker, the
 * main thread's backend) or a pool of worker threads. Both run the same
 * reducers on whole batches, so results do not depend on which one ran.
 *
 * `forEachForwardResult` is the batch loop pipelines use: it keeps up to the
 * executor's capacity of batches in flight and hands results back strictly in
 * input order, so a pipeline that commits its position after a result covers
 * exactly the batches it has merged.
 */
import { availableParallelism } from 'node:os';
import { inferenceEngineOf, type ExecutionProviderName, type InferenceEngineName } from '../backend-choice.js';
import { currentExecutionProvider, initBackend, type BackendChoice, type BackendInfo } from '../backend/select-backend.js';
import { loadCheckpoint, paramsFromCheckpoint } from '../checkpoint/checkpoint-file.js';
import { expectInteger, UsageError } from '../errors.js';
import { disposeParams, type ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import { runForwardRequest, type BatchPixels, type ForwardRequest, type ForwardResultOf } from './batch-reducers.js';
import { createForwardPool } from './forward-pool.js';
import { createSingleExecutor } from './single-executor.js';
import { describeConfigForward } from './forward-model.js';
import type { LrnForm } from '../onnx/forward-graphs.js';
import { packParams, type WorkerModelSource } from './worker-protocol.js';
import type { ForwardExecutor, ModelSource } from './executor-types.js';

export type { ForwardExecutor, ModelContents, ModelSource } from './executor-types.js';

export interface ForwardExecutorOptions {
  /** Worker threads; 1 = in-process. Validate with resolveWorkerCount. */
  workers: number;
  backend: BackendChoice;
  model: ModelSource;
  inFlightPerWorker?: number;
  /** Use worker threads even for 1 worker (the benchmark compares it with in-process). */
  forcePool?: boolean;
  /** onnx engine: the execution provider (default: the one the CLI set, see setExecutionProvider). */
  executionProvider?: ExecutionProviderName;
  /** onnx engine, in-process: intra-op threads of the one session (default 1). */
  intraOpThreads?: number;
  /** onnx engine: graph cache folder (default out/onnx-cache); null: no cache. */
  graphCacheDir?: string | null;
  /** onnx engine: how LRN is computed (default pool, see src/onnx/lower-graph-nodes.ts); the benchmark compares both. */
  lrn?: LrnForm;
}

/**
 * The `--workers` value: default one per core on onnx, wasm and cpu (each
 * worker is one single-threaded engine), 1 on tensorflow (libtensorflow already uses
 * every core from one thread).
 * @throws RangeError "Expected integer between 1 and 256 for workers but received 0".
 */
export function resolveWorkerCount(value: unknown, backend: Pick<BackendInfo, 'name'>): number {
  if (value === undefined || value === null) return backend.name === 'tensorflow' ? 1 : availableParallelism();
  return expectInteger('workers', value, 1, 256);
}

/**
 * Runs batches on the main thread's backend (initialised here if needed).
 * Ownership: params passed in stay the caller's; a checkpoint loaded here is disposed by close().
 */
export async function createInProcessExecutor(backend: BackendChoice, model: ModelSource): Promise<ForwardExecutor> {
  if (model.kind === 'imported') throw refuseImportedOnTfjs(model.model.graph.name);
  await initBackend(backend);
  const loaded = model.kind === 'checkpoint' ? loadCheckpoint(model.path) : model.kind === 'contents' ? { ...model.contents, params: paramsFromCheckpoint(model.contents) } : null;
  const config = loaded?.config ?? (model as { config: ModelConfig }).config;
  const params = loaded?.params ?? (model as { params: ModelParams }).params;
  return createSingleExecutor(describeConfigForward(config), (batch, request) => runForwardRequest(config, params, batch, request), () => {
    if (loaded !== null) disposeParams(loaded.params);
  });
}


/** Imported graphs are run by onnxruntime only: tfjs runs the project's own architectures. */
function refuseImportedOnTfjs(name: string): UsageError {
  return new UsageError(`Imported model ${name} runs on the onnx engine only; use --backend auto or onnx (tfjs runs the project's own architectures)`);
}

async function createTfjsExecutor(options: ForwardExecutorOptions): Promise<ForwardExecutor> {
  if (options.model.kind === 'imported') throw refuseImportedOnTfjs(options.model.model.graph.name);
  if (options.workers <= 1 && options.forcePool !== true) return createInProcessExecutor(options.backend, options.model);
  const model = options.model.kind === 'checkpoint' ? options.model : packedModelOf(options.model);
  const pool = await createForwardPool({ workers: options.workers, backend: options.backend, model, inFlightPerWorker: options.inFlightPerWorker });
  return { workerCount: pool.workerCount, capacity: pool.capacity, run: pool.run, close: pool.close };
}

/** The project model's weights packed once for tfjs workers (converted from the checkpoint's layout when it was read into memory). */
function packedModelOf(model: Extract<ModelSource, { kind: 'params' | 'contents' }>): WorkerModelSource {
  if (model.kind === 'params') return { kind: 'packed', config: model.config, packed: packParams(model.params) };
  const params = paramsFromCheckpoint(model.contents);
  try {
    return { kind: 'packed', config: model.contents.config, packed: packParams(params) };
  } finally {
    disposeParams(params);
  }
}

/** The engines behind the executor, by the engine `--backend` picks for forward passes (inferenceEngineOf). */
const FORWARD_ENGINES: Readonly<Record<InferenceEngineName, (options: ForwardExecutorOptions) => Promise<ForwardExecutor>>> = Object.freeze({
  tfjs: createTfjsExecutor,
  onnx: async (options: ForwardExecutorOptions) => (await import('./onnx-executor.js')).createOnnxExecutor({
    workers: options.workers, model: options.model, executionProvider: options.executionProvider ?? currentExecutionProvider(),
    intraOpThreads: options.intraOpThreads, inFlightPerWorker: options.inFlightPerWorker, forcePool: options.forcePool, graphCacheDir: options.graphCacheDir, lrn: options.lrn,
  }),
});

/**
 * The executor for `workers` on the engine `backend` picks: onnx for `auto`
 * and `onnx` (src/workers/onnx-executor.ts), else tfjs: in-process for 1, or
 * a pool of worker threads each with its own backend and model copy (weights
 * shared once through a SharedArrayBuffer, or the checkpoint loaded by each worker).
 * @throws UsageError or Error naming the worker that failed to start.
 */
export async function createForwardExecutor(options: ForwardExecutorOptions): Promise<ForwardExecutor> {
  return FORWARD_ENGINES[inferenceEngineOf(options.backend)](options);
}

export interface ForEachForwardResultOptions {
  /**
   * Checked after each delivered result: once true, no further batch is
   * pulled; the batches already in flight are still delivered (they are
   * computed, and delivering them keeps "merged" a prefix of the input).
   */
  stopWhen?: () => boolean;
}

export interface ForEachForwardResultSummary {
  /** Results delivered. */
  batches: number;
  /** True when stopWhen ended the loop before the input did. */
  stopped: boolean;
}

/**
 * Feeds `batches` to `executor`, at most `executor.capacity` at a time, and
 * calls `onResult` for each in input order (awaiting it before the next).
 * Stops pulling from `batches` while the executor is full (backpressure). On
 * an error it waits for the batches in flight to settle, then throws the first
 * error; the executor stays open (the caller closes it).
 */
export async function forEachForwardResult<B extends BatchPixels, R extends ForwardRequest>(
  batches: AsyncIterable<B> | Iterable<B>,
  executor: ForwardExecutor,
  request: R,
  onResult: (batch: B, result: ForwardResultOf<R>, batchIndex: number) => void | Promise<void>,
  options: ForEachForwardResultOptions = {},
): Promise<ForEachForwardResultSummary> {
  const inFlight: Array<{ batch: B; result: Promise<ForwardResultOf<R>> }> = [];
  const summary: ForEachForwardResultSummary = { batches: 0, stopped: false };
  const deliverOldest = async (): Promise<void> => {
    const oldest = inFlight.shift()!;
    await onResult(oldest.batch, await oldest.result, summary.batches++);
    summary.stopped ||= options.stopWhen?.() === true;
  };
  try {
    for await (const batch of batches) {
      const result = executor.run(batch, request);
      result.catch(() => undefined); // observed below, in order
      inFlight.push({ batch, result });
      if (inFlight.length >= executor.capacity) await deliverOldest();
      if (summary.stopped) break;
    }
    while (inFlight.length > 0) await deliverOldest();
    return summary;
  } finally {
    await Promise.allSettled(inFlight.map((f) => f.result));
  }
}
