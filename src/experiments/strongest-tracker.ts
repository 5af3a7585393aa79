/**
 * The strongest activation of chosen units over a pass (feature evolution,
 * Fig. 4): for each unit, the largest value of its map over all images and
 * positions, with the image and cell it came from. Pure. Ties go to the
 * image seen first (a sorted pass: the lower id), then the first cell in
 * row-major order.
 */

export interface StrongestActivation {
  unit: number;
  value: number;
  imageId: number;
  /** Position in the pass's image order. */
  imageIndex: number;
  y: number;
  x: number;
}

/** A tracker for `units`, all starting empty (value -Infinity, imageId -1). */
export function createStrongestTracker(units: readonly number[]): StrongestActivation[] {
  return units.map((unit) => ({ unit, value: -Infinity, imageId: -1, imageIndex: -1, y: -1, x: -1 }));
}

/**
 * Folds one batch of a layer's maps into the tracker.
 * @param maps [B, h, w, C] row-major
 * @param imageIds id of each batch row; `firstIndex` is the pass position of row 0
 */
export function updateStrongest(tracker: StrongestActivation[], maps: ArrayLike<number>, shape: readonly number[], imageIds: readonly number[], firstIndex: number): void {
  const [b, h, w, c] = shape as [number, number, number, number];
  for (const best of tracker) {
    for (let n = 0; n < b; n++) {
      for (let cell = 0; cell < h * w; cell++) {
        const v = maps[(n * h * w + cell) * c + best.unit]!;
        if (v > best.value) Object.assign(best, { value: v, imageId: imageIds[n]!, imageIndex: firstIndex + n, y: Math.floor(cell / w), x: cell % w });
      }
    }
  }
}
