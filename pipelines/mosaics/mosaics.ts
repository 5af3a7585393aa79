/**
 * run-pipeline mosaics: the paper's Fig. 2 for every chosen unit of the
 * layers of a top-activations run, over the project's own architectures or an
 * imported model (mosaics-model.ts), by the deconvnet, guided backpropagation
 * or the plain gradient. Entries are projected in batches of whole units by
 * the model's Projector (src/deconv/projector.ts: onnx over each unit's
 * receptive field in worker threads, or the tfjs deconvnet; any graph and
 * method: src/deconv/graph-projector.ts), as many batches in flight as the
 * engine runs at once; each projection is checked against its stored value
 * before it is drawn; per unit a PNG, the projections' .npy values and an
 * HTML page, written as soon as its batch is done (so a kill loses at most
 * the batches in flight); per layer (a folder named after it) paged sheets
 * (and the first conv layer's filters); an index.html over all.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { initBackend, type BackendChoice } from '../../src/backend/select-backend.js';
import { UsageError } from '../../src/errors.js';
import { drawFilterSheet, drawUnitSheet, type UnitTiles } from '../../src/mosaic/draw-sheet.js';
import { makeEntryTiles } from '../../src/mosaic/entry-tiles.js';
import { renderIndexPage, renderStampMeta, renderUnitPage, type IndexLayer, type PreferredTileLink, type UnitPageEntry } from '../../src/mosaic/html-pages.js';
import { findPreferredInputs, type PreferredInputOf } from '../../src/store/preferred-inputs-store.js';
import { writeComposedSheet, writeSheetPng, writeTextFile } from '../../src/mosaic/render-sheet.js';
import { planMosaicLayers, type MosaicLayer } from '../../src/mosaic/mosaic-layers.js';
import { layoutSheet, pageUnits } from '../../src/mosaic/sheet-layout.js';
import { resolveUnits, type UnitSelection } from '../../src/mosaic/unit-selection.js';
import type { DeconvMethod } from '../../src/onnx/deconv-graphs.js';
import { createProgress, type Progress } from '../../src/progress.js';
import type { Store } from '../../src/store/open-store.js';
import { holdRun, type HeldRun } from '../../src/store/held-run.js';
import { updateRunRecord } from '../../src/store/runs.js';
import { isImportedPassModel, queryTopRows, type TopActivationRun, type TopRowView } from '../../src/store/top-activations-store.js';
import { encodeNpyFloat32 } from '../../src/topk/encode-npy.js';
import { describeFieldAgainstInput, formatClass } from '../../src/vocabulary.js';
import { openMosaicModel, type MosaicModel } from './mosaics-model.js';
import { findSourceRun, projectRows, type ProjectRowsContext } from '../shared/run-source.js';

export const DISPLAY_SCALING_NOTE = 'Display scaling: each projection is stretched on its own, symmetric around zero (0 is mid-grey, the largest |value| is black or white); the .npy files hold the values before scaling.';

export interface MosaicsOptions {
  db: Store;
  /** Top-activations run id; default the newest finished one. */
  runId?: string;
  /** Layer numbers, or a --layers spec (names, aliases, globs, numbers, ranges); undefined: every layer of the run. */
  layers?: readonly number[] | string;
  /** deconvnet (default), guided or gradient. */
  method?: DeconvMethod;
  units: UnitSelection;
  /** Seed of random:N unit draws. */
  seed: number;
  /** Use this checkpoint instead of the run's (its stored values are still checked); project architectures only. */
  checkpoint?: string;
  backend: BackendChoice;
  /** Default out/mosaics/<run id> (deconvnet), out/mosaics/<run id>-<method> (guided, gradient). */
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
  method: DeconvMethod;
  projections: number;
  units: number;
  /** Units whose pages an earlier call had drawn from the same run, weights and method (not projected again). */
  keptUnits: number;
  sheets: string[];
}

