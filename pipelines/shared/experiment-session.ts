/**
 * What an image experiment sets up before its first image: the backend, the
 * dataset (the sample dataset when --data is omitted), the model, the mean
 * image, and its run row (resumed when an unfinished one has the same
 * options). runExperimentSession serves `project` (the project's models, on
 * tfjs); occlusion, invariance and correspondence use
 * pipelines/experiments/forward-experiment-session.ts, and preferred-inputs
 * runRecordedRun, which share the run handling here.
 */
import { join } from 'node:path';
import { initBackend, type BackendChoice, type BackendInfo } from '../../src/backend/select-backend.js';
import type { DatasetRecord } from '../../src/store/image-index.js';
import type { MeanImage } from '../../src/data/mean-image.js';
import { resolveMeanImage } from '../../src/store/mean-store.js';
import { listNeededSplits, loadExperimentModel, type ExperimentModel, type SelectImagesOptions } from '../../src/experiments/experiment-inputs.js';
import { disposeParams } from '../../src/model/params.js';
import type { Store } from '../../src/store/open-store.js';
import { deleteRun, findUnfinishedRun } from '../../src/store/experiment-resume-store.js';
import { claimRun, startRunHeartbeat, type RunHeartbeat } from '../../src/store/run-owner.js';
import { createRun, makeRunId, recordRunMean, trackRunStatus, uniqueRunId } from '../../src/store/runs.js';
import { prepareDataset } from './input-stream.js';

/** Options every image experiment takes. */
export interface ExperimentSourceOptions {
  db: Store;
  /** --data; undefined: the built-in sample dataset. */
  data?: string;
  checkpoint?: string;
  /** Architecture of fresh weights when no checkpoint is given (forward experiments: or an imported model's name). */
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
): Promise<T> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backendInfo = await initBackend(options.backend, { log });
  const { dataset } = await prepareDataset({ db: options.db, data: options.data, splits: listNeededSplits(images), log });
  const model = loadExperimentModel({ checkpoint: options.checkpoint, model: options.model, seed: options.seed, numClasses: dataset.classes.length });
  try {
    const { mean, line: meanLine } = resolveMeanImage(options.db, dataset.id, model.config, 'checkpoint' in model.source ? { mean: model.checkpointMean ?? null } : null);
    log(meanLine);
    const base = { backendInfo, dataset, model, mean, log };
    const recorded = { ...settings(base), images, mean: { source: mean.source, sha256: mean.sha256 }, weights: model.source };
    const run = { kind, recorded, model: model.config.name, backendInfo, meanSha256: mean.sha256, description: describeWeights(model) };
    return await runRecordedRun(options, run, log, (opened) => work({ ...base, ...opened }));
  } finally {
    disposeParams(model.params);
  }
}

/** What a run of an experiment records. */
export interface RecordedRun {
  kind: string;
  /** The options and weights recorded with the run: an unfinished run with the same ones is resumed. */
  recorded: Record<string, unknown>;
  model: string;
  backendInfo: BackendInfo;
  meanSha256: string | null;
  /** What the weights are, for the log. */
  description: string;
}

/** The run `work` writes into. */
export type OpenedRun = Pick<ExperimentSession, 'runId' | 'outDir' | 'resumed' | 'commit'>;

/**
 * Opens (or resumes) the run, keeps its ownership heartbeat while `work`
 * runs, and marks it finished or failed.
 * @throws RunOwnedError while another live process owns the run; whatever `work` throws.
 */
export async function runRecordedRun<T>(options: ExperimentSourceOptions, run: RecordedRun, log: (line: string) => void, work: (opened: OpenedRun) => Promise<T>): Promise<T> {
  const { runId, resumed } = openExperimentRun(run.kind, options, run.recorded, { model: run.model, backendInfo: run.backendInfo }, log);
  if (run.meanSha256 !== null) recordRunMean(options.db, runId, run.meanSha256);
  log(`${run.kind} ${runId}: ${run.description}`);
  const heartbeat = startRunHeartbeat(options.db, runId);
  try {
    const commit = commitWhileOwned(options.db, heartbeat);
    return await trackRunStatus(options.db, runId, () => work({ runId, resumed, commit, outDir: options.outDir ?? join('out', run.kind, runId) }));
  } finally {
    heartbeat.stop();
  }
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
