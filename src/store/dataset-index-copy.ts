/**
 * Copying a split's dataset index between stores (merge): the dataset, its
 * classes, the split record with its tree fingerprint, and the images.
 */
import { UsageError } from '../errors.js';
import type { Store } from './open-store.js';

/**
 * Copies the index of `split` of dataset `root` from the store at `sourcePath`
 * into `target`, unless the target already indexed it from the same tree.
 * @throws UsageError when the source has no index of the root, or when both
 *   stores indexed the split from trees with different fingerprints (shards of different trees).
 */
export function copySplitIndex(target: Store, sourcePath: string, root: string, split: string): void {
  target.prepare('ATTACH DATABASE ? AS src').run(sourcePath);
  try {
    target.transaction(() => {
      const fingerprintOf = (schema: 'main' | 'src'): { id: number; tree: string | null } | undefined => target.prepare(`SELECT d.id, s.tree_fingerprint AS tree FROM ${schema}.datasets d
          JOIN ${schema}.dataset_splits s ON s.dataset_id = d.id WHERE d.root = ? AND s.split = ? AND s.status = 'ready'`).get(root, split) as { id: number; tree: string | null } | undefined;
      const source = fingerprintOf('src');
      const existing = fingerprintOf('main');
      if (existing !== undefined) {
        if (source !== undefined && existing.tree !== null && source.tree !== null && existing.tree !== source.tree) {
          throw new UsageError(`${sourcePath} indexed the ${split} split of ${root} from another tree (fingerprint ${source.tree.slice(0, 16)}, the target's ${existing.tree.slice(0, 16)}): its image ids name other files; index the same tree on every machine`);
        }
        return;
      }
      const sourceId = target.prepare('SELECT id FROM src.datasets WHERE root = ?').pluck().get(root) as number | undefined;
      if (sourceId === undefined) throw new UsageError(`${sourcePath} has no dataset index for ${root}`);
      let targetId = target.prepare('SELECT id FROM datasets WHERE root = ?').pluck().get(root) as number | undefined;
      if (targetId === undefined) {
        targetId = Number(target.prepare('INSERT INTO datasets (root, image_root, class_source, created_at) SELECT root, image_root, class_source, created_at FROM src.datasets WHERE id = ?').run(sourceId).lastInsertRowid);
        target.prepare('INSERT INTO classes (dataset_id, label, class_key, name) SELECT ?, label, class_key, name FROM src.classes WHERE dataset_id = ?').run(targetId, sourceId);
      }
      target.prepare('DELETE FROM images WHERE dataset_id = ? AND split = ?').run(targetId, split);
      target.prepare('DELETE FROM dataset_splits WHERE dataset_id = ? AND split = ?').run(targetId, split);
      target.prepare(`INSERT INTO dataset_splits (dataset_id, split, ordinal, layout, label_source, status, image_count, indexed_at, tree_fingerprint)
          SELECT ?, split, ordinal, layout, label_source, status, image_count, indexed_at, tree_fingerprint FROM src.dataset_splits WHERE dataset_id = ? AND split = ?`).run(targetId, sourceId, split);
      target.prepare('INSERT INTO images (dataset_id, id, split, rel_path, label) SELECT ?, id, split, rel_path, label FROM src.images WHERE dataset_id = ? AND split = ?').run(targetId, sourceId, split);
    })();
  } finally {
    target.prepare('DETACH DATABASE src').run();
  }
}
