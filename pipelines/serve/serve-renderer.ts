/**
 * The explorer's renderer on the project's own model code: deconvnet
 * projections of a unit's top-k (projectRows, as `mosaics` draws them, each
 * recomputed activation checked against the stored one), an image's
 * strongest units per layer (forward taps), and its occlusion map (the
 * occlusion experiment's sweep and heat map). One backend, chosen once from
 * --backend; models are loaded per run and the last few kept. Runs over
 * imported models render through serve-renderer-imported.ts.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendChoice } from '../../src/backend/select-backend.js';
import { createImageReader, findDataset } from '../../src/store/image-index.js';
import type { MeanImage } from '../../src/data/mean-image.js';
import { UsageError } from '../../src/errors.js';
import { mapLabelToLogit, nameLogit, prepareCentreInput } from '../../src/experiments/experiment-inputs.js';
import { computeFillImage } from '../../src/experiments/occluder.js';
import { findArgMax } from '../../src/experiments/occlusion-sweep.js';
import { runForwardRequest } from '../../src/workers/batch-reducers.js';
import { describeConfigForward } from '../../src/workers/forward-model.js';
import { createSingleExecutor } from '../../src/workers/single-executor.js';
import { makeEntryTiles } from '../../src/mosaic/entry-tiles.js';
import { writeRgbPng } from '../../src/mosaic/render-sheet.js';
import { geometryOfLayer } from '../../src/mosaic/mosaic-layers.js';
import { chooseCellPx } from '../../src/mosaic/sheet-layout.js';
import { forward } from '../../src/model/network.js';
import { disposeParams } from '../../src/model/params.js';
import type { TapName } from '../../src/model/spec.js';
import type { Store } from '../../src/store/open-store.js';
import { getTopActivationRun, isImportedPassModel, queryTopRows, type TopActivationRun } from '../../src/store/top-activations-store.js';
import type { ImageActivations } from '../../src/serve/pages-image.js';
import type { RenderJob, RenderOutput, Renderer } from '../../src/serve/render-engine.js';
import { createProjector, type Projector } from '../../src/deconv/projector.js';
import { createInputCache, loadRunMean, loadRunModel, projectRows, type InputCache, type RunModel } from '../shared/run-source.js';
import { openMosaicModel } from '../mosaics/mosaics-model.js';
import { loadImportedRun, renderImportedJob, type ImportedRun } from './serve-renderer-imported.js';
import { renderOcclusionMap } from './serve-occlusion-map.js';
import { renderPreferredUnit } from './preferred-input-render.js';

export interface ModelRendererOptions {
  /** The store, read only. */
  db: Store;
  backend: BackendChoice;
  /** Models kept loaded (one per run). */
  keepModels?: number;
  log?: (line: string) => void;
}

/** Entries projected per forward and backward pass. */
const PROJECTION_BATCH = 3;
/** Strongest units listed per layer on an image's page. */
const UNITS_PER_LAYER = 12;

interface ProjectRun { kind: 'project'; pass: TopActivationRun; model: RunModel; mean: MeanImage; projector: Projector; inputs: InputCache }
type LoadedRun = ProjectRun | ImportedRun;

/** The name a run gave its layer `number` (conv k for the project's own runs). */
function nameRunLayer(pass: TopActivationRun, number: number): string {
  const layer = pass.analysedLayers.find((l) => l.number === number);
  if (layer === undefined) throw new UsageError(`Run ${pass.runId} has no layer ${number}`);
  return layer.name;
}

