/**
 * run-pipeline merge: combines the finished shards of one top-activations
 * pass, held in one or several stores, into one run of a target store. The
 * merged top-k and statistics equal those of a single unsharded pass (the
 * top-k order is total and the statistics' sums are exact). The dataset
 * index rows that name the images are copied along.
 */
import { resolve } from 'node:path';
import { UsageError } from '../../src/errors.js';
import { copyMeanImages } from '../../src/store/mean-store.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { copySplitIndex } from '../../src/store/dataset-index-copy.js';
import { listSkippedItems, makeRunId, setRunStatus } from '../../src/store/runs.js';
import {
  createCommitWriter, deleteTopActivationRun, insertTopActivationRun, listTopActivationRuns, loadPassState,
  TOP_ACTIVATIONS_KIND, type PassIdentity, type TopActivationRun,
} from '../../src/store/top-activations-store.js';
import { findIdentityDifference } from '../../src/topk/pass-identity.js';
import { createPassState, layerShapesOf, mergePassStates } from '../../src/topk/pass-state.js';

export interface MergeStoresOptions {
  /** Stores holding the shards (the target may be one of them). */
  sources: string[];
  into: string;
  force: boolean;
  log?: (line: string) => void;
}

export interface MergeStoresResult {
  runId: string;
  status: 'merged' | 'already-merged';
  shardCount: number;
  imagesProcessed: number;
  imagesSkipped: number;
}

interface ShardRun {
  path: string;
  db: Store;
  run: TopActivationRun;
}

const clip = (text: string): string => (text.length > 120 ? `${text.slice(0, 117)}...` : text);

/** The sharded runs of each store, checked to be the finished shards 0..N-1 of one pass. */
function collectShards(stores: Array<{ path: string; db: Store }>): ShardRun[] {
  const shards: ShardRun[] = [];
  for (const { path, db } of stores) {
    const runs = listTopActivationRuns(db).filter((r) => r.mergedFrom === null && r.shardCount > 1);
    if (runs.length === 0) throw new UsageError(`${path} holds no sharded top-activations run (made with --shard i/N)`);
    for (const run of runs) shards.push({ path, db, run });
  }
  const first = shards[0]!;
  for (const other of shards.slice(1)) {
    const diff = findIdentityDifference(first.run, other.run)
      ?? (first.run.shardCount !== other.run.shardCount ? { field: 'shard count', a: String(first.run.shardCount), b: String(other.run.shardCount) } : null);
    if (diff !== null) {
      throw new UsageError(`Cannot merge ${first.path} run ${first.run.runId} with ${other.path} run ${other.run.runId}: they differ in ${diff.field} (${clip(diff.a)} vs ${clip(diff.b)})`);
    }
  }
  return checkShardSet(shards);
}

function checkShardSet(shards: ShardRun[]): ShardRun[] {
  const count = shards[0]!.run.shardCount;
  const byIndex = new Map<number, ShardRun>();
  for (const shard of shards) {
    const { run } = shard;
    if (run.run.status !== 'finished') {
      throw new UsageError(`${shard.path} run ${run.runId} (shard ${run.shardIndex}/${count}) is not finished (${run.position} of ${run.imagesTotal} images); resume it with the same top-activations command first`);
    }
    const seen = byIndex.get(run.shardIndex);
    if (seen !== undefined) throw new UsageError(`Shard ${run.shardIndex}/${count} appears twice: ${seen.path} run ${seen.run.runId} and ${shard.path} run ${run.runId}`);
    byIndex.set(run.shardIndex, shard);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) throw new UsageError(`Missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')}: give the stores that hold ${missing.length > 1 ? 'them' : 'it'}`);
  return [...byIndex.values()].sort((a, b) => a.run.shardIndex - b.run.shardIndex);
}

/** Opens each distinct store once; the target's connection serves when it is also a source. */
function openStores(paths: string[], intoPath: string, target: Store): Array<{ path: string; db: Store }> {
  const unique = [...new Set(paths.map((p) => resolve(p)))];
  return unique.map((path) => ({ path, db: path === intoPath ? target : openStore(path, { mustExist: true }) }));
}