interface LayerContext extends ProjectRowsContext {
  options: MosaicsOptions;
  model: MosaicModel;
  method: DeconvMethod;
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
interface LayerWork extends MosaicLayer {
  units: number[];
  rowsByUnit: Map<number, TopRowView[]>;
  todo: number[];
  /** Preferred inputs made for the layer's units (run-pipeline preferred-inputs over this run). */
  preferred: Map<number, PreferredInputOf>;
}

/** A unit's preferred input linked from a page in `fromDir`. */
function preferredLink(row: PreferredInputOf, fromDir: string): PreferredTileLink {
  const image = relative(fromDir, row.fieldPng ?? row.png).split(sep).join('/');
  return { unit: row.unit, image, activation: row.activation, top1: row.top1Activation, ratio: row.ratio, runId: row.runId };
}

const unitBase = (unit: number): string => `unit-${String(unit).padStart(4, '0')}`;

/** The per-unit PNG and .npy files, then its page (written last: it marks the unit done for a rerun). */
async function writeUnit(ctx: LayerContext, work: LayerWork, unit: number, projected: Awaited<ReturnType<typeof projectRows>>): Promise<void> {
  const { layer, folder, geometry, cellPx } = work;
  const base = unitBase(unit);
  const tiles: UnitTiles = { label: `${layer.name} unit ${unit} · ${ctx.method}`, projections: [], patches: [] };
  const entries: UnitPageEntry[] = [];
  for (const p of projected) {
    const t = makeEntryTiles(geometry, p.row.y, p.row.x, ctx.model.inputSizePx, p.projection, p.display, cellPx);
    tiles.projections.push(t.projection);
    tiles.patches.push(t.patch);
    const npy = `units/${base}-rank${p.row.rank}.npy`;
    writeTextFile(join(ctx.outDir, folder, npy), encodeNpyFloat32(t.projectionValues, [t.box.heightPx, t.box.widthPx, 3]));
    entries.push({ rank: p.row.rank, value: p.row.value, recomputed: p.recomputed, imageId: p.row.imageId, path: p.row.path, className: formatClass(p.row.className, p.row.classKey), y: p.row.y, x: p.row.x, box: t.box, npy });
  }
  await writeSheetPng(join(ctx.outDir, folder, 'units', `${base}.png`), drawUnitSheet([tiles], cellPx, ctx.topK, 1));
  writeTextFile(join(ctx.outDir, folder, `${base}.html`), renderUnitPage({ runId: ctx.runId, layer: layer.name, unit, method: ctx.method, image: `units/${base}.png`, entries, notes: [DISPLAY_SCALING_NOTE], fieldNote: fieldNoteOf(ctx, work), stamp: ctx.stamp,
    preferred: work.preferred.has(unit) ? preferredLink(work.preferred.get(unit)!, join(ctx.outDir, folder)) : null }));
}

/** A layer's receptive field against the model's input, when it covers most of the image. */
const fieldNoteOf = (ctx: LayerContext, work: MosaicLayer): string | null => describeFieldAgainstInput(work.layer.name, work.geometry.receptiveFieldPx!, ctx.model.inputSizePx);

/** The filters of the conv reading the image, when `work` is its layer (each tile stretched symmetrically on its own). */
async function writeFilterSheet(ctx: LayerContext, work: MosaicLayer): Promise<string | null> {
  const filters = ctx.model.filtersOf(work.layer);
  if (filters === null) return null;
  await writeSheetPng(join(ctx.outDir, work.folder, 'filters.png'), drawFilterSheet(filters, 48, ctx.options.columns * 2));
  return `${work.folder}/filters.png`;
}

/** True when an earlier call drew this unit's page from the same run, weights and method (its page is written last). */
function isUnitDrawn(ctx: LayerContext, folder: string, unit: number): boolean {
  const page = join(ctx.outDir, folder, `${unitBase(unit)}.html`);
  return existsSync(page) && readFileSync(page, 'utf8').includes(renderStampMeta(ctx.stamp));
}

/** The units of one layer, their rows, and the ones still to draw. */
function collectLayer(ctx: LayerContext, layer: MosaicLayer): LayerWork {
  const units = resolveUnits(ctx.options.units, layer.layer.units, layer.layer.name, ctx.options.seed);
  const wanted = new Set(units);
  const rowsByUnit = new Map<number, TopRowView[]>();
  for (const row of queryTopRows(ctx.options.db, ctx.runId, layer.layer.number, null)) {
    if (wanted.has(row.unit)) rowsByUnit.set(row.unit, [...(rowsByUnit.get(row.unit) ?? []), row]);
  }
  const preferred = findPreferredInputs(ctx.options.db, ctx.runId, layer.layer.number);
  return { ...layer, units, rowsByUnit, todo: units.filter((u) => !isUnitDrawn(ctx, layer.folder, u)), preferred };
}

/** Batches of whole units, about batchSize rows each. */
function unitBatches(work: LayerWork, batchSize: number, topK: number): number[][] {
  const live = work.todo.filter((u) => (work.rowsByUnit.get(u) ?? []).length > 0);
  const perBatch = Math.max(1, Math.ceil(batchSize / topK));
  return Array.from({ length: Math.ceil(live.length / perBatch) }, (_, i) => live.slice(i * perBatch, (i + 1) * perBatch));
}

/** Projects and writes the units not drawn yet, with as many batches in flight as the projector runs at once. */
async function renderUnits(ctx: LayerContext, work: LayerWork): Promise<void> {
  for (const unit of work.todo) if ((work.rowsByUnit.get(unit) ?? []).length === 0) await writeUnit(ctx, work, unit, []);
  const batches = unitBatches(work, ctx.options.batchSize, ctx.topK);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < batches.length && !failed) {
      const units = batches[next++]!;
      const projected = await projectRows(ctx, work.layer.name, units.flatMap((u) => work.rowsByUnit.get(u)!));
      for (const unit of units) await writeUnit(ctx, work, unit, projected.filter((p) => p.row.unit === unit));
      ctx.done.projections += projected.length;
      ctx.progress.tick(projected.length, { layer: work.layer.name });
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

/** Everything of one layer: unit pages, paged sheets, the first conv layer's filters. */
async function renderLayer(ctx: LayerContext, work: LayerWork): Promise<IndexLayer & { projections: number; keptUnits: number }> {
  const { folder, units, rowsByUnit } = work;
  const total = [...rowsByUnit.values()].reduce((a, r) => a + r.length, 0);
  const sheets: string[] = [];
  await renderUnits(ctx, work);
  for (const [i, page] of pageUnits(units, ctx.options.unitsPerSheet).entries()) {
    const sheet = `${folder}/sheet-${String(i + 1).padStart(2, '0')}.png`;
    const layout = layoutSheet({ cellPx: work.cellPx, entriesPerUnit: ctx.topK, unitCount: page.length, columns: ctx.options.columns });
    await writeComposedSheet(join(ctx.outDir, sheet), layout, page.map((u) => join(ctx.outDir, folder, 'units', `${unitBase(u)}.png`)));
    sheets.push(sheet);
  }
  const filters = await writeFilterSheet(ctx, work);
  const pages = units.map((unit) => ({ unit, page: `${folder}/${unitBase(unit)}.html` }));
  const preferred = units.flatMap((u) => (work.preferred.has(u) ? [preferredLink(work.preferred.get(u)!, ctx.outDir)] : []));
  return { layer: work.layer.name, fieldNote: fieldNoteOf(ctx, work), sheets, filters, units: pages, preferred, projections: total, keptUnits: units.length - work.todo.length };
}

/** The notes of the index page: the model, the engine, the scaling, and what the method does. */
function indexNotes(model: MosaicModel, method: DeconvMethod): string[] {
  const rules = model.kind === 'project' && method === 'deconvnet' ? PROJECT_CHOICES_NOTE : GRAPH_METHOD_NOTES[method];
  return [`Model: ${model.description}.`, `Projections: ${method}; engine: ${model.projector.description}.`, DISPLAY_SCALING_NOTE, rules];
}

/**
 * The layers `spec` names among the run's (default all of them).
 * @throws UsageError naming the part that matches none, with the run's layers
 */
function chooseLayers(model: Pick<MosaicModel, 'layers' | 'inputSizePx'>, runId: string, layers: MosaicsOptions['layers']): MosaicLayer[] {
  const spec = typeof layers === 'string' || layers === undefined ? layers : layers.join(',');
  try {
    return planMosaicLayers(model.layers, spec, `run ${runId}`, model.inputSizePx);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * One writer per output folder: the folder's `mosaics` run row, held while
 * drawing (a second process refuses while the first is alive, see
 * run-owner.ts), recording the run, folder, method, layers and engine.
 */
function holdOutputFolder(options: MosaicsOptions, run: TopActivationRun, outDir: string, what: { method: DeconvMethod; layers: string[]; engine: string }, log: (line: string) => void): HeldRun {
  const record = { run: run.runId, outDir: resolve(outDir), method: what.method, layers: what.layers };
  const held = holdRun(options.db, { id: `mosaics-${run.runId}-${createHash('sha256').update(resolve(outDir)).digest('hex').slice(0, 8)}`, kind: 'mosaics', model: run.model, options: record }, log);
  updateRunRecord(options.db, held.runId, { options: record, backend: options.backend, backendInfo: { engine: what.engine } });
  return held;
}

/**
 * Renders the mosaics of a top-activations run.
 * @throws UsageError when the run, its model, dataset or images cannot be used, a layer is not in the run, or a stored value is not reproduced
 */
export async function runMosaics(options: MosaicsOptions): Promise<MosaicsResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const method = options.method ?? 'deconvnet';
  const run = findSourceRun(options.db, options.runId);
  // --layers and --units are refused before an engine starts and prints its lines; an imported model's aliases are known once its graph is read.
  if (!isImportedPassModel(run.modelConfig)) {
    for (const l of chooseLayers({ layers: run.analysedLayers, inputSizePx: run.modelConfig.inputSizePx }, run.runId, options.layers)) resolveUnits(options.units, l.layer.units, l.layer.name, options.seed);
  }
  await initBackend(options.backend, { log, purpose: 'inference' });
  const model = openMosaicModel(options.db, run, { checkpoint: options.checkpoint, backend: options.backend, workers: options.workers, method, log });
  let held: HeldRun | undefined;
  try {
    const chosen = chooseLayers(model, run.runId, options.layers);
    const outDir = options.outDir ?? join('out', 'mosaics', method === 'deconvnet' ? run.runId : `${run.runId}-${method}`);
    held = holdOutputFolder(options, run, outDir, { method, layers: chosen.map((l) => l.layer.name), engine: model.projector.description }, log);
    log(`mosaics of ${run.runId} (${model.description}) into ${outDir}; ${method}: ${model.projector.description}`);
    const stamp = `${run.runId} ${model.fingerprint} top-${run.topK} ${method}`;
    const ctx: LayerContext = {
      runId: run.runId, model, method, options, outDir, topK: run.topK, stamp, projector: model.projector, inputs: model.inputs,
      progress: createProgress({ label: 'mosaics', unit: 'proj' }), done: { projections: 0 },
    };
    const work = chosen.map((l) => collectLayer(ctx, l));
    const todo = work.reduce((a, w) => a + w.todo.reduce((b, u) => b + (w.rowsByUnit.get(u)?.length ?? 0), 0), 0);
    const kept = work.reduce((a, w) => a + w.units.length - w.todo.length, 0);
    if (kept > 0) log(`${kept} units already drawn from the same run, weights and method are kept`);
    ctx.progress = createProgress({ label: `mosaics (${method})`, total: todo, unit: 'proj' });
    const layers: Array<IndexLayer & { projections: number; keptUnits: number }> = [];
    for (const w of work) { held.beat(); layers.push(await renderLayer(ctx, w)); }
    ctx.progress.done();
    writeTextFile(join(outDir, 'index.html'), renderIndexPage(run.runId, layers, indexNotes(model, method), method));
    held.finish('finished');
    return { runId: run.runId, outDir, method, projections: layers.reduce((a, l) => a + l.projections, 0), units: layers.reduce((a, l) => a + l.units.length, 0), keptUnits: layers.reduce((a, l) => a + l.keptUnits, 0), sheets: layers.flatMap((l) => l.sheets) };
  } catch (error) {
    held?.finish('failed', error);
    throw error;
  } finally {
    await model.close();
  }
}

export const PROJECT_CHOICES_NOTE = 'Deconvnet (project choices): the examined activation is the rectified conv output; going down, pooling is undone with the image\'s switches (first maximum on ties, shared winners add), normalization is passed as identity, each conv is undone by ReLU then its transposed filters; the pixel output is not rectified.';

/** What each method does on the way down through any graph (src/onnx/deconv-down-rules.ts). */
export const GRAPH_METHOD_NOTES: Readonly<Record<DeconvMethod, string>> = Object.freeze({
  deconvnet: 'Deconvnet (Zeiler & Fergus) through the graph\'s rules: at each ReLU the signal is rectified whatever the forward input was; max pools unpool to the image\'s switches (shared winners add); convs and dense layers go down through their transposed weights; batch norm passes its scale gamma/sqrt(var+eps) only; a residual join sends the same signal down both paths (they add where they meet); average pools spread evenly; LRN and dropout pass unchanged; the pixel output is not rectified.',
  guided: 'Guided backpropagation (Springenberg et al.): as the deconvnet, but a ReLU passes the signal only where it and the forward input are both positive.',
  gradient: 'Gradient (Simonyan et al., saliency): the derivative of the unit\'s activation with respect to the pixels, times the activation (a ReLU passes the signal where its forward input was positive; LRN passes unchanged).',
});
