/**
 * Registers a dataset tree in the store and indexes its splits, once: later
 * runs reuse the index. Indexing walks the split in sorted order (class
 * folder, then file name), one folder (or 5,000 flat files) per transaction,
 * and resumes after an interruption from the last committed group.
 */
import { readFileSync, realpathSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UsageError } from '../errors.js';
import type { Store } from './open-store.js';
import {
  computeSplitOrdinal, findLabelFiles, inspectSplit, listImageFiles, listSubfolders, resolveImageRoot,
  type LabelFiles, type SplitLayout,
} from '../data/dataset-layout.js';
import {
  adoptSplitFingerprint, beginSplitIndex, createSplitAppender, findDataset, findSplitUsers, finishSplitIndex, getSplit, insertDataset, iterateIndexedPaths,
  type ClassRecord, type DatasetRecord, type SplitRecord,
} from './image-index.js';
import { deleteSplitMeans } from './mean-store.js';
import { computeSplitFingerprint, describeTreeChange, listSplitFiles } from '../data/tree-fingerprint.js';
import { parseGroundTruth, parseIdToWnid, parseSynsetNames, parseValImageNumber, parseValSolutionCsv, stripExtension } from '../data/label-files.js';

const FLAT_GROUP_SIZE = 5000;

export interface OpenDatasetOptions {
  /** Dataset root (--data). */
  root: string;
  /** Splits to make sure are indexed. */
  splits: string[];
  /** Called after each committed group with the split and images indexed so far. */
  onIndexProgress?: (split: string, indexed: number) => void;
  /** Re-index a changed split even when runs in the store use its image ids (run-pipeline index --reindex). */
  reindex?: boolean;
  /** Told when a ready split's tree changed and it is indexed again. */
  onReindex?: (message: string) => void;
}

export interface OpenDatasetResult {
  dataset: DatasetRecord;
  splits: Record<string, SplitRecord>;
}

/**
 * Finds or registers the dataset at `root` and indexes the requested splits.
 * A split indexed before is checked against the tree (checkSplitIndex).
 * @throws UsageError naming the path for a missing root or split, an empty
 *   folder, a flat split without labels, or labels naming unknown classes;
 *   naming the change and the runs for a changed tree that runs still use.
 */
export function openDataset(db: Store, options: OpenDatasetOptions): OpenDatasetResult {
  if (!existsSync(options.root)) throw new UsageError(`Dataset folder ${options.root} does not exist`);
  const root = realpathSync(options.root);
  const dataset = findDataset(db, root) ?? insertDataset(db, resolveClasses(root));
  const splits: Record<string, SplitRecord> = {};
  for (const split of options.splits) {
    const existing = getSplit(db, dataset.id, split);
    const checked = existing?.status === 'ready' ? checkSplitIndex(db, dataset, existing, options) : undefined;
    splits[split] = checked ?? indexSplit(db, dataset, split, existing?.status === 'ready' ? undefined : existing, options.onIndexProgress);
  }
  return { dataset, splits };
}

/**
 * A ready split whose tree is unchanged (or, indexed before fingerprints
 * were kept, still has as many files: adopted), or undefined when it must
 * be indexed again: the tree changed and no run uses its ids (or --reindex);
 * its stored means are deleted then, being of the old tree.
 * @throws UsageError naming the change and the runs that use the split.
 */
