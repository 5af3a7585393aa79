/**
 * run-pipeline preferred-inputs: for each chosen unit of the chosen layers,
 * the image that excites it most, found by gradient ascent on its activation
 * (Erhan et al. 2009; Simonyan et al. 2013; regularised as in Yosinski et al.
 * 2015 and Olah et al. 2017: src/preferred/preferred-settings.ts), beside
 * its top-9 dataset images.
 *
 * The model comes from a top-activations run, a checkpoint or an imported
 * model (preferred-inputs-model.ts). Units go in batches of up to
 * --batch-size, one image per unit, each batch one job on a worker thread
 * (src/preferred/preferred-runner.ts: the exact input-gradient graph of the
 * training engine on onnxruntime, the optimisation's arithmetic beside it);
 * each image and the unit's top-1 dataset image are then measured by one
 * forward graph. A batch's files are written, then its rows committed in one
 * transaction, so a killed run resumes after its last finished batch (rows
 * are the resume marker) and gives what an uninterrupted run gives (every
 * unit draws from its own seeded stream). Sheets and index.html come last.
 */
import { inferenceEngineOf, type BackendChoice } from '../../src/backend-choice.js';
import { currentExecutionProvider, initBackend } from '../../src/backend/select-backend.js';
import { UsageError } from '../../src/errors.js';
import { planMosaicLayers, type MosaicLayer } from '../../src/mosaic/mosaic-layers.js';
import { resolveUnits } from '../../src/mosaic/unit-selection.js';
import { createPreferredRunner } from '../../src/preferred/preferred-runner.js';
import { preferredGraphsOf } from '../../src/preferred/preferred-graphs.js';
import { describeSettings, resolvePreferredSettings, type PreferredSettings } from '../../src/preferred/preferred-settings.js';
import { createProgress } from '../../src/progress.js';
import { createPreferredInputsStore, PREFERRED_INPUTS_KIND } from '../../src/store/preferred-inputs-store.js';
import { runRecordedRun, type OpenedRun } from '../shared/experiment-session.js';
import { openPreferredModel, type PreferredModel } from './preferred-inputs-model.js';
import { renderPreferredIndex, writeLayerSheets } from './preferred-inputs-output.js';
import { runLayerBatches, topRowsOf, type PreferredContext } from './preferred-inputs-batches.js';
import { writeTextFile } from '../../src/mosaic/render-sheet.js';
import type { PreferredInputsOptions, PreferredInputsResult } from './preferred-inputs-options.js';
import { createHeldLog } from '../shared/held-log.js';

export type { PreferredInputsOptions, PreferredInputsResult } from './preferred-inputs-options.js';

/**
 * The layers `spec` names among the model's (default the last conv layer: conv5 on zfnet, features.10 on AlexNet).
 * @throws UsageError naming the part that matches no layer, with the layers there are
 */
