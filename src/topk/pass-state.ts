/**
 * The in-memory state of a top-activations pass: for every analysed conv
 * layer, the per-unit top-k and the per-unit statistics. Its size depends on
 * the layers and k only, never on how many images went through.
 *
 * Folding a batch in is independent of where its forward pass ran: it takes
 * the batch's image ids, labels and paths plus the plain-array reductions.
 */
import type { AnalysedLayer } from '../graph/analysed-layers.js';
import { UsageError } from '../errors.js';
import type { LayerBatchReduction } from './reduce-conv-tap.js';
import { addUnitValue, countImages, createUnitStats, mergeUnitStats, type UnitStats } from './unit-stats.js';
import { createUnitTopK, mergeUnitTopK, offerEntry, wouldEnter, type UnitTopK } from './unit-top-k.js';

export interface LayerShape {
  /** The store's layer number (conv k = k for the project's architectures; see src/graph/analysed-layers.ts). */
  layer: number;
  /** The model's own name of the layer (`conv2`, `features.3`). */
  name: string;
  numUnits: number;
  mapHeight: number;
  mapWidth: number;
}

/** The pass-state shapes of analysed layers. */
export function layerShapesOf(layers: readonly AnalysedLayer[]): LayerShape[] {
  return layers.map((l) => ({ layer: l.number, name: l.name, numUnits: l.units, mapHeight: l.mapHeight, mapWidth: l.mapWidth }));
}

export interface LayerState extends LayerShape {
  topk: UnitTopK;
  stats: UnitStats;
}

export interface PassState {
  k: number;
  layers: LayerState[];
}

/** The images of one batch, in the order of the reductions' rows. */
export interface BatchImages {
  imageIds: readonly number[];
  labels: readonly number[];
  paths: readonly string[];
}

/** An empty state for these layers (in the given order). */
export function createPassState(shapes: readonly LayerShape[], k: number): PassState {
  return {
    k,
    layers: shapes.map((shape) => ({ ...shape, topk: createUnitTopK(shape.numUnits, k), stats: createUnitStats(shape.numUnits) })),
  };
}

function checkReduction(layer: LayerState, reduction: LayerBatchReduction | undefined, numImages: number): LayerBatchReduction {
  if (reduction === undefined || reduction.layer !== layer.layer || reduction.numUnits !== layer.numUnits
    || reduction.mapHeight !== layer.mapHeight || reduction.mapWidth !== layer.mapWidth || reduction.numImages !== numImages) {
    throw new RangeError(`Expected a reduction of ${layer.name} [${numImages}, ${layer.mapHeight}, ${layer.mapWidth}, ${layer.numUnits}] but received ${reduction === undefined ? 'none' : `layer ${reduction.layer} [${reduction.numImages}, ${reduction.mapHeight}, ${reduction.mapWidth}, ${reduction.numUnits}]`}`);
  }
  return reduction;
}

function accumulateLayer(layer: LayerState, reduction: LayerBatchReduction, batch: BatchImages): void {
  const { numUnits, mapWidth } = layer;
  for (let n = 0; n < reduction.numImages; n++) {
    const imageId = batch.imageIds[n]!;
    for (let unit = 0; unit < numUnits; unit++) {
      const at = n * numUnits + unit;
      const value = reduction.maxValues[at]!;
      const mean = reduction.meanValues[at]!;
      if (!Number.isFinite(value) || !Number.isFinite(mean)) {
        throw new UsageError(`${layer.name} unit ${unit} is ${Number.isFinite(value) ? mean : value} on image ${imageId} (${batch.paths[n]}): the model produces non-finite activations; check the checkpoint`);
      }
      addUnitValue(layer.stats, unit, value, mean);
      if (!wouldEnter(layer.topk, unit, value, imageId)) continue;
      const index = reduction.argmaxIndex[at]!;
      const y = Math.floor(index / mapWidth);
      offerEntry(layer.topk, unit, { value, imageId, y, x: index - y * mapWidth, label: batch.labels[n]!, path: batch.paths[n]! });
    }
  }
  countImages(layer.stats, reduction.numImages);
}

/**
 * Folds one batch into the state: every image is offered to every unit's
 * top-k and added to the statistics.
 * @throws RangeError when a reduction does not match its layer or the batch size.
 * @throws UsageError when an activation is NaN or infinite (a broken checkpoint), naming layer, unit and image.
 */
export function accumulateBatch(state: PassState, batch: BatchImages, reductions: readonly LayerBatchReduction[]): void {
  const numImages = batch.imageIds.length;
  if (batch.labels.length !== numImages || batch.paths.length !== numImages) {
    throw new RangeError(`Expected ${numImages} labels and paths for the batch but received ${batch.labels.length} and ${batch.paths.length}`);
  }
  const checked = state.layers.map((layer, i) => checkReduction(layer, reductions[i], numImages));
  state.layers.forEach((layer, i) => accumulateLayer(layer, checked[i]!, batch));
}

/** The shape part of a state, for comparisons and messages. */
export function describeLayers(state: PassState): string {
  return state.layers.map((l) => `${l.name} ${l.numUnits}x${l.mapHeight}x${l.mapWidth}`).join(', ');
}

/**
 * Merges `from` into `into`. Exact when the two saw disjoint images: the
 * result equals one pass over both.
 * @throws RangeError when the layers or k differ.
 */
export function mergePassStates(into: PassState, from: PassState): void {
  if (into.k !== from.k || describeLayers(into) !== describeLayers(from)) {
    throw new RangeError(`Cannot merge top-${from.k} of ${describeLayers(from)} into top-${into.k} of ${describeLayers(into)}`);
  }
  into.layers.forEach((layer, i) => {
    mergeUnitTopK(layer.topk, from.layers[i]!.topk);
    mergeUnitStats(layer.stats, from.layers[i]!.stats);
  });
}
