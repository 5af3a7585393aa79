/**
 * What every image experiment (occlusion, invariance, correspondence) sets up
 * before its first image: the backend, the dataset (the sample dataset when
 * --data is omitted), the model, the mean image, and its run row.
 */
import { join } from 'node:path';
import { initBackend, type BackendChoice, type BackendInfo } from '../src/backend/select-backend.js';
import { computeSquareSizePx } from '../src/data/crop-geometry.js';
import type { DatasetRecord } from '../src/data/image-index.js';
import type { MeanImage } from '../src/data/mean-image.js';
import { loadMeanImage } from '../src/data/mean-store.js';
import { listNeededSplits, loadExperimentModel, type ExperimentModel, type SelectImagesOptions } from '../src/experiments/experiment-inputs.js';
import { disposeParams } from '../src/model/params.js';
import type { Store } from '../src/store/open-store.js';
import { createRun, makeRunId, trackRunStatus, uniqueRunId } from '../src/store/runs.js';
import { prepareDataset } from './input-stream.js';

/** Options every image experiment takes. */
export interface ExperimentSourceOptions {
  db: Store;
  /** --data; undefined: the built-in sample dataset. */
  data?: string;
  checkpoint?: string;
  /** Architecture of fresh weights when no checkpoint is given. */
  model?: string;
  seed: number;
  backend: BackendChoice;
  /** Default out/<kind>/<run id>. */
  outDir?: string;
  log?: (line: string) => void;
}

export interface ExperimentSession {
  runId: string;
  outDir: string;
  backendInfo: BackendInfo;
  dataset: DatasetRecord;
  model: ExperimentModel;
  mean: MeanImage;
  log: (line: string) => void;
}

/** "checkpoint FILE" or "random weights (seed N)". */
export function describeWeights(model: ExperimentModel): string {
  return 'checkpoint' in model.source ? `checkpoint ${model.source.checkpoint}` : `random weights (paper init, seed ${model.source.randomSeed}): no checkpoint given`;
}

/**
 * Sets up, records a run of `kind` (status running) and calls `work`; marks
 * the run finished or failed, and disposes the model whatever happens.
 * `settings(session)` gives the options recorded with the run.
 * @throws whatever setup or `work` throws (UsageError for bad datasets or checkpoints).
 */
export async function runExperimentSession<T>(
  kind: string, options: ExperimentSourceOptions, images: SelectImagesOptions,
  settings: (session: Omit<ExperimentSession, 'runId' | 'outDir'>) => Record<string, unknown>,
  work: (session: ExperimentSession) => Promise<T>,
): Promise<T> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backendInfo = await initBackend(options.backend, { log });
  const { dataset } = await prepareDataset({ db: options.db, data: options.data, splits: listNeededSplits(images), log });
  const model = loadExperimentModel({ checkpoint: options.checkpoint, model: options.model, seed: options.seed, numClasses: dataset.classes.length });
  try {
    const mean = loadMeanImage(options.db, dataset.id, computeSquareSizePx(model.config.inputSizePx));
    const base = { backendInfo, dataset, model, mean, log };
    const runId = uniqueRunId(options.db, makeRunId(kind, new Date(), model.config.name));
    const recorded = { ...settings(base), mean: mean.source, weights: model.source };
    createRun(options.db, { id: runId, kind, model: model.config.name, backend: backendInfo.name, backendInfo: { ...backendInfo }, options: recorded });
    log(`${kind} ${runId}: ${describeWeights(model)}`);
    return await trackRunStatus(options.db, runId, () => work({ ...base, runId, outDir: options.outDir ?? join('out', kind, runId) }));
  } finally {
    disposeParams(model.params);
  }
}