function chooseLayers(model: PreferredModel, spec: string | undefined): MosaicLayer[] {
  const owner = model.run === null ? model.name : `run ${model.run.record.runId}`;
  try {
    if (spec !== undefined && spec.trim() !== '') return planMosaicLayers(model.layers, spec, owner, model.inputSizePx);
    const last = model.layers.filter((l) => l.kind === 'conv').at(-1) ?? model.layers.at(-1)!;
    return planMosaicLayers(model.layers, String(last.number), owner, model.inputSizePx);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** @throws UsageError for a tfjs backend: the exact input gradient is an onnxruntime graph. */
function requireOnnx(backend: BackendChoice): void {
  if (inferenceEngineOf(backend) === 'tfjs') throw new UsageError(`preferred-inputs runs on the onnx engine only (the exact input gradient is an onnxruntime graph); expected --backend auto or onnx but received ${backend}`);
}

/**
 * Optimises, measures and draws the preferred inputs of the chosen units.
 * @throws UsageError for a tfjs backend, an unknown run, model, layer or unit, or settings out of range; RunOwnedError
 */
export async function runPreferredInputs(options: PreferredInputsOptions): Promise<PreferredInputsResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  requireOnnx(options.backend);
  // The engine and model lines wait until the source, settings, layers and units check out: a usage error comes alone.
  const { hold, flush } = createHeldLog(log);
  const backendInfo = await initBackend(options.backend, { log: hold, purpose: 'inference' });
  const model = openPreferredModel({ db: options.db, runId: options.runId, checkpoint: options.checkpoint, model: options.model, seed: options.seed, log: hold });
  try {
    const settings = resolvePreferredSettings(options.settings, model.inputSizePx);
    const layers = chooseLayers(model, options.layers).map((l) => ({ ...l, units: resolveUnits(options.units, l.layer.units, l.layer.name, options.seed) }));
    flush();
    const recorded = { source: model.source, layers: layers.map((l) => l.layer.name), units: Object.fromEntries(layers.map((l) => [l.layer.name, l.units])), seed: options.seed, settings };
    const run = { kind: PREFERRED_INPUTS_KIND, recorded, model: model.name, backendInfo, meanSha256: null, description: model.description };
    const sourceOptions = { db: options.db, seed: options.seed, backend: options.backend, outDir: options.outDir, force: options.force };
    return await runRecordedRun(sourceOptions, run, log, (opened) => optimiseLayers({ options, model, settings, opened, log }, layers));
  } finally {
    model.release();
  }
}

async function optimiseLayers(base: { options: PreferredInputsOptions; model: PreferredModel; settings: PreferredSettings; opened: OpenedRun; log: (line: string) => void }, layers: Array<MosaicLayer & { units: number[] }>): Promise<PreferredInputsResult> {
  const { options, model, settings, opened, log } = base;
  const store = createPreferredInputsStore(options.db);
  const todo = layers.map((l) => ({ ...l, todo: l.units.filter((u) => !store.doneUnits(opened.runId, l.layer.number).has(u)) }));
  const count = todo.reduce((a, l) => a + l.todo.length, 0);
  if (opened.resumed) log(`${todo.reduce((a, l) => a + l.units.length, 0) - count} units already optimised by the interrupted call are kept`);
  const runner = createPreferredRunner({ executionProvider: currentExecutionProvider(), workers: options.workers });
  log(`preferred-inputs ${opened.runId}: ${count} units of ${layers.map((l) => l.layer.name).join(', ')}, ${describeSettings(settings)}; onnx, ${runner.description}; into ${opened.outDir}`);
  const ctx: PreferredContext = { options, model, settings, runner, opened, progress: createProgress({ label: 'preferred-inputs', total: count * settings.steps, unit: 'step' }), done: { units: 0 } };
  try {
    for (const layer of todo) {
      const graphs = preferredGraphsOf(model.graph, model.weights, model.fingerprint, layer.layer.name, settings);
      await runLayerBatches(ctx, layer, layer.todo, graphs);
    }
  } finally {
    await runner.close();
  }
  ctx.progress.done();
  return finishRun(ctx, layers);
}

/** Sheets per layer, index.html, and the result (every row of the run, this call's and earlier ones). */
async function finishRun(ctx: PreferredContext, layers: Array<MosaicLayer & { units: number[] }>): Promise<PreferredInputsResult> {
  const { options, model, opened, settings } = ctx;
  const rows = createPreferredInputsStore(options.db).list(opened.runId);
  const pages = [];
  for (const layer of layers) {
    const layerRows = rows.filter((r) => r.layer === layer.layer.number && layer.units.includes(r.unit));
    const topRows = model.run === null ? new Map() : topRowsOf(options.db, model.run.record, layer.layer.number);
    const sheets = await writeLayerSheets(opened.outDir, layer, layerRows, topRows, model.run?.inputs ?? null, { unitsPerSheet: options.unitsPerSheet, columns: options.columns, topK: model.run?.record.topK ?? 1 });
    pages.push({ name: layer.layer.name, sheets, rows: layerRows });
  }
  const notes = [`Model: ${model.description}.`, `Optimisation: ${describeSettings(settings)}; seed ${options.seed}.`, 'Activation: the optimised image\'s spatial maximum of the unit after its ReLU; top-1: the unit\'s strongest dataset image through the same forward graph; ratio = activation / top-1.'];
  writeTextFile(`${opened.outDir}/index.html`, renderPreferredIndex(opened.outDir, `Preferred inputs: ${opened.runId}`, notes, pages, `${opened.runId} ${model.fingerprint}`));
  const all = pages.flatMap((p) => p.rows);
  const live = all.filter((r) => r.ratio !== null);
  return {
    runId: opened.runId, outDir: opened.outDir, resumed: opened.resumed, rows: all, optimised: ctx.done.units,
    live: model.run === null ? null : live.length, reached: model.run === null ? null : live.filter((r) => r.reached).length, sheets: pages.flatMap((p) => p.sheets),
  };
}
