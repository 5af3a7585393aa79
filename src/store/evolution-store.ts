/**
 * Feature-evolution passes in the store (db/010-evolution-progress.sql and
 * evolution_entries of db/005): each kept epoch's pass commits its position
 * and the strongest activation per chosen unit so far, then its entries.
 * Statements are prepared once per store object; each write is one transaction.
 */
import type { StrongestActivation } from '../topk/strongest-tracker.js';
import type { SkippedItem } from '../stages/stage-items.js';
import { stringifyCanonical } from '../topk/pass-identity.js';
import type { Store } from './open-store.js';
import { listRuns, type RunRecord } from './runs.js';

/** Strongest activations per conv layer name (conv1..conv5), in tracking order. */
export type StrongestByLayer = Map<string, StrongestActivation[]>;

/** A pass's committed state. */
export interface EvolutionPass {
  runId: string;
  epoch: number;
  checkpointSha256: string;
  status: 'running' | 'finished';
  imagesTotal: number;
  position: number;
  imagesProcessed: number;
  imagesSkipped: number;
  commits: number;
  best: StrongestByLayer;
}

/** What a commit writes (commits and status are the store's). */
export type EvolutionPassProgress = Omit<EvolutionPass, 'status' | 'commits'>;

/** One stored entry: a unit's strongest activation in one epoch. */
export interface EvolutionEntry {
  epoch: number;
  layer: string;
  unit: number;
  imageId: number;
  activation: number;
  y: number;
  x: number;
}

export interface EvolutionStore {
  getPass(runId: string, epoch: number): EvolutionPass | undefined;
  /** Writes the position, counters and state, and records the skipped items, in one transaction. */
  commitPass(progress: EvolutionPassProgress, skipped: readonly SkippedItem[]): void;
  /** commitPass, plus the epoch's entries (the units that saw an image) and status finished, in one transaction. */
  finishPass(progress: EvolutionPassProgress, skipped: readonly SkippedItem[]): void;
  /** The entries of one epoch, by layer then unit. */
  listEntries(runId: string, epoch: number): EvolutionEntry[];
}

interface PassRow {
  run_id: string; epoch: number; checkpoint_sha256: string; status: 'running' | 'finished'; images_total: number; position: number;
  images_processed: number; images_skipped: number; commits: number; best_json: string;
}

/** JSON has no -Infinity: an empty slot's value is stored as null. */
function encodeBest(best: StrongestByLayer): string {
  return JSON.stringify(Object.fromEntries([...best].map(([layer, list]) => [layer, list.map((t) => ({ ...t, value: t.imageId < 0 ? null : t.value }))])));
}

function decodeBest(json: string): StrongestByLayer {
  const parsed = JSON.parse(json) as Record<string, Array<Omit<StrongestActivation, 'value'> & { value: number | null }>>;
  return new Map(Object.entries(parsed).map(([layer, list]) => [layer, list.map((t) => ({ ...t, value: t.value ?? -Infinity }))]));
}

/** The store's evolution accessors. */
export function createEvolutionStore(db: Store): EvolutionStore {
  const selectPass = db.prepare('SELECT * FROM evolution_passes WHERE run_id = ? AND epoch = ?');
  const upsertPass = db.prepare(`INSERT INTO evolution_passes (run_id, epoch, checkpoint_sha256, status, images_total, position, images_processed, images_skipped, commits, best_json, updated_at)
      VALUES (@runId, @epoch, @checkpointSha256, @status, @imagesTotal, @position, @imagesProcessed, @imagesSkipped, 1, @best, @now)
      ON CONFLICT (run_id, epoch) DO UPDATE SET status = excluded.status, position = excluded.position, images_processed = excluded.images_processed,
        images_skipped = excluded.images_skipped, commits = commits + 1, best_json = excluded.best_json, updated_at = excluded.updated_at`);
  const touchRun = db.prepare('UPDATE runs SET updated_at = ? WHERE id = ?');
  const insertSkipped = db.prepare('INSERT INTO skipped_items (run_id, path, stage, reason, recorded_at) VALUES (?, ?, ?, ?, ?)');
  const insertEntry = db.prepare('INSERT INTO evolution_entries (run_id, epoch, checkpoint_sha256, layer, unit, image_id, activation, y, x) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const selectEntries = db.prepare('SELECT epoch, layer, unit, image_id AS imageId, activation, y, x FROM evolution_entries WHERE run_id = ? AND epoch = ? ORDER BY layer, unit');
  const write = (progress: EvolutionPassProgress, skipped: readonly SkippedItem[], status: 'running' | 'finished'): void => {
    const now = new Date().toISOString();
    upsertPass.run({
      runId: progress.runId, epoch: progress.epoch, checkpointSha256: progress.checkpointSha256, status, imagesTotal: progress.imagesTotal,
      position: progress.position, imagesProcessed: progress.imagesProcessed, imagesSkipped: progress.imagesSkipped, best: encodeBest(progress.best), now,
    });
    touchRun.run(now, progress.runId);
    for (const item of skipped) insertSkipped.run(progress.runId, item.path, item.stage, item.reason, now);
  };
  const commit = db.transaction((progress: EvolutionPassProgress, skipped: readonly SkippedItem[]) => write(progress, skipped, 'running'));
  const finish = db.transaction((progress: EvolutionPassProgress, skipped: readonly SkippedItem[]) => {
    write(progress, skipped, 'finished');
    for (const [layer, list] of progress.best) {
      for (const t of list) if (t.imageId >= 0) insertEntry.run(progress.runId, progress.epoch, progress.checkpointSha256, layer, t.unit, t.imageId, t.value, t.y, t.x);
    }
  });
  return {
    getPass(runId, epoch) {
      const row = selectPass.get(runId, epoch) as PassRow | undefined;
      if (row === undefined) return undefined;
      return {
        runId: row.run_id, epoch: row.epoch, checkpointSha256: row.checkpoint_sha256, status: row.status, imagesTotal: row.images_total, position: row.position,
        imagesProcessed: row.images_processed, imagesSkipped: row.images_skipped, commits: row.commits, best: decodeBest(row.best_json),
      };
    },
    commitPass: (progress, skipped) => commit(progress, skipped),
    finishPass: (progress, skipped) => finish(progress, skipped),
    listEntries: (runId, epoch) => selectEntries.all(runId, epoch) as EvolutionEntry[],
  };
}

/**
 * The newest evolution run that is not finished and whose recorded options
 * hold every field of `identity` with the same value (compared as canonical
 * JSON; other recorded fields, such as the epoch plan, are not compared), or undefined.
 */
export function findUnfinishedEvolutionRun(db: Store, identity: Record<string, unknown>): RunRecord | undefined {
  const matches = (run: RunRecord): boolean => Object.entries(identity).every(([key, value]) => stringifyCanonical(run.options[key] ?? null) === stringifyCanonical(value ?? null));
  return listRuns(db, 'evolution').find((run) => run.status !== 'finished' && matches(run));
}