/** Starts the backend and returns the renderer. @throws UsageError when the backend cannot start */
export async function createModelRenderer(options: ModelRendererOptions): Promise<Renderer> {
  const log = options.log ?? (() => undefined);
  const info = await initBackend(options.backend, { log });
  const loaded = new Map<string, LoadedRun>();
  const load = async (runId: string): Promise<LoadedRun> => {
    const hit = loaded.get(runId);
    if (hit !== undefined) {
      loaded.delete(runId);
      loaded.set(runId, hit);
      return hit;
    }
    const pass = getTopActivationRun(options.db, runId);
    if (pass === undefined) throw new UsageError(`No top-activations run ${runId} in the store`);
    const run = isImportedPassModel(pass.modelConfig) ? await loadImportedRun(options.db, pass, options.backend) : loadProjectRun(options, pass, log);
    loaded.set(runId, run);
    while (loaded.size > (options.keepModels ?? 2)) {
      const [oldest, old] = loaded.entries().next().value!;
      await unload(old);
      loaded.delete(oldest);
    }
    return run;
  };
  const unload = async (run: LoadedRun) => {
    if (run.kind === 'imported') {
      await run.executor.close();
      await run.projection?.close();
      return;
    }
    await run.projector.close();
    disposeParams(run.model.params);
  };
  const renderers = {
    projections: (job: RenderJob, run: ProjectRun, onProgress: ProgressFn) => renderProjections(options.db, job, {
      pass: run.pass, projector: run.projector, inputs: run.inputs, inputSizePx: run.model.config.inputSizePx, description: run.model.description,
    }, onProgress),
    activations: (job: RenderJob, run: ProjectRun, onProgress: ProgressFn) => renderActivations(options.db, job, run, onProgress),
    occlusion: (job: RenderJob, run: ProjectRun, onProgress: ProgressFn) => renderOcclusion(options.db, job, run, onProgress),
  };
  const renderImported = async (job: RenderJob, run: ImportedRun, onProgress: ProgressFn) => {
    if (job.kind === 'projections') {
      // The generic graph rules on onnx, as mosaics draws an imported run; opened on the first projection of the run.
      run.projection ??= openMosaicModel(options.db, run.pass, { backend: options.backend, workers: 0, method: 'deconvnet', log });
      const { projector, inputs, inputSizePx, description } = run.projection;
      return renderProjections(options.db, job, { pass: run.pass, projector, inputs, inputSizePx, description }, onProgress);
    }
    const { dataset, image: read } = await readImage(options.db, run.pass, job.imageId!);
    const image = { path: read.path, label: read.label, classes: dataset.classes };
    return renderImportedJob(job, run, image, UNITS_PER_LAYER, onProgress);
  };
  return {
    // The deconvnet engine follows --backend (the projector's description is kept with each projection render).
    engine: `--backend ${options.backend}; tfjs ${info.name} for forward passes`,
    render: async (job, onProgress) => {
      if (job.kind === 'preferred') return renderPreferredUnit(options.db, job, options.backend, onProgress);
      const run = await load(job.runId);
      return run.kind === 'imported' ? renderImported(job, run, onProgress) : renderers[job.kind](job, run, onProgress);
    },
    close: async () => {
      for (const run of loaded.values()) await unload(run);
      loaded.clear();
    },
  };
}

type ProgressFn = (done: number, total: number) => void;

function loadProjectRun(options: ModelRendererOptions, pass: TopActivationRun, log: (line: string) => void): ProjectRun {
  const model = loadRunModel(pass, undefined, log);
  const mean = loadRunMean(options.db, pass, model, log); // the mean whose hash the run recorded, the checkpoint's first
  // One in-process engine session per loaded run: the render thread is already off the server's loop.
  const projector = createProjector({ backend: options.backend, config: model.config, params: model.params, workers: 0 });
  return { kind: 'project', pass, model, mean, projector, inputs: createInputCache(model.config.inputSizePx, mean, 64) };
}

/** What projections need of a loaded run, whichever kind of model it analysed. */
interface ProjectionSource { pass: TopActivationRun; projector: Projector; inputs: InputCache; inputSizePx: number; description: string }

