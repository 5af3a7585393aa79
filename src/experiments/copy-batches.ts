/**
 * The batches the image experiments send to the forward executor: copies of
 * one model input (occluded, transformed, masked), `batchSize` per batch,
 * each batch built only when the executor asks for it, so at most its
 * capacity of batches exists at once. Each batch owns a fresh pixel array (a
 * worker pool takes it). Pure.
 */

/** A batch of copies with the items they were made from. */
export interface CopyBatch<T> {
  /** [B, S, S, 3], or [1 + B, S, S, 3] with a leading image */
  pixels: Float32Array;
  shape: [number, number, number, number];
  items: readonly T[];
}

/**
 * Batches of copies of `items`: `writeCopy(item, out, offset)` writes item's
 * [S, S, 3] copy into `out` at `offset`. With `leading` ([S, S, 3]), every
 * batch starts with that image, then its `batchSize` copies.
 */
export function* makeCopyBatches<T>(
  items: readonly T[], sizePx: number, batchSize: number,
  writeCopy: (item: T, out: Float32Array, offset: number) => void, leading?: Float32Array,
): Generator<CopyBatch<T>> {
  const perImage = sizePx * sizePx * 3;
  const first = leading === undefined ? 0 : 1;
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const pixels = new Float32Array((first + chunk.length) * perImage);
    if (leading !== undefined) pixels.set(leading);
    chunk.forEach((item, i) => writeCopy(item, pixels, (first + i) * perImage));
    yield { pixels, shape: [first + chunk.length, sizePx, sizePx, 3], items: chunk };
  }
}
