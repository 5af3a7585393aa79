/**
 * run-pipeline top-activations: streams a split (centre crop, sorted id
 * order, optionally one shard) through the model and keeps, per conv unit,
 * the top-k images by spatial maximum plus the unit statistics. Heaps,
 * statistics, position and skipped items are committed together every
 * `commitEvery` batches; a rerun of the same command resumes from the last
 * commit and ends with exactly the uninterrupted result.
 */
import { relative, sep } from 'node:path';
import { inferenceEngineOf } from '../../src/backend-choice.js';
import { initBackend, type BackendChoice, type BackendInfo } from '../../src/backend/select-backend.js';
import { computeSplitBaseId, type DatasetRecord } from '../../src/store/image-index.js';
import { countImageIds, type ShardSpec } from '../../src/data/image-order.js';
import { UsageError } from '../../src/errors.js';
import { selectAnalysedLayers, type AnalysedLayer } from '../../src/graph/analysed-layers.js';
import { createProgress } from '../../src/progress.js';
import type { SkippedItem } from '../../src/stages/stage-items.js';
import type { Store } from '../../src/store/open-store.js';
import { claimRun, startRunHeartbeat, type RunHeartbeat } from '../../src/store/run-owner.js';
import { makeRunId, markRunFailed, recordRunMean, setRunStatus } from '../../src/store/runs.js';
import {
  createCommitWriter, deleteTopActivationRun, getTopActivationRun, insertTopActivationRun, listTopActivationRuns, loadPassState,
  TOP_ACTIVATIONS_KIND, type PassIdentity, type TopActivationRun,
} from '../../src/store/top-activations-store.js';
import { computeDatasetFingerprint, computePassKey, findIdentityDifference } from '../../src/topk/pass-identity.js';
import { accumulateBatch, createPassState, layerShapesOf, type LayerShape, type PassState } from '../../src/topk/pass-state.js';
import { createForwardExecutor, forEachForwardResult, resolveWorkerCount, type ForwardExecutor } from '../../src/workers/forward-executor.js';
import { createBatchStream, prepareDataset } from '../shared/input-stream.js';
import { openPassModel, type PassModel } from '../shared/pass-model.js';
import { createHeldLog } from '../shared/held-log.js';

export { DEFAULT_MODEL } from '../shared/pass-model.js';

export interface TopActivationsOptions {
  db: Store;
  data?: string;
  split: string;
  /** Checkpoint file; without it an imported model or a freshly initialised architecture, as `model` says. */
  checkpoint?: string;
  /**
   * An imported model's name (run-pipeline import), or the architecture of the
   * random init (default zfnet-small); with a checkpoint, must match it when given.
   */
  model?: string;
  /** Seed of the random init when there is no checkpoint. */
  initSeed: number;
  /** Layer numbers, or a --layers spec (names, aliases, globs, numbers, ranges); undefined: every conv layer. */
  layers?: readonly number[] | string;
  topK: number;
  batchSize: number;
  commitEvery: number;
  shard: ShardSpec;
  backend: BackendChoice;
  force: boolean;
  /** Resume (or refuse) this run id instead of finding the run by its parameters. */
  runId?: string;
  decodeConcurrency: number;
  /** Forward worker threads; undefined: one per core on wasm/cpu, 1 on tensorflow. Results do not depend on it. */
  workers?: number;
  strict: boolean;
  /** Aborting finishes the batch in flight, commits and returns status 'interrupted'. */
  signal?: AbortSignal;
  /** The command line that resumes this pass, printed on interruption. */
  resumeCommand: string;
  log?: (line: string) => void;
}

export interface TopActivationsResult {
  runId: string;
  status: 'finished' | 'interrupted' | 'already-finished';
  imagesProcessed: number;
  imagesSkipped: number;
  position: number;
  imagesTotal: number;
}

