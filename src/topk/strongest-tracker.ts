/**
 * The strongest activation of chosen units over a pass (feature evolution,
 * Fig. 4): for each unit, the largest value of its map over all images and
 * positions, with the image and cell it came from. Pure: it folds in the
 * per-batch reductions of the 'top-activations' reducer ([N, C] spatial
 * maxima and first row-major argmax), the same k = 1 question that reducer
 * answers for every unit, so the maps never leave the backend.
 *
 * Ties go to the image seen first (a sorted pass: the lower id), then to the
 * first cell in row-major order (the reducer's argmax).
 */
import { UsageError } from '../errors.js';
import type { LayerBatchReduction } from './reduce-conv-tap.js';

export interface StrongestActivation {
  unit: number;
  value: number;
  /** -1 until an image was folded in. */
  imageId: number;
  y: number;
  x: number;
}

/** A tracker for `units`, all starting empty (value -Infinity, imageId -1). */
export function createStrongestTracker(units: readonly number[]): StrongestActivation[] {
  return units.map((unit) => ({ unit, value: -Infinity, imageId: -1, y: -1, x: -1 }));
}

/**
 * Folds one batch's reduction of a layer into the tracker.
 * @param imageIds id of each row of the reduction, in pass order
 * @throws RangeError when the reduction does not cover `imageIds` or a tracked unit.
 * @throws UsageError when a tracked unit's activation is NaN or infinite (a broken checkpoint), naming layer, unit and image.
 */
export function foldStrongest(tracker: StrongestActivation[], reduction: LayerBatchReduction, imageIds: readonly number[]): void {
  const { numImages, numUnits, mapWidth, maxValues, argmaxIndex } = reduction;
  if (numImages !== imageIds.length) throw new RangeError(`Expected a reduction of ${imageIds.length} images but received ${numImages} (conv${reduction.layer})`);
  for (const best of tracker) {
    if (best.unit < 0 || best.unit >= numUnits) throw new RangeError(`Unit ${best.unit} is not among the ${numUnits} units of conv${reduction.layer}`);
    for (let n = 0; n < numImages; n++) {
      const value = maxValues[n * numUnits + best.unit]!;
      if (!Number.isFinite(value)) {
        throw new UsageError(`conv${reduction.layer} unit ${best.unit} is ${value} on image ${imageIds[n]}: the model produces non-finite activations; check the checkpoint`);
      }
      if (!(value > best.value)) continue;
      const cell = argmaxIndex[n * numUnits + best.unit]!;
      best.value = value;
      best.imageId = imageIds[n]!;
      best.y = Math.floor(cell / mapWidth);
      best.x = cell % mapWidth;
    }
  }
}

/** The tracked units that saw an image (all of them once a pass saw one). */
export function listFound(tracker: readonly StrongestActivation[]): StrongestActivation[] {
  return tracker.filter((t) => t.imageId >= 0);
}
