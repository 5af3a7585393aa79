/**
 * The items that flow through the input stages, and the skip policy they
 * share. Input stages hold no tensors: pixels travel as typed arrays, and the
 * model stage turns a batch into a tensor.
 */
import { DataError } from '../errors.js';
import type { ImageRecord } from '../data/dataset-records.js';

export type { ImageRecord } from '../data/dataset-records.js';

/** A bad data item that was skipped: where, which stage, why. */
export interface SkippedItem {
  path: string;
  stage: string;
  reason: string;
  imageId: number;
}

/** What a stage does with a bad item: record it and go on, or (strict) stop the run. */
export interface SkipPolicy {
  /** Make the first bad item fatal (a DataError naming path and reason). */
  strict: boolean;
  /** Called once per skipped item (e.g. to record it in skipped_items). */
  onSkip?: (item: SkippedItem) => void;
}

/** An image's encoded bytes. */
export interface ReadItem {
  record: ImageRecord;
  bytes: Buffer;
}

/** An image decoded to the R x R square, before mean subtraction. */
export interface DecodedItem {
  record: ImageRecord;
  /** [squarePx, squarePx, 3] RGB 0..255 */
  square: Uint8Array;
  squarePx: number;
}

/** An image's crops, mean-subtracted. */
export interface AugmentedItem {
  record: ImageRecord;
  /** [cropCount, cropPx, cropPx, 3] */
  crops: Float32Array;
  cropCount: number;
  cropPx: number;
}

/**
 * A batch for the model. Row i of `pixels` belongs to imageIds[i] / labels[i] /
 * paths[i]. With `cropsPerImage` = 10 (ten-crop evaluation) the 10 crops of
 * one image are 10 consecutive rows (ids repeated), in the order of
 * CROP_POSITIONS (centre, top-left, top-right, bottom-left, bottom-right)
 * unflipped, then the same five flipped; a batch never splits an image.
 */
export interface ImageBatch {
  imageIds: number[];
  /** Class labels; -1 for an unlabelled image. */
  labels: number[];
  paths: string[];
  /** [N, S, S, 3] float32, 0..255 scale minus the mean image */
  pixels: Float32Array;
  shape: [number, number, number, number];
  cropsPerImage: number;
}

/**
 * Applies the skip policy to an error met by `stage` on `record`.
 * @throws DataError naming stage, path and reason when strict.
 */
export function skipItem(policy: SkipPolicy, stage: string, record: ImageRecord, reason: string): null {
  if (policy.strict) throw new DataError(stage, record.path, reason);
  policy.onSkip?.({ path: record.path, stage, reason, imageId: record.imageId });
  return null;
}

/**
 * Removes and returns the pending skips at or before `imageId` (in a sorted
 * pass they belong to the range a commit after that image covers; the rest
 * wait for the next commit, and a resume meets them again).
 */
export function takeSkipsUpTo(pending: SkippedItem[], imageId: number): SkippedItem[] {
  const taken = pending.filter((item) => item.imageId <= imageId);
  pending.splice(0, pending.length, ...pending.filter((item) => item.imageId > imageId));
  return taken;
}
