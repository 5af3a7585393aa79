/** Test fixture: a computed-looking mean image (a ramp, so every pixel differs) with provenance. */
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { hashMeanPixels, type MeanImage } from '../../src/data/mean-image.js';
import { buildModelConfig } from '../../src/model/architectures.js';

export const TINY_SQUARE_PX = computeSquareSizePx(buildModelConfig('zfnet-tiny').inputSizePx);

export function makeTestMean(size = TINY_SQUARE_PX, offset = 0): MeanImage {
  const pixels = new Float32Array(size * size * 3).map((_, i) => (offset + i * 0.37) % 255);
  return { pixels, sizePx: size, source: 'computed', imageCount: 300, split: 'train', dataset: '/data/imagenet', skipped: 3, sha256: hashMeanPixels(pixels), origin: 'store' };
}
