/**
 * The dataset index in the store (db/002-dataset.sql): datasets, classes,
 * splits and images with stable integer ids. Statements are prepared once
 * per accessor; writes go in transactions.
 */
import { join } from 'node:path';
import type { Store } from './open-store.js';
import { SPLIT_ID_STRIDE } from '../data/dataset-layout.js';
import type { ClassRecord, DatasetRecord, ImageRecord, SplitRecord } from '../data/dataset-records.js';

export type { ClassRecord, DatasetRecord, ImageRecord, SplitRecord } from '../data/dataset-records.js';

/** The first image id of a split (ids are contiguous: base .. base + imageCount - 1). */
export function computeSplitBaseId(ordinal: number): number {
  return ordinal * SPLIT_ID_STRIDE;
}

/** The dataset registered for this absolute root, with its classes, or undefined. */
export function findDataset(db: Store, root: string): DatasetRecord | undefined {
  const row = db.prepare('SELECT id, root, image_root, class_source FROM datasets WHERE root = ?').get(root) as
    { id: number; root: string; image_root: string; class_source: string } | undefined;
  if (row === undefined) return undefined;
  const classes = (db.prepare('SELECT label, class_key AS key, name FROM classes WHERE dataset_id = ? ORDER BY label').all(row.id)) as ClassRecord[];
  return { id: row.id, root: row.root, imageRoot: row.image_root, classSource: row.class_source, classes };
}

/** Registers a dataset and its classes in one transaction. */
export function insertDataset(db: Store, dataset: Omit<DatasetRecord, 'id'>): DatasetRecord {
  const insertClass = db.prepare('INSERT INTO classes (dataset_id, label, class_key, name) VALUES (?, ?, ?, ?)');
  const id = db.transaction(() => {
    const info = db.prepare('INSERT INTO datasets (root, image_root, class_source, created_at) VALUES (?, ?, ?, ?)')
      .run(dataset.root, dataset.imageRoot, dataset.classSource, new Date().toISOString());
    const datasetId = Number(info.lastInsertRowid);
    for (const c of dataset.classes) insertClass.run(datasetId, c.label, c.key, c.name);
    return datasetId;
  })();
  return { ...dataset, id };
}

interface SplitRow {
  dataset_id: number; split: string; ordinal: number; layout: 'folders' | 'flat'; label_source: string | null; status: 'indexing' | 'ready'; image_count: number;
  tree_fingerprint: string | null;
}

/** The split's index record, or undefined when it was never indexed. */
export function getSplit(db: Store, datasetId: number, split: string): SplitRecord | undefined {
  const row = db.prepare('SELECT * FROM dataset_splits WHERE dataset_id = ? AND split = ?').get(datasetId, split) as SplitRow | undefined;
  if (row === undefined) return undefined;
  return {
    datasetId: row.dataset_id, split: row.split, ordinal: row.ordinal, layout: row.layout, labelSource: row.label_source, status: row.status,
    imageCount: row.image_count, treeFingerprint: row.tree_fingerprint,
  };
}

/** Starts (or restarts from scratch) indexing a split: deletes its images and marks it `indexing`. */
export function beginSplitIndex(db: Store, split: Omit<SplitRecord, 'status' | 'imageCount' | 'treeFingerprint'>): void {
  db.transaction(() => {
    db.prepare('DELETE FROM images WHERE dataset_id = ? AND split = ?').run(split.datasetId, split.split);
    db.prepare(`INSERT INTO dataset_splits (dataset_id, split, ordinal, layout, label_source, status, image_count)
                VALUES (?, ?, ?, ?, ?, 'indexing', 0)
                ON CONFLICT (dataset_id, split) DO UPDATE SET ordinal = excluded.ordinal, layout = excluded.layout,
                  label_source = excluded.label_source, status = 'indexing', image_count = 0, indexed_at = NULL, tree_fingerprint = NULL`)
      .run(split.datasetId, split.split, split.ordinal, split.layout, split.labelSource);
  })();
}

