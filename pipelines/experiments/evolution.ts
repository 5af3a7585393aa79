/**
 * `run-pipeline evolution` (Fig. 4): for each kept epoch checkpoint of a
 * training run, one pass over the training split (or its first --limit
 * images, centre crops in id order) finds each chosen unit's strongest
 * activation; the deconvnet projects it; one mosaic per layer shows a row per
 * unit and a column per epoch.
 *
 * Each pass runs through the forward executor (in-process or worker threads)
 * with the 'top-activations' reducer, so only [N, C] maxima and argmaxes
 * leave the backend (k = 1 of what top-activations keeps). Every
 * `commitEvery` batches the position, the strongest activations so far and
 * the skipped images are committed; a rerun of the same command resumes the
 * unfinished run at its last commit and ends with exactly the uninterrupted
 * result. Entries go to the store (evolution_entries) and entries.csv.
 */
import { join } from 'node:path';
import { initBackend, type BackendChoice } from '../../src/backend/select-backend.js';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { computeSplitBaseId, type DatasetRecord } from '../../src/store/image-index.js';
import type { MeanImage } from '../../src/data/mean-image.js';
import { loadMeanImage } from '../../src/store/mean-store.js';
import { findConvLayer } from '../../src/deconv/deconvnet.js';
import { UsageError } from '../../src/errors.js';
import { formatCsv } from '../../src/experiments/result-files.js';
import { createStrongestTracker, foldStrongest, listFound } from '../../src/topk/strongest-tracker.js';
import { writeTextFile } from '../../src/mosaic/render-sheet.js';
import { resolveUnits, type UnitSelection } from '../../src/mosaic/unit-selection.js';
import { disposeParams } from '../../src/model/params.js';
import { createProgress } from '../../src/progress.js';
import { takeSkipsUpTo, type SkippedItem } from '../../src/stages/stage-items.js';
import { createEvolutionStore, findUnfinishedEvolutionRun, type EvolutionPassProgress, type EvolutionStore, type StrongestByLayer } from '../../src/store/evolution-store.js';
import type { Store } from '../../src/store/open-store.js';
import { claimRun, RunTakenOverError, startRunHeartbeat, type RunHeartbeat } from '../../src/store/run-owner.js';
import { createRun, getRun, makeRunId, setRunStatus, uniqueRunId } from '../../src/store/runs.js';
import { createTrainingStore, type EpochRecord } from '../../src/store/training-store.js';
import { createForwardExecutor, forEachForwardResult, resolveWorkerCount } from '../../src/workers/forward-executor.js';
import { projectEntries, writeEvolutionMosaic, type EpochColumn } from './evolution-mosaic.js';
import { createBatchStream, prepareDataset } from '../shared/input-stream.js';

export interface EvolutionPipelineOptions {
  db: Store;
  /** The training run whose kept epoch checkpoints are examined. */
  trainRunId: string;
  /** --data; default the training run's dataset. */
  data?: string;
  split: string;
  /** Images of the split examined (first in id order); undefined: all. */
  limit?: number;
  /** Conv layers 1..5. */
  layers: number[];
  units: UnitSelection;
  seed: number;
  batchSize: number;
  /** Batches between commits; default 20. */
  commitEvery?: number;
  backend: BackendChoice;
  /** Forward worker threads; undefined: one per core on wasm/cpu, 1 on tensorflow. Results do not depend on it. */
  workers?: number;
  decodeConcurrency?: number;
  strict?: boolean;
  /** Aborting finishes the batch in flight, commits and returns status 'interrupted'. */
  signal?: AbortSignal;
  /** The command line that resumes the run, printed on interruption. */
  resumeCommand?: string;
  outDir?: string;
  log?: (line: string) => void;
}

export interface EvolutionPipelineResult {
  runId: string;
  status: 'finished' | 'interrupted';
  outDir: string;
  epochs: number[];
  mosaics: string[];
  /** Bad images skipped, over all epochs' passes so far. */
  imagesSkipped: number;
}

interface EvolutionContext {
  options: EvolutionPipelineOptions;
  store: EvolutionStore;
  runId: string;
  dataset: DatasetRecord;
  baseId: number;
  imagesTotal: number;
  workers: number;
  /** Beats before every commit: a run another process took over stops here instead of being written. */
  heartbeat: RunHeartbeat;
  log: (line: string) => void;
}

/**
 * Runs (or resumes) the evolution experiment.
 * @throws UsageError when the training run is unknown or has no kept checkpoints, or a checkpoint changed under a resumed run.
 */