async function renderProjections(db: Store, job: RenderJob, source: ProjectionSource, onProgress: ProgressFn): Promise<RenderOutput> {
  const layer = source.pass.analysedLayers.find((l) => l.number === job.layer);
  if (layer === undefined) throw new UsageError(`Run ${source.pass.runId} has no layer ${job.layer}`);
  const geometry = geometryOfLayer(layer);
  const cellPx = chooseCellPx(geometry.receptiveFieldPx!, source.inputSizePx);
  const rows = queryTopRows(db, job.runId, job.layer!, job.unit!);
  const files: Record<string, string> = {};
  const recomputed: number[] = [];
  onProgress(0, rows.length);
  for (let start = 0; start < rows.length; start += PROJECTION_BATCH) {
    const ctx = { runId: job.runId, projector: source.projector, inputs: source.inputs };
    const projected = await projectRows(ctx, layer.name, rows.slice(start, start + PROJECTION_BATCH));
    for (const p of projected) {
      const tiles = makeEntryTiles(geometry, p.row.y, p.row.x, source.inputSizePx, p.projection, p.display, cellPx);
      const file = join(job.outDir, `projection-${p.row.rank}.png`);
      await writeRgbPng(file, tiles.projection.image);
      files[`projection-${p.row.rank}`] = file;
      recomputed[p.row.rank] = p.recomputed;
    }
    onProgress(Math.min(rows.length, start + PROJECTION_BATCH), rows.length);
  }
  return { files, result: { layer: job.layer, unit: job.unit, recomputed, weights: source.description, deconvnet: source.projector.description } };
}

async function readImage(db: Store, pass: TopActivationRun, imageId: number) {
  const dataset = findDataset(db, pass.datasetRoot);
  if (dataset === undefined) throw new UsageError(`Dataset ${pass.datasetRoot} of run ${pass.runId} is not registered in this store`);
  const image = createImageReader(db, dataset)([imageId])[0];
  if (image === undefined) throw new UsageError(`Image id ${imageId} is not in the dataset ${dataset.root}`);
  return { dataset, image };
}

async function renderActivations(db: Store, job: RenderJob, run: ProjectRun, onProgress: ProgressFn): Promise<RenderOutput> {
  const { config, params } = run.model;
  const { dataset, image } = await readImage(db, run.pass, job.imageId!);
  const input = await prepareCentreInput(image.path, config.inputSizePx, run.mean);
  const taps = [...run.pass.layers.map((l) => nameRunLayer(run.pass, l) as TapName), 'probs' as TapName];
  onProgress(0, 1);
  const batch = tf.tensor4d(input.input, [1, config.inputSizePx, config.inputSizePx, 3]);
  const outputs = forward(config, params, batch, { taps });
  batch.dispose();
  try {
    const layers: ImageActivations['layers'] = [];
    for (const layer of run.pass.layers) {
      const tap = outputs[nameRunLayer(run.pass, layer) as TapName]!; // [1, h, w, C]
      const maxima = (await tf.tidy(() => tf.max(tap, [0, 1, 2])).data()) as Float32Array; // [C]
      const order = Array.from(maxima.keys()).sort((a, b) => maxima[b]! - maxima[a]! || a - b);
      layers.push({ layer, unitCount: maxima.length, firing: maxima.filter((v) => v > 0).length,
        units: order.slice(0, UNITS_PER_LAYER).map((unit) => ({ unit, value: maxima[unit]! })) });
    }
    const [index, prob] = findArgMax((await outputs.probs!.data()) as Float32Array);
    onProgress(1, 1);
    const result: ImageActivations = { layers, prediction: { index, prob, name: nameLogit(config, dataset.classes, index) } };
    return { files: {}, result };
  } finally {
    tf.dispose(Object.values(outputs));
  }
}

async function renderOcclusion(db: Store, job: RenderJob, run: ProjectRun, onProgress: ProgressFn): Promise<RenderOutput> {
  const { config, params } = run.model;
  const S = config.inputSizePx;
  const { dataset, image } = await readImage(db, run.pass, job.imageId!);
  const input = await prepareCentreInput(image.path, S, run.mean);
  const layer = Math.max(...run.pass.layers);
  // The forward passes stay on the renderer's tfjs backend, in this thread (the render thread).
  const executor = createSingleExecutor(describeConfigForward(config), (batch, request) => runForwardRequest(config, params, batch, request), () => undefined);
  const trueClass = mapLabelToLogit(config, dataset.classes, image.label);
  return renderOcclusionMap({
    probe: { executor, layer: nameRunLayer(run.pass, layer) }, layerNumber: layer, input: input.input, display: input.display, sizePx: S,
    fill: computeFillImage('mean', S, input.meanCrop), trueClass: trueClass === null ? null : { index: trueClass, name: nameLogit(config, dataset.classes, trueClass) },
    outDir: job.outDir, onProgress,
  });
}