/** Appends one group of images (next positions in sorted order) and its count, atomically. */
export function createSplitAppender(db: Store, datasetId: number, split: string, ordinal: number): (rows: Array<{ relPath: string; label: number | null }>) => number {
  const insert = db.prepare('INSERT INTO images (dataset_id, id, split, rel_path, label) VALUES (?, ?, ?, ?, ?)');
  const count = db.prepare('SELECT image_count FROM dataset_splits WHERE dataset_id = ? AND split = ?').pluck();
  const update = db.prepare('UPDATE dataset_splits SET image_count = ? WHERE dataset_id = ? AND split = ?');
  const base = computeSplitBaseId(ordinal);
  return db.transaction((rows: Array<{ relPath: string; label: number | null }>) => {
    const start = count.get(datasetId, split) as number;
    rows.forEach((r, i) => insert.run(datasetId, base + start + i, split, r.relPath, r.label));
    update.run(start + rows.length, datasetId, split);
    return start + rows.length;
  });
}

/** Marks a split's index complete, built from the tree of this fingerprint. */
export function finishSplitIndex(db: Store, datasetId: number, split: string, treeFingerprint: string): void {
  db.prepare("UPDATE dataset_splits SET status = 'ready', indexed_at = ?, tree_fingerprint = ? WHERE dataset_id = ? AND split = ?")
    .run(new Date().toISOString(), treeFingerprint, datasetId, split);
}

/** Records the fingerprint of a split indexed before fingerprints were kept (its file count was checked). */
export function adoptSplitFingerprint(db: Store, datasetId: number, split: string, treeFingerprint: string): void {
  db.prepare('UPDATE dataset_splits SET tree_fingerprint = ? WHERE dataset_id = ? AND split = ? AND tree_fingerprint IS NULL').run(treeFingerprint, datasetId, split);
}

/** The indexed relative paths of a split in id order, read lazily. */
export function* iterateIndexedPaths(db: Store, datasetId: number, split: string): Generator<string> {
  yield* db.prepare('SELECT rel_path FROM images WHERE dataset_id = ? AND split = ? ORDER BY id').pluck().iterate(datasetId, split) as IterableIterator<string>;
}

/**
 * Runs in the store that use a split's image ids (a top-activations pass
 * over it, a mean image of it, or any run whose recorded options name the
 * dataset root), newest first; 'mean image' stands for a stored mean.
 */
export function findSplitUsers(db: Store, dataset: Pick<DatasetRecord, 'id' | 'root'>, split: string): string[] {
  const passes = db.prepare('SELECT run_id FROM top_activation_runs WHERE dataset_root = ? AND split = ?').pluck().all(dataset.root, split) as string[];
  const quotedRoot = JSON.stringify(dataset.root).slice(1, -1); // as it appears inside options_json
  const named = db.prepare('SELECT id FROM runs WHERE instr(options_json, ?) > 0 ORDER BY started_at DESC').pluck().all(quotedRoot) as string[];
  const means = db.prepare('SELECT COUNT(*) FROM mean_images WHERE dataset_id = ? AND split = ?').pluck().get(dataset.id, split) as number;
  return [...new Set([...passes, ...named, ...(means > 0 ? ['mean image'] : [])])];
}

/** Returns a reader of image records by id (statement prepared once). Unknown ids are dropped. */
export function createImageReader(db: Store, dataset: Pick<DatasetRecord, 'id' | 'imageRoot'>): (ids: Iterable<number>) => ImageRecord[] {
  const get = db.prepare('SELECT id, rel_path, label FROM images WHERE dataset_id = ? AND id = ?');
  return (ids) => {
    const records: ImageRecord[] = [];
    for (const id of ids) {
      const row = get.get(dataset.id, id) as { id: number; rel_path: string; label: number | null } | undefined;
      if (row !== undefined) records.push({ imageId: row.id, label: row.label, relPath: row.rel_path, path: join(dataset.imageRoot, row.rel_path) });
    }
    return records;
  };
}