function checkSplitIndex(db: Store, dataset: DatasetRecord, split: SplitRecord, options: OpenDatasetOptions): SplitRecord | undefined {
  const now = computeSplitFingerprint(dataset.imageRoot, split.split);
  if (split.treeFingerprint === now.fingerprint) return split;
  if (split.treeFingerprint === null && now.fileCount === split.imageCount) {
    adoptSplitFingerprint(db, dataset.id, split.split, now.fingerprint);
    return { ...split, treeFingerprint: now.fingerprint };
  }
  const change = describeTreeChange(iterateIndexedPaths(db, dataset.id, split.split), listSplitFiles(dataset.imageRoot, split.split), split.imageCount, now.fileCount);
  const where = `The ${split.split} split of ${dataset.root} changed since it was indexed (${change})`;
  const users = findSplitUsers(db, dataset, split.split);
  if (users.length > 0 && options.reindex !== true) {
    const named = users.slice(0, 3).join(', ') + (users.length > 3 ? ` and ${users.length - 3} more` : '');
    throw new UsageError(`${where}, and this store has work on its image ids (${named}): resuming or merging it would mix the two trees. `
      + `Restore the tree, use another --db, or re-index with \`run-pipeline index --data ${dataset.root} --split ${split.split} --reindex\` (that work then names images of the old tree).`);
  }
  const means = deleteSplitMeans(db, dataset.id, split.split);
  options.onReindex?.(`${where}: indexing it again${users.length > 0 ? ' (--reindex)' : ' (no run in this store uses its image ids)'}${means > 0 ? `; deleted its ${means} stored mean images` : ''}`);
  return undefined;
}

/** Decides the class list: LOC_synset_mapping.txt, else train's folders, else the first foldered split, else the id-to-wnid export. */
function resolveClasses(root: string): Omit<DatasetRecord, 'id'> {
  const imageRoot = resolveImageRoot(root);
  const files = findLabelFiles(root);
  const mapping = files.synsetMapping ? parseSynsetNames(readFileSync(files.synsetMapping, 'utf8'), files.synsetMapping) : undefined;
  let keys: string[];
  let classSource: string;
  if (mapping !== undefined) {
    keys = [...mapping.keys()];
    classSource = files.synsetMapping!;
  } else {
    const splitNames = existsSync(imageRoot) ? listSubfolders(imageRoot) : [];
    const folderSplit = ['train', ...splitNames].find((s) => existsSync(join(imageRoot, s)) && listSubfolders(join(imageRoot, s)).length > 0);
    if (folderSplit !== undefined) {
      classSource = join(imageRoot, folderSplit);
      keys = listSubfolders(classSource);
    } else if (files.idToWnid !== undefined) {
      classSource = files.idToWnid;
      keys = [...parseIdToWnid(readFileSync(classSource, 'utf8'), classSource).values()];
    } else {
      throw new UsageError(`Cannot tell the classes of ${root}: no LOC_synset_mapping.txt, no split with class folders and no id-to-wnid list (meta.txt)`);
    }
  }
  const words = files.words ? parseSynsetNames(readFileSync(files.words, 'utf8'), files.words) : undefined;
  const classes: ClassRecord[] = [...new Set(keys)].sort().map((key, label) => ({ label, key, name: mapping?.get(key) ?? words?.get(key) ?? key }));
  return { root, imageRoot, classSource, classes };
}

type LabelOf = (fileName: string, classFolder: string | null) => number | null;

