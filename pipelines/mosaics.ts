/**
 * run-pipeline mosaics: the paper's Fig. 2 for every chosen unit of layers
 * 1-5 of a top-activations run. Entries are projected in batches of whole
 * units by the engine's Projector (src/deconv/projector.ts: onnx over each
 * unit's receptive field in worker threads, or the tfjs deconvnet), as many
 * batches in flight as the engine runs at once; each projection is checked
 * against its stored value before it is drawn; per unit a PNG, the
 * projections' .npy values and an HTML page, written as soon as its batch is
 * done (so a kill loses at most the batches in flight); per layer paged sheets
 * (and the conv1 filters); an index.html over all.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { currentExecutionProvider, initBackend, type BackendChoice } from '../src/backend/select-backend.js';
import { createProjector } from '../src/deconv/projector.js';
import { findConvLayer } from '../src/deconv/deconvnet.js';
import { stretchSymmetric, type RgbImage } from '../src/mosaic/display-scaling.js';
import { drawFilterSheet, drawUnitSheet, type UnitTiles } from '../src/mosaic/draw-sheet.js';
import { makeEntryTiles } from '../src/mosaic/entry-tiles.js';
import { renderIndexPage, renderStampMeta, renderUnitPage, type IndexLayer, type UnitPageEntry } from '../src/mosaic/html-pages.js';
import { writeComposedSheet, writeSheetPng, writeTextFile } from '../src/mosaic/render-sheet.js';
import { chooseCellPx, layoutSheet, pageUnits } from '../src/mosaic/sheet-layout.js';
import { resolveUnits, type UnitSelection } from '../src/mosaic/unit-selection.js';
import { disposeParams, getParam } from '../src/model/params.js';
import { createProgress, type Progress } from '../src/progress.js';
import type { Store } from '../src/store/open-store.js';
import { holdRun, type HeldRun } from '../src/store/held-run.js';
import { queryTopRows, type TopRowView } from '../src/store/top-activations-store.js';
import { encodeNpyFloat32 } from '../src/topk/encode-npy.js';
import { createInputCache, findSourceRun, loadRunMean, loadRunModel, projectRows, type ProjectRowsContext } from './mosaics-source.js';

export const DISPLAY_SCALING_NOTE = 'Display scaling: each projection is stretched on its own, symmetric around zero (0 is mid-grey, the largest |value| is black or white); the .npy files hold the values before scaling.';

export interface MosaicsOptions {
  db: Store;
  /** Top-activations run id; default the newest finished one. */
  runId?: string;
  /** Conv layers 1..5. */
  layers: number[];
  units: UnitSelection;
  /** Seed of random:N unit draws. */
  seed: number;
  /** Use this checkpoint instead of the run's (its stored values are still checked). */
  checkpoint?: string;
  backend: BackendChoice;
  /** Default out/mosaics/<run id>. */
  outDir?: string;
  /** Projections per forward/backward pass (rounded up to whole units). */
  batchSize: number;
  /** onnx: worker threads (0 = one in-process session with a thread per core); default one per core. */
  workers?: number;
  /** Called after each finished batch with the projections done so far (progress hooks, tests). */
  onBatchDone?: (projectionsDone: number) => void;
  unitsPerSheet: number;
  columns: number;
  log?: (line: string) => void;
}

export interface MosaicsResult {
  runId: string;
  outDir: string;
  projections: number;
  units: number;
  /** Units whose pages an earlier call had drawn from the same run and weights (not projected again). */
  keptUnits: number;
  sheets: string[];
}

interface LayerContext extends ProjectRowsContext {
  options: MosaicsOptions;
  outDir: string;
  /** Run, weights and k the pages are drawn from; a page carrying the same stamp is kept by a rerun. */
  stamp: string;
  /** Entries per unit in the run (9 for top-9). */
  topK: number;
  progress: Progress;
  /** Projections finished by this call. */
  done: { projections: number };
}

/** One layer's units, their stored rows, and the units an earlier call has not drawn yet. */
interface LayerWork {
  layerNumber: number;
  layerName: string;
  units: number[];
  rowsByUnit: Map<number, TopRowView[]>;
  todo: number[];
}

const unitBase = (unit: number): string => `unit-${String(unit).padStart(4, '0')}`;

