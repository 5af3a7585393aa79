/**
 * The model an image experiment (occlusion, invariance, correspondence)
 * examines, whichever kind it is:
 * - the project's own architecture: a checkpoint or fresh paper-initialised
 *   weights of `--model ARCH`, images minus a mean image (the checkpoint's,
 *   the store's or the constant fallback), class ids from the checkpoint;
 * - an imported model (`--model NAME` of `run-pipeline import`): its graph on
 *   the onnx engine, its layers by their own names, its preprocessing
 *   (resize, crop, scale, channel order, mean/std) and its class labels.
 * Pipelines read the graph's layers, prepared inputs, class names, the
 * forward executor's source and a projector from it, and never ask which
 * kind it is.
 */
import { currentExecutionProvider, type BackendChoice } from '../../src/backend/select-backend.js';
import type { ClassRecord, DatasetRecord } from '../../src/store/image-index.js';
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { resolveMeanImage } from '../../src/store/mean-store.js';
import { createFullFrameProjector } from '../../src/deconv/graph-projector.js';
import { createProjector, type Projector } from '../../src/deconv/projector.js';
import { loadExperimentModel, mapLabelToLogit, nameLogit, prepareCentreInput } from '../../src/experiments/experiment-inputs.js';
import { computeFillImage, type OccluderFill } from '../../src/experiments/occluder.js';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import type { ModelGraph } from '../../src/graph/model-graph.js';
import { prepareModelInput } from '../../src/import/model-input.js';
import { describeModelInput, type OpenedImportedModel } from '../../src/import/open-imported-model.js';
import { normalizePixels } from '../../src/import/preprocessing.js';
import { disposeParams } from '../../src/model/params.js';
import type { Store } from '../../src/store/open-store.js';
import type { ModelSource } from '../../src/workers/forward-executor.js';
import { openImportedModelOption } from '../shared/pass-model.js';

/** One image as the model sees it, with what the figures need. */
export interface ExperimentInput {
  /** [S, S, 3] the model input. */
  input: Float32Array;
  /** [S, S, 3] the crop the model saw, 0..255 RGB. */
  display: Uint8Array;
  sizePx: number;
  /** [S, S, 3] input-space values of an occluder or mask of this kind (`mean`: the input the mean gives, 0). */
  fillImage(fill: OccluderFill): Float32Array;
}

export interface ExaminedModel {
  /** Architecture or imported model name (recorded as the run's model). */
  name: string;
  /** Layers by their names (the project's: conv1 ... conv5, fc6, fc7, logits). */
  graph: ModelGraph;
  inputSizePx: number;
  /** Shorter side before the centre crop. */
  squarePx: number;
  /** For the forward executor. */
  source: ModelSource;
  /** What the weights and input steps are, recorded with the run (part of its resume key). */
  record: Record<string, unknown>;
  /** sha256 of the mean image subtracted (null: an imported model's own steps). */
  meanSha256: string | null;
  /** "checkpoint FILE", "random weights ...", "imported model NAME ...". */
  description: string;
  /** Logit index of a dataset label; null when the model does not know the class. */
  mapLabel(classes: readonly ClassRecord[], datasetLabel: number | null): number | null;
  /** Readable name of a logit. */
  nameLogit(classes: readonly ClassRecord[], index: number): string;
  /** @throws UsageError naming the path when it cannot be read or decoded. */
  prepareInput(path: string): Promise<ExperimentInput>;
  /** [S, S, 3] values in the model's channel order -> RGB order (a BGR model's channels swapped). */
  toRgb(hwc: Float32Array): Float32Array;
  /** The deconvnet projector of the engine `backend` picks (imported models: onnxruntime, full frame), one in-process session. */
  createProjector(backend: BackendChoice): Projector;
  /** Frees the model's tensors. */
  release(): void;
}

export interface OpenExaminedModelOptions {
  db: Store;
  dataset: DatasetRecord;
  checkpoint?: string;
  /** An imported model's name, or the architecture of fresh weights. */
  model?: string;
  seed: number;
  log: (line: string) => void;
}

/**
 * Opens the model the options name: `--model NAME` of an imported model (when
 * the store has one and no --checkpoint is given), else the project's checkpoint or fresh weights.
 * @throws UsageError for a name that is neither kind (listing both), an unusable checkpoint or model file.
 */
export function openExaminedModel(options: OpenExaminedModelOptions): ExaminedModel {
  const imported = openImportedModelOption(options.db, options);
  return imported === undefined ? openProjectModel(options) : openImportedExperimentModel(imported, options.dataset, options.log);
}