/** Images of the shard's sorted id sequence up to and including `imageId`. */
export function computePositionAfter(baseId: number, imageId: number, shard: ShardSpec): number {
  return countImageIds({ baseId, imageCount: imageId - baseId + 1, order: 'sorted', seed: 0, epoch: 0, shard });
}

interface OpenedRun {
  run: TopActivationRun;
  state: PassState;
}

/** Finds the run to resume, refuses a finished one (unless force), or creates a new one. */
function openRun(options: TopActivationsOptions, identity: PassIdentity, extra: { passKey: string; imagesTotal: number; backend: BackendInfo; layers: AnalysedLayer[] }, log: (line: string) => void): OpenedRun | TopActivationRun {
  const { db, shard } = options;
  let existing: TopActivationRun | undefined;
  if (options.runId !== undefined) {
    existing = getTopActivationRun(db, options.runId);
    if (existing === undefined) throw new UsageError(`No top-activations run ${options.runId} in the store`);
    const diff = findIdentityDifference(existing, identity) ?? (existing.shardIndex !== shard.index || existing.shardCount !== shard.count ? { field: 'shard', a: `${existing.shardIndex}/${existing.shardCount}`, b: `${shard.index}/${shard.count}` } : null);
    if (diff !== null) throw new UsageError(`Run ${options.runId} differs from these options in ${diff.field}: ${diff.a} vs ${diff.b}`);
  } else {
    existing = listTopActivationRuns(db, { passKey: extra.passKey, shardIndex: shard.index, shardCount: shard.count }).filter((r) => r.mergedFrom === null).at(-1);
  }
  if (existing !== undefined && existing.run.status === 'finished' && !options.force) return existing;
  // Refuses (naming the owner) while another live process writes the run, before touching it.
  if (existing !== undefined) announceTakeOver(existing.runId, claimRun(db, existing.runId).tookOverFrom, log);
  if (existing !== undefined && existing.run.status !== 'finished' && !options.force) {
    log(`resuming run ${existing.runId} at image ${existing.position} of ${existing.imagesTotal} (${existing.commits} commits so far)`);
    return { run: existing, state: loadPassState(db, existing.runId, layerShapesOf(extra.layers), identity.topK) };
  }
  if (existing !== undefined) {
    log(`--force: deleting run ${existing.runId} and computing it again`);
    deleteTopActivationRun(db, existing.runId);
  }
  const runId = makePassRunId(identity, shard, extra.passKey);
  const run = insertTopActivationRun(db, {
    ...identity, runId, passKey: extra.passKey, shardIndex: shard.index, shardCount: shard.count, imagesTotal: extra.imagesTotal,
    backend: extra.backend.name, backendInfo: { ...extra.backend },
    options: { batchSize: options.batchSize, commitEvery: options.commitEvery, decodeConcurrency: options.decodeConcurrency, strict: options.strict },
    analysedLayers: extra.layers,
  });
  log(`started run ${runId}: ${identity.model}, ${identity.split}${shard.count > 1 ? ` shard ${shard.index}/${shard.count}` : ''}, ${describeLayers(extra.layers)}, ${extra.imagesTotal} images`);
  return { run, state: createPassState(layerShapesOf(extra.layers), identity.topK) };
}

/** `conv1,conv2,...`, or for many layers the first and last with the count. */
function describeLayers(layers: readonly AnalysedLayer[]): string {
  const names = layers.map((l) => l.name);
  return names.length <= 8 ? names.join(',') : `${names.length} layers ${names[0]} .. ${names.at(-1)}`;
}

/** Says when a run is taken over from a process that is gone. */
export function announceTakeOver(runId: string, from: ReturnType<typeof claimRun>['tookOverFrom'], log: (line: string) => void): void {
  if (from !== null) log(`taking over run ${runId} from process ${from.pid} on host ${from.host}: ${from.reason}`);
}

