/**
 * The explorer's read queries (run-pipeline serve), each prepared once per
 * store handle. They only read; the handle may be opened read-only. Every
 * query is keyed by a primary key or an index prefix (runs, unit_stats,
 * top_activations (run_id, layer, unit) and (run_id, image_id), images
 * (dataset_id, id)), so a page costs the same on a 50,000-image store as on
 * a tiny one; the unit table sorts at most one layer's units.
 */
import { computeSquareSizePx } from '../data/crop-geometry.js';
import type { ResampleMethod } from '../data/decode-image.js';
import type { AnalysedLayer } from '../graph/analysed-layers.js';
import type { Store } from './open-store.js';
import { getTopActivationRun, isImportedPassModel } from './top-activations-store.js';

export interface ServeRunRow {
  id: string; kind: string; status: string; model: string | null; backend: string | null;
  startedAt: string; updatedAt: string; finishedAt: string | null; heartbeatAt: string | null;
  /** Top-activations runs only (null otherwise). */
  checkpointPath: string | null; weights: string | null; datasetRoot: string | null; imageRoot: string | null; split: string | null;
  layers: number[]; topK: number | null; position: number | null; imagesTotal: number | null; imagesSkipped: number | null; shard: string | null;
  /** The analysed layers' own names by store number (empty for runs from before schema 21, whose layer k is conv k). */
  layerNames: ReadonlyMap<number, string>;
  modelConfigJson: string | null;
  /** Training runs: epochs recorded so far. */
  epochs: number | null;
}

export interface LayerSummary { layer: number; units: number; dead: number; meanFiringRate: number | null; meanPurity: number | null; maxValue: number | null }

export interface ServeUnitRow {
  layer: number; unit: number; imagesSeen: number; firingRate: number | null; meanMax: number | null; stdMax: number | null;
  meanActivation: number | null; maxValue: number | null; dead: boolean; topLabel: number | null; topClassKey: string | null;
  topClassName: string | null; classPurity: number | null;
}

export interface ServeTopEntry { rank: number; imageId: number; value: number; y: number; x: number; label: number; classKey: string | null; className: string | null; relPath: string }

export interface ServeClass { label: number; key: string; name: string }

export interface ServeImage { imageId: number; split: string; relPath: string; label: number | null; classKey: string | null; className: string | null; datasetId: number; imageRoot: string }

export interface ImageTopEntry { layer: number; unit: number; rank: number; value: number }

export interface SameUnitRow { runId: string; status: string; startedAt: string; checkpointPath: string | null; weights: string; split: string; stats: ServeUnitRow | null; topImageId: number | null }

export const UNIT_TABLE_SORTS = ['unit', 'firing-rate', 'mean', 'max', 'purity', 'dead', 'top-class'] as const;
export type UnitTableSort = (typeof UNIT_TABLE_SORTS)[number];

const SORT_COLUMNS: Readonly<Record<UnitTableSort, string>> = Object.freeze({
  unit: 's.unit', 'firing-rate': 's.firing_rate', mean: 's.mean_max', max: 's.max_value', purity: 's.class_purity', dead: 's.dead', 'top-class': 'c.name',
});

export interface UnitTableQuery {
  sort: UnitTableSort;
  descending: boolean;
  /** true: dead units only; false: live units only; null: both. */
  dead: boolean | null;
  topLabel: number | null;
  minFiringRate: number | null;
  maxFiringRate: number | null;
  minPurity: number | null;
  offset: number;
  limit: number;
}

type Row = Record<string, unknown>;

const RUN_SELECT = `SELECT r.id, r.kind, r.status, r.model, r.backend, r.started_at, r.updated_at, r.finished_at, r.heartbeat_at,
    p.checkpoint_path, p.weights, p.dataset_root, p.image_root, p.split, p.layers, p.top_k, p.position, p.images_total, p.images_skipped,
    p.shard_index, p.shard_count, p.model_config_json,
    (SELECT COUNT(*) FROM train_epochs e WHERE e.run_id = r.id) AS epochs,
    (SELECT json_group_object(l.layer, l.name) FROM top_activation_layers l WHERE l.run_id = r.id) AS layer_names
  FROM runs r LEFT JOIN top_activation_runs p ON p.run_id = r.id`;

/** Class names of a top-activations run: its dataset in this store, joined on the label. */
const CLASS_OF = (label: string) => `LEFT JOIN datasets d ON d.root = p.dataset_root LEFT JOIN classes c ON c.dataset_id = d.id AND c.label = ${label}`;