/** Writes the merged run (rows, statistics, skipped items, status) into the target in one transaction. */
function writeMergedRun(target: Store, shards: ShardRun[]): MergeStoresResult {
  const first = shards[0]!.run;
  const shapes = layerShapesOf(first.analysedLayers);
  const state = createPassState(shapes, first.topK);
  for (const shard of shards) mergePassStates(state, loadPassState(shard.db, shard.run.runId, shapes, first.topK));
  const totals = {
    position: shards.reduce((sum, s) => sum + s.run.position, 0),
    imagesProcessed: shards.reduce((sum, s) => sum + s.run.imagesProcessed, 0),
    imagesSkipped: shards.reduce((sum, s) => sum + s.run.imagesSkipped, 0),
  };
  const skipped = shards.flatMap((s) => listSkippedItems(s.db, s.run.runId));
  const runId = makeRunId(TOP_ACTIVATIONS_KIND, new Date(), `${first.model}-${first.split}-merged${first.shardCount}-${first.passKey.slice(0, 6)}`);
  const { passKey, shardCount, run } = first;
  const identity: PassIdentity = {
    weights: first.weights, checkpointPath: first.checkpointPath, checkpointSha256: first.checkpointSha256, model: first.model,
    modelConfig: first.modelConfig, datasetRoot: first.datasetRoot, imageRoot: first.imageRoot, datasetFingerprint: first.datasetFingerprint,
    split: first.split, preprocessing: first.preprocessing, layers: first.layers, topK: first.topK,
  };
  target.transaction(() => {
    insertTopActivationRun(target, {
      ...identity, runId, passKey, shardIndex: 0, shardCount: 1, imagesTotal: shards.reduce((sum, s) => sum + s.run.imagesTotal, 0),
      backend: run.backend, backendInfo: run.backendInfo, options: { mergedShards: shardCount }, analysedLayers: first.analysedLayers,
      mergedFrom: shards.map((s) => ({ store: s.path, runId: s.run.runId, shard: `${s.run.shardIndex}/${shardCount}` })),
    });
    createCommitWriter(target)(runId, state, totals, skipped);
    setRunStatus(target, runId, 'finished');
  })();
  return { runId, status: 'merged', shardCount, imagesProcessed: totals.imagesProcessed, imagesSkipped: totals.imagesSkipped };
}

/**
 * Merges the shards found in `sources` into `into`.
 * @throws UsageError naming the stores and the differing field when the runs are not shards of one pass,
 *   or naming the unfinished, duplicated or missing shards.
 */
export function mergeStores(options: MergeStoresOptions): MergeStoresResult {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (options.sources.length === 0) throw new UsageError('Give at least one store to merge');
  const intoPath = resolve(options.into);
  const target = openStore(intoPath);
  const stores = openStores(options.sources, intoPath, target);
  try {
    const shards = collectShards(stores);
    const first = shards[0]!.run;
    const backends = new Set(shards.map((s) => s.run.run.backend));
    if (backends.size > 1) log(`warning: the shards ran on different backends (${[...backends].join(', ')}); values may differ in the last bits from a one-backend pass`);
    const previous = listTopActivationRuns(target, { passKey: first.passKey }).filter((r) => r.mergedFrom !== null);
    for (const old of previous) {
      if (!options.force) {
        log(`${intoPath} already holds the merge of this pass: run ${old.runId}; nothing to do. Add --force to merge again.`);
        return { runId: old.runId, status: 'already-merged', shardCount: first.shardCount, imagesProcessed: old.imagesProcessed, imagesSkipped: old.imagesSkipped };
      }
      deleteTopActivationRun(target, old.runId);
    }
    // Every shard's index is compared with the target's (and the first one copied when the target has none): shards of another tree are refused.
    for (const path of [...new Set(shards.map((s) => s.path))].filter((p) => p !== intoPath)) copySplitIndex(target, path, first.datasetRoot, first.split);
    // The shards' mean images travel too, so later commands on the merged store find the mean the shards subtracted.
    const means = [...new Set(shards.map((s) => s.path))].filter((p) => p !== intoPath).reduce((n, p) => n + copyMeanImages(target, p, first.datasetRoot), 0);
    if (means > 0) log(`copied ${means} mean image${means > 1 ? 's' : ''} of ${first.datasetRoot} into ${intoPath}`);
    const result = writeMergedRun(target, shards);
    log(`merged ${shards.length} shards of ${first.model} ${first.split} into run ${result.runId} of ${intoPath}: ${result.imagesProcessed} images, ${result.imagesSkipped} skipped`);
    return result;
  } finally {
    for (const store of stores) if (store.db !== target) store.db.close();
    target.close();
  }
}
