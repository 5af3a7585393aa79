/**
 * The onnx side of a forward worker thread (src/workers/forward-worker.ts):
 * the model from the pool's packed weights or a checkpoint file, lowered to
 * the graph IR, and an onnx forward runner with its own session(s).
 */
import { readCheckpointFile } from '../checkpoint/checkpoint-file.js';
import { lowerModelConfig } from '../graph/lower-model-config.js';
import { validateForwardRequest } from '../workers/batch-reducers.js';
import type { ForwardWorkerData, WorkerRunner } from '../workers/worker-protocol.js';
import { graphWeightsFromCheckpoint, graphWeightsFromPacked } from './graph-weights.js';
import { createOnnxForwardRunner } from './onnx-forward-runner.js';
import { onnxEngineInfo } from './onnx-session.js';

/**
 * Starts the onnx runner of one worker. Sessions are created on the first
 * batch of each request kind.
 * @throws UsageError naming the checkpoint when it cannot be read.
 */
export async function startOnnxWorkerRunner(data: ForwardWorkerData): Promise<WorkerRunner> {
  const onnx = data.onnx ?? { executionProvider: 'cpu' as const, intraOpThreads: 1 };
  let source: { config: ReturnType<typeof readCheckpointFile>['config']; weights: ReturnType<typeof graphWeightsFromCheckpoint>; sha256: string | null };
  if (data.model.kind === 'checkpoint') {
    const contents = readCheckpointFile(data.model.path);
    source = { config: contents.config, weights: graphWeightsFromCheckpoint(contents), sha256: contents.sha256 };
  } else {
    source = { config: data.model.config, weights: graphWeightsFromPacked(data.model.config, data.model.packed), sha256: data.model.sha256 ?? null };
  }
  const runner = createOnnxForwardRunner({
    graph: lowerModelConfig(source.config),
    weights: source.weights,
    session: { executionProvider: onnx.executionProvider, intraOpThreads: onnx.intraOpThreads },
    ...(onnx.lrn === undefined ? {} : { lrn: onnx.lrn }),
    ...(onnx.cacheDir !== undefined && source.sha256 !== null ? { cacheDir: onnx.cacheDir, weightsSha256: source.sha256 } : {}),
  });
  const config = source.config;
  return {
    backend: onnxEngineInfo(onnx.executionProvider, onnx.intraOpThreads),
    modelName: config.name,
    validate: (request) => validateForwardRequest(config, request),
    run: (batch, request) => runner.run(batch, request),
  };
}
