/**
 * The explorer's renders for runs over imported models: an image's strongest
 * units per analysed layer and the model's prediction, from one forward pass
 * of the model's graph on the onnx engine (the forward executor's taps
 * request, the model's own preprocessing), and its occlusion map (the sweep
 * on the same executor, over the run's last analysed layer). Projections go
 * through the generic projector (serve-renderer.ts).
 */
import { UsageError } from '../../src/errors.js';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import { prepareModelInput } from '../../src/import/model-input.js';
import type { ClassRecord } from '../../src/store/image-index.js';
import type { ModelGraph } from '../../src/graph/model-graph.js';
import { describeModelInput, openImportedModel, type OpenedImportedModel } from '../../src/import/open-imported-model.js';
import { computeChannelMaxima, computeSoftmax } from '../../src/experiments/feature-measures.js';
import { findArgMax } from '../../src/experiments/occlusion-sweep.js';
import type { BackendChoice } from '../../src/backend/select-backend.js';
import type { ImageActivations } from '../../src/serve/pages-image.js';
import type { RenderJob, RenderOutput } from '../../src/serve/render-engine.js';
import type { Store } from '../../src/store/open-store.js';
import { isImportedPassModel, type TopActivationRun } from '../../src/store/top-activations-store.js';
import { createForwardExecutor, type ForwardExecutor } from '../../src/workers/forward-executor.js';
import { cropCentre } from '../activations/activations-input.js';
import { mapImportedLabel } from '../experiments/experiment-model.js';
import type { MosaicModel } from '../mosaics/mosaics-model.js';
import { renderOcclusionMap } from './serve-occlusion-map.js';

export interface ImportedRun {
  kind: 'imported';
  pass: TopActivationRun;
  opened: OpenedImportedModel;
  executor: ForwardExecutor;
  /** The projector (pipelines/mosaics/mosaics-model.ts), opened by the first projection render. */
  projection: MosaicModel | null;
}

/**
 * Opens the run's imported model and an onnx executor for it.
 * @throws UsageError when the model is no longer in the store or its file differs from the one the run analysed.
 */
export async function loadImportedRun(db: Store, pass: TopActivationRun, backend: BackendChoice): Promise<ImportedRun> {
  if (!isImportedPassModel(pass.modelConfig)) throw new RangeError(`Run ${pass.runId} is not over an imported model`);
  const recorded = pass.modelConfig.imported;
  const opened = openImportedModel(db, recorded.name);
  if (opened.model.sha256 !== recorded.modelSha256) {
    throw new UsageError(`Imported model ${recorded.name} is not the file run ${pass.runId} analysed (sha256 ${opened.model.sha256.slice(0, 12)}, the run recorded ${recorded.modelSha256.slice(0, 12)}); import it again under another name to compare`);
  }
  const executor = await createForwardExecutor({ workers: 1, backend, model: { kind: 'imported', model: opened.model }, graphCacheDir: null });
  return { kind: 'imported', pass, opened, executor, projection: null };
}

/** The name of logit `index`: the model's labels file, else the dataset's class when the counts match, else its index. */
export function nameImportedLogit(labels: readonly string[] | null, classes: readonly ClassRecord[], classCount: number, index: number): string {
  if (labels !== null) return labels[index] ?? `class ${index}`;
  if (classes.length === classCount) return classes.find((c) => c.label === index)?.name ?? `class ${index}`;
  return `class ${index}`;
}

/** The graph layer whose output gives the prediction: probabilities if the model has them, else logits. */
function findOutputLayer(graph: ModelGraph): { name: string; isProbs: boolean } | null {
  const probs = graph.layers.find((l) => l.kind === 'probs');
  if (probs !== undefined) return { name: probs.name, isProbs: true };
  const logits = graph.layers.find((l) => l.kind === 'logits');
  return logits === undefined ? null : { name: logits.name, isProbs: false };
}

/** The image a job renders: its file, dataset label and the dataset's classes. */
export interface ImportedJobImage {
  path: string;
  label: number | null;
  classes: readonly ClassRecord[];
}

/**
 * Renders an image job of an imported run: its activations or its occlusion map.
 * (Projections go through the generic projector, see serve-renderer.ts.)
 * @throws UsageError for an unreadable image.
 */
export async function renderImportedJob(job: RenderJob, run: ImportedRun, image: ImportedJobImage, unitsPerLayer: number,
  onProgress: (done: number, total: number) => void): Promise<RenderOutput> {
  if (job.kind === 'occlusion') return renderImportedOcclusion(job, run, image, onProgress);
  if (job.kind !== 'activations') throw new RangeError(`${job.kind} of an imported run are not rendered here`);
  const { graph, preprocessing } = run.opened.model;
  const steps = describeModelInput(preprocessing, run.opened.record.name);
  const s = steps.inputSizePx;
  onProgress(0, 1);
  const pixels = steps.normalize(await cropCentre({ imageId: job.imageId!, label: null, relPath: image.path, path: image.path }, steps.squarePx, s, null, steps.resample));
  const output = findOutputLayer(graph);
  const names = [...run.pass.analysedLayers.map((l) => l.name), ...(output === null ? [] : [output.name])];
  const taps = (await run.executor.run({ pixels, shape: [1, s, s, 3] }, { reducer: 'taps', taps: [...new Set(names)] })).taps;
  const layers: ImageActivations['layers'] = run.pass.analysedLayers.map((layer) => {
    const tap = taps[layer.name]!; // [1, h, w, C]
    const maxima = computeChannelMaxima(tap.data, tap.shape[tap.shape.length - 1]!);
    const order = Array.from(maxima.keys()).sort((a, b) => maxima[b]! - maxima[a]! || a - b);
    return { layer: layer.number, unitCount: maxima.length, firing: maxima.filter((v) => v > 0).length, units: order.slice(0, unitsPerLayer).map((unit) => ({ unit, value: maxima[unit]! })) };
  });
  let prediction: ImageActivations['prediction'] = null;
  if (output !== null) {
    const values = taps[output.name]!.data;
    const [index, prob] = findArgMax(output.isProbs ? values : computeSoftmax(values));
    prediction = { index, prob, name: nameImportedLogit(run.opened.model.origin.classLabels, image.classes, values.length, index) };
  }
  onProgress(1, 1);
  return { files: {}, result: { layers, prediction } satisfies ImageActivations };
}

/** The occlusion map over the run's last analysed layer; p(true class) when the model's labels (or class count) name the image's class. */
async function renderImportedOcclusion(job: RenderJob, run: ImportedRun, image: ImportedJobImage, onProgress: (done: number, total: number) => void): Promise<RenderOutput> {
  const { graph, preprocessing, origin } = run.opened.model;
  const steps = describeModelInput(preprocessing, run.opened.record.name);
  const input = await prepareModelInput(image.path, steps);
  const layer = run.pass.analysedLayers.reduce((a, b) => (b.number > a.number ? b : a));
  const classCount = inferGraphShapes(graph).get(graph.logits)![0]!;
  const trueIndex = mapImportedLabel(origin.classLabels, classCount, image.classes, image.label);
  return renderOcclusionMap({
    probe: { executor: run.executor, layer: layer.name }, layerNumber: layer.number, input: input.input, display: input.display, sizePx: input.sizePx,
    // the mean colour is zero after the model's own normalisation, as the occlusion command fills it
    fill: new Float32Array(input.sizePx * input.sizePx * 3),
    trueClass: trueIndex === null ? null : { index: trueIndex, name: nameImportedLogit(origin.classLabels, image.classes, classCount, trueIndex) },
    outDir: job.outDir, onProgress,
  });
}
