/**
 * What every image experiment (occlusion, invariance, correspondence) sets up
 * before its first image: the backend, the dataset (the sample dataset when
 * --data is omitted), the model, the mean image, and its run row; and for
 * the experiments that run forward passes, the forward executor of the
 * engine --backend picks (onnx under auto and onnx, tfjs otherwise).
 */
import { join } from 'node:path';
import { initBackend, type BackendChoice, type BackendInfo, type BackendPurpose } from '../src/backend/select-backend.js';
import type { DatasetRecord } from '../src/data/image-index.js';
import type { MeanImage } from '../src/data/mean-image.js';
import { resolveMeanImage } from '../src/data/mean-store.js';
import { listNeededSplits, loadExperimentModel, type ExperimentModel, type SelectImagesOptions } from '../src/experiments/experiment-inputs.js';
import { disposeParams } from '../src/model/params.js';
import type { Store } from '../src/store/open-store.js';
import { deleteRun, findUnfinishedRun } from '../src/store/experiment-resume-store.js';
import { claimRun, startRunHeartbeat, type RunHeartbeat } from '../src/store/run-owner.js';
import { createRun, makeRunId, recordRunMean, trackRunStatus, uniqueRunId } from '../src/store/runs.js';
import { createForwardExecutor, resolveWorkerCount, type ForwardExecutor } from '../src/workers/forward-executor.js';
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
  /** Start over instead of resuming the unfinished run with the same options. */
  force?: boolean;
  log?: (line: string) => void;
}

export interface ExperimentSession {
  runId: string;
  outDir: string;
  backendInfo: BackendInfo;
  dataset: DatasetRecord;
  model: ExperimentModel;
  mean: MeanImage;
  /** True when this continues an unfinished run: images it committed are read back, not recomputed. */
  resumed: boolean;
  /** Runs `write` in one transaction, only while this process still owns the run (see run-owner.ts). */
  commit: (write: () => void) => void;
  log: (line: string) => void;
}

/** Options of an experiment whose forward passes run on the forward executor. */
export interface ForwardExperimentOptions extends ExperimentSourceOptions {
  /** --workers; undefined: the engine's default (one per core on onnx, wasm and cpu). Results do not depend on it. */
  workers?: number;
}

/** A session with the forward executor its passes run on (closed when the session ends). */
export interface ForwardExperimentSession extends ExperimentSession {
  executor: ForwardExecutor;
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
  settings: (session: Omit<ExperimentSession, 'runId' | 'outDir' | 'resumed' | 'commit'>) => Record<string, unknown>,
  work: (session: ExperimentSession) => Promise<T>,
  purpose?: BackendPurpose,
): Promise<T> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backendInfo = await initBackend(options.backend, { log, ...(purpose === undefined ? {} : { purpose }) });
  const { dataset } = await prepareDataset({ db: options.db, data: options.data, splits: listNeededSplits(images), log });
  const model = loadExperimentModel({ checkpoint: options.checkpoint, model: options.model, seed: options.seed, numClasses: dataset.classes.length });
  try {
    const { mean, line: meanLine } = resolveMeanImage(options.db, dataset.id, model.config, 'checkpoint' in model.source ? { mean: model.checkpointMean ?? null } : null);
    log(meanLine);
    const base = { backendInfo, dataset, model, mean, log };
    const recorded = { ...settings(base), images, mean: { source: mean.source, sha256: mean.sha256 }, weights: model.source };
    const { runId, resumed } = openExperimentRun(kind, options, recorded, { model: model.config.name, backendInfo }, log);
    recordRunMean(options.db, runId, mean.sha256);
    log(`${kind} ${runId}: ${describeWeights(model)}`);
    const heartbeat = startRunHeartbeat(options.db, runId);
    try {
      const commit = commitWhileOwned(options.db, heartbeat);
      return await trackRunStatus(options.db, runId, () => work({ ...base, runId, resumed, commit, outDir: options.outDir ?? join('out', kind, runId) }));
    } finally {
      heartbeat.stop();
    }
  } finally {
    disposeParams(model.params);
  }
}

/**
 * runExperimentSession for an experiment whose forward passes run on the
 * forward executor: the engine is started, printed and recorded as for
 * inference (`auto` = onnx), and `work` gets the executor (`workers`
 * threads, or in-process for 1), closed whatever happens.
 * @throws what runExperimentSession throws, and UsageError when a worker or the engine fails to start.
 */
export async function runForwardExperimentSession<T>(
  kind: string, options: ForwardExperimentOptions, images: SelectImagesOptions,
  settings: Parameters<typeof runExperimentSession>[3],
  work: (session: ForwardExperimentSession) => Promise<T>,
): Promise<T> {
  return runExperimentSession(kind, options, images, settings, async (session) => {
    const { config, params, source } = session.model;
    const workers = resolveWorkerCount(options.workers, session.backendInfo);
    if (workers > 1) session.log(`${kind}: forward passes in ${workers} worker threads, each with its own ${session.backendInfo.name} engine`);
    const sha256 = 'sha256' in source ? source.sha256 : null;
    const executor = await createForwardExecutor({ workers, backend: options.backend, model: { kind: 'params', config, params, sha256 } });
    try {
      return await work({ ...session, executor });
    } finally {
      await executor.close();
    }
  }, 'inference');
}

/**
 * Resumes the unfinished run of `kind` recorded with exactly these options
 * (refusing while another live process owns it), or with `force` deletes it
 * and starts a new one.
 * @throws RunOwnedError naming the owner while another live process writes that run.
 */
function openExperimentRun(kind: string, options: ExperimentSourceOptions, recorded: Record<string, unknown>, row: { model: string; backendInfo: BackendInfo }, log: (line: string) => void): { runId: string; resumed: boolean } {
  const unfinished = findUnfinishedRun(options.db, kind, JSON.stringify(recorded));
  if (unfinished !== undefined) {
    const { tookOverFrom } = claimRun(options.db, unfinished);
    if (tookOverFrom !== null) log(`taking over run ${unfinished} from process ${tookOverFrom.pid} on host ${tookOverFrom.host}: ${tookOverFrom.reason}`);
    if (!options.force) {
      log(`resuming unfinished ${kind} run ${unfinished} (same options): images it committed are kept; --force starts over`);
      return { runId: unfinished, resumed: true };
    }
    log(`--force: deleting unfinished ${kind} run ${unfinished} and starting over`);
    deleteRun(options.db, unfinished);
  }
  const runId = uniqueRunId(options.db, makeRunId(kind, new Date(), row.model));
  createRun(options.db, { id: runId, kind, model: row.model, backend: row.backendInfo.name, backendInfo: { ...row.backendInfo }, options: recorded });
  return { runId, resumed: false };
}

function commitWhileOwned(db: Store, heartbeat: RunHeartbeat): (write: () => void) => void {
  return (write) => db.transaction(() => { heartbeat.beat(); write(); })();
}