const UNIT_FILTER = `s.run_id = @runId AND s.layer = @layer AND (@dead IS NULL OR s.dead = @dead) AND (@topLabel IS NULL OR s.top_label = @topLabel)
  AND (@minRate IS NULL OR s.firing_rate >= @minRate) AND (@maxRate IS NULL OR s.firing_rate <= @maxRate) AND (@minPurity IS NULL OR s.class_purity >= @minPurity)`;
const UNIT_FROM = `FROM unit_stats s JOIN top_activation_runs p ON p.run_id = s.run_id ${CLASS_OF('s.top_label')}`;
const UNIT_COLUMNS = 's.layer, s.unit, s.images_seen, s.firing_rate, s.mean_max, s.std_max, s.mean_activation, s.max_value, s.dead, s.top_label, s.class_purity, c.class_key, c.name';

function toRun(r: Row): ServeRunRow {
  const n = (k: string) => r[k] as number | null;
  const s = (k: string) => r[k] as string | null;
  return {
    id: r['id'] as string, kind: r['kind'] as string, status: r['status'] as string, model: s('model'), backend: s('backend'),
    startedAt: r['started_at'] as string, updatedAt: r['updated_at'] as string, finishedAt: s('finished_at'), heartbeatAt: s('heartbeat_at'),
    checkpointPath: s('checkpoint_path'), weights: s('weights'), datasetRoot: s('dataset_root'), imageRoot: s('image_root'), split: s('split'),
    layers: r['layers'] === null ? [] : String(r['layers']).split(',').filter((v) => v !== '').map(Number), topK: n('top_k'),
    position: n('position'), imagesTotal: n('images_total'), imagesSkipped: n('images_skipped'),
    shard: r['shard_count'] === null || r['shard_count'] === 1 ? null : `${String(r['shard_index'])}/${String(r['shard_count'])}`,
    layerNames: new Map(Object.entries(JSON.parse((r['layer_names'] as string | null) ?? '{}') as Record<string, string>).map(([k, v]) => [Number(k), v])),
    modelConfigJson: s('model_config_json'), epochs: r['kind'] === 'train' ? n('epochs') : null,
  };
}

function toUnit(r: Row): ServeUnitRow {
  const n = (k: string) => r[k] as number | null;
  return {
    layer: r['layer'] as number, unit: r['unit'] as number, imagesSeen: r['images_seen'] as number, firingRate: n('firing_rate'),
    meanMax: n('mean_max'), stdMax: n('std_max'), meanActivation: n('mean_activation'), maxValue: n('max_value'), dead: r['dead'] === 1,
    topLabel: n('top_label'), topClassKey: r['class_key'] as string | null, topClassName: r['name'] as string | null, classPurity: n('class_purity'),
  };
}

/** What a run's pictures need: the input crop (shorter side to squarePx with `resample`, centre inputSizePx) and each analysed layer's field. */
export interface RunLayout {
  inputSizePx: number;
  squarePx: number;
  resample: ResampleMethod;
  /** By store layer number. */
  layers: ReadonlyMap<number, AnalysedLayer>;
}

/** Runs and their layers. */
function createRunQueries(db: Store) {
  const runs = db.prepare(`${RUN_SELECT} ORDER BY r.started_at DESC, r.id`);
  const run = db.prepare(`${RUN_SELECT} WHERE r.id = ?`);
  const layers = db.prepare(`SELECT layer, COUNT(*) AS units, SUM(dead) AS dead, AVG(firing_rate) AS rate, AVG(class_purity) AS purity, MAX(max_value) AS max
    FROM unit_stats WHERE run_id = ? GROUP BY layer ORDER BY layer`);
  const layerUnits = db.prepare('SELECT COUNT(*) FROM unit_stats WHERE run_id = ? AND layer = ?').pluck();
  // A run's layers and input are fixed when it is created: read once per run.
  const layouts = new Map<string, RunLayout>();
  const readLayout = (runId: string): RunLayout | undefined => {
    const pass = getTopActivationRun(db, runId);
    if (pass === undefined) return undefined;
    const preprocessing = pass.preprocessing as { resizePx?: number; resample?: ResampleMethod };
    // Runs from before --resample resized with sharp, as the project's own models do.
    const input = isImportedPassModel(pass.modelConfig)
      ? { inputSizePx: pass.modelConfig.imported.inputSizePx, squarePx: preprocessing.resizePx ?? computeSquareSizePx(pass.modelConfig.imported.inputSizePx), resample: preprocessing.resample ?? 'sharp-lanczos3' }
      : { inputSizePx: pass.modelConfig.inputSizePx, squarePx: computeSquareSizePx(pass.modelConfig.inputSizePx), resample: 'sharp-lanczos3' as const };
    return { ...input, layers: new Map(pass.analysedLayers.map((l) => [l.number, l])) };
  };
  return {
    listRuns: (): ServeRunRow[] => (runs.all() as Row[]).map(toRun),
    getRun: (runId: string): ServeRunRow | undefined => { const r = run.get(runId) as Row | undefined; return r === undefined ? undefined : toRun(r); },
    listLayers: (runId: string): LayerSummary[] => (layers.all(runId) as Row[]).map((r) => ({
      layer: r['layer'] as number, units: r['units'] as number, dead: r['dead'] as number,
      meanFiringRate: r['rate'] as number | null, meanPurity: r['purity'] as number | null, maxValue: r['max'] as number | null,
    })),
    /** The input crop and layer fields of a top-activations run (undefined when the store has no such run). */
    getRunLayout: (runId: string): RunLayout | undefined => {
      const layout = layouts.get(runId) ?? readLayout(runId);
      if (layout !== undefined) layouts.set(runId, layout);
      return layout;
    },
    /** Units of a layer with statistics (0 when the layer has none). */
    countLayerUnits: (runId: string, layer: number): number => layerUnits.get(runId, layer) as number,
  };
}