export async function runEvolutionPipeline(options: EvolutionPipelineOptions): Promise<EvolutionPipelineResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const trainRun = getRun(options.db, options.trainRunId);
  if (trainRun === undefined || trainRun.kind !== 'train') throw new UsageError(`No training run ${options.trainRunId} in the store`);
  const kept = createTrainingStore(options.db).listEpochs(options.trainRunId).filter((e) => e.checkpointKept && e.checkpointPath !== null);
  if (kept.length === 0) throw new UsageError(`Training run ${options.trainRunId} has no kept epoch checkpoints`);
  const backendInfo = await initBackend(options.backend, { log, purpose: 'inference' });
  const recordedData = (trainRun.options['data'] as string | null | undefined) ?? undefined;
  const { dataset, splits } = await prepareDataset({ db: options.db, data: options.data ?? recordedData, splits: [options.split], log });
  const split = splits[options.split]!;
  const identity = { trainRunId: options.trainRunId, data: dataset.root, split: options.split, limit: options.limit ?? null, layers: options.layers, units: options.units, seed: options.seed };
  const { runId, plan } = openEvolutionRun(options.db, identity, kept, { model: trainRun.model, backend: backendInfo.name, backendInfo: { ...backendInfo } }, log);
  const ctx: EvolutionContext = {
    options, store: createEvolutionStore(options.db), runId, dataset, baseId: computeSplitBaseId(split.ordinal),
    imagesTotal: Math.min(split.imageCount, options.limit ?? Infinity), workers: resolveWorkerCount(options.workers, backendInfo),
    heartbeat: startRunHeartbeat(options.db, runId), log,
  };
  if (ctx.workers > 1) log(`forward passes in ${ctx.workers} worker threads, each with its own ${backendInfo.name} backend`);
  const outDir = options.outDir ?? join('out', 'evolution', runId);
  const columns = new Map<string, EpochColumn[]>();
  const csv: Array<Array<string | number>> = [];
  let imagesSkipped = 0;
  try {
    for (const [index, epoch] of plan.entries()) {
      const outcome = await examineEpoch(ctx, epoch, `${index + 1}/${plan.length}`);
      imagesSkipped += outcome.imagesSkipped;
      if (outcome.columns === null) {
        setRunStatus(options.db, runId, 'interrupted');
        log(`evolution run ${runId} interrupted in epoch ${epoch.epoch}; resume with:\n  ${options.resumeCommand ?? 'the same command'}`);
        return { runId, status: 'interrupted', outDir, epochs: plan.map((e) => e.epoch), mosaics: [], imagesSkipped };
      }
      for (const [layer, column] of outcome.columns) {
        columns.set(layer, [...(columns.get(layer) ?? []), column]);
        for (const t of column.entries) csv.push([epoch.epoch, layer, t.unit, t.imageId, t.value, t.y, t.x]);
      }
    }
    writeTextFile(join(outDir, 'entries.csv'), formatCsv(['epoch', 'layer', 'unit', 'image_id', 'activation', 'y', 'x'], csv));
    const mosaics: string[] = [];
    for (const [layer, perEpoch] of columns) mosaics.push(await writeEvolutionMosaic(outDir, layer, perEpoch));
    setRunStatus(options.db, runId, 'finished');
    return { runId, status: 'finished', outDir, epochs: plan.map((e) => e.epoch), mosaics, imagesSkipped };
  } catch (error) {
    if (!(error instanceof RunTakenOverError)) setRunStatus(options.db, runId, 'failed');
    throw error;
  } finally {
    ctx.heartbeat.stop();
  }
}

/**
 * Resumes the newest unfinished run with the same identity whose planned
 * checkpoints are all still kept, or starts a new one over the kept epochs.
 */
function openEvolutionRun(db: Store, identity: Record<string, unknown>, kept: EpochRecord[], recordFields: { model: string | null; backend: string; backendInfo: Record<string, unknown> }, log: (line: string) => void): { runId: string; plan: EpochRecord[] } {
  const unfinished = findUnfinishedEvolutionRun(db, identity);
  if (unfinished !== undefined) {
    const planned = (unfinished.options['epochs'] as number[] | undefined) ?? [];
    const plan = planned.map((n) => kept.find((e) => e.epoch === n));
    if (plan.length > 0 && plan.every((e) => e !== undefined)) {
      // Refuses (RunOwnedError naming the owner) while another live process runs it; takes it over once that is gone.
      const { tookOverFrom } = claimRun(db, unfinished.id);
      if (tookOverFrom !== null) log(`taking over evolution run ${unfinished.id} from process ${tookOverFrom.pid} on host ${tookOverFrom.host}: ${tookOverFrom.reason}`);
      log(`resuming evolution run ${unfinished.id} (epochs ${planned.join(', ')})`);
      return { runId: unfinished.id, plan: plan as EpochRecord[] };
    }
    log(`evolution run ${unfinished.id} cannot resume: a checkpoint of epochs ${planned.join(', ')} is no longer kept; starting a new run`);
  }
  const runId = uniqueRunId(db, makeRunId('evolution', new Date(), String(identity['trainRunId'])));
  createRun(db, { id: runId, kind: 'evolution', ...recordFields, options: { ...identity, epochs: kept.map((e) => e.epoch) } });
  log(`started evolution run ${runId}: epochs ${kept.map((e) => e.epoch).join(', ')}, conv${(identity['layers'] as number[]).join(',')}`);
  return { runId, plan: kept };
}

