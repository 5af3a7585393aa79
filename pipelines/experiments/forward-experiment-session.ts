/**
 * The session of an image experiment whose forward passes run on the forward
 * executor (occlusion, invariance, correspondence): the engine --backend
 * picks for inference (`auto` and `onnx`: onnxruntime; `tensorflow`, `wasm`,
 * `cpu`: tfjs), printed once and recorded with the run; the dataset; the
 * examined model of either kind (experiment-model.ts); the executor
 * (`--workers` threads), started before the run is recorded so that an
 * engine or model the executor refuses leaves no run behind; and the run.
 */
import { initBackend, type BackendInfo } from '../../src/backend/select-backend.js';
import type { DatasetRecord } from '../../src/store/image-index.js';
import { listNeededSplits, type SelectImagesOptions } from '../../src/experiments/experiment-inputs.js';
import { createForwardExecutor, resolveWorkerCount, type ForwardExecutor } from '../../src/workers/forward-executor.js';
import { openExaminedModel, type ExaminedModel } from './experiment-model.js';
import { runRecordedRun, type ExperimentSourceOptions, type OpenedRun } from '../shared/experiment-session.js';
import { prepareDataset } from '../shared/input-stream.js';

/** Options of an experiment whose forward passes run on the forward executor. */
export interface ForwardExperimentOptions extends ExperimentSourceOptions {
  /** --workers; undefined: the engine's default (one per core on onnx, wasm and cpu). Results do not depend on it. */
  workers?: number;
}

/** What the experiment works with. */
export interface ForwardExperimentSession extends OpenedRun {
  backendInfo: BackendInfo;
  dataset: DatasetRecord;
  model: ExaminedModel;
  executor: ForwardExecutor;
  log: (line: string) => void;
}

/**
 * Sets up, records a run of `kind` and calls `work`; marks the run finished
 * or failed; closes the executor and releases the model whatever happens.
 * `settings(model)` gives the options recorded with the run (with the images
 * and the model's record: an unfinished run with the same ones is resumed).
 * @throws UsageError for bad datasets, checkpoints, model names or an engine the model cannot run on; RunOwnedError; whatever `work` throws.
 */
export async function runForwardExperimentSession<T>(
  kind: string, options: ForwardExperimentOptions, images: SelectImagesOptions,
  settings: (model: ExaminedModel) => Record<string, unknown>,
  work: (session: ForwardExperimentSession) => Promise<T>,
): Promise<T> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backendInfo = await initBackend(options.backend, { log, purpose: 'inference' });
  const { dataset } = await prepareDataset({ db: options.db, data: options.data, splits: listNeededSplits(images), log });
  const model = openExaminedModel({ db: options.db, dataset, checkpoint: options.checkpoint, model: options.model, seed: options.seed, log });
  try {
    const recorded = { ...settings(model), images, ...model.record };
    const workers = resolveWorkerCount(options.workers, backendInfo);
    const executor = await createForwardExecutor({ workers, backend: options.backend, model: model.source });
    try {
      if (workers > 1) log(`${kind}: forward passes in ${workers} worker threads, each with its own ${backendInfo.name} engine`);
      const run = { kind, recorded, model: model.name, backendInfo, meanSha256: model.meanSha256, description: model.description };
      return await runRecordedRun(options, run, log, (opened) => work({ ...opened, backendInfo, dataset, model, executor, log }));
    } finally {
      await executor.close();
    }
  } finally {
    model.release();
  }
}
