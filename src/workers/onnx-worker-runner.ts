/**
 * The onnx side of a forward worker thread (src/workers/forward-worker.ts):
 * the model from the pool's packed weights, a checkpoint file or an imported
 * model file, and an onnx forward runner with its own session(s).
 */
import { readCheckpointFile } from '../checkpoint/checkpoint-file.js';
import { UsageError } from '../errors.js';
import { loadImportedModel } from '../import/imported-model-file.js';
import { validateForwardRequest } from './batch-reducers.js';
import type { ForwardWorkerData, WorkerModelSource, WorkerRunner } from './worker-protocol.js';
import { graphWeightsFromCheckpoint, graphWeightsFromPacked } from '../onnx/graph-weights.js';
import { onnxPartsOfConfig, onnxPartsOfImported, type OnnxModelParts } from './onnx-model-parts.js';
import { createOnnxForwardRunner } from './onnx-forward-runner.js';
import { onnxEngineInfo } from '../onnx/onnx-session.js';

function loadParts(model: WorkerModelSource): OnnxModelParts {
  switch (model.kind) {
    case 'checkpoint': {
      const contents = readCheckpointFile(model.path);
      return onnxPartsOfConfig(contents.config, graphWeightsFromCheckpoint(contents), contents.sha256);
    }
    case 'contents':
      return onnxPartsOfConfig(model.config, graphWeightsFromCheckpoint(model), model.sha256);
    case 'packed':
      return onnxPartsOfConfig(model.config, graphWeightsFromPacked(model.config, model.packed), model.sha256 ?? null);
    case 'imported': {
      const loaded = loadImportedModel(model.path);
      if (loaded.sha256 !== model.sha256) throw new UsageError(`Imported model file ${model.path} changed while the pass started (sha256 ${loaded.sha256}, expected ${model.sha256})`);
      return onnxPartsOfImported(loaded);
    }
  }
}

/**
 * Starts the onnx runner of one worker. Sessions are created on the first
 * batch of each request kind.
 * @throws UsageError naming the checkpoint or model file when it cannot be read.
 */
export async function startOnnxWorkerRunner(data: ForwardWorkerData): Promise<WorkerRunner> {
  const onnx = data.onnx ?? { executionProvider: 'cpu' as const, intraOpThreads: 1 };
  const parts = loadParts(data.model);
  const runner = createOnnxForwardRunner({
    graph: parts.graph,
    weights: parts.weights,
    numbering: parts.numbering,
    session: { executionProvider: onnx.executionProvider, intraOpThreads: onnx.intraOpThreads },
    ...(onnx.lrn === undefined ? {} : { lrn: onnx.lrn }),
    ...(onnx.cacheDir !== undefined && parts.sha256 !== null ? { cacheDir: onnx.cacheDir, weightsSha256: parts.sha256 } : {}),
  });
  return {
    backend: onnxEngineInfo(onnx.executionProvider, onnx.intraOpThreads),
    modelName: parts.forward.name,
    validate: (request) => validateForwardRequest(parts.forward, request),
    run: (batch, request) => runner.run(batch, request),
  };
}
