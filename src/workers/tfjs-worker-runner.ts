/**
 * The tfjs side of a forward worker thread: its own backend, the model from
 * the pool's packed weights or a checkpoint file, and the batch reducers.
 */
import { initBackend } from '../backend/select-backend.js';
import { loadCheckpoint, paramsFromCheckpoint } from '../checkpoint/checkpoint-file.js';
import { UsageError } from '../errors.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';
import { runForwardRequest, validateForwardRequest } from './batch-reducers.js';
import { describeConfigForward } from './forward-model.js';
import { unpackParams, type ForwardWorkerData, type WorkerRunner } from './worker-protocol.js';

function loadModel(data: ForwardWorkerData): { config: ModelConfig; params: ModelParams } {
  if (data.model.kind === 'imported') throw new UsageError(`Imported model ${data.model.path} runs on the onnx engine only (--backend auto or onnx)`);
  if (data.model.kind === 'checkpoint') {
    const loaded = loadCheckpoint(data.model.path);
    return { config: loaded.config, params: loaded.params };
  }
  if (data.model.kind === 'contents') return { config: data.model.config, params: paramsFromCheckpoint(data.model) };
  return { config: data.model.config, params: unpackParams(data.model.packed) };
}

/**
 * Starts the worker's tfjs backend and model. The main thread already printed
 * the backend line; workers stay quiet.
 * @throws UsageError when the backend fails to start or the checkpoint cannot be read.
 */
export async function startTfjsWorkerRunner(data: ForwardWorkerData): Promise<WorkerRunner> {
  const backend = await initBackend(data.backend, { log: () => undefined });
  const { config, params } = loadModel(data);
  const forwardModel = describeConfigForward(config);
  return {
    backend,
    modelName: config.name,
    validate: (request) => validateForwardRequest(forwardModel, request),
    run: (batch, request) => runForwardRequest(config, params, batch, request),
  };
}
