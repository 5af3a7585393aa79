/**
 * Mean images in the store (table mean_images): a running sum saved while a
 * `mean` pass is in progress (so an interrupted pass resumes), then the
 * float32 mean.
 */
import type { Store } from '../store/open-store.js';
import { createFallbackMean, type MeanImage } from './mean-image.js';

/** A pass's saved state: images of the split's sorted order consumed, images summed, the sum. */
export interface MeanProgress {
  position: number;
  imageCount: number;
  sum: Float64Array;
}

const toBlob = (a: Float32Array | Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const toF64 = (b: Buffer): Float64Array => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const toF32 = (b: Buffer): Float32Array => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/** The partial pass saved for (dataset, split, size), or undefined (none, or already complete). */
export function readMeanProgress(db: Store, datasetId: number, split: string, sizePx: number): MeanProgress | undefined {
  const row = db.prepare("SELECT position, image_count, sum_f64 FROM mean_images WHERE dataset_id = ? AND split = ? AND size_px = ? AND status = 'partial'")
    .get(datasetId, split, sizePx) as { position: number; image_count: number; sum_f64: Buffer } | undefined;
  return row === undefined ? undefined : { position: row.position, imageCount: row.image_count, sum: toF64(row.sum_f64) };
}

/** Saves a partial pass (replacing any earlier state for the same key). */
export function saveMeanProgress(db: Store, datasetId: number, split: string, sizePx: number, progress: MeanProgress): void {
  db.prepare(`INSERT OR REPLACE INTO mean_images (dataset_id, split, size_px, status, position, image_count, sum_f64, mean_f32, updated_at)
              VALUES (?, ?, ?, 'partial', ?, ?, ?, NULL, ?)`)
    .run(datasetId, split, sizePx, progress.position, progress.imageCount, toBlob(progress.sum), new Date().toISOString());
}

/** Saves a finished mean image. */
export function saveMeanImage(db: Store, datasetId: number, split: string, sizePx: number, position: number, imageCount: number, mean: Float32Array): void {
  db.prepare(`INSERT OR REPLACE INTO mean_images (dataset_id, split, size_px, status, position, image_count, sum_f64, mean_f32, updated_at)
              VALUES (?, ?, ?, 'complete', ?, ?, NULL, ?, ?)`)
    .run(datasetId, split, sizePx, position, imageCount, toBlob(mean), new Date().toISOString());
}

/**
 * The mean image for a dataset at square size `sizePx`: the one computed over
 * `train` if present, else over another split, else the fallback
 * (IMAGENET_MEAN_RGB as a constant image, `source: 'fallback'`) so callers
 * can say which they use.
 */
export function loadMeanImage(db: Store, datasetId: number, sizePx: number): MeanImage {
  const row = db.prepare(`SELECT split, image_count, mean_f32 FROM mean_images
                          WHERE dataset_id = ? AND size_px = ? AND status = 'complete'
                          ORDER BY CASE split WHEN 'train' THEN 0 ELSE 1 END, split LIMIT 1`)
    .get(datasetId, sizePx) as { split: string; image_count: number; mean_f32: Buffer } | undefined;
  if (row === undefined) return createFallbackMean(sizePx);
  return { pixels: toF32(row.mean_f32), sizePx, source: 'computed', imageCount: row.image_count, split: row.split };
}

/** How a complete mean was built: images of the split's order consumed, images averaged (the difference was skipped). */
export interface StoredMeanCounts {
  position: number;
  imageCount: number;
  skipped: number;
}

/** The counts of the complete mean of (dataset, split, size), or undefined when there is none. */
export function readStoredMeanCounts(db: Store, datasetId: number, split: string, sizePx: number): StoredMeanCounts | undefined {
  const row = db.prepare("SELECT position, image_count FROM mean_images WHERE dataset_id = ? AND split = ? AND size_px = ? AND status = 'complete'")
    .get(datasetId, split, sizePx) as { position: number; image_count: number } | undefined;
  return row === undefined ? undefined : { position: row.position, imageCount: row.image_count, skipped: row.position - row.image_count };
}

/** Deletes the means (complete and partial) of a split, e.g. when its index is rebuilt from a changed tree. Returns how many. */
export function deleteSplitMeans(db: Store, datasetId: number, split: string): number {
  return db.prepare('DELETE FROM mean_images WHERE dataset_id = ? AND split = ?').run(datasetId, split).changes;
}
