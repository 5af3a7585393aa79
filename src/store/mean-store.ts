/**
 * Mean images in the store (table mean_images): a running sum saved while a
 * `mean` pass is in progress (so an interrupted pass resumes), then the
 * float32 mean.
 */
import type { Store } from './open-store.js';
import { ARCHITECTURES, buildModelConfig } from '../model/architectures.js';
import type { ModelConfig } from '../model/spec.js';
import { computeSquareSizePx } from '../data/crop-geometry.js';
import { createFallbackMean, describeMean, hashMeanPixels, type MeanImage } from '../data/mean-image.js';

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
  const row = db.prepare(`SELECT m.split, m.image_count, m.position, m.mean_f32, d.root FROM mean_images m JOIN datasets d ON d.id = m.dataset_id
                          WHERE m.dataset_id = ? AND m.size_px = ? AND m.status = 'complete'
                          ORDER BY CASE m.split WHEN 'train' THEN 0 ELSE 1 END, m.split LIMIT 1`)
    .get(datasetId, sizePx) as { split: string; image_count: number; position: number; mean_f32: Buffer; root: string } | undefined;
  if (row === undefined) return createFallbackMean(sizePx);
  const pixels = toF32(row.mean_f32);
  return {
    pixels, sizePx, source: 'computed', imageCount: row.image_count, split: row.split, dataset: row.root,
    skipped: row.position - row.image_count, sha256: hashMeanPixels(pixels), origin: 'store',
  };
}

/** Every complete mean image of the dataset `root` in the store, with its hash. */
export function listStoredMeans(db: Store, root: string): Array<MeanImage & { split: string }> {
  const rows = db.prepare(`SELECT m.split, m.size_px, m.image_count, m.position, m.mean_f32 FROM mean_images m JOIN datasets d ON d.id = m.dataset_id
                           WHERE d.root = ? AND m.status = 'complete' ORDER BY m.size_px, m.split`)
    .all(root) as Array<{ split: string; size_px: number; image_count: number; position: number; mean_f32: Buffer }>;
  return rows.map((row) => {
    const pixels = toF32(row.mean_f32);
    return { pixels, sizePx: row.size_px, source: 'computed' as const, imageCount: row.image_count, split: row.split, dataset: root, skipped: row.position - row.image_count, sha256: hashMeanPixels(pixels), origin: 'store' as const };
  });
}

/**
 * Copies the complete mean images of dataset `root` from the store at
 * `sourcePath` into the target's dataset of the same root (merge), which must
 * be indexed there already. A mean the target already has for that split and
 * size is kept. Returns how many were copied.
 */
export function copyMeanImages(target: Store, sourcePath: string, root: string): number {
  target.prepare('ATTACH DATABASE ? AS mean_src').run(sourcePath);
  try {
    return copyAttachedMeans(target, root);
  } finally {
    target.prepare('DETACH DATABASE mean_src').run();
  }
}

function copyAttachedMeans(target: Store, root: string): number {
  return target.prepare(`INSERT OR IGNORE INTO mean_images (dataset_id, split, size_px, status, position, image_count, sum_f64, mean_f32, updated_at)
      SELECT t.id, m.split, m.size_px, m.status, m.position, m.image_count, NULL, m.mean_f32, m.updated_at
      FROM mean_src.mean_images m JOIN mean_src.datasets s ON s.id = m.dataset_id JOIN main.datasets t ON t.root = s.root
      WHERE s.root = ? AND m.status = 'complete'`).run(root).changes;
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

/** The command that computes the mean a model of this config needs (its own input size, not the default model's). */
export function formatMeanHint(config: ModelConfig): string {
  const sizeFlag = ARCHITECTURES[config.name] !== undefined && buildModelConfig(config.name).inputSizePx === config.inputSizePx
    ? `--model ${config.name}` : `--size-px ${config.inputSizePx}`;
  return `run-pipeline mean --split train ${sizeFlag}`;
}

export interface ResolvedMean {
  mean: MeanImage;
  /** One line saying which mean is used and why. */
  line: string;
}

/**
 * The mean a command subtracts: the checkpoint's own first; for a checkpoint
 * without one (written before means travelled with checkpoints) or fresh
 * weights, the store's mean of the dataset at the model's square size, else
 * the constant fallback. `checkpoint` is null for fresh weights.
 */
export function resolveMeanImage(db: Store, datasetId: number, config: ModelConfig, checkpoint: { mean: MeanImage | null } | null): ResolvedMean {
  if (checkpoint?.mean) return { mean: checkpoint.mean, line: describeMean(checkpoint.mean) };
  const mean = loadMeanImage(db, datasetId, computeSquareSizePx(config.inputSizePx));
  const why = checkpoint === null ? '' : ' (the checkpoint carries none: written before checkpoints held their mean image)';
  const hint = mean.source === 'fallback' ? `; \`${formatMeanHint(config)}\` computes the dataset's` : '';
  return { mean, line: `${describeMean(mean)}${why}${hint}` };
}
