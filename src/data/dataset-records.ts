/**
 * The rows of the dataset index (db/002-dataset.sql) as plain records: what
 * the store's index (src/store/image-index.ts) reads and writes, and what the
 * input stages carry, without either importing the other.
 */

export interface ClassRecord {
  /** Logit index: position of the key in sorted key order. */
  label: number;
  /** WordNet id or folder name. */
  key: string;
  name: string;
}

export interface DatasetRecord {
  id: number;
  root: string;
  imageRoot: string;
  classSource: string;
  classes: ClassRecord[];
}

export interface SplitRecord {
  datasetId: number;
  split: string;
  ordinal: number;
  layout: 'folders' | 'flat';
  labelSource: string | null;
  status: 'indexing' | 'ready';
  imageCount: number;
  /** What the index was built from (src/data/tree-fingerprint.ts); null before it was recorded. */
  treeFingerprint: string | null;
}

/** One indexed image. `label` is null in an unlabelled split (e.g. ImageNet test). */
export interface ImageRecord {
  imageId: number;
  label: number | null;
  relPath: string;
  /** Absolute path. */
  path: string;
}
