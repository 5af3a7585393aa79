/**
 * The per-pixel mean image the paper subtracts (pure maths). It is computed
 * over the R x R squares of a split (`run-pipeline mean`); until then the
 * fallback is the ImageNet per-channel RGB mean as a constant image.
 */

import { createHash } from 'node:crypto';

/** ImageNet training-set per-channel RGB means (0..255), the documented fallback. */
export const IMAGENET_MEAN_RGB: readonly [number, number, number] = [123.68, 116.78, 103.94];

/** What a mean image is: computed over a split, or the constant fallback. */
export type MeanSource = 'computed' | 'fallback';

/** Where this process took it from: the checkpoint's own, the store's, or the built-in constant. */
export type MeanOrigin = 'checkpoint' | 'store' | 'constant';

export interface MeanImage {
  /** [sizePx, sizePx, 3] float32, 0..255 scale */
  pixels: Float32Array;
  sizePx: number;
  source: MeanSource;
  /** Images averaged (0 for the fallback). */
  imageCount: number;
  /** Split it was computed over (null for the fallback). */
  split: string | null;
  /** Dataset root it was computed over (null for the fallback, or unknown). */
  dataset: string | null;
  /** Bad images the computing pass skipped. */
  skipped: number;
  /** sha256 (hex) of the float32 pixels: the identity recorded with every run that subtracts it. */
  sha256: string;
  origin: MeanOrigin;
}

/** sha256 (hex) of a mean image's float32 bytes (little-endian, [R, R, 3] row-major). */
export function hashMeanPixels(pixels: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength)).digest('hex');
}

/** One line saying which mean a command subtracts, e.g. "mean image: the checkpoint's (150 px, train of /data, 300 images, 2 skipped; sha256 1a2b3c4d5e6f)". */
export function describeMean(mean: MeanImage): string {
  const what = mean.source === 'fallback'
    ? `the ImageNet per-channel constant (${IMAGENET_MEAN_RGB.join(', ')})`
    : `${mean.split ?? '?'} of ${mean.dataset ?? 'an unnamed dataset'}, ${mean.imageCount} images, ${mean.skipped} skipped`;
  const from = { checkpoint: "the checkpoint's", store: "the store's", constant: 'the built-in fallback' }[mean.origin];
  return `mean image: ${from} (${mean.sizePx} px, ${what}; sha256 ${mean.sha256.slice(0, 12)})`;
}

/** The fallback mean: a constant [sizePx, sizePx, 3] image of IMAGENET_MEAN_RGB. */
export function createFallbackMean(sizePx: number): MeanImage {
  const pixels = new Float32Array(sizePx * sizePx * 3);
  for (let i = 0; i < pixels.length; i += 3) {
    pixels[i] = IMAGENET_MEAN_RGB[0]; pixels[i + 1] = IMAGENET_MEAN_RGB[1]; pixels[i + 2] = IMAGENET_MEAN_RGB[2];
  }
  return { pixels, sizePx, source: 'fallback', imageCount: 0, split: null, dataset: null, skipped: 0, sha256: hashMeanPixels(pixels), origin: 'constant' };
}

/**
 * Adds one square into a running float64 sum (float64 so 1.28M images of
 * 0..255 values sum exactly).
 * @throws RangeError when sizes differ.
 */
export function accumulateSquare(sum: Float64Array, square: ArrayLike<number>): void {
  if (square.length !== sum.length) throw new RangeError(`Square of ${square.length} values does not match the mean's ${sum.length}`);
  for (let i = 0; i < sum.length; i++) sum[i]! += square[i]!;
}

/**
 * The mean from a running sum.
 * @throws RangeError when no image was summed.
 */
export function computeMeanFromSum(sum: Float64Array, imageCount: number): Float32Array {
  if (imageCount <= 0) throw new RangeError('Cannot compute a mean image over 0 images');
  const mean = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) mean[i] = sum[i]! / imageCount;
  return mean;
}

/** Rounds a mean image to 8-bit RGB for viewing as a PNG. */
export function quantizeMean(mean: Float32Array): Uint8Array {
  const out = new Uint8Array(mean.length);
  for (let i = 0; i < mean.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(mean[i]!)));
  return out;
}