/** The per-unit PNG and .npy files, then its page (written last: it marks the unit done for a rerun). */
async function writeUnit(ctx: LayerContext, layerName: string, unit: number, projected: Awaited<ReturnType<typeof projectRows>>): Promise<void> {
  const layer = findConvLayer(ctx.config, layerName);
  const cellPx = chooseCellPx(layer.geometry.receptiveFieldPx!, ctx.config.inputSizePx);
  const base = unitBase(unit);
  const tiles: UnitTiles = { label: `${layerName} unit ${unit}`, projections: [], patches: [] };
  const entries: UnitPageEntry[] = [];
  for (const p of projected) {
    const t = makeEntryTiles(layer.geometry, p.row.y, p.row.x, ctx.config.inputSizePx, p.projection, p.display, cellPx);
    tiles.projections.push(t.projection);
    tiles.patches.push(t.patch);
    const npy = `units/${base}-rank${p.row.rank}.npy`;
    writeTextFile(join(ctx.outDir, layerName, npy), encodeNpyFloat32(t.projectionValues, [t.box.heightPx, t.box.widthPx, 3]));
    entries.push({ rank: p.row.rank, value: p.row.value, recomputed: p.recomputed, imageId: p.row.imageId, path: p.row.path, className: p.row.className ?? p.row.classKey, y: p.row.y, x: p.row.x, box: t.box, npy });
  }
  await writeSheetPng(join(ctx.outDir, layerName, 'units', `${base}.png`), drawUnitSheet([tiles], cellPx, ctx.topK, 1));
  writeTextFile(join(ctx.outDir, layerName, `${base}.html`), renderUnitPage({ runId: ctx.runId, layer: layerName, unit, image: `units/${base}.png`, entries, notes: [DISPLAY_SCALING_NOTE], stamp: ctx.stamp }));
}

/** Layer 1's filters as RGB tiles (each stretched symmetrically on its own). */
async function writeFilterSheet(ctx: LayerContext): Promise<string> {
  const weight = getParam(ctx.params, 'conv1.weight'); // [kh, kw, 3, F]
  const [kh, kw, cin, count] = weight.shape as [number, number, number, number];
  const values = await weight.data();
  const filters: RgbImage[] = Array.from({ length: count }, (_, f) => {
    const one = new Float32Array(kh * kw * cin);
    for (let i = 0; i < kh * kw * cin; i++) one[i] = values[i * count + f]!;
    return { widthPx: kw, heightPx: kh, pixels: stretchSymmetric(one) };
  });
  await writeSheetPng(join(ctx.outDir, 'conv1', 'filters.png'), drawFilterSheet(filters, 48, ctx.options.columns * 2));
  return 'conv1/filters.png';
}

/** True when an earlier call drew this unit's page from the same run and weights (its page is written last). */
function isUnitDrawn(ctx: LayerContext, layerName: string, unit: number): boolean {
  const page = join(ctx.outDir, layerName, `${unitBase(unit)}.html`);
  return existsSync(page) && readFileSync(page, 'utf8').includes(renderStampMeta(ctx.stamp));
}

/** The units of one layer, their rows, and the ones still to draw. */
function collectLayer(ctx: LayerContext, layerNumber: number): LayerWork {
  const layerName = `conv${layerNumber}`;
  const layer = findConvLayer(ctx.config, layerName);
  const units = resolveUnits(ctx.options.units, layer.spec.filters, layerName, ctx.options.seed);
  const wanted = new Set(units);
  const rowsByUnit = new Map<number, TopRowView[]>();
  for (const row of queryTopRows(ctx.options.db, ctx.runId, layerNumber, null)) {
    if (wanted.has(row.unit)) rowsByUnit.set(row.unit, [...(rowsByUnit.get(row.unit) ?? []), row]);
  }
  return { layerNumber, layerName, units, rowsByUnit, todo: units.filter((u) => !isUnitDrawn(ctx, layerName, u)) };
}

/** Batches of whole units, about batchSize rows each. */
function unitBatches(work: LayerWork, batchSize: number, topK: number): number[][] {
  const live = work.todo.filter((u) => (work.rowsByUnit.get(u) ?? []).length > 0);
  const perBatch = Math.max(1, Math.ceil(batchSize / topK));
  return Array.from({ length: Math.ceil(live.length / perBatch) }, (_, i) => live.slice(i * perBatch, (i + 1) * perBatch));
}

/** Projects and writes the units not drawn yet, with as many batches in flight as the projector runs at once. */
async function renderUnits(ctx: LayerContext, work: LayerWork): Promise<void> {
  for (const unit of work.todo) if ((work.rowsByUnit.get(unit) ?? []).length === 0) await writeUnit(ctx, work.layerName, unit, []);
  const batches = unitBatches(work, ctx.options.batchSize, ctx.topK);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < batches.length && !failed) {
      const units = batches[next++]!;
      const projected = await projectRows(ctx, work.layerName, units.flatMap((u) => work.rowsByUnit.get(u)!));
      for (const unit of units) await writeUnit(ctx, work.layerName, unit, projected.filter((p) => p.row.unit === unit));
      ctx.done.projections += projected.length;
      ctx.progress.tick(projected.length, { layer: work.layerName });
      ctx.options.onBatchDone?.(ctx.done.projections);
    }
  };
  // A failed batch stops the other lanes after their batch in flight; the first error is reported.
  const lanes = Array.from({ length: Math.max(1, ctx.projector.parallelism) }, () => lane().catch((error: unknown) => {
    failed = true;
    throw error;
  }));
  const rejected = (await Promise.allSettled(lanes)).find((r) => r.status === 'rejected');
  if (rejected !== undefined) throw (rejected as PromiseRejectedResult).reason;
}

