/**
 * Top-activations passes in the store (db/003-top-activations.sql): the run
 * record with the pass's identity and position, the per-unit top-k and the
 * per-unit statistics. A commit writes heaps, statistics, position and the
 * skipped items of the committed range in one transaction, so the store
 * always holds a state that a resumed pass completes to the exact answer.
 */
import { listAnalysedLayers, type AnalysedLayer } from '../graph/analysed-layers.js';
import { lowerModelConfig } from '../graph/lower-model-config.js';
import { isImportedPassModel, type PassModelConfig } from '../topk/pass-identity.js';

export { isImportedPassModel, type ImportedPassModel, type PassModelConfig } from '../topk/pass-identity.js';
import { decodeExactSum, encodeExactSum } from '../topk/exact-sum.js';
import { createPassState, type LayerShape, type PassState } from '../topk/pass-state.js';
import { computeClassPurity, summarizeUnit } from '../topk/unit-stats.js';
import { clearDirty, listDirtyUnits, readUnitEntries, restoreEntry } from '../topk/unit-top-k.js';
import type { Store } from './open-store.js';
import { createRun, getRun, type RunRecord } from './runs.js';

export const TOP_ACTIVATIONS_KIND = 'top-activations';

/** The fields that make two passes (or two shards of one pass) the same computation. */
export interface PassIdentity {
  weights: string;
  checkpointPath: string | null;
  checkpointSha256: string | null;
  model: string;
  modelConfig: PassModelConfig;
  datasetRoot: string;
  imageRoot: string;
  datasetFingerprint: string;
  split: string;
  preprocessing: Record<string, unknown>;
  layers: number[];
  topK: number;
}

export interface MergedSource {
  store: string;
  runId: string;
  shard: string;
}

export interface TopActivationRun extends PassIdentity {
  runId: string;
  passKey: string;
  shardIndex: number;
  shardCount: number;
  imagesTotal: number;
  position: number;
  imagesProcessed: number;
  imagesSkipped: number;
  commits: number;
  mergedFrom: MergedSource[] | null;
  run: RunRecord;
  /** The analysed layers, in `layers` order, with names, map sizes and receptive fields. */
  analysedLayers: AnalysedLayer[];
}

export interface NewTopActivationRun extends PassIdentity {
  runId: string;
  passKey: string;
  shardIndex: number;
  shardCount: number;
  imagesTotal: number;
  backend: string | null;
  backendInfo: Record<string, unknown> | null;
  options: Record<string, unknown>;
  mergedFrom?: MergedSource[] | null;
  /** The analysed layers, one per entry of `layers`. */
  analysedLayers: readonly AnalysedLayer[];
}

/** Where a commit leaves the pass. */
export interface PassProgress {
  position: number;
  imagesProcessed: number;
  imagesSkipped: number;
}

export interface SkippedImage {
  path: string;
  stage: string;
  reason: string;
}

/** Creates the runs row (status running) and the pass row in one transaction. */
export function insertTopActivationRun(db: Store, run: NewTopActivationRun): TopActivationRun {
  db.transaction(() => {
    createRun(db, { id: run.runId, kind: TOP_ACTIVATIONS_KIND, model: run.model, backend: run.backend, backendInfo: run.backendInfo, options: run.options });
    db.prepare(`INSERT INTO top_activation_runs (run_id, pass_key, weights, checkpoint_path, checkpoint_sha256, model, model_config_json,
        dataset_root, image_root, dataset_fingerprint, split, preprocessing_json, layers, top_k, shard_index, shard_count, images_total, merged_from_json)
      VALUES (@runId, @passKey, @weights, @checkpointPath, @checkpointSha256, @model, @modelConfig, @datasetRoot, @imageRoot,
        @datasetFingerprint, @split, @preprocessing, @layers, @topK, @shardIndex, @shardCount, @imagesTotal, @mergedFrom)`).run({
      ...run,
      modelConfig: JSON.stringify(run.modelConfig),
      preprocessing: JSON.stringify(run.preprocessing),
      layers: run.layers.join(','),
      mergedFrom: run.mergedFrom ? JSON.stringify(run.mergedFrom) : null,
    });
    insertAnalysedLayers(db, run.runId, run.layers, run.analysedLayers);
  })();
  return getTopActivationRun(db, run.runId)!;
}