/** The unit table (one statement per sort order, prepared on first use) and the classes of a layer's units. */
function createUnitTableQueries(db: Store) {
  const unitCount = db.prepare(`SELECT COUNT(*) ${UNIT_FROM} WHERE ${UNIT_FILTER}`).pluck();
  const unitPages = new Map<string, ReturnType<Store['prepare']>>();
  const unitPage = (sort: UnitTableSort, descending: boolean) => {
    const key = `${sort}:${descending}`;
    let statement = unitPages.get(key);
    if (statement === undefined) {
      // NULLs (never fired, unlabelled) go last in either direction; unit breaks ties.
      const column = SORT_COLUMNS[sort];
      statement = db.prepare(`SELECT ${UNIT_COLUMNS} ${UNIT_FROM} WHERE ${UNIT_FILTER}
        ORDER BY ${column} IS NULL, ${column} ${descending ? 'DESC' : 'ASC'}, s.unit LIMIT @limit OFFSET @offset`);
      unitPages.set(key, statement);
    }
    return statement;
  };
  const layerClasses = db.prepare(`SELECT c.label, c.class_key AS key, c.name FROM top_activation_runs p JOIN datasets d ON d.root = p.dataset_root
    JOIN classes c ON c.dataset_id = d.id WHERE p.run_id = @runId
      AND c.label IN (SELECT DISTINCT s.top_label FROM unit_stats s WHERE s.run_id = @runId AND s.layer = @layer) ORDER BY c.name, c.label`);
  return {
    /** One page of a layer's unit table and the number of units the filter keeps. */
    queryUnitTable: (runId: string, layer: number, q: UnitTableQuery): { rows: ServeUnitRow[]; total: number } => {
      const params = {
        runId, layer, dead: q.dead === null ? null : q.dead ? 1 : 0, topLabel: q.topLabel,
        minRate: q.minFiringRate, maxRate: q.maxFiringRate, minPurity: q.minPurity,
      };
      const total = unitCount.get(params) as number;
      const rows = (unitPage(q.sort, q.descending).all({ ...params, limit: q.limit, offset: q.offset }) as Row[]).map(toUnit);
      return { rows, total };
    },
    /** The top classes a layer's units have (for the filter). */
    listLayerClasses: (runId: string, layer: number): ServeClass[] => layerClasses.all({ runId, layer }) as ServeClass[],
  };
}

