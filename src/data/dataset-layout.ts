/**
 * Reading a dataset tree on disk: where the split folders are, whether a
 * split is class-per-folder or flat, which label files exist. Listing is one
 * folder at a time (a 1.28M-image train split is never held in memory whole),
 * in a fixed sorted order so image ids do not depend on the file system.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

/** Image files the input stages read: jpg, jpeg, png, webp in any case. */
export const IMAGE_FILE_RE = /\.(jpe?g|png|webp)$/i;

/** Fixed split ordinals; the image id is ordinal * SPLIT_ID_STRIDE + position in the split. */
export const KNOWN_SPLIT_ORDINALS: Readonly<Record<string, number>> = Object.freeze({ train: 1, val: 2, test: 3 });
export const SPLIT_ID_STRIDE = 100_000_000;

/** Label and class-name files found next to the images (absolute paths). */
export interface LabelFiles {
  synsetMapping?: string;
  words?: string;
  valSolution?: string;
  groundTruth?: string;
  idToWnid?: string;
}

const LABEL_FILE_NAMES: Readonly<Record<keyof LabelFiles, readonly string[]>> = {
  synsetMapping: ['LOC_synset_mapping.txt'],
  words: ['words.txt'],
  valSolution: ['LOC_val_solution.csv'],
  groundTruth: ['ILSVRC2012_validation_ground_truth.txt'],
  idToWnid: ['meta.txt', 'ILSVRC2012_id_to_wnid.txt', 'synsets.txt'],
};

/** Folders searched for label files, relative to the dataset root. */
const LABEL_DIRS = ['.', 'devkit/data', 'ILSVRC2012_devkit_t12/data', 'data'];

/** Finds the label files under `root` (first match per kind in LABEL_DIRS order). */
export function findLabelFiles(root: string): LabelFiles {
  const found: LabelFiles = {};
  for (const [kind, names] of Object.entries(LABEL_FILE_NAMES) as Array<[keyof LabelFiles, readonly string[]]>) {
    for (const dir of LABEL_DIRS) {
      const hit = names.map((n) => join(root, dir, n)).find((p) => existsSync(p));
      if (hit !== undefined) { found[kind] = hit; break; }
    }
  }
  return found;
}

/** The folder holding the split folders: `root/ILSVRC/Data/CLS-LOC` in the Kaggle download, else `root`. */
export function resolveImageRoot(root: string): string {
  const kaggle = join(root, 'ILSVRC', 'Data', 'CLS-LOC');
  return existsSync(kaggle) ? kaggle : root;
}

/** Sorted names of the sub-folders of `dir`. */
export function listSubfolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && statSync(join(dir, e.name)).isDirectory()))
    .map((e) => e.name)
    .filter((n) => !n.startsWith('.'))
    .sort();
}

/** Sorted names of the image files directly in `dir` (other files are ignored). */
export function listImageFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.isDirectory() && IMAGE_FILE_RE.test(e.name) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** The id prefix of a split: 1 train, 2 val, 3 test, 10 + k for the k-th other split name (sorted). */
export function computeSplitOrdinal(split: string, allSplits: readonly string[]): number {
  const known = KNOWN_SPLIT_ORDINALS[split];
  if (known !== undefined) return known;
  const others = allSplits.filter((s) => KNOWN_SPLIT_ORDINALS[s] === undefined).sort();
  const k = others.indexOf(split);
  if (k < 0) throw new RangeError(`Split ${split} is not among ${allSplits.join(', ')}`);
  return 10 + k;
}

export interface SplitLayout {
  split: string;
  dir: string;
  layout: 'folders' | 'flat';
  /** Class folders (sorted) for `folders`, else []. */
  classFolders: string[];
}

/**
 * Decides how a split is laid out.
 * @throws UsageError naming the path when the split is missing, empty, or mixes images and class folders.
 */
export function inspectSplit(imageRoot: string, split: string): SplitLayout {
  const dir = join(imageRoot, split);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    const available = existsSync(imageRoot) ? listSubfolders(imageRoot) : [];
    throw new UsageError(`Split "${split}" not found: ${dir} does not exist (splits in ${imageRoot}: ${available.join(', ') || 'none'})`);
  }
  const classFolders = listSubfolders(dir);
  const hasImages = listImageFiles(dir).length > 0;
  if (classFolders.length > 0 && hasImages) {
    throw new UsageError(`${dir} mixes image files and class folders; expected either <class>/<image> or a flat folder of images`);
  }
  if (classFolders.length === 0 && !hasImages) throw new UsageError(`No images in ${dir} (expected jpg, jpeg, png or webp files or class folders)`);
  return { split, dir, layout: hasImages ? 'flat' : 'folders', classFolders };
}
