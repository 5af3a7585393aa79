/**
 * The batches the image experiments send to the forward executor: copies of
 * one model input (occluded, transformed, masked), `batchSize` per batch,
 * each batch built only when the executor asks for it, so at most its
 * capacity of batches exists at once. Each batch owns a fresh pixel array (a
 * worker pool takes it). Pure.
 */

/** A batch of copies with the items they were made from. */
export interface CopyBatch<T> {
  /** [B, S, S, 3] */
  pixels: Float32Array;
  shape: [number, number, number, number];
  items: readonly T[];
}

/**
 * Batches of copies of `items`: `writeCopy(item, out, offset)` writes item's
 * [S, S, 3] copy into `out` at `offset`.
 */
export function* makeCopyBatches<T>(items: readonly T[], sizePx: number, batchSize: number, writeCopy: (item: T, out: Float32Array, offset: number) => void): Generator<CopyBatch<T>> {
  const perImage = sizePx * sizePx * 3;
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const pixels = new Float32Array(chunk.length * perImage);
    chunk.forEach((item, i) => writeCopy(item, pixels, i * perImage));
    yield { pixels, shape: [chunk.length, sizePx, sizePx, 3], items: chunk };
  }
}
