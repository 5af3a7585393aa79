/**
 * Batch stage: groups augmented images into ImageBatch objects of
 * `batchSize` images (the last may be smaller). `joinBatch` and `splitBatch`
 * are inverse pure functions. Uses highland's batch + map only (no flatMap
 * after batch: highland issue #693 deadlocks there).
 */
import type { AugmentedItem, ImageBatch } from './stage-items.js';

/**
 * Joins images into one batch; an image with k crops becomes k consecutive rows.
 * @throws RangeError when the items are empty or differ in crop size or crop count.
 */
export function joinBatch(items: readonly AugmentedItem[]): ImageBatch {
  if (items.length === 0) throw new RangeError('Cannot make a batch of 0 images');
  const { cropPx, cropCount } = items[0]!;
  const rowFloats = cropPx * cropPx * 3;
  const rows = items.length * cropCount;
  const pixels = new Float32Array(rows * rowFloats); // [N, S, S, 3]
  const batch: ImageBatch = { imageIds: [], labels: [], paths: [], pixels, shape: [rows, cropPx, cropPx, 3], cropsPerImage: cropCount };
  items.forEach((item, i) => {
    if (item.cropPx !== cropPx || item.cropCount !== cropCount) {
      throw new RangeError(`Image ${item.record.path} has ${item.cropCount} crops of ${item.cropPx} px, the batch ${cropCount} of ${cropPx} px`);
    }
    pixels.set(item.crops, i * cropCount * rowFloats);
    for (let k = 0; k < cropCount; k++) {
      batch.imageIds.push(item.record.imageId);
      batch.labels.push(item.record.label ?? -1);
      batch.paths.push(item.record.path);
    }
  });
  return batch;
}

/** Splits a batch back into its images' crops (inverse of joinBatch, up to the record's relPath). */
export function splitBatch(batch: ImageBatch): Array<{ imageId: number; label: number; path: string; crops: Float32Array }> {
  const [rows, s] = batch.shape;
  const k = batch.cropsPerImage;
  const rowFloats = s * s * 3;
  const out: Array<{ imageId: number; label: number; path: string; crops: Float32Array }> = [];
  for (let r = 0; r < rows; r += k) {
    out.push({ imageId: batch.imageIds[r]!, label: batch.labels[r]!, path: batch.paths[r]!, crops: batch.pixels.slice(r * rowFloats, (r + k) * rowFloats) });
  }
  return out;
}

/** Creates the batch transform. */
export function createBatchStage(options: { batchSize: number }): (source: Highland.Stream<AugmentedItem>) => Highland.Stream<ImageBatch> {
  return (source) => source.batch(options.batchSize).map((items) => joinBatch(items));
}
