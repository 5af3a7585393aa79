/**
 * Writing the numbers behind the experiment figures (db/005-experiments.sql):
 * occlusion, invariance, correspondence and the conv1 filter statistics of
 * compare. Each write is one transaction; each statement is prepared once per
 * store (readers for resuming are in experiment-resume-store.ts).
 */
import type Database from 'better-sqlite3';
import type { Store } from './open-store.js';

/** Statements prepared on first use, once per store connection. */
function createStatementCache(sql: string): (db: Store) => Database.Statement {
  const cache = new WeakMap<Store, Database.Statement>();
  return (db) => {
    let statement = cache.get(db);
    if (statement === undefined) {
      statement = db.prepare(sql);
      cache.set(db, statement);
    }
    return statement;
  };
}

const insertOcclusionImageSql = createStatementCache(`INSERT INTO occlusion_images (run_id, image_key, image_id, path, label, layer, unit, unit_y, unit_x, unit_activation,
  unit_sum, true_prob, top_class, top_prob, size_px, stride_px, fill, rows, cols)
  VALUES (@runId, @imageKey, @imageId, @path, @label, @layer, @unit, @unitY, @unitX, @unitActivation, @unitSum, @trueProb, @topClass, @topProb, @sizePx, @stridePx, @fill, @rows, @cols)`);
const insertOcclusionCellSql = createStatementCache(`INSERT INTO occlusion_cells (run_id, image_key, row, col, x_px, y_px, width_px, height_px, feature_sum, true_prob, top_class, top_prob)
  VALUES (@runId, @imageKey, @row, @col, @xPx, @yPx, @widthPx, @heightPx, @featureSum, @trueProb, @topClass, @topProb)`);
const insertInvarianceSql = createStatementCache(`INSERT INTO invariance_measures (run_id, image_key, image_id, path, label, transform, amount, layer1_distance, layer1_normalised,
  layer7_distance, layer7_normalised, true_prob, top_class)
  VALUES (@runId, @imageKey, @imageId, @path, @label, @transform, @amount, @layer1Distance, @layer1Normalised, @layer7Distance, @layer7Normalised, @trueProb, @topClass)`);
const insertPairSql = createStatementCache('INSERT INTO correspondence_pairs (run_id, part, draw, layer, image_i, image_j, hamming) VALUES (?, ?, ?, ?, ?, ?, ?)');
const insertSummarySql = createStatementCache('INSERT INTO correspondence_summary (run_id, part, layer, delta_sum, delta_mean, delta_std, pairs) VALUES (?, ?, ?, ?, ?, ?, ?)');
const insertFilterStatsSql = createStatementCache(`INSERT INTO filter_stats (run_id, checkpoint, checkpoint_path, checkpoint_sha256, model, filter, rms, dead, band_low, band_mid, band_high)
  VALUES (@runId, @checkpoint, @checkpointPath, @checkpointSha256, @model, @filter, @rms, @dead, @bandLow, @bandMid, @bandHigh)`);

/** An occlusion image's summary row (occlusion_images, without run_id). */
export interface OcclusionImageRow {
  imageKey: string; imageId: number | null; path: string; label: number | null; layer: string;
  unit: number; unitY: number; unitX: number; unitActivation: number; unitSum: number;
  trueProb: number | null; topClass: number; topProb: number; sizePx: number; stridePx: number; fill: string; rows: number; cols: number;
}

/** One occluder position (occlusion_cells, without run_id and image_key). */
export interface OcclusionCellRow {
  row: number; col: number; xPx: number; yPx: number; widthPx: number; heightPx: number;
  featureSum: number; trueProb: number | null; topClass: number; topProb: number;
}

/** Writes one occlusion image and all its cells in one transaction. */
export function insertOcclusionImage(db: Store, runId: string, image: OcclusionImageRow, cells: readonly OcclusionCellRow[]): void {
  const insertImage = insertOcclusionImageSql(db);
  const insertCell = insertOcclusionCellSql(db);
  db.transaction(() => {
    insertImage.run({ runId, ...image });
    for (const cell of cells) insertCell.run({ runId, imageKey: image.imageKey, ...cell });
  })();
}

/** One transformed copy's measures (invariance_measures, without run_id). */
export interface InvarianceMeasureRow {
  imageKey: string; imageId: number | null; path: string; label: number | null; transform: 'translate' | 'scale' | 'rotate'; amount: number;
  layer1Distance: number; layer1Normalised: number; layer7Distance: number; layer7Normalised: number; trueProb: number | null; topClass: number;
}

/** Writes the measures of one image's copies in one transaction. */
export function insertInvarianceMeasures(db: Store, runId: string, rows: readonly InvarianceMeasureRow[]): void {
  const insert = insertInvarianceSql(db);
  db.transaction(() => { for (const row of rows) insert.run({ runId, ...row }); })();
}

/** Delta_l of one part and layer (correspondence_summary, without run_id). */
export interface CorrespondenceSummaryRecord {
  part: string; layer: string; deltaSum: number; deltaMean: number; deltaStd: number; pairs: number;
}

/** A pair's Hamming distance: [part, draw, layer, image_i, image_j, hamming]. */
export type CorrespondencePairRecord = [string, number, string, number, number, number];

/** Writes a correspondence run's pairs and summary in one transaction. */
export function insertCorrespondenceResults(db: Store, runId: string, summary: readonly CorrespondenceSummaryRecord[], pairs: readonly CorrespondencePairRecord[]): void {
  const insertPair = insertPairSql(db);
  const insertSummary = insertSummarySql(db);
  db.transaction(() => {
    for (const p of pairs) insertPair.run(runId, ...p);
    for (const s of summary) insertSummary.run(runId, s.part, s.layer, s.deltaSum, s.deltaMean, s.deltaStd, s.pairs);
  })();
}

/** One conv1 filter of one checkpoint (filter_stats, without run_id); dead as 0 or 1. */
export interface FilterStatsRow {
  checkpoint: string; checkpointPath: string; checkpointSha256: string; model: string; filter: number;
  rms: number; dead: 0 | 1; bandLow: number; bandMid: number; bandHigh: number;
}

/** Writes the filter statistics of a compare run in one transaction. */
export function insertFilterStats(db: Store, runId: string, rows: readonly FilterStatsRow[]): void {
  const insert = insertFilterStatsSql(db);
  db.transaction(() => { for (const row of rows) insert.run({ runId, ...row }); })();
}
