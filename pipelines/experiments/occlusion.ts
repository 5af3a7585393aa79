/**
 * `run-pipeline occlusion` (Fig. 7): for each image, a square occluder swept
 * over the model input in batches; per position (b) the summed activation of
 * the feature map (of `--layer`, default the last conv layer: conv5 on the
 * project's models) strongest on the unoccluded image, (d) p(true class),
 * (e) the most probable class; plus (c) that map's strongest activation
 * projected to pixels by the deconvnet. Works on the project's models and on
 * imported ones (layers by their own names). Forward passes run on the
 * forward executor of the engine --backend picks (onnx under auto), the
 * projection on the model's projector. Numbers go to the store
 * (occlusion_images, occlusion_cells; one transaction per image) and to
 * cells.csv; pictures to PNG.
 */
import { join } from 'node:path';
import type { ClassRecord } from '../../src/store/image-index.js';
import type { Projector } from '../../src/deconv/projector.js';
import { selectExperimentImages, type ExperimentImage, type SelectImagesOptions } from '../../src/experiments/experiment-inputs.js';
import { resolveExperimentLayers } from '../../src/experiments/experiment-layers.js';
import { computeOccluderPlacements, defaultOccluderSizePx, defaultOccluderStridePx, type OccluderFill } from '../../src/experiments/occluder.js';
import { measureUnoccluded, sweepOccluder, type OcclusionCell, type UnoccludedResult } from '../../src/experiments/occlusion-sweep.js';
import { stretchSymmetric } from '../../src/mosaic/display-scaling.js';
import { writeTextFile } from '../../src/mosaic/render-sheet.js';
import { formatCsv, writeMapOverImage, writeRgbPng } from '../../src/experiments/result-files.js';
import { categoricalMapSvg, heatmapSvg } from '../../src/plot/heatmap.js';
import { readOcclusionCells, readOcclusionImage } from '../../src/store/experiment-resume-store.js';
import type { Store } from '../../src/store/open-store.js';
import { insertOcclusionImage } from '../../src/store/experiment-results-store.js';
import type { ExaminedModel, ExperimentInput } from './experiment-model.js';
import { runForwardExperimentSession, type ForwardExperimentOptions, type ForwardExperimentSession } from './forward-experiment-session.js';

