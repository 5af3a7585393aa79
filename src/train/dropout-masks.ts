/**
 * Dropout masks drawn by the project's own seeded RNG, as functions of
 * (seed, epoch, step) only, and fed to whichever engine trains: tfjs and the
 * onnx graph multiply by the same masks, and a resumed run draws the same
 * masks as an uninterrupted one. Pure.
 *
 * A mask holds, per element of the layer's output for each row of the whole
 * batch, 0 (dropped, with probability `rate`) or 1 / (1 - rate) (kept, scaled
 * at training time so inference needs no rescaling). Micro-batches take
 * their rows of the batch's masks, so splitting a batch changes no mask.
 */
import { createRng, deriveSeed } from '../data/seeded-rng.js';
import type { ModelConfig } from '../model/spec.js';

/** Purpose tag of dropout seeds, apart from the input's shuffle/crop/sample tags. */
export const DROPOUT_SEED_PURPOSE = 101;

export interface DropoutLayer {
  /** The dense layer whose output is dropped (`fc6`). */
  name: string;
  rate: number;
  units: number;
}

/** Masks of one batch by dense layer name, [rows, units] row-major each. */
export type DropoutMasks = ReadonlyMap<string, Float32Array>;

/** The layers of a config that drop out during training, in forward order. */
export function listDropoutLayers(config: ModelConfig): DropoutLayer[] {
  return config.layers.flatMap((layer) => (layer.kind === 'dense' && layer.dropout > 0 ? [{ name: layer.name, rate: layer.dropout, units: layer.units }] : []));
}

/** Dropout seed of one step: a function of (seed, epoch, step) only, so a resumed run draws the same masks. */
export function computeDropoutSeed(seed: number, epoch: number, step: number): number {
  return deriveSeed(seed, epoch, step, DROPOUT_SEED_PURPOSE);
}

/**
 * The masks of one step's batch of `rows` images: layer k draws from
 * createRng(deriveSeed(stepSeed, k)), row-major.
 * @throws RangeError for a rate outside [0, 1).
 */
export function drawDropoutMasks(layers: readonly DropoutLayer[], stepSeed: number, rows: number): Map<string, Float32Array> {
  const masks = new Map<string, Float32Array>();
  layers.forEach((layer, k) => {
    if (!(layer.rate >= 0 && layer.rate < 1)) throw new RangeError(`Expected a dropout rate in [0, 1) for ${layer.name} but received ${layer.rate}`);
    const rng = createRng(deriveSeed(stepSeed, k));
    const kept = Math.fround(1 / (1 - layer.rate));
    const mask = new Float32Array(rows * layer.units);
    for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < layer.rate ? 0 : kept;
    masks.set(layer.name, mask);
  });
  return masks;
}

/** Rows [from, to) of every mask (views, not copies). */
export function sliceDropoutMasks(masks: DropoutMasks, layers: readonly DropoutLayer[], from: number, to: number): Map<string, Float32Array> {
  return new Map(layers.map((layer) => [layer.name, masks.get(layer.name)!.subarray(from * layer.units, to * layer.units)]));
}
