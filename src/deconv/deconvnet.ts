/**
 * Batched deconvnet projections (Zeiler & Fergus Sec. 2.1): one forward pass
 * over a batch of images records the pooling switches, then one pass down
 * projects many kept activations at once, each batch element carrying its own
 * single activation (unit, y, x) and its own image's switches.
 *
 * The examined activation of layer L is the rectified output of conv L
 * (project choice, zfnet-paper.md); see project-down.ts for the way down.
 */
import * as tf from '@tensorflow/tfjs-core';
import { computeGeometry, type LayerGeometry } from '../model/geometry.js';
import { forward, tapOfLayer } from '../model/network.js';
import { getParam, type ModelParams } from '../model/params.js';
import type { ConvLayerSpec, ModelConfig, TapName } from '../model/spec.js';
import { descendToPixels, layerInputPx, placeUnitFilters, type KeptActivation } from './project-down.js';
import { computePoolSwitches } from './pool-switches.js';

/** One projection to compute: a kept activation in image `imageIndex` of the batch. */
export interface ProjectionEntry extends KeptActivation {
  imageIndex: number;
}

export interface ProjectBatchResult {
  /** [E, S, S, 3] pixel-space projections, before any display scaling. */
  projections: tf.Tensor4D;
  /** [E] the recomputed activation of each entry (rectified conv output). */
  activations: tf.Tensor1D;
}

export interface ConvLayerRef {
  index: number;
  spec: ConvLayerSpec;
  geometry: LayerGeometry;
}

/**
 * Finds a conv layer by name (`conv1` .. `conv5`).
 * @throws RangeError naming the layer when the config has no conv layer of that name
 */
export function findConvLayer(config: ModelConfig, layerName: string): ConvLayerRef {
  const index = config.layers.findIndex((l) => l.name === layerName && l.kind === 'conv');
  if (index < 0) {
    const convs = config.layers.filter((l) => l.kind === 'conv').map((l) => l.name);
    throw new RangeError(`Expected one of ${convs.join(', ')} for layer but received ${JSON.stringify(layerName)}`);
  }
  return { index, spec: config.layers[index] as ConvLayerSpec, geometry: computeGeometry(config)[index]! };
}

/** @throws RangeError naming the first entry outside the batch, the layer's units or its grid */
function validateEntries(layer: ConvLayerRef, batchSize: number, entries: readonly ProjectionEntry[]): void {
  const [h, w, c] = layer.geometry.outputShape as [number, number, number];
  entries.forEach((entry, e) => {
    const ok = Number.isInteger(entry.imageIndex) && entry.imageIndex >= 0 && entry.imageIndex < batchSize
      && Number.isInteger(entry.unit) && entry.unit >= 0 && entry.unit < c
      && Number.isInteger(entry.y) && entry.y >= 0 && entry.y < h
      && Number.isInteger(entry.x) && entry.x >= 0 && entry.x < w;
    if (!ok) {
      throw new RangeError(`Projection entry ${e} (image ${entry.imageIndex}, unit ${entry.unit}, at ${entry.y},${entry.x}) is outside ${layer.spec.name}: ${batchSize} images, ${c} units, ${h}x${w} cells`);
    }
  });
}

/** Taps the way down needs: the examined layer and the input of every pool below it. */
function neededTaps(config: ModelConfig, layerIndex: number): Map<number, TapName> {
  const poolInputs = new Map<number, TapName>();
  for (let i = 0; i < layerIndex; i++) {
    if (config.layers[i]!.kind !== 'maxpool') continue;
    if (i === 0) throw new RangeError(`Deconvnet needs a layer before ${config.layers[i]!.name} to record its switches`);
    poolInputs.set(i, tapOfLayer(config, i - 1));
  }
  return poolInputs;
}

/**
 * Projects many kept activations of one conv layer to pixel space.
 * Ownership: the caller disposes both returned tensors; `images` is not disposed.
 * @param images [B, S, S, 3] float32, preprocessed as for forward()
 * @param entries each names an image of the batch and (unit, y, x) on the layer's grid
 * @throws RangeError naming the layer or the first bad entry
 */
export function projectBatch(config: ModelConfig, params: ModelParams, images: tf.Tensor4D, layerName: string, entries: readonly ProjectionEntry[]): ProjectBatchResult {
  const layer = findConvLayer(config, layerName);
  validateEntries(layer, images.shape[0], entries);
  if (entries.length === 0) throw new RangeError(`Expected at least one projection entry for ${layerName} but received none`);
  const poolInputs = neededTaps(config, layer.index);
  const geometry = computeGeometry(config);
  return tf.tidy(() => {
    const taps = forward(config, params, images, { taps: [layerName as TapName, ...poolInputs.values()] });
    const imageIndices = tf.tensor1d(entries.map((e) => e.imageIndex), 'int32');
    const activations = tf.gatherND(taps[layerName as TapName]!, entries.map((e) => [e.imageIndex, e.y, e.x, e.unit])) as tf.Tensor1D;
    const switches = new Map<number, tf.Tensor4D>();
    for (const [i, tap] of poolInputs) {
      const pool = config.layers[i]!;
      if (pool.kind !== 'maxpool') continue;
      const perImage = computePoolSwitches(taps[tap] as tf.Tensor4D, { windowPx: pool.windowPx, stride: pool.stride, padding: geometry[i]!.effectivePadding });
      switches.set(i, tf.gather(perImage, imageIndices, 0) as tf.Tensor4D);
    }
    const weight = getParam(params, `${layerName}.weight`) as tf.Tensor as tf.Tensor4D;
    const start = placeUnitFilters(weight, entries, activations, layer.spec.stride, geometry[layer.index]!.effectivePadding, layerInputPx(config, geometry, layer.index));
    const projections = descendToPixels(config, params, geometry, layer.index, start, switches);
    return { projections, activations };
  });
}

export interface StrongestPosition {
  y: number;
  x: number;
  value: number;
}

/**
 * The strongest position of one unit per image (first in row-major order on ties).
 * @param units unit to search in each image of the batch
 * @throws RangeError naming the layer or a unit outside it
 */
export async function findStrongestPositions(config: ModelConfig, params: ModelParams, images: tf.Tensor4D, layerName: string, units: readonly number[]): Promise<StrongestPosition[]> {
  const layer = findConvLayer(config, layerName);
  const [h, w, c] = layer.geometry.outputShape as [number, number, number];
  units.forEach((u) => {
    if (!Number.isInteger(u) || u < 0 || u >= c) throw new RangeError(`Expected integer between 0 and ${c - 1} for unit of ${layerName} but received ${u}`);
  });
  const [flatIndex, values] = tf.tidy(() => {
    const tap = forward(config, params, images, { taps: [layerName as TapName] })[layerName as TapName]!; // [B, h, w, C]
    const perUnit = tf.reshape(tf.transpose(tap, [0, 3, 1, 2]), [images.shape[0], c, h * w]);
    const chosen = tf.gatherND(perUnit, units.map((u, b) => [b, u])) as tf.Tensor2D; // [B, h*w]
    return [tf.argMax(chosen, 1), tf.max(chosen, 1)];
  });
  const [index, value] = [await flatIndex.data(), await values.data()];
  flatIndex.dispose();
  values.dispose();
  return units.map((_, b) => ({ y: Math.floor(index[b]! / w), x: index[b]! % w, value: value[b]! }));
}
