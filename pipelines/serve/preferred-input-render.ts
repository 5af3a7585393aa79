/**
 * serve's on-demand preferred input: one unit of a top-activations run
 * optimised with the command's default settings and seed (so it is the image
 * `run-pipeline preferred-inputs --run RUN --units U` makes), measured
 * against its top-1 image by the same forward graph, written under the
 * render's folder; the serve cache table keeps the files and the figures.
 * onnxruntime in-process (the render thread is already off the server's
 * loop, its sessions use a thread per core).
 */
import { inferenceEngineOf, type BackendChoice } from '../../src/backend-choice.js';
import { currentExecutionProvider } from '../../src/backend/select-backend.js';
import { UsageError } from '../../src/errors.js';
import { planMosaicLayers } from '../../src/mosaic/mosaic-layers.js';
import { preferredGraphsOf } from '../../src/preferred/preferred-graphs.js';
import { createPreferredRunner } from '../../src/preferred/preferred-runner.js';
import { describeSettings, resolvePreferredSettings } from '../../src/preferred/preferred-settings.js';
import type { PreferredRender } from '../../src/serve/pages-unit.js';
import type { RenderJob, RenderOutput } from '../../src/serve/render-engine.js';
import type { Store } from '../../src/store/open-store.js';
import { optimiseUnits, top1Of } from '../preferred-inputs/preferred-inputs-batches.js';
import { openPreferredModel } from '../preferred-inputs/preferred-inputs-model.js';

/** The seed `preferred-inputs` uses by default. */
const DEFAULT_SEED = 1;

/**
 * Makes the preferred input of `job.unit` of layer `job.layer` of run `job.runId`.
 * @throws UsageError for a tfjs backend, an unknown run or layer, or a top-1 value the model no longer gives
 */
export async function renderPreferredUnit(db: Store, job: RenderJob, backend: BackendChoice, onProgress: (done: number, total: number) => void): Promise<RenderOutput> {
  if (inferenceEngineOf(backend) === 'tfjs') throw new UsageError(`Preferred inputs run on the onnx engine only; serve was started with --backend ${backend}`);
  const model = openPreferredModel({ db, runId: job.runId, seed: DEFAULT_SEED, log: () => undefined });
  const runner = createPreferredRunner({ executionProvider: currentExecutionProvider(), workers: 0 });
  try {
    const layer = planMosaicLayers(model.layers, String(job.layer), `run ${job.runId}`, model.inputSizePx)[0]!;
    const settings = resolvePreferredSettings({}, model.inputSizePx);
    const graphs = preferredGraphsOf(model.graph, model.weights, model.fingerprint, layer.layer.name, settings);
    let step = 0;
    onProgress(0, settings.steps);
    const source = { model, settings, runner, seed: DEFAULT_SEED, outDir: job.outDir };
    const [row] = await optimiseUnits(source, { ...layer, folder: '.' }, [job.unit!], graphs, top1Of(db, model, layer.layer.number), () => onProgress(++step, settings.steps));
    if (row === undefined) throw new UsageError(`No preferred input came back for unit ${job.unit}`);
    const result: PreferredRender = { activation: row.activation, top1: row.top1Activation, ratio: row.ratio, steps: settings.steps, settings: describeSettings(settings) };
    return { files: { preferred: row.fieldPng ?? row.png, image: row.png, values: row.npy }, result: { ...result, finalObjective: row.finalObjective, startObjective: row.startObjective, seed: row.seed } };
  } finally {
    await runner.close();
    model.release();
  }
}