/** One epoch: its pass (resumed, or skipped when finished), then the projections. `columns` is null when interrupted. */
async function examineEpoch(ctx: EvolutionContext, epoch: EpochRecord, ordinal: string): Promise<{ columns: Map<string, EpochColumn> | null; imagesSkipped: number }> {
  const { options } = ctx;
  const loaded = loadCheckpoint(epoch.checkpointPath!);
  try {
    const saved = ctx.store.getPass(ctx.runId, epoch.epoch);
    if (saved !== undefined && saved.checkpointSha256 !== loaded.sha256) {
      throw new UsageError(`Checkpoint ${epoch.checkpointPath} changed since evolution run ${ctx.runId} examined it (sha256 ${saved.checkpointSha256.slice(0, 12)}... then, ${loaded.sha256.slice(0, 12)}... now); start a new run with other options or delete the run`);
    }
    const mean = loadMeanImage(options.db, ctx.dataset.id, computeSquareSizePx(loaded.config.inputSizePx));
    const progress: EvolutionPassProgress = saved ?? {
      runId: ctx.runId, epoch: epoch.epoch, checkpointSha256: loaded.sha256, imagesTotal: ctx.imagesTotal, position: 0, imagesProcessed: 0, imagesSkipped: 0,
      best: new Map(options.layers.map((l) => [`conv${l}`, createStrongestTracker(resolveUnits(options.units, findConvLayer(loaded.config, `conv${l}`).spec.filters, `conv${l}`, options.seed))])),
    };
    if (saved?.status !== 'finished') {
      if (saved !== undefined) ctx.log(`evolution epoch ${epoch.epoch}: resuming at image ${saved.position} of ${saved.imagesTotal} (${saved.commits} commits so far)`);
      const finished = await scanSplit(ctx, loaded, mean, progress, ordinal);
      if (!finished) return { columns: null, imagesSkipped: progress.imagesSkipped };
    }
    const columns = new Map<string, EpochColumn>();
    for (const [layer, tracker] of progress.best) {
      columns.set(layer, { epoch: epoch.epoch, entries: await projectEntries(loaded.config, loaded.params, options.db, ctx.dataset, mean, layer, listFound(tracker), options.backend) });
    }
    ctx.log(`evolution: epoch ${epoch.epoch} done (${[...progress.best.keys()].join(', ')}; ${progress.imagesProcessed} images, ${progress.imagesSkipped} skipped)`);
    return { columns, imagesSkipped: progress.imagesSkipped };
  } finally {
    disposeParams(loaded.params);
  }
}

/**
 * The pass of one checkpoint from its committed position: folds every
 * batch's reductions into `progress.best`, commits every `commitEvery`
 * batches and at the end (finishPass). Returns false when stopped by the signal (after a commit).
 */
async function scanSplit(ctx: EvolutionContext, model: ReturnType<typeof loadCheckpoint>, mean: MeanImage, progress: EvolutionPassProgress, ordinal: string): Promise<boolean> {
  const { options, store } = ctx;
  const pending: SkippedItem[] = [];
  const stream = createBatchStream({
    db: options.db, dataset: ctx.dataset, split: options.split, inputSizePx: model.config.inputSizePx, meanImage: mean, crop: 'centre', order: 'sorted',
    batchSize: options.batchSize, start: progress.position, limit: progress.imagesTotal - progress.position, prefetchBatches: 2,
    decodeConcurrency: options.decodeConcurrency, strict: options.strict, onSkip: (item) => pending.push(item),
  });
  const bar = createProgress({ label: `evolution epoch ${progress.epoch} (${ordinal})`, total: stream.total });
  const commit = (upTo: number, finish: boolean): void => {
    const skipped = finish ? pending.splice(0) : takeSkipsUpTo(pending, upTo);
    progress.imagesSkipped += skipped.length;
    ctx.heartbeat.beat();
    (finish ? store.finishPass : store.commitPass)(progress, skipped);
  };
  const executor = await createForwardExecutor({ workers: ctx.workers, backend: options.backend, model: { kind: 'params', config: model.config, params: model.params } });
  try {
    let lastId = -Infinity;
    let sinceCommit = 0;
    // Results arrive in input order, so a commit after batch k covers exactly batches 0..k.
    const { stopped } = await forEachForwardResult(stream, executor, { reducer: 'top-activations', layers: options.layers }, (batch, result) => {
      for (const reduction of result.layers) foldStrongest(progress.best.get(`conv${reduction.layer}`)!, reduction, batch.imageIds);
      lastId = batch.imageIds.at(-1)!;
      progress.position = lastId - ctx.baseId + 1;
      progress.imagesProcessed += batch.imageIds.length;
      bar.tick(batch.imageIds.length, { skipped: String(progress.imagesSkipped + pending.length) });
      if (++sinceCommit >= (options.commitEvery ?? 20)) { commit(lastId, false); sinceCommit = 0; }
    }, { stopWhen: () => options.signal?.aborted === true });
    if (stopped) {
      if (sinceCommit > 0) commit(lastId, false);
      bar.done(`interrupted: committed ${progress.position} of ${progress.imagesTotal} images of epoch ${progress.epoch}`);
      return false;
    }
    progress.position = progress.imagesTotal;
    commit(Infinity, true);
    bar.done();
    return true;
  } finally {
    await executor.close();
  }
}