/** Builds the label lookup of a split and names its source. */
function createLabelResolver(layout: SplitLayout, files: LabelFiles, dataset: DatasetRecord): { labelOf: LabelOf; source: string | null } {
  const labels = new Map(dataset.classes.map((c) => [c.key, c.label]));
  const toLabel = (key: string, where: string, source: string): number => {
    const label = labels.get(key);
    if (label === undefined) throw new UsageError(`${where}: class ${key} (from ${source}) is not one of the ${labels.size} classes from ${dataset.classSource}`);
    return label;
  };
  if (layout.layout === 'folders') {
    return { source: 'folders', labelOf: (_f, folder) => toLabel(folder!, join(layout.dir, folder!), 'folder name') };
  }
  if (files.valSolution !== undefined) {
    const csv = files.valSolution;
    const table = parseValSolutionCsv(readFileSync(csv, 'utf8'), csv);
    return {
      source: 'LOC_val_solution.csv',
      labelOf: (fileName) => {
        const key = table.get(stripExtension(fileName));
        if (key === undefined) throw new UsageError(`No label for ${join(layout.dir, fileName)} in ${csv}`);
        return toLabel(key, join(layout.dir, fileName), csv);
      },
    };
  }
  if (files.groundTruth !== undefined && files.idToWnid !== undefined) {
    const truth = parseGroundTruth(readFileSync(files.groundTruth, 'utf8'), files.groundTruth);
    const idToWnid = parseIdToWnid(readFileSync(files.idToWnid, 'utf8'), files.idToWnid);
    return {
      source: 'ILSVRC2012_validation_ground_truth.txt',
      labelOf: (fileName) => {
        const n = parseValImageNumber(fileName);
        const wnid = n === null ? undefined : idToWnid.get(truth[n - 1] ?? -1);
        if (wnid === undefined) throw new UsageError(`No label for ${join(layout.dir, fileName)} in ${files.groundTruth} with ${files.idToWnid}`);
        return toLabel(wnid, join(layout.dir, fileName), files.idToWnid!);
      },
    };
  }
  if (layout.split === 'test') return { source: null, labelOf: () => null };
  throw new UsageError(`${layout.dir} is a flat folder of images but no labels were found in ${dataset.root}: add LOC_val_solution.csv, or ILSVRC2012_validation_ground_truth.txt with a meta.txt id-to-wnid list, or sort the images into <class>/ folders`);
}

/** Groups of (relPath, label) in sorted order: one per class folder, or FLAT_GROUP_SIZE flat files. */
function* listSplitGroups(layout: SplitLayout, imageRoot: string, labelOf: LabelOf): Generator<Array<{ relPath: string; label: number | null }>> {
  const rel = (p: string): string => relative(imageRoot, p).split('\\').join('/');
  if (layout.layout === 'flat') {
    const files = listImageFiles(layout.dir);
    for (let i = 0; i < files.length; i += FLAT_GROUP_SIZE) {
      yield files.slice(i, i + FLAT_GROUP_SIZE).map((f) => ({ relPath: rel(join(layout.dir, f)), label: labelOf(f, null) }));
    }
    return;
  }
  for (const folder of layout.classFolders) {
    const dir = join(layout.dir, folder);
    const files = listImageFiles(dir);
    if (files.length === 0) throw new UsageError(`No images in ${dir} (expected jpg, jpeg, png or webp files)`);
    yield files.map((f) => ({ relPath: rel(join(dir, f)), label: labelOf(f, folder) }));
  }
}

/** Indexes (or resumes indexing) one split. */
function indexSplit(db: Store, dataset: DatasetRecord, split: string, existing: SplitRecord | undefined, onProgress?: (split: string, n: number) => void): SplitRecord {
  const layout = inspectSplit(dataset.imageRoot, split);
  const { labelOf, source } = createLabelResolver(layout, findLabelFiles(dataset.root), dataset);
  const ordinal = computeSplitOrdinal(split, listSubfolders(dataset.imageRoot));
  const resumable = existing !== undefined && existing.ordinal === ordinal && existing.layout === layout.layout;
  if (!resumable) beginSplitIndex(db, { datasetId: dataset.id, split, ordinal, layout: layout.layout, labelSource: source });
  let committed = resumable ? existing.imageCount : 0;
  let seen = 0;
  const append = createSplitAppender(db, dataset.id, split, ordinal);
  for (const group of listSplitGroups(layout, dataset.imageRoot, labelOf)) {
    seen += group.length;
    if (seen <= committed) continue;
    if (seen - group.length < committed) {
      // The tree changed since the interrupted run: group boundaries no longer line up, start over.
      return indexSplit(db, dataset, split, undefined, onProgress);
    }
    committed = append(group);
    onProgress?.(split, committed);
  }
  const built = computeSplitFingerprint(dataset.imageRoot, split);
  // The tree changed while it was being indexed: start over rather than record a fingerprint of another tree.
  if (built.fileCount !== committed) return indexSplit(db, dataset, split, undefined, onProgress);
  finishSplitIndex(db, dataset.id, split, built.fingerprint);
  return getSplit(db, dataset.id, split)!;
}