function makePassRunId(identity: PassIdentity, shard: ShardSpec, passKey: string): string {
  const shardPart = shard.count > 1 ? `-shard${shard.index}of${shard.count}` : '';
  return makeRunId(TOP_ACTIVATIONS_KIND, new Date(), `${identity.model}-${identity.split}${shardPart}-${passKey.slice(0, 6)}`);
}

interface PassContext {
  options: TopActivationsOptions;
  run: TopActivationRun;
  state: PassState;
  model: PassModel;
  /** Runs the forward passes and reductions (in-process or worker threads). */
  executor: ForwardExecutor;
  dataset: DatasetRecord;
  baseId: number;
  /** The run's ownership heartbeat; beaten inside every commit. */
  heartbeat: RunHeartbeat;
  log: (line: string) => void;
}

/** Removes and returns the pending skips at or before `imageId` (they belong to the committed range). */
function takeSkipsUpTo(pending: SkippedItem[], imageId: number): SkippedItem[] {
  const taken = pending.filter((item) => item.imageId <= imageId);
  const kept = pending.filter((item) => item.imageId > imageId);
  pending.splice(0, pending.length, ...kept);
  return taken;
}

/** The batch loop: forward, reduce, fold in, commit every `commitEvery` batches, stop cleanly on abort. */
async function runPass(ctx: PassContext): Promise<TopActivationsResult> {
  const { options, run, state, model, dataset } = ctx;
  const commit = createCommitWriter(options.db);
  const pending: SkippedItem[] = [];
  const counts = { position: run.position, imagesProcessed: run.imagesProcessed, imagesSkipped: run.imagesSkipped };
  const commitUpTo = (imageId: number): void => {
    const skipped = imageId === Infinity ? pending.splice(0) : takeSkipsUpTo(pending, imageId); // -Infinity: none yet
    counts.imagesSkipped += skipped.length;
    // A commit happens only while this process still owns the run (the beat throws otherwise).
    options.db.transaction(() => { ctx.heartbeat.beat(); commit(run.runId, state, counts, skipped); })();
  };
  const stream = createBatchStream({
    db: options.db, dataset, split: run.split, inputSizePx: model.inputSizePx, order: 'sorted', shard: options.shard,
    start: run.position, batchSize: options.batchSize, crop: 'centre', ...model.input, prefetchBatches: 2,
    decodeConcurrency: options.decodeConcurrency, strict: options.strict, onSkip: (item) => pending.push(item),
  });
  const progress = createProgress({ label: `top-activations ${run.split}${run.shardCount > 1 ? ` shard ${run.shardIndex}/${run.shardCount}` : ''}`, total: stream.total });
  const toRelative = (path: string): string => relative(dataset.imageRoot, path).split(sep).join('/');
  let lastId = -Infinity;
  let sinceCommit = 0;
  // Results arrive in input order, so a commit after batch k covers exactly the merged batches 0..k.
  const { stopped: interrupted } = await forEachForwardResult(stream, ctx.executor, { reducer: 'top-activations', layers: run.layers }, (batch, result) => {
    accumulateBatch(state, { imageIds: batch.imageIds, labels: batch.labels, paths: batch.paths.map(toRelative) }, result.layers);
    lastId = batch.imageIds.at(-1)!;
    counts.position = computePositionAfter(ctx.baseId, lastId, options.shard);
    counts.imagesProcessed += batch.imageIds.length;
    progress.tick(batch.imageIds.length, { skipped: String(counts.imagesSkipped + pending.length) });
    if (++sinceCommit >= options.commitEvery) { commitUpTo(lastId); sinceCommit = 0; }
  }, { stopWhen: () => options.signal?.aborted === true });
  if (interrupted) {
    commitUpTo(lastId);
    setRunStatus(options.db, run.runId, 'interrupted');
    progress.done(`interrupted: committed ${counts.position} of ${run.imagesTotal} images; resume with:\n  ${options.resumeCommand}`);
    return { runId: run.runId, status: 'interrupted', ...counts, imagesTotal: run.imagesTotal };
  }
  counts.position = run.imagesTotal;
  options.db.transaction(() => {
    commitUpTo(Infinity);
    setRunStatus(options.db, run.runId, 'finished');
  })();
  progress.done(`finished run ${run.runId}: ${counts.imagesProcessed} images, ${counts.imagesSkipped} skipped`);
  return { runId: run.runId, status: 'finished', ...counts, imagesTotal: run.imagesTotal };
}

