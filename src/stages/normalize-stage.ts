/**
 * Normalise stage: an imported model's value steps (src/import/preprocessing.ts:
 * scale, channel order, per-channel mean and std) applied to every batch after
 * the crop, so the engine gets what the model was trained on. Pure map.
 */
import type { ImageBatch } from './stage-items.js';

/** The transform; `normalize` returns a new [N, S, S, 3] array and leaves its input alone. */
export function createNormalizeStage(normalize: (pixels: Float32Array) => Float32Array): (source: Highland.Stream<ImageBatch>) => Highland.Stream<ImageBatch> {
  return (source) => source.map((batch) => ({ ...batch, pixels: normalize(batch.pixels) }));
}