/** Everything of one layer: unit pages, paged sheets, conv1's filters. */
async function renderLayer(ctx: LayerContext, work: LayerWork): Promise<IndexLayer & { projections: number; keptUnits: number }> {
  const { layerName, units, rowsByUnit } = work;
  const layer = findConvLayer(ctx.config, layerName);
  const total = [...rowsByUnit.values()].reduce((a, r) => a + r.length, 0);
  const cellPx = chooseCellPx(layer.geometry.receptiveFieldPx!, ctx.config.inputSizePx);
  const sheets: string[] = [];
  await renderUnits(ctx, work);
  for (const [i, page] of pageUnits(units, ctx.options.unitsPerSheet).entries()) {
    const sheet = `${layerName}/sheet-${String(i + 1).padStart(2, '0')}.png`;
    const layout = layoutSheet({ cellPx, entriesPerUnit: ctx.topK, unitCount: page.length, columns: ctx.options.columns });
    await writeComposedSheet(join(ctx.outDir, sheet), layout, page.map((u) => join(ctx.outDir, layerName, 'units', `${unitBase(u)}.png`)));
    sheets.push(sheet);
  }
  const filters = work.layerNumber === 1 ? await writeFilterSheet(ctx) : null;
  const pages = units.map((unit) => ({ unit, page: `${layerName}/unit-${String(unit).padStart(4, '0')}.html` }));
  return { layer: layerName, sheets, filters, units: pages, projections: total, keptUnits: units.length - work.todo.length };
}

/**
 * Renders the mosaics of a top-activations run.
 * @throws UsageError when the run, its checkpoint, dataset or images cannot be used, or a stored value is not reproduced
 */
export async function runMosaics(options: MosaicsOptions): Promise<MosaicsResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const run = findSourceRun(options.db, options.runId);
  await initBackend(options.backend, { log, purpose: 'inference' });
  const model = loadRunModel(run, options.checkpoint, log);
  const mean = loadRunMean(options.db, run, model, log); // the mean whose hash the run recorded (checkpoint's, store's or fallback)
  const projector = createProjector({ backend: options.backend, config: model.config, params: model.params, workers: options.workers, executionProvider: currentExecutionProvider() });
  let held: HeldRun | undefined;
  try {
    const missing = options.layers.filter((l) => !run.layers.includes(l));
    if (missing.length > 0) log(`run ${run.runId} has no top-k of conv${missing.join(', conv')}: skipped`);
    const outDir = options.outDir ?? join('out', 'mosaics', run.runId);
    // One writer per output folder: a second process refuses while the first is alive (see run-owner.ts).
    held = holdRun(options.db, { id: `mosaics-${run.runId}-${createHash('sha256').update(resolve(outDir)).digest('hex').slice(0, 8)}`, kind: 'mosaics', model: run.model, options: { run: run.runId, outDir: resolve(outDir) } }, log);
    log(`mosaics of ${run.runId} (${model.description}) into ${outDir}; deconvnet: ${projector.description}`);
    const stamp = `${run.runId} ${model.fingerprint} top-${run.topK}`;
    const ctx: LayerContext = {
      runId: run.runId, config: model.config, params: model.params, mean, options, outDir, topK: run.topK, stamp, projector,
      inputs: createInputCache(model.config.inputSizePx, mean), progress: createProgress({ label: 'mosaics', unit: 'proj' }), done: { projections: 0 },
    };
    const work = options.layers.filter((l) => run.layers.includes(l)).map((l) => collectLayer(ctx, l));
    const todo = work.reduce((a, w) => a + w.todo.reduce((b, u) => b + (w.rowsByUnit.get(u)?.length ?? 0), 0), 0);
    const kept = work.reduce((a, w) => a + w.units.length - w.todo.length, 0);
    if (kept > 0) log(`${kept} units already drawn from the same run and weights are kept`);
    ctx.progress = createProgress({ label: 'mosaics', total: todo, unit: 'proj' });
    const layers: Array<IndexLayer & { projections: number; keptUnits: number }> = [];
    for (const w of work) { held.beat(); layers.push(await renderLayer(ctx, w)); }
    ctx.progress.done();
    const notes = [`Model: ${model.description}.`, `Deconvnet engine: ${projector.description}.`, DISPLAY_SCALING_NOTE, PROJECT_CHOICES_NOTE];
    writeTextFile(join(outDir, 'index.html'), renderIndexPage(run.runId, layers, notes));
    held.finish('finished');
    return { runId: run.runId, outDir, projections: layers.reduce((a, l) => a + l.projections, 0), units: layers.reduce((a, l) => a + l.units.length, 0), keptUnits: layers.reduce((a, l) => a + l.keptUnits, 0), sheets: layers.flatMap((l) => l.sheets) };
  } catch (error) {
    held?.finish('failed', error);
    throw error;
  } finally {
    await projector.close();
    disposeParams(model.params);
  }
}

export const PROJECT_CHOICES_NOTE = 'Deconvnet (project choices): the examined activation is the rectified conv output; going down, pooling is undone with the image\'s switches (first maximum on ties, shared winners add), normalization is passed as identity, each conv is undone by ReLU then its transposed filters; the pixel output is not rectified.';