/**
 * The layers `spec` names among the model's analysable layers (numbers as the store numbers them).
 * @throws UsageError naming the part that matches none, with the layers there are.
 */
export function chooseLayers(model: PassModel, spec: readonly number[] | string | undefined): AnalysedLayer[] {
  try {
    return selectAnalysedLayers(model.layers, Array.isArray(spec) ? spec.join(',') : (spec as string | undefined), model.name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Runs (or resumes) a top-activations pass.
 * @throws UsageError for a bad checkpoint, dataset, split or run id, or non-finite activations.
 */
export async function runTopActivations(options: TopActivationsOptions): Promise<TopActivationsResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // The engine, dataset and model lines wait until --layers is known good: a usage error comes alone.
  const { hold, flush } = createHeldLog(log);
  const backend = await initBackend(options.backend, { log: hold, purpose: 'inference' });
  const { dataset, splits } = await prepareDataset({ db: options.db, data: options.data, splits: [options.split], log: hold });
  const model = openPassModel({ db: options.db, dataset, checkpoint: options.checkpoint, model: options.model, initSeed: options.initSeed, engine: inferenceEngineOf(options.backend), log: hold });
  try {
    const layers = chooseLayers(model, options.layers);
    flush();
    const split = splits[options.split]!;
    const identity: PassIdentity = {
      weights: model.weights, checkpointPath: model.checkpointPath, checkpointSha256: model.checkpointSha256,
      model: model.name, modelConfig: model.modelConfig, datasetRoot: dataset.root, imageRoot: dataset.imageRoot,
      datasetFingerprint: computeDatasetFingerprint(dataset.classes.map((c) => c.key), options.split, split.imageCount),
      split: options.split, preprocessing: model.preprocessing, layers: layers.map((l) => l.number), topK: options.topK,
    };
    const passKey = computePassKey(identity);
    const baseId = computeSplitBaseId(split.ordinal);
    const imagesTotal = countImageIds({ baseId, imageCount: split.imageCount, order: 'sorted', seed: 0, epoch: 0, shard: options.shard });
    const opened = openRun(options, identity, { passKey, imagesTotal, backend, layers }, log);
    if (!('state' in opened)) {
      log(`run ${opened.runId} is already finished (${opened.imagesProcessed} images, ${opened.imagesSkipped} skipped); nothing to do. Add --force to compute it again.`);
      return { runId: opened.runId, status: 'already-finished', position: opened.position, imagesProcessed: opened.imagesProcessed, imagesSkipped: opened.imagesSkipped, imagesTotal: opened.imagesTotal };
    }
    if (model.meanSha256 !== null) recordRunMean(options.db, opened.run.runId, model.meanSha256);
    const workers = resolveWorkerCount(options.workers, backend);
    if (workers > 1) log(`forward passes in ${workers} worker threads, each with its own ${backend.name} ${backend.name === 'onnx' ? 'session' : 'backend'}`);
    const executor = await createForwardExecutor({ workers, backend: options.backend, model: model.source });
    const heartbeat = startRunHeartbeat(options.db, opened.run.runId);
    try {
      return await runPass({ options, run: opened.run, state: opened.state, model, executor, dataset, baseId, heartbeat, log });
    } catch (error) {
      markRunFailed(options.db, opened.run.runId, error);
      throw error;
    } finally {
      heartbeat.stop();
      await executor.close();
    }
  } finally {
    model.release();
  }
}