/** One unit: its statistics, its top-k, and the same unit in the model's other runs. */
function createUnitQueries(db: Store) {
  const unit = db.prepare(`SELECT ${UNIT_COLUMNS} ${UNIT_FROM} WHERE s.run_id = ? AND s.layer = ? AND s.unit = ?`);
  const top = db.prepare(`SELECT t.rank, t.image_id, t.value, t.y, t.x, t.label, t.rel_path, c.class_key, c.name FROM top_activations t
    JOIN top_activation_runs p ON p.run_id = t.run_id ${CLASS_OF('t.label')} WHERE t.run_id = ? AND t.layer = ? AND t.unit = ? ORDER BY t.rank`);
  const sameUnit = db.prepare(`SELECT p.run_id, r.status, r.started_at, p.checkpoint_path, p.weights, p.split, t.image_id AS top_image, ${UNIT_COLUMNS}
    FROM top_activation_runs p JOIN runs r ON r.id = p.run_id
    LEFT JOIN unit_stats s ON s.run_id = p.run_id AND s.layer = @layer AND s.unit = @unit
    LEFT JOIN top_activations t ON t.run_id = p.run_id AND t.layer = @layer AND t.unit = @unit AND t.rank = 0
    ${CLASS_OF('s.top_label')} WHERE p.model = @model ORDER BY r.started_at, p.run_id`);
  return {
    getUnit: (runId: string, layer: number, unitIndex: number): ServeUnitRow | undefined => {
      const r = unit.get(runId, layer, unitIndex) as Row | undefined;
      return r === undefined ? undefined : toUnit(r);
    },
    listTopEntries: (runId: string, layer: number, unitIndex: number): ServeTopEntry[] => (top.all(runId, layer, unitIndex) as Row[]).map((r) => ({
      rank: r['rank'] as number, imageId: r['image_id'] as number, value: r['value'] as number, y: r['y'] as number, x: r['x'] as number,
      label: r['label'] as number, classKey: r['class_key'] as string | null, className: r['name'] as string | null, relPath: r['rel_path'] as string,
    })),
    /** The same unit in every top-activations run of `model` (checkpoint epochs, other datasets), oldest first. */
    listSameUnit: (model: string, layer: number, unitIndex: number): SameUnitRow[] => (sameUnit.all({ model, layer, unit: unitIndex }) as Row[]).map((r) => ({
      runId: r['run_id'] as string, status: r['status'] as string, startedAt: r['started_at'] as string, checkpointPath: r['checkpoint_path'] as string | null,
      weights: r['weights'] as string, split: r['split'] as string, stats: r['unit'] === null ? null : toUnit(r), topImageId: r['top_image'] as number | null,
    })),
  };
}

/** Indexed images, their neighbours in the split, the units that keep them, and a dataset's classes. */
function createImageQueries(db: Store) {
  const image = db.prepare(`SELECT i.id, i.split, i.rel_path, i.label, c.class_key, c.name, d.id AS dataset_id, d.image_root FROM datasets d
    JOIN images i ON i.dataset_id = d.id AND i.id = ? LEFT JOIN classes c ON c.dataset_id = d.id AND c.label = i.label WHERE d.root = ?`);
  // Without ANALYZE statistics SQLite prefers the primary key's run_id prefix (a scan of the whole run): name the image index.
  const imageTop = db.prepare('SELECT layer, unit, rank, value FROM top_activations INDEXED BY top_activations_image WHERE run_id = ? AND image_id = ? ORDER BY layer, rank, unit');
  const imageNeighbours = db.prepare(`SELECT (SELECT MAX(i.id) FROM images i WHERE i.dataset_id = d.id AND i.split = @split AND i.id < @id) AS previous,
      (SELECT MIN(i.id) FROM images i WHERE i.dataset_id = d.id AND i.split = @split AND i.id > @id) AS next FROM datasets d WHERE d.root = @root`);
  const classes = db.prepare('SELECT c.label, c.class_key AS key, c.name FROM datasets d JOIN classes c ON c.dataset_id = d.id WHERE d.root = ? ORDER BY c.label');
  return {
    getImage: (datasetRoot: string, imageId: number): ServeImage | undefined => {
      const r = image.get(imageId, datasetRoot) as Row | undefined;
      return r === undefined ? undefined : {
        imageId: r['id'] as number, split: r['split'] as string, relPath: r['rel_path'] as string, label: r['label'] as number | null,
        classKey: r['class_key'] as string | null, className: r['name'] as string | null, datasetId: r['dataset_id'] as number, imageRoot: r['image_root'] as string,
      };
    },
    /** The previous and next image ids of the same split. */
    findImageNeighbours: (datasetRoot: string, split: string, imageId: number): { previous: number | null; next: number | null } =>
      (imageNeighbours.get({ root: datasetRoot, split, id: imageId }) as { previous: number | null; next: number | null } | undefined) ?? { previous: null, next: null },
    listImageTopEntries: (runId: string, imageId: number): ImageTopEntry[] => imageTop.all(runId, imageId) as ImageTopEntry[],
    listClasses: (datasetRoot: string): ServeClass[] => classes.all(datasetRoot) as ServeClass[],
  };
}

/** Binds the explorer's queries to a store handle (statements prepared here, once). */
export function createServeQueries(db: Store) {
  return { ...createRunQueries(db), ...createUnitTableQueries(db), ...createUnitQueries(db), ...createImageQueries(db) };
}

export type ServeQueries = ReturnType<typeof createServeQueries>;
