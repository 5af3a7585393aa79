/**
 * What the explorer's routes share: the store's queries and cache, the
 * render queue, the image crops, and the lookups that turn validated URL
 * parameters into store rows (answering 404 or 400 with one line when they
 * name nothing).
 */
import type { AnalysedLayer } from '../graph/analysed-layers.js';
import type { ServeCache } from '../store/serve-cache.js';
import type { RunLayout, ServeQueries, ServeImage, ServeRunRow } from '../store/serve-queries.js';
import type { ImageCrops } from './image-crops.js';
import { layerLabel } from './page-kit.js';
import type { RenderJob } from './render-engine.js';
import { HttpError, parseIndex, parseRunId } from './request-params.js';
import type { WorkQueue } from './work-queue.js';

export interface ServeContext {
  queries: ServeQueries;
  cache: ServeCache;
  queue: WorkQueue<RenderJob>;
  crops: ImageCrops;
  /** Folder the renders are written under (out/serve/<run>/...). */
  outRoot: string;
  now: () => number;
}

/**
 * The top-activations run named by the `run` parameter.
 * @throws HttpError 400 for a malformed id, 404 when the store has no such top-activations run
 */
export function requirePass(ctx: ServeContext, raw: unknown): ServeRunRow {
  return requirePassById(ctx, parseRunId(raw));
}

/** @throws HttpError 404 when the store has no top-activations run of this (validated) id */
export function requirePassById(ctx: ServeContext, runId: string): ServeRunRow {
  const run = ctx.queries.getRun(runId);
  if (run === undefined) throw new HttpError(404, `No run ${JSON.stringify(runId)} in the store`);
  if (run.kind !== 'top-activations') throw new HttpError(404, `Run ${runId} is a ${run.kind} run: only top-activations runs have units to explore`);
  return run;
}

/**
 * A layer of the run, and how many units it has.
 * @throws HttpError 400 when the layer is malformed or not one of the run's
 */
export function requireLayer(ctx: ServeContext, run: ServeRunRow, raw: unknown): { layer: number; unitCount: number } {
  const layer = parseIndex('layer', raw);
  const unitCount = run.layers.includes(layer) ? ctx.queries.countLayerUnits(run.id, layer) : 0;
  if (unitCount === 0) {
    throw new HttpError(400, `Expected a layer of run ${run.id} (${run.layers.join(', ')}) for layer but received ${layer}`);
  }
  return { layer, unitCount };
}

/** @throws HttpError 400 when the unit is malformed or outside the layer */
export function requireUnit(run: ServeRunRow, layer: number, unitCount: number, raw: unknown): number {
  const unit = parseIndex('unit', raw);
  if (unit >= unitCount) throw new HttpError(400, `Expected a unit between 0 and ${unitCount - 1} of ${layerLabel(run, layer)} of run ${run.id} for unit but received ${unit}`);
  return unit;
}

/** @throws HttpError 400 for a malformed id, 404 when the run's dataset has no such image */
export function requireImage(ctx: ServeContext, run: ServeRunRow, raw: unknown): ServeImage {
  const imageId = parseIndex('image', raw);
  const image = run.datasetRoot === null ? undefined : ctx.queries.getImage(run.datasetRoot, imageId);
  if (image === undefined) throw new HttpError(404, `No image ${imageId} in the dataset of run ${run.id}`);
  return image;
}

/**
 * The input crop and the fields of a run's layers, for its image files (project and imported models alike).
 * @throws HttpError 404 when the run records none
 */
export function readRunLayout(ctx: ServeContext, run: ServeRunRow): RunLayout {
  const layout = ctx.queries.getRunLayout(run.id);
  if (layout === undefined) throw new HttpError(404, `Run ${run.id} records no model`);
  return layout;
}

/**
 * The recorded receptive field of a layer of a run.
 * @throws HttpError 404 when the run did not record the layer
 */
export function readLayerField(ctx: ServeContext, run: ServeRunRow, layer: number): AnalysedLayer {
  const found = readRunLayout(ctx, run).layers.get(layer);
  if (found === undefined) throw new HttpError(404, `Run ${run.id} records no receptive field for ${layerLabel(run, layer)}`);
  return found;
}
