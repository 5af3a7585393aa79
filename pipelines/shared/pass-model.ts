/**
 * The model a forward pass analyses, whichever kind it is:
 * - the project's own architecture: a checkpoint, or a loudly announced
 *   random init of `--model ARCH`; images minus a mean image (the
 *   checkpoint's, the store's or the constant fallback), 0..255;
 * - an imported model (`--model NAME` of `run-pipeline import`): its graph
 *   on the onnx engine, its layers by their own names, its preprocessing
 *   (resize, crop, scale, channel order, mean/std) applied to every batch.
 * Pipelines read layers, identity fields and input steps from it, and hand
 * `source` to the forward executor; nothing downstream asks which kind it is.
 */
import type { DatasetRecord } from '../../src/store/image-index.js';
import type { ResampleMethod } from '../../src/data/decode-image.js';
import type { MeanImage } from '../../src/data/mean-image.js';
import { resolveMeanImage } from '../../src/store/mean-store.js';
import { UsageError } from '../../src/errors.js';
import { listAnalysedLayers, type AnalysedLayer } from '../../src/graph/analysed-layers.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { describeModelInput, tryOpenImportedModel, type OpenedImportedModel } from '../../src/import/open-imported-model.js';
import { ARCHITECTURE_NAMES } from '../../src/model/architectures.js';
import { disposeParams } from '../../src/model/params.js';
import type { Store } from '../../src/store/open-store.js';
import { listImportedModels } from '../../src/store/imported-models-store.js';
import type { PassModelConfig } from '../../src/topk/pass-identity.js';
import type { ModelSource } from '../../src/workers/forward-executor.js';
import { isConvTensor, loadCheckpoint, readCheckpointFile } from '../../src/checkpoint/checkpoint-file.js';
import type { InferenceEngineName } from '../../src/backend-choice.js';
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { initParams, type ModelParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { hashFloat32 } from '../../src/topk/pass-identity.js';

/** Architecture of the random-weight baseline when neither --checkpoint nor --model is given. */
export const DEFAULT_MODEL = 'zfnet-small';

export interface LoadedModel {
  config: ModelConfig;
  params: ModelParams;
  /** Checkpoint sha256, or `random-init:<seed>`. */
  weights: string;
  checkpointSha256: string | null;
  /** The mean image the checkpoint carries (null: fresh weights, or a checkpoint from before means travelled with it). */
  checkpointMean: MeanImage | null;
}

export interface LoadModelOptions {
  checkpoint?: string;
  model?: string;
  initSeed: number;
}

/**
 * Checkpoint weights, or a loudly announced random init (class ids from the dataset when known).
 * Ownership: the caller disposes params.
 * @throws UsageError for an unusable checkpoint or one that does not hold `model`.
 */
export function loadModel(options: LoadModelOptions, classKeys: string[] | null, log: (line: string) => void): LoadedModel {
  if (options.checkpoint !== undefined) {
    const loaded = loadCheckpoint(options.checkpoint);
    try {
      checkArchitecture(options.checkpoint, loaded.config, options.model);
    } catch (error) {
      disposeParams(loaded.params);
      throw error;
    }
    return { config: loaded.config, params: loaded.params, weights: loaded.sha256, checkpointSha256: loaded.sha256, checkpointMean: loaded.mean };
  }
  const config = buildModelConfig(options.model ?? DEFAULT_MODEL, classKeys === null ? {} : { classIds: classKeys });
  log(`WARNING: no --checkpoint given: analysing a freshly initialised ${config.name} (paper init, seed ${options.initSeed}).`);
  log('WARNING: this is the RANDOM-WEIGHT BASELINE, not a trained model.');
  return { config, params: initParams(config, options.initSeed), weights: `random-init:${options.initSeed}`, checkpointSha256: null, checkpointMean: null };
}

/** @throws UsageError when --model names another architecture than the checkpoint holds */
function checkArchitecture(checkpoint: string, config: ModelConfig, model: string | undefined): void {
  if (model !== undefined && model !== config.name) throw new UsageError(`Checkpoint ${checkpoint} holds ${config.name} but --model says ${model}`);
}

/** The project model's weights as the engine wants them, with what the pass records about them. */
interface ProjectWeights {
  config: ModelConfig;
  weights: string;
  checkpointSha256: string | null;
  checkpointMean: MeanImage | null;
  source: ModelSource;
  project: LoadedModel | null;
  release(): void;
}

/**
 * A checkpoint on the onnx engine is read once, as it is on disk: its conv tensors become the
 * graphs' weights (the fc layers, 94% of zfnet's bytes, are hashed but never copied, and no
 * tf.Variables are made). Otherwise the tfjs parameters of loadModel.
 */
function loadProjectWeights(options: OpenPassModelOptions, log: (line: string) => void): ProjectWeights {
  if (options.checkpoint !== undefined && options.engine === 'onnx') {
    const contents = readCheckpointFile(options.checkpoint, { keepTensor: isConvTensor });
    checkArchitecture(options.checkpoint, contents.config, options.model);
    return {
      config: contents.config, weights: contents.sha256, checkpointSha256: contents.sha256, checkpointMean: contents.mean,
      source: { kind: 'contents', contents }, project: null, release: () => undefined,
    };
  }
  const loaded = loadModel(options, options.dataset.classes.map((c) => c.key), log);
  return {
    ...loaded, source: { kind: 'params', config: loaded.config, params: loaded.params, sha256: loaded.checkpointSha256 },
    project: loaded, release: () => disposeParams(loaded.params),
  };
}

/** The preprocessing record: the paper's evaluation input at size S, and which mean image. */
export function describePreprocessing(inputSizePx: number, mean: MeanImage): Record<string, unknown> {
  const squarePx = computeSquareSizePx(inputSizePx);
  return {
    resizeShorterSidePx: squarePx, centreSquarePx: squarePx, crop: 'centre', inputSizePx, scale: '0..255 minus the mean image',
    meanImage: { source: mean.source, split: mean.split, imageCount: mean.imageCount, sha256: hashFloat32(mean.pixels) },
  };
}

export interface PassModel {
  kind: 'project' | 'imported';
  /** Architecture or imported model name, recorded with runs. */
  name: string;
  /** Checkpoint or model file sha256, or `random-init:<seed>`. */
  weights: string;
  checkpointPath: string | null;
  checkpointSha256: string | null;
  modelConfig: PassModelConfig;
  /** Every analysable map layer with its store number. */
  layers: AnalysedLayer[];
  inputSizePx: number;
  /** The batch stream's input steps. */
  input: { meanImage: MeanImage | null; squarePx?: number; resample?: ResampleMethod; normalize?: (pixels: Float32Array) => Float32Array };
  /** The preprocessing record (part of a pass's identity). */
  preprocessing: Record<string, unknown>;
  /** sha256 of the mean image subtracted, recorded with the run (null: none). */
  meanSha256: string | null;
  /** For the forward executor. */
  source: ModelSource;
  /**
   * The project model's config and params (tfjs tensors), for the commands that still need them; null for
   * imported models and for a checkpoint read for the onnx engine (its tensors are in `source`).
   */
  project: LoadedModel | null;
  imported: OpenedImportedModel | null;
  /** Frees the model's tensors. */
  release(): void;
}

export interface OpenPassModelOptions {
  db: Store;
  dataset: DatasetRecord;
  checkpoint?: string;
  /** An imported model's name, or the architecture of a random init. */
  model?: string;
  initSeed: number;
  /** The engine the forward passes run on (default tfjs): onnx reads a checkpoint's tensors without tfjs. */
  engine?: InferenceEngineName;
  log: (line: string) => void;
}

function importedPassModel(opened: OpenedImportedModel, log: (line: string) => void): PassModel {
  const { record, model } = opened;
  const steps = describeModelInput(model.preprocessing, record.name);
  log(`model: imported ${record.name} (${record.format}${record.architecture === null ? '' : ` ${record.architecture}`}, sha256 ${model.sha256.slice(0, 12)}), preprocessing ${JSON.stringify(model.preprocessing)}`);
  return {
    kind: 'imported', name: record.name, weights: model.sha256, checkpointPath: model.path, checkpointSha256: model.sha256,
    modelConfig: { imported: { name: record.name, modelSha256: model.sha256, sourceSha256: record.sourceSha256, format: record.format, architecture: record.architecture, inputSizePx: steps.inputSizePx } },
    layers: opened.layers, inputSizePx: steps.inputSizePx,
    input: { meanImage: null, squarePx: steps.squarePx, resample: steps.resample, normalize: steps.normalize },
    preprocessing: { ...model.preprocessing, crop: 'centre' }, meanSha256: null,
    source: { kind: 'imported', model }, project: null, imported: opened, release: () => undefined,
  };
}

/**
 * The imported model `--model NAME` names (when the store has one of that
 * name and no --checkpoint is given); undefined for the project's architectures.
 * @throws UsageError for a name that is neither (listing both kinds), or an unusable model file.
 */
export function openImportedModelOption(db: Store, options: { checkpoint?: string; model?: string }): OpenedImportedModel | undefined {
  if (options.checkpoint !== undefined || options.model === undefined) return undefined;
  const opened = tryOpenImportedModel(db, options.model);
  if (opened !== undefined || (ARCHITECTURE_NAMES as readonly string[]).includes(options.model)) return opened;
  const imported = listImportedModels(db).map((r) => r.name);
  throw new UsageError(`Expected an imported model (${imported.length === 0 ? 'none in this store' : imported.join(', ')}) or an architecture (${ARCHITECTURE_NAMES.join(', ')}) for --model but received ${JSON.stringify(options.model)}`);
}

/**
 * Opens the model: `--model NAME` names an imported model when the store has
 * one of that name (and no --checkpoint is given), else the architecture of a
 * checkpoint or random init.
 * @throws UsageError for an unknown name (listing architectures and imported models), an unusable checkpoint or model file.
 */
export function openPassModel(options: OpenPassModelOptions): PassModel {
  const { db, dataset, log } = options;
  const opened = openImportedModelOption(db, options);
  if (opened !== undefined) return importedPassModel(opened, log);
  const loaded = loadProjectWeights(options, log);
  try {
    const { mean, line } = resolveMeanImage(db, dataset.id, loaded.config, options.checkpoint === undefined ? null : { mean: loaded.checkpointMean });
    log(line);
    return {
      kind: 'project', name: loaded.config.name, weights: loaded.weights, checkpointPath: options.checkpoint ?? null, checkpointSha256: loaded.checkpointSha256,
      modelConfig: loaded.config, layers: listAnalysedLayers(lowerModelConfig(loaded.config), 'conv-index'), inputSizePx: loaded.config.inputSizePx,
      input: { meanImage: mean }, preprocessing: describePreprocessing(loaded.config.inputSizePx, mean), meanSha256: mean.sha256,
      source: loaded.source, project: loaded.project, imported: null, release: loaded.release,
    };
  } catch (error) {
    loaded.release();
    throw error;
  }
}
