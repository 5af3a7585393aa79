/**
 * `run-pipeline occlusion` (Fig. 7): for each image, a square occluder swept
 * over the model input in batches; per position (b) the summed activation of
 * the conv5 map strongest on the unoccluded image, (d) p(true class), (e) the
 * most probable class; plus (c) that map's strongest activation projected to
 * pixels by the deconvnet. Numbers go to the store (occlusion_images,
 * occlusion_cells; one transaction per image) and to cells.csv; pictures to PNG.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendChoice } from '../src/backend/select-backend.js';
import { computeSquareSizePx } from '../src/data/crop-geometry.js';
import type { ClassRecord } from '../src/data/image-index.js';
import { loadMeanImage } from '../src/data/mean-store.js';
import { projectBatch } from '../src/deconv/deconvnet.js';
import {
  listNeededSplits, loadExperimentModel, mapLabelToLogit, nameLogit, prepareCentreInput, selectExperimentImages,
  type ExperimentImage, type ExperimentModel, type PreparedInput, type SelectImagesOptions,
} from '../src/experiments/experiment-inputs.js';
import { computeFillImage, computeOccluderPlacements, defaultOccluderSizePx, defaultOccluderStridePx, type OccluderFill } from '../src/experiments/occluder.js';
import { createForwardProbe, measureUnoccluded, sweepOccluder, type OcclusionCell, type UnoccludedResult } from '../src/experiments/occlusion-sweep.js';
import { formatCsv, scaleSignedForDisplay, writeMapOverImage, writeRgbPng, writeTextFile } from '../src/experiments/result-files.js';
import { disposeParams } from '../src/model/params.js';
import { categoricalMapSvg, heatmapSvg } from '../src/plot/heatmap.js';
import type { Store } from '../src/store/open-store.js';
import { createRun, makeRunId, setRunStatus } from '../src/store/runs.js';
import { prepareDataset } from './input-stream.js';

export interface OcclusionPipelineOptions {
  db: Store;
  data?: string;
  checkpoint?: string;
  model?: string;
  seed: number;
  backend: BackendChoice;
  images: SelectImagesOptions;
  /** Occluder side; default defaultOccluderSizePx(S). */
  sizePx?: number;
  /** Occluder stride; default defaultOccluderStridePx(S). */
  stridePx?: number;
  fill: OccluderFill;
  /** Occluded copies per forward pass. */
  batchSize: number;
  /** Default out/occlusion/<run id>. */
  outDir?: string;
  log?: (line: string) => void;
}

export interface OcclusionImageResult {
  key: string;
  unit: number;
  trueClass: number | null;
  unoccludedTrueProb: number | null;
  /** Lowest p(true class) over the positions and where it was. */
  minTrueProb: number | null;
  minAt: { row: number; col: number } | null;
  files: string[];
}

export interface OcclusionPipelineResult {
  runId: string;
  outDir: string;
  rows: number;
  cols: number;
  images: OcclusionImageResult[];
}

const MAP_PX = 320;
const LAYER = 'conv5';

/**
 * Runs the occlusion experiment.
 * @throws UsageError for bad images, datasets or checkpoints; RangeError for a bad occluder size or stride.
 */