export interface OcclusionPipelineOptions extends ForwardExperimentOptions {
  images: SelectImagesOptions;
  /** Occluder side; default defaultOccluderSizePx(S). */
  sizePx?: number;
  /** Occluder stride; default defaultOccluderStridePx(S). */
  stridePx?: number;
  fill: OccluderFill;
  /** Occluded copies per forward pass. */
  batchSize: number;
  /** --layer: the map layer watched (name, alias or number); default the last conv layer. */
  layer?: string;
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

/** The sweep's settings for a model (recorded with the run). */
interface SweepSettings { layer: string; sizePx: number; stridePx: number; fill: OccluderFill; rows: number }

/**
 * Runs the occlusion experiment.
 * @throws UsageError for bad images, datasets, checkpoints, model names or layers; RangeError for a bad occluder size or stride.
 */
export async function runOcclusionPipeline(options: OcclusionPipelineOptions): Promise<OcclusionPipelineResult> {
  const sweepOf = (model: ExaminedModel): SweepSettings => {
    const S = model.inputSizePx;
    const [layer] = resolveExperimentLayers(model.graph, options.layer, ['last-conv'], { option: '--layer', count: 1, maps: true });
    const stridePx = options.stridePx ?? defaultOccluderStridePx(S);
    return { layer: layer!, sizePx: options.sizePx ?? defaultOccluderSizePx(S), stridePx, fill: options.fill, rows: Math.ceil(S / stridePx) };
  };
  const settings = (model: ExaminedModel) => {
    const { layer, sizePx, stridePx } = sweepOf(model);
    return { layer, sizePx, stridePx, fill: options.fill, batchSize: options.batchSize };
  };
  return runForwardExperimentSession('occlusion', options, options.images, settings, async (session) => {
    const sweep = sweepOf(session.model);
    const images = selectExperimentImages(options.db, session.dataset, options.images);
    session.log(`occlusion: ${images.length} images, ${sweep.rows * sweep.rows} occluder positions each (${sweep.sizePx} px, stride ${sweep.stridePx}, fill ${options.fill}), map layer ${sweep.layer}`);
    const results: OcclusionImageResult[] = [];
    const csvRows: Array<Array<string | number | null>> = [];
    // Panel (c): one projection per image, in one in-process session.
    const projector = session.model.createProjector(options.backend);
    try {
      for (const image of images) {
        const result = await runImage(options, session, sweep, projector, image);
        for (const c of result.cells) csvRows.push(toCsvRow(image.key, c));
        results.push(result.summary);
      }
    } finally {
      await projector.close();
    }
    writeTextFile(join(session.outDir, 'cells.csv'), formatCsv(['image', 'row', 'col', 'x_px', 'y_px', 'width_px', 'height_px', 'feature_sum', 'true_prob', 'top_class', 'top_prob'], csvRows));
    writeTextFile(join(session.outDir, 'summary.json'), `${JSON.stringify({ runId: session.runId, model: session.model.name, layer: sweep.layer, sizePx: sweep.sizePx, stridePx: sweep.stridePx, fill: options.fill, rows: sweep.rows, cols: sweep.rows, images: results }, null, 2)}\n`);
    return { runId: session.runId, outDir: session.outDir, rows: sweep.rows, cols: sweep.rows, images: results };
  });
}

/** One image: read back when the interrupted run committed it, else swept, drawn and committed. */
async function runImage(options: OcclusionPipelineOptions, session: ForwardExperimentSession, sweep: SweepSettings, projector: Projector, image: ExperimentImage): Promise<{ cells: OcclusionCell[]; summary: OcclusionImageResult }> {
  const { model, dataset, outDir } = session;
  const stored = session.resumed ? readOcclusionImage(options.db, session.runId, image.key) : undefined;
  if (stored !== undefined) {
    // Committed by the interrupted process (figures are written before the commit): read back, not recomputed.
    const cells = readOcclusionCells(options.db, session.runId, image.key);
    session.log(`occlusion ${image.key}: committed by the earlier run, kept`);
    return { cells, summary: summarise(image, stored.unit, stored.label, stored.trueProb, cells, listFigurePaths(outDir, image)) };
  }
  const S = model.inputSizePx;
  const input = await model.prepareInput(image.path);
  const trueClass = model.mapLabel(dataset.classes, image.datasetLabel);
  const probe = { executor: session.executor, layer: sweep.layer };
  const unoccluded = await measureUnoccluded(probe, input.input, S);
  const placements = computeOccluderPlacements(S, sweep.sizePx, sweep.stridePx);
  const cells = await sweepOccluder({ probe, input: input.input, sizePx: S, placements, fill: input.fillImage(sweep.fill), unit: unoccluded.unit, trueClass, batchSize: options.batchSize });
  const files = await writeFigures({ outDir, image, input, model, projector, unoccluded, cells, sweep, trueClass, classes: dataset.classes });
  session.commit(() => storeImage(options.db, session.runId, image, trueClass, unoccluded, cells, sweep));
  const summary = summarise(image, unoccluded.unit, trueClass, trueClass === null ? null : unoccluded.probs[trueClass]!, cells, files);
  session.log(`occlusion ${image.key}: unit ${unoccluded.unit}, p(true) ${formatProb(summary.unoccludedTrueProb)} unoccluded, min ${formatProb(summary.minTrueProb)}`);
  return { cells, summary };
}

function formatProb(p: number | null): string {
  return p === null ? 'n/a' : p.toFixed(3);
}

function toCsvRow(key: string, c: OcclusionCell): Array<string | number | null> {
  return [key, c.placement.row, c.placement.col, c.placement.rect.xPx, c.placement.rect.yPx, c.placement.rect.widthPx, c.placement.rect.heightPx, c.featureSum, c.trueProb, c.topClass, c.topProb];
}

function summarise(image: ExperimentImage, unit: number, trueClass: number | null, unoccludedTrueProb: number | null, cells: OcclusionCell[], files: string[]): OcclusionImageResult {
  let min: OcclusionCell | null = null;
  for (const c of cells) if (c.trueProb !== null && (min === null || c.trueProb < min.trueProb!)) min = c;
  return {
    key: image.key, unit, trueClass, unoccludedTrueProb,
    minTrueProb: min?.trueProb ?? null, minAt: min === null ? null : { row: min.placement.row, col: min.placement.col }, files,
  };
}

/** One transaction per image: its summary row and every cell. */
function storeImage(db: Store, runId: string, image: ExperimentImage, trueClass: number | null, u: UnoccludedResult, cells: OcclusionCell[], s: SweepSettings): void {
  insertOcclusionImage(db, runId, {
    imageKey: image.key, imageId: image.imageId, path: image.path, label: trueClass, layer: s.layer, unit: u.unit, unitY: u.y, unitX: u.x,
    unitActivation: u.activation, unitSum: u.unitSum, trueProb: trueClass === null ? null : u.probs[trueClass]!, topClass: u.topClass, topProb: u.topProb,
    sizePx: s.sizePx, stridePx: s.stridePx, fill: s.fill, rows: s.rows, cols: s.rows,
  }, cells.map((c) => ({
    row: c.placement.row, col: c.placement.col, xPx: c.placement.rect.xPx, yPx: c.placement.rect.yPx, widthPx: c.placement.rect.widthPx, heightPx: c.placement.rect.heightPx,
    featureSum: c.featureSum, trueProb: c.trueProb, topClass: c.topClass, topProb: c.topProb,
  })));
}

interface FigureOptions {
  outDir: string;
  image: ExperimentImage;
  input: ExperimentInput;
  model: ExaminedModel;
  projector: Projector;
  unoccluded: UnoccludedResult;
  cells: OcclusionCell[];
  sweep: SweepSettings;
  trueClass: number | null;
  classes: readonly ClassRecord[];
}

/** Paths of panels (a)-(e) of one image. */
function listFigurePaths(outDir: string, image: ExperimentImage): string[] {
  const stem = join(outDir, image.imageId === null ? image.key.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') : image.key);
  return [`${stem}-a-image.png`, `${stem}-b-feature-map.png`, `${stem}-c-projection.png`, `${stem}-d-true-class-prob.png`, `${stem}-e-top-class.png`];
}

/** Writes panels (a)-(e) of Fig. 7 for one image; returns their paths. */
async function writeFigures(f: FigureOptions): Promise<string[]> {
  const S = f.input.sizePx;
  const { rows, stridePx, layer } = f.sweep;
  const placement = { mapPx: MAP_PX, coveredPx: rows * stridePx };
  const grid = { rows, cols: rows, sizePx: MAP_PX };
  const paths = listFigurePaths(f.outDir, f.image);
  await writeRgbPng(f.input.display, S, paths[0]!, MAP_PX);
  const u = f.unoccluded;
  await writeMapOverImage(heatmapSvg({ ...grid, title: `(b) ${layer} unit ${u.unit}: summed activation`, values: f.cells.map((c) => c.featureSum), valueLabel: 'sum' }), f.input.display, S, placement, paths[1]!);
  await writeRgbPng(await projectStrongest(f.projector, f.model, layer, f.input, u), S, paths[2]!, MAP_PX);
  const trueName = f.trueClass === null ? 'true class unknown' : f.model.nameLogit(f.classes, f.trueClass);
  await writeMapOverImage(heatmapSvg({ ...grid, title: `(d) p(${trueName})`, values: f.cells.map((c) => c.trueProb ?? NaN), min: 0, valueLabel: 'probability' }), f.input.display, S, placement, paths[3]!);
  const names = new Map(f.cells.map((c) => [c.topClass, f.model.nameLogit(f.classes, c.topClass)]));
  await writeMapOverImage(categoricalMapSvg({ ...grid, title: '(e) most probable class', categories: f.cells.map((c) => c.topClass), names }), f.input.display, S, placement, paths[4]!);
  return paths;
}

/** (c): the deconvnet projection of the map's strongest activation, in RGB order, scaled for display. */
async function projectStrongest(projector: Projector, model: ExaminedModel, layer: string, input: ExperimentInput, u: UnoccludedResult): Promise<Uint8Array> {
  const image = { data: input.input, heightPx: input.sizePx, widthPx: input.sizePx, channels: 3 };
  const { projections } = await projector.project(layer, [image], [{ imageIndex: 0, unit: u.unit, y: u.y, x: u.x }]);
  return stretchSymmetric(model.toRgb(projections[0]!));
}
