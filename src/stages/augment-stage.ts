/**
 * Augment stage: draws each image's crop boxes from a seeded stream derived
 * from (seed, epoch, image id), then subtracts the mean square and cuts the
 * crops with the pure functions of crop-geometry.ts. The draw depends only on
 * those three numbers, so order, sharding and resuming never change it.
 */
import { drawCropBoxes, extractCrop, type CropMode } from '../data/crop-geometry.js';
import { createRng, deriveSeed, RNG_PURPOSE } from '../data/seeded-rng.js';
import type { AugmentedItem, DecodedItem } from './stage-items.js';

export interface AugmentStageOptions {
  cropMode: CropMode;
  /** Model input side S. */
  cropPx: number;
  /** Mean square [R, R, 3] on the 0..255 scale; null to skip subtraction. */
  meanSquare: Float32Array | null;
  seed: number;
  epoch: number;
}

/**
 * Crops one decoded image (pure given its inputs).
 * @throws RangeError when the mean's size does not match the square.
 */
export function augmentImage(item: DecodedItem, options: AugmentStageOptions): AugmentedItem {
  const { squarePx } = item;
  if (options.meanSquare !== null && options.meanSquare.length !== squarePx * squarePx * 3) {
    throw new RangeError(`Mean image of ${options.meanSquare.length} values does not match the ${squarePx} px square`);
  }
  const rng = createRng(deriveSeed(options.seed, options.epoch, RNG_PURPOSE.crop, item.record.imageId));
  const boxes = drawCropBoxes(options.cropMode, rng, squarePx, options.cropPx);
  const cropFloats = options.cropPx * options.cropPx * 3;
  const crops = new Float32Array(boxes.length * cropFloats); // [cropCount, S, S, 3]
  boxes.forEach((box, k) => extractCrop(item.square, squarePx, box, options.meanSquare, crops, k * cropFloats));
  return { record: item.record, crops, cropCount: boxes.length, cropPx: options.cropPx };
}

/** Creates the augment transform (synchronous per item). */
export function createAugmentStage(options: AugmentStageOptions): (source: Highland.Stream<DecodedItem>) => Highland.Stream<AugmentedItem> {
  return (source) => source.map((item) => augmentImage(item, options));
}