export async function runOcclusionPipeline(options: OcclusionPipelineOptions): Promise<OcclusionPipelineResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const backendInfo = await initBackend(options.backend, { log });
  const { dataset } = await prepareDataset({ db: options.db, data: options.data, splits: listNeededSplits(options.images), log });
  const model = loadExperimentModel({ checkpoint: options.checkpoint, model: options.model, seed: options.seed, numClasses: dataset.classes.length });
  try {
    const S = model.config.inputSizePx;
    const sizePx = options.sizePx ?? defaultOccluderSizePx(S);
    const stridePx = options.stridePx ?? defaultOccluderStridePx(S);
    const placements = computeOccluderPlacements(S, sizePx, stridePx);
    const images = selectExperimentImages(options.db, dataset, options.images);
    const mean = loadMeanImage(options.db, dataset.id, computeSquareSizePx(S));
    const runId = makeRunId('occlusion', new Date(), model.config.name);
    const outDir = options.outDir ?? join('out', 'occlusion', runId);
    const settings = { sizePx, stridePx, fill: options.fill, batchSize: options.batchSize, mean: mean.source, weights: model.source, images: images.map((i) => i.key) };
    createRun(options.db, { id: runId, kind: 'occlusion', model: model.config.name, backend: backendInfo.name, backendInfo: { ...backendInfo }, options: settings });
    log(`occlusion ${runId}: ${images.length} images, ${placements.length} occluder positions each (${sizePx} px, stride ${stridePx}, fill ${options.fill}), ${describeWeights(model)}`);
    const results: OcclusionImageResult[] = [];
    const csvRows: Array<Array<string | number | null>> = [];
    const rows = Math.ceil(S / stridePx);
    try {
      for (const image of images) {
        const input = await prepareCentreInput(image.path, S, mean);
        const trueClass = mapLabelToLogit(model.config, dataset.classes, image.datasetLabel);
        const fill = computeFillImage(options.fill, S, input.meanCrop);
        const probe = createForwardProbe(model.config, model.params, LAYER);
        const unoccluded = await measureUnoccluded(probe, input.input, S);
        const cells = await sweepOccluder({ probe, input: input.input, sizePx: S, placements, fill, unit: unoccluded.unit, trueClass, batchSize: options.batchSize });
        storeImage(options.db, runId, image, trueClass, unoccluded, cells, { sizePx, stridePx, fill: options.fill, rows });
        for (const c of cells) csvRows.push([image.key, c.placement.row, c.placement.col, c.placement.rect.xPx, c.placement.rect.yPx, c.placement.rect.widthPx, c.placement.rect.heightPx, c.featureSum, c.trueProb, c.topClass, c.topProb]);
        const files = await writeFigures({ outDir, image, input, model, unoccluded, cells, rows, stridePx, trueClass, classes: dataset.classes });
        results.push(summarise(image, unoccluded, trueClass, cells, files));
        log(`occlusion ${image.key}: unit ${unoccluded.unit}, p(true) ${formatProb(unoccluded.probs[trueClass ?? -1])} unoccluded, min ${formatProb(results.at(-1)!.minTrueProb ?? undefined)}`);
      }
      writeTextFile(join(outDir, 'cells.csv'), formatCsv(['image', 'row', 'col', 'x_px', 'y_px', 'width_px', 'height_px', 'feature_sum', 'true_prob', 'top_class', 'top_prob'], csvRows));
      writeTextFile(join(outDir, 'summary.json'), `${JSON.stringify({ runId, layer: LAYER, ...settings, rows, cols: rows, images: results }, null, 2)}\n`);
      setRunStatus(options.db, runId, 'finished');
    } catch (error) {
      setRunStatus(options.db, runId, 'failed');
      throw error;
    }
    return { runId, outDir, rows, cols: rows, images: results };
  } finally {
    disposeParams(model.params);
  }
}

/** "checkpoint FILE" or "random weights (seed N)". */
export function describeWeights(model: ExperimentModel): string {
  return 'checkpoint' in model.source ? `checkpoint ${model.source.checkpoint}` : `random weights (paper init, seed ${model.source.randomSeed}): no checkpoint given`;
}

function formatProb(p: number | undefined): string {
  return p === undefined ? 'n/a' : p.toFixed(3);
}

function summarise(image: ExperimentImage, unoccluded: UnoccludedResult, trueClass: number | null, cells: OcclusionCell[], files: string[]): OcclusionImageResult {
  let min: OcclusionCell | null = null;
  for (const c of cells) if (c.trueProb !== null && (min === null || c.trueProb < min.trueProb!)) min = c;
  return {
    key: image.key, unit: unoccluded.unit, trueClass,
    unoccludedTrueProb: trueClass === null ? null : unoccluded.probs[trueClass]!,
    minTrueProb: min?.trueProb ?? null, minAt: min === null ? null : { row: min.placement.row, col: min.placement.col }, files,
  };
}

interface SweepSettings { sizePx: number; stridePx: number; fill: OccluderFill; rows: number }