function insertAnalysedLayers(db: Store, runId: string, numbers: readonly number[], layers: readonly AnalysedLayer[]): void {
  if (layers.length !== numbers.length || layers.some((l, i) => l.number !== numbers[i])) {
    throw new RangeError(`Run ${runId}: analysed layers ${layers.map((l) => l.number).join(',')} do not match its layers ${numbers.join(',')}`);
  }
  const insert = db.prepare(`INSERT INTO top_activation_layers (run_id, layer, name, node, kind, units, map_height, map_width,
      field_rows_px, field_cols_px, jump_rows_px, jump_cols_px, offset_rows_px, offset_cols_px) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  for (const l of layers) {
    insert.run(runId, l.number, l.name, l.node, l.kind, l.units, l.mapHeight, l.mapWidth, ...l.receptiveFieldPx, ...l.jumpPx, ...l.offsetPx);
  }
}

interface LayerRow {
  layer: number; name: string; node: string; kind: AnalysedLayer['kind']; units: number; map_height: number; map_width: number;
  field_rows_px: number; field_cols_px: number; jump_rows_px: number; jump_cols_px: number; offset_rows_px: number; offset_cols_px: number;
}

/**
 * An imported model's layer aliases (`conv5` for AlexNet's `features.10`), from its record when it is
 * still the file the run analysed (records from before aliases were kept have none).
 */
function readImportedAliases(db: Store, config: PassModelConfig): Map<string, string[]> {
  if (!isImportedPassModel(config)) return new Map();
  const record = db.prepare('SELECT layers_json, model_sha256 FROM imported_models WHERE name = ?').get(config.imported.name) as { layers_json: string; model_sha256: string } | undefined;
  if (record === undefined || record.model_sha256 !== config.imported.modelSha256) return new Map();
  const layers = JSON.parse(record.layers_json) as Array<{ name: string; aliases?: string[] }>;
  return new Map(layers.map((l) => [l.name, l.aliases ?? []]));
}

/** The run's analysed layers; runs from before schema 21 (project conv layers only) get theirs from the config. */
function readAnalysedLayers(db: Store, runId: string, config: PassModelConfig, numbers: readonly number[]): AnalysedLayer[] {
  const rows = db.prepare('SELECT * FROM top_activation_layers WHERE run_id = ? ORDER BY layer').all(runId) as LayerRow[];
  if (rows.length === 0 && !isImportedPassModel(config)) {
    const all = listAnalysedLayers(lowerModelConfig(config), 'conv-index');
    return numbers.map((n) => all.find((l) => l.number === n)).filter((l): l is AnalysedLayer => l !== undefined);
  }
  const aliases = readImportedAliases(db, config);
  return rows.map((r) => ({
    number: r.layer, name: r.name, node: r.node, kind: r.kind, aliases: aliases.get(r.name) ?? [], units: r.units, mapHeight: r.map_height, mapWidth: r.map_width,
    receptiveFieldPx: [r.field_rows_px, r.field_cols_px], jumpPx: [r.jump_rows_px, r.jump_cols_px], offsetPx: [r.offset_rows_px, r.offset_cols_px],
  }));
}

interface PassRow {
  run_id: string; pass_key: string; weights: string; checkpoint_path: string | null; checkpoint_sha256: string | null;
  model: string; model_config_json: string; dataset_root: string; image_root: string; dataset_fingerprint: string;
  split: string; preprocessing_json: string; layers: string; top_k: number; shard_index: number; shard_count: number;
  images_total: number; position: number; images_processed: number; images_skipped: number; commits: number; merged_from_json: string | null;
}

function toRecord(db: Store, row: PassRow, run: RunRecord): TopActivationRun {
  const modelConfig = JSON.parse(row.model_config_json) as PassModelConfig;
  const layers = row.layers.split(',').map(Number);
  return {
    runId: row.run_id, passKey: row.pass_key, weights: row.weights, checkpointPath: row.checkpoint_path, checkpointSha256: row.checkpoint_sha256,
    model: row.model, modelConfig, datasetRoot: row.dataset_root, imageRoot: row.image_root,
    datasetFingerprint: row.dataset_fingerprint, split: row.split, preprocessing: JSON.parse(row.preprocessing_json) as Record<string, unknown>,
    layers, topK: row.top_k, shardIndex: row.shard_index, shardCount: row.shard_count,
    imagesTotal: row.images_total, position: row.position, imagesProcessed: row.images_processed, imagesSkipped: row.images_skipped,
    commits: row.commits, mergedFrom: row.merged_from_json ? (JSON.parse(row.merged_from_json) as MergedSource[]) : null, run,
    analysedLayers: readAnalysedLayers(db, row.run_id, modelConfig, layers),
  };
}

/** The pass with this run id, or undefined. */
export function getTopActivationRun(db: Store, runId: string): TopActivationRun | undefined {
  const row = db.prepare('SELECT * FROM top_activation_runs WHERE run_id = ?').get(runId) as PassRow | undefined;
  return row === undefined ? undefined : toRecord(db, row, getRun(db, runId)!);
}

/** Every pass in the store, oldest first (optionally only those of one pass key and shard). */
export function listTopActivationRuns(db: Store, filter: { passKey?: string; shardIndex?: number; shardCount?: number } = {}): TopActivationRun[] {
  const rows = db.prepare(`SELECT t.* FROM top_activation_runs t JOIN runs r ON r.id = t.run_id
      WHERE (@passKey IS NULL OR t.pass_key = @passKey) AND (@shardIndex IS NULL OR t.shard_index = @shardIndex)
        AND (@shardCount IS NULL OR t.shard_count = @shardCount)
      ORDER BY r.started_at, t.run_id`).all({ passKey: filter.passKey ?? null, shardIndex: filter.shardIndex ?? null, shardCount: filter.shardCount ?? null }) as PassRow[];
  return rows.map((row) => toRecord(db, row, getRun(db, row.run_id)!));
}

/** Deletes a run and everything keyed by it (heaps, statistics, skipped items). */
export function deleteTopActivationRun(db: Store, runId: string): void {
  db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
}

export type CommitWriter = (runId: string, state: PassState, progress: PassProgress, skipped: readonly SkippedImage[]) => void;

/**
 * Returns the commit function (statements prepared once). A commit rewrites
 * the top-k rows of the units that changed since the last commit, every
 * unit's statistics, the position and counters, and records the skipped
 * items, all in one transaction; then marks the heaps clean.
 */
export function createCommitWriter(db: Store): CommitWriter {
  const deleteTop = db.prepare('DELETE FROM top_activations WHERE run_id = ? AND layer = ? AND unit = ?');
  const insertTop = db.prepare('INSERT INTO top_activations (run_id, layer, unit, rank, image_id, value, y, x, label, rel_path, layer_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const upsertStats = db.prepare(`INSERT OR REPLACE INTO unit_stats (run_id, layer, unit, images_seen, firing_count, max_value, sum_max, sum_max_squared, sum_mean,
      mean_max, std_max, mean_activation, firing_rate, dead, top_label, class_purity, layer_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const updatePass = db.prepare('UPDATE top_activation_runs SET position = ?, images_processed = ?, images_skipped = ?, commits = commits + 1 WHERE run_id = ?');
  const touchRun = db.prepare('UPDATE runs SET updated_at = ? WHERE id = ?');
  const insertSkipped = db.prepare('INSERT INTO skipped_items (run_id, path, stage, reason, recorded_at) VALUES (?, ?, ?, ?, ?)');
  const commit = db.transaction((runId: string, state: PassState, progress: PassProgress, skipped: readonly SkippedImage[]) => {
    const nowIso = new Date().toISOString();
    for (const layer of state.layers) {
      for (const unit of listDirtyUnits(layer.topk)) {
        deleteTop.run(runId, layer.layer, unit);
        readUnitEntries(layer.topk, unit).forEach((e, rank) => insertTop.run(runId, layer.layer, unit, rank, e.imageId, e.value, e.y, e.x, e.label, e.path, layer.name));
      }
      for (let unit = 0; unit < layer.numUnits; unit++) {
        const s = summarizeUnit(layer.stats, unit);
        const purity = computeClassPurity(readUnitEntries(layer.topk, unit).map((e) => e.label));
        upsertStats.run(runId, layer.layer, unit, s.imagesSeen, s.firingCount, s.maxValue,
          encodeExactSum(layer.stats.sumMax[unit]!), encodeExactSum(layer.stats.sumMaxSquared[unit]!), encodeExactSum(layer.stats.sumMean[unit]!),
          s.meanMax, s.stdMax, s.meanActivation, s.firingRate, s.dead ? 1 : 0, purity.topLabel, purity.purity, layer.name);
      }
    }
    updatePass.run(progress.position, progress.imagesProcessed, progress.imagesSkipped, runId);
    touchRun.run(nowIso, runId);
    for (const item of skipped) insertSkipped.run(runId, item.path, item.stage, item.reason, nowIso);
  });
  return (runId, state, progress, skipped) => {
    commit(runId, state, progress, skipped);
    for (const layer of state.layers) clearDirty(layer.topk);
  };
}

interface TopRow { layer: number; unit: number; image_id: number; value: number; y: number; x: number; label: number; rel_path: string }
interface StatsRow { layer: number; unit: number; images_seen: number; firing_count: number; max_value: number | null; sum_max: Buffer; sum_max_squared: Buffer; sum_mean: Buffer }

/**
 * Rebuilds the committed in-memory state of a pass (heaps and exact
 * statistics), clean (nothing dirty).
 * @throws RangeError when a stored row names a layer or unit outside `shapes`.
 */
export function loadPassState(db: Store, runId: string, shapes: readonly LayerShape[], k: number): PassState {
  const state = createPassState(shapes, k);
  const byLayer = new Map(state.layers.map((l) => [l.layer, l]));
  const layerOf = (layer: number, unit: number) => {
    const found = byLayer.get(layer);
    if (found === undefined || unit < 0 || unit >= found.numUnits) throw new RangeError(`Run ${runId} has a stored row for layer ${layer} unit ${unit}, which its layers do not have`);
    return found;
  };
  const stats = db.prepare('SELECT layer, unit, images_seen, firing_count, max_value, sum_max, sum_max_squared, sum_mean FROM unit_stats WHERE run_id = ?').all(runId) as StatsRow[];
  for (const row of stats) {
    const layer = layerOf(row.layer, row.unit);
    layer.stats.imagesSeen = row.images_seen;
    layer.stats.firingCounts[row.unit] = row.firing_count;
    layer.stats.maxValues[row.unit] = row.max_value ?? -Infinity;
    layer.stats.sumMax[row.unit] = decodeExactSum(row.sum_max);
    layer.stats.sumMaxSquared[row.unit] = decodeExactSum(row.sum_max_squared);
    layer.stats.sumMean[row.unit] = decodeExactSum(row.sum_mean);
  }
  const top = db.prepare('SELECT layer, unit, image_id, value, y, x, label, rel_path FROM top_activations WHERE run_id = ? ORDER BY layer, unit, rank').all(runId) as TopRow[];
  for (const row of top) {
    restoreEntry(layerOf(row.layer, row.unit).topk, row.unit, { value: row.value, imageId: row.image_id, y: row.y, x: row.x, label: row.label, path: row.rel_path });
  }
  return state;
}

export const UNIT_SORT_KEYS = ['unit', 'firing-rate', 'mean', 'max', 'purity'] as const;
export type UnitSortKey = (typeof UNIT_SORT_KEYS)[number];

const SORT_SQL: Readonly<Record<UnitSortKey, string>> = {
  unit: 's.unit',
  'firing-rate': 's.firing_rate DESC, s.unit',
  mean: 's.mean_max DESC, s.unit',
  max: 's.max_value DESC, s.unit',
  purity: 's.class_purity DESC, s.unit',
};

export interface UnitRow {
  layer: number; unit: number; imagesSeen: number; firingCount: number; firingRate: number | null;
  meanMax: number | null; stdMax: number | null; meanActivation: number | null; maxValue: number | null;
  dead: boolean; topLabel: number | null;
  /** The top class's key (`n01440764`) and readable name, when the dataset index has them. */
  topClass: string | null; topClassName: string | null; classPurity: number | null;
}

/** Class key and name of a run's label, from the dataset index in this store (NULL when absent). */
const CLASS_JOIN = `LEFT JOIN datasets d ON d.root = p.dataset_root LEFT JOIN classes c ON c.dataset_id = d.id AND c.label = `;

/** The statistics rows of one layer of a run, sorted and filtered as `units` shows them. */
export function queryUnitRows(db: Store, runId: string, layer: number, options: { sort: UnitSortKey; deadOnly: boolean; limit: number | null }): UnitRow[] {
  const rows = db.prepare(`SELECT s.*, c.class_key, c.name AS class_name FROM unit_stats s JOIN top_activation_runs p ON p.run_id = s.run_id
      ${CLASS_JOIN} s.top_label WHERE s.run_id = ? AND s.layer = ? ${options.deadOnly ? 'AND s.dead = 1' : ''}
      ORDER BY ${SORT_SQL[options.sort]} LIMIT ?`).all(runId, layer, options.limit ?? -1) as Array<Record<string, number | string | null>>;
  return rows.map((r) => ({
    layer: r['layer'] as number, unit: r['unit'] as number, imagesSeen: r['images_seen'] as number, firingCount: r['firing_count'] as number,
    firingRate: r['firing_rate'] as number | null, meanMax: r['mean_max'] as number | null, stdMax: r['std_max'] as number | null,
    meanActivation: r['mean_activation'] as number | null, maxValue: r['max_value'] as number | null, dead: r['dead'] === 1,
    topLabel: r['top_label'] as number | null, topClass: r['class_key'] as string | null, topClassName: r['class_name'] as string | null,
    classPurity: r['class_purity'] as number | null,
  }));
}

export interface TopRowView {
  layer: number; unit: number; rank: number; imageId: number; value: number; y: number; x: number;
  label: number; classKey: string | null; className: string | null; path: string;
}

/** The top-k entries of one unit (or every unit of the layer), in unit then rank order. */
export function queryTopRows(db: Store, runId: string, layer: number, unit: number | null): TopRowView[] {
  const rows = db.prepare(`SELECT t.*, p.image_root, c.class_key, c.name AS class_name FROM top_activations t
      JOIN top_activation_runs p ON p.run_id = t.run_id ${CLASS_JOIN} t.label
      WHERE t.run_id = ? AND t.layer = ? AND (? IS NULL OR t.unit = ?) ORDER BY t.unit, t.rank`).all(runId, layer, unit, unit) as Array<Record<string, number | string | null>>;
  return rows.map((r) => ({
    layer: r['layer'] as number, unit: r['unit'] as number, rank: r['rank'] as number, imageId: r['image_id'] as number,
    value: r['value'] as number, y: r['y'] as number, x: r['x'] as number, label: r['label'] as number,
    classKey: r['class_key'] as string | null, className: r['class_name'] as string | null,
    path: `${r['image_root'] as string}/${r['rel_path'] as string}`,
  }));
}

/** How many units a run has statistics for, and how many of them never fired. */
export function countDeadUnits(db: Store, runId: string): { total: number; dead: number } {
  return db.prepare('SELECT COUNT(*) AS total, COALESCE(SUM(dead), 0) AS dead FROM unit_stats WHERE run_id = ?').get(runId) as { total: number; dead: number };
}
