/**
 * The ForwardExecutor of the onnx engine: in-process (one onnxruntime session,
 * `intraOpThreads` threads) for one worker, else the forward pool with one
 * single-threaded session per worker thread. Both run the same graphs
 * (src/onnx builders), so results do not depend on which one ran.
 */
import { readCheckpointFile } from '../checkpoint/checkpoint-file.js';
import type { ExecutionProviderName } from '../backend-choice.js';
import { graphWeightsFromCheckpoint, graphWeightsFromParams } from '../onnx/graph-weights.js';
import { createOnnxForwardRunner } from './onnx-forward-runner.js';
import type { LrnForm } from '../onnx/forward-graphs.js';
import type { ForwardExecutor, ModelSource } from './executor-types.js';
import { createForwardPool } from './forward-pool.js';
import { createSingleExecutor } from './single-executor.js';
import { packParams, type WorkerModelSource } from './worker-protocol.js';
import { onnxPartsOfConfig, onnxPartsOfImported, type OnnxModelParts } from './onnx-model-parts.js';

/** Where built graphs are kept, per checkpoint hash, when the model's hash is known. */
export const DEFAULT_GRAPH_CACHE_DIR = 'out/onnx-cache';

export interface OnnxExecutorOptions {
  workers: number;
  model: ModelSource;
  executionProvider: ExecutionProviderName;
  /** Threads of the in-process session (workers = 1); default 1. Pool workers always use 1. */
  intraOpThreads?: number;
  inFlightPerWorker?: number;
  forcePool?: boolean;
  /** Graph cache folder (default out/onnx-cache); null turns the cache off. */
  graphCacheDir?: string | null;
  lrn?: LrnForm;
}

function cacheOptions(dir: string | null | undefined, sha256: string | null | undefined): { cacheDir?: string; weightsSha256?: string } {
  const folder = dir === undefined ? DEFAULT_GRAPH_CACHE_DIR : dir;
  return folder === null || sha256 === undefined || sha256 === null ? {} : { cacheDir: folder, weightsSha256: sha256 };
}

function resolveParts(source: ModelSource): OnnxModelParts {
  switch (source.kind) {
    case 'checkpoint': {
      const loaded = readCheckpointFile(source.path);
      return onnxPartsOfConfig(loaded.config, graphWeightsFromCheckpoint(loaded), loaded.sha256);
    }
    case 'params':
      return onnxPartsOfConfig(source.config, graphWeightsFromParams(source.config, source.params), source.sha256 ?? null);
    case 'contents':
      return onnxPartsOfConfig(source.contents.config, graphWeightsFromCheckpoint(source.contents), source.contents.sha256);
    case 'imported':
      return onnxPartsOfImported(source.model);
  }
}

async function createInProcessOnnxExecutor(options: OnnxExecutorOptions): Promise<ForwardExecutor> {
  const parts = resolveParts(options.model);
  const runner = createOnnxForwardRunner({
    graph: parts.graph,
    weights: parts.weights,
    numbering: parts.numbering,
    session: { executionProvider: options.executionProvider, intraOpThreads: options.intraOpThreads ?? 1 },
    ...(options.lrn === undefined ? {} : { lrn: options.lrn }),
    ...cacheOptions(options.graphCacheDir, parts.sha256),
  });
  return createSingleExecutor(parts.forward, (batch, request) => runner.run(batch, request), () => runner.release());
}

function workerModelOf(source: ModelSource): WorkerModelSource {
  switch (source.kind) {
    case 'checkpoint':
      return source;
    case 'params':
      return { kind: 'packed', config: source.config, packed: packParams(source.params), sha256: source.sha256 ?? null };
    case 'contents':
      return { kind: 'contents', config: source.contents.config, tensors: source.contents.tensors, sha256: source.contents.sha256 };
    case 'imported':
      return { kind: 'imported', path: source.model.path, sha256: source.model.sha256 };
  }
}

/**
 * The onnx executor. Ownership: params passed in stay the caller's (the pool
 * copies them once into shared memory; in-process they are read when a graph is built).
 * @throws UsageError naming the worker or provider that failed to start.
 */
export async function createOnnxExecutor(options: OnnxExecutorOptions): Promise<ForwardExecutor> {
  if (options.workers <= 1 && options.forcePool !== true) return createInProcessOnnxExecutor(options);
  const model = workerModelOf(options.model);
  // Each worker caches only when it knows the weights' hash (from the checkpoint it reads, or the params' sha256).
  const cacheDir = options.graphCacheDir === undefined ? DEFAULT_GRAPH_CACHE_DIR : options.graphCacheDir;
  const pool = await createForwardPool({
    workers: options.workers, backend: 'onnx', model, engine: 'onnx', inFlightPerWorker: options.inFlightPerWorker,
    onnx: { executionProvider: options.executionProvider, intraOpThreads: 1, ...(cacheDir === null ? {} : { cacheDir }), ...(options.lrn === undefined ? {} : { lrn: options.lrn }) },
  });
  return { workerCount: pool.workerCount, capacity: pool.capacity, run: pool.run, close: pool.close };
}