function openProjectModel(options: OpenExaminedModelOptions): ExaminedModel {
  const model = loadExperimentModel({ checkpoint: options.checkpoint, model: options.model, seed: options.seed, numClasses: options.dataset.classes.length });
  try {
    const { config, params, source } = model;
    const { mean, line } = resolveMeanImage(options.db, options.dataset.id, config, 'checkpoint' in source ? { mean: model.checkpointMean ?? null } : null);
    options.log(line);
    const S = config.inputSizePx;
    return {
      name: config.name, graph: lowerModelConfig(config), inputSizePx: S, squarePx: computeSquareSizePx(S),
      source: { kind: 'params', config, params, sha256: 'sha256' in source ? source.sha256 : null },
      record: { mean: { source: mean.source, sha256: mean.sha256 }, weights: source }, meanSha256: mean.sha256,
      description: 'checkpoint' in source ? `checkpoint ${source.checkpoint}` : `random weights (paper init, seed ${source.randomSeed}): no checkpoint given`,
      mapLabel: (classes, label) => mapLabelToLogit(config, classes, label),
      nameLogit: (classes, index) => nameLogit(config, classes, index),
      async prepareInput(path) {
        const prepared = await prepareCentreInput(path, S, mean);
        return { ...prepared, fillImage: (fill) => computeFillImage(fill, S, prepared.meanCrop) };
      },
      toRgb: (hwc) => hwc,
      createProjector: (backend) => createProjector({ backend, config, params, workers: 0, executionProvider: currentExecutionProvider() }),
      release: () => disposeParams(params),
    };
  } catch (error) {
    disposeParams(model.params);
    throw error;
  }
}

/**
 * An imported model's logit of a dataset label: by its class labels (the
 * dataset class's key, e.g. a WordNet id, or its name), else the label
 * itself when the model has exactly the dataset's classes; null otherwise.
 */
export function mapImportedLabel(labels: readonly string[] | null, numClasses: number, classes: readonly ClassRecord[], datasetLabel: number | null): number | null {
  if (datasetLabel === null) return null;
  const record = classes.find((c) => c.label === datasetLabel);
  if (labels !== null) {
    const index = record === undefined ? -1 : [record.key, record.name].map((k) => labels.indexOf(k)).find((i) => i >= 0) ?? -1;
    return index < 0 ? null : index;
  }
  return classes.length === numClasses && datasetLabel < numClasses ? datasetLabel : null;
}

function openImportedExperimentModel(opened: OpenedImportedModel, dataset: DatasetRecord, log: (line: string) => void): ExaminedModel {
  const { record, model } = opened;
  const steps = describeModelInput(model.preprocessing, record.name);
  const labels = model.origin.classLabels;
  const numClasses = inferGraphShapes(model.graph).get(model.graph.logits)![0]!;
  const S = steps.inputSizePx;
  log(`model: imported ${record.name} (${record.format}${record.architecture === null ? '' : ` ${record.architecture}`}, sha256 ${model.sha256.slice(0, 12)}), preprocessing ${JSON.stringify(model.preprocessing)}, ${labels === null ? 'no class labels' : `${labels.length} class labels`}`);
  if (labels === null && numClasses !== dataset.classes.length) log(`model: ${record.name} has ${numClasses} classes and no labels, the dataset ${dataset.classes.length}: p(true class) is not known (import it with --labels)`);
  const constantFill = (level: number): Float32Array => normalizePixels(new Float32Array(S * S * 3).fill(level), model.preprocessing);
  return {
    name: record.name, graph: model.graph, inputSizePx: S, squarePx: steps.squarePx, source: { kind: 'imported', model },
    record: { weights: { imported: record.name, modelSha256: model.sha256, sourceSha256: record.sourceSha256 }, preprocessing: model.preprocessing },
    meanSha256: null, description: `imported model ${record.name} (${model.path})`,
    mapLabel: (classes, label) => mapImportedLabel(labels, numClasses, classes, label),
    nameLogit: (classes, index) => labels?.[index] ?? (classes.length === numClasses ? classes.find((c) => c.label === index)?.name : undefined) ?? `class ${index}`,
    async prepareInput(path) {
      const prepared = await prepareModelInput(path, steps);
      return { ...prepared, fillImage: (fill) => (fill === 'mean' ? new Float32Array(S * S * 3) : constantFill(fill === 'grey' ? 128 : 0)) };
    },
    toRgb: (hwc) => (model.preprocessing.channelOrder === 'bgr' ? swapRedBlue(hwc) : hwc),
    createProjector: () => createFullFrameProjector(model.graph, model.weights, 'deconvnet', { workers: 0, executionProvider: currentExecutionProvider() }),
    release: () => undefined,
  };
}

/** [.., 3] with channels 0 and 2 swapped (BGR <-> RGB). */
function swapRedBlue(hwc: Float32Array): Float32Array {
  const out = Float32Array.from(hwc);
  for (let i = 0; i < out.length; i += 3) [out[i], out[i + 2]] = [hwc[i + 2]!, hwc[i]!];
  return out;
}