/** One transaction per image: its summary row and every cell. */
function storeImage(db: Store, runId: string, image: ExperimentImage, trueClass: number | null, u: UnoccludedResult, cells: OcclusionCell[], s: SweepSettings): void {
  const insertImage = db.prepare(`INSERT INTO occlusion_images (run_id, image_key, image_id, path, label, layer, unit, unit_y, unit_x, unit_activation, unit_sum,
    true_prob, top_class, top_prob, size_px, stride_px, fill, rows, cols) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertCell = db.prepare(`INSERT INTO occlusion_cells (run_id, image_key, row, col, x_px, y_px, width_px, height_px, feature_sum, true_prob, top_class, top_prob)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  db.transaction(() => {
    insertImage.run(runId, image.key, image.imageId, image.path, trueClass, LAYER, u.unit, u.y, u.x, u.activation, u.unitSum,
      trueClass === null ? null : u.probs[trueClass]!, u.topClass, u.topProb, s.sizePx, s.stridePx, s.fill, s.rows, s.rows);
    for (const c of cells) {
      const r = c.placement.rect;
      insertCell.run(runId, image.key, c.placement.row, c.placement.col, r.xPx, r.yPx, r.widthPx, r.heightPx, c.featureSum, c.trueProb, c.topClass, c.topProb);
    }
  })();
}

interface FigureOptions {
  outDir: string;
  image: ExperimentImage;
  input: PreparedInput;
  model: ExperimentModel;
  unoccluded: UnoccludedResult;
  cells: OcclusionCell[];
  rows: number;
  stridePx: number;
  trueClass: number | null;
  classes: readonly ClassRecord[];
}

/** Writes panels (a)-(e) of Fig. 7 for one image; returns their paths. */
async function writeFigures(f: FigureOptions): Promise<string[]> {
  const S = f.input.sizePx;
  const stem = join(f.outDir, f.image.imageId === null ? f.image.key.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') : f.image.key);
  const placement = { mapPx: MAP_PX, coveredPx: f.rows * f.stridePx };
  const grid = { rows: f.rows, cols: f.rows, sizePx: MAP_PX };
  const paths = [`${stem}-a-image.png`, `${stem}-b-feature-map.png`, `${stem}-c-projection.png`, `${stem}-d-true-class-prob.png`, `${stem}-e-top-class.png`];
  await writeRgbPng(f.input.display, S, paths[0]!, MAP_PX);
  const u = f.unoccluded;
  await writeMapOverImage(heatmapSvg({ ...grid, title: `(b) ${LAYER} unit ${u.unit}: summed activation`, values: f.cells.map((c) => c.featureSum), valueLabel: 'sum' }), f.input.display, S, placement, paths[1]!);
  await writeRgbPng(projectStrongest(f.model, f.input, u), S, paths[2]!, MAP_PX);
  const trueName = f.trueClass === null ? 'true class unknown' : nameLogit(f.model.config, f.classes, f.trueClass);
  await writeMapOverImage(heatmapSvg({ ...grid, title: `(d) p(${trueName})`, values: f.cells.map((c) => c.trueProb ?? NaN), min: 0, valueLabel: 'probability' }), f.input.display, S, placement, paths[3]!);
  const names = new Map(f.cells.map((c) => [c.topClass, nameLogit(f.model.config, f.classes, c.topClass)]));
  await writeMapOverImage(categoricalMapSvg({ ...grid, title: '(e) most probable class', categories: f.cells.map((c) => c.topClass), names }), f.input.display, S, placement, paths[4]!);
  return paths;
}

/** (c): the deconvnet projection of the map's strongest activation, scaled for display. */
function projectStrongest(model: ExperimentModel, input: PreparedInput, u: UnoccludedResult): Uint8Array {
  const S = input.sizePx;
  const batch = tf.tensor4d(input.input, [1, S, S, 3]);
  try {
    const { projections, activations } = projectBatch(model.config, model.params, batch, LAYER, [{ imageIndex: 0, unit: u.unit, y: u.y, x: u.x }]);
    const values = projections.dataSync();
    projections.dispose();
    activations.dispose();
    return scaleSignedForDisplay(values);
  } finally {
    batch.dispose();
  }
}
