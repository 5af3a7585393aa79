/**
 * What a resumed image experiment reads back (db/005-experiments.sql): the
 * unfinished run with the same recorded options, and the images it already
 * committed (one transaction per image), so a rerun continues after them and
 * its outputs cover every image as an uninterrupted run's would.
 */
import type { Store } from './open-store.js';

/**
 * The newest run of `kind` that is not finished and was started with exactly
 * these recorded options (JSON text as stored), or undefined.
 */
export function findUnfinishedRun(db: Store, kind: string, optionsJson: string): string | undefined {
  return db.prepare("SELECT id FROM runs WHERE kind = ? AND status != 'finished' AND options_json = ? ORDER BY started_at DESC, id DESC LIMIT 1")
    .pluck().get(kind, optionsJson) as string | undefined;
}

/** Deletes a run and (cascading) every row that belongs to it. */
export function deleteRun(db: Store, runId: string): void {
  db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
}

/** An occlusion image committed by an earlier process. */
export interface StoredOcclusionImage {
  unit: number;
  label: number | null;
  trueProb: number | null;
}

/** A stored occlusion cell, in the shape of OcclusionCell. */
export interface StoredOcclusionCell {
  placement: { row: number; col: number; rect: { xPx: number; yPx: number; widthPx: number; heightPx: number } };
  featureSum: number;
  trueProb: number | null;
  topClass: number;
  topProb: number;
}

/** The committed occlusion image `imageKey` of a run, or undefined when it is not done. */
export function readOcclusionImage(db: Store, runId: string, imageKey: string): StoredOcclusionImage | undefined {
  return db.prepare('SELECT unit, label, true_prob AS trueProb FROM occlusion_images WHERE run_id = ? AND image_key = ?').get(runId, imageKey) as StoredOcclusionImage | undefined;
}

/** The committed cells of one occlusion image, in sweep order (row, then column). */
export function readOcclusionCells(db: Store, runId: string, imageKey: string): StoredOcclusionCell[] {
  const rows = db.prepare(`SELECT row, col, x_px, y_px, width_px, height_px, feature_sum, true_prob, top_class, top_prob
      FROM occlusion_cells WHERE run_id = ? AND image_key = ? ORDER BY row, col`).all(runId, imageKey) as Array<Record<string, number | null>>;
  return rows.map((r) => ({
    placement: { row: r['row']!, col: r['col']!, rect: { xPx: r['x_px']!, yPx: r['y_px']!, widthPx: r['width_px']!, heightPx: r['height_px']! } },
    featureSum: r['feature_sum']!, trueProb: r['true_prob'] ?? null, topClass: r['top_class']!, topProb: r['top_prob']!,
  }));
}

/** A stored invariance measure of one transformed copy. */
export interface StoredInvarianceRow {
  kind: 'translate' | 'scale' | 'rotate';
  amount: number;
  layer1Distance: number;
  layer1Normalised: number;
  layer7Distance: number;
  layer7Normalised: number;
  trueProb: number | null;
  topClass: number;
}

/** The committed invariance rows of one image (empty when it is not done), in insertion order. */
export function readInvarianceRows(db: Store, runId: string, imageKey: string): StoredInvarianceRow[] {
  return db.prepare(`SELECT transform AS kind, amount, layer1_distance AS layer1Distance, layer1_normalised AS layer1Normalised,
      layer7_distance AS layer7Distance, layer7_normalised AS layer7Normalised, true_prob AS trueProb, top_class AS topClass
      FROM invariance_measures WHERE run_id = ? AND image_key = ? ORDER BY rowid`).all(runId, imageKey) as StoredInvarianceRow[];
}
