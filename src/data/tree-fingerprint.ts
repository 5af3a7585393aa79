/**
 * What a split's index was built from: its image files in index order
 * (class folder, then file name; the same listing indexing uses) with their
 * byte sizes, hashed. One readdir per folder and one stat per file, never a
 * read: at ImageNet size (1.28M files) this is the cost of `ls -lR`, and
 * the value is the same on every machine holding the same tree (no mtimes).
 * An edit that keeps a file's name and byte size is not seen.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { inspectSplit, listImageFiles } from './dataset-layout.js';

export interface SplitFingerprint {
  /** sha256 (hex) of "<relPath>\t<size>\n" per file in index order. */
  fingerprint: string;
  fileCount: number;
}

/** Relative ('/'-separated) paths of a split's image files, in index order. */
export function* listSplitFiles(imageRoot: string, split: string): Generator<string> {
  const layout = inspectSplit(imageRoot, split);
  const rel = (p: string): string => relative(imageRoot, p).split('\\').join('/');
  const folders = layout.layout === 'flat' ? [layout.dir] : layout.classFolders.map((f) => join(layout.dir, f));
  for (const dir of folders) for (const file of listImageFiles(dir)) yield rel(join(dir, file));
}

/**
 * Fingerprints the split as it is on disk now.
 * @throws UsageError naming the path when the split folder is missing or malformed; the fs error when a file vanishes mid-walk.
 */
export function computeSplitFingerprint(imageRoot: string, split: string): SplitFingerprint {
  const hash = createHash('sha256');
  let fileCount = 0;
  for (const relPath of listSplitFiles(imageRoot, split)) {
    hash.update(`${relPath}\t${statSync(join(imageRoot, relPath)).size}\n`);
    fileCount++;
  }
  return { fingerprint: hash.digest('hex'), fileCount };
}

/**
 * The first difference between the indexed paths (in id order) and the tree's
 * files (in index order), in words; `sizes changed` when the names agree.
 */
export function describeTreeChange(indexed: Iterable<string>, onDisk: Iterable<string>, indexedCount: number, onDiskCount: number): string {
  const a = indexed[Symbol.iterator]();
  const b = onDisk[Symbol.iterator]();
  const counts = `${indexedCount} images indexed, ${onDiskCount} files now`;
  try {
    for (let position = 0; ; position++) {
      const x = a.next();
      const y = b.next();
      if (x.done === true && y.done === true) return `${counts}; same names, a file changed size`;
      if (x.done === true) return `${counts}; new file ${y.value}`;
      if (y.done === true) return `${counts}; ${x.value} is gone`;
      if (x.value !== y.value) return `${counts}; at position ${position} the index has ${x.value}, the tree ${y.value}`;
    }
  } finally {
    // Ends a database iterator left half read (its connection is busy until then).
    a.return?.();
    b.return?.();
  }
}
