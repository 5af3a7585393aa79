/**
 * The model whose units `preferred-inputs` optimises, whichever way it is named:
 * - a top-activations run (`--run ID`, or the newest finished one when
 *   neither --checkpoint nor --model is given): its weights (checkpoint,
 *   random init or imported model), its layers, its mean image or the
 *   imported model's preprocessing, and its top-1 entries to measure against;
 * - a checkpoint (`--checkpoint FILE`): the project's architecture, its own
 *   mean image (or the constant fallback), its conv layers; no top-1;
 * - `--model NAME`: an imported model (its file, preprocessing and layers by
 *   their own names), or the architecture NAME with fresh random weights.
 * The pipeline reads the graph, the weights, the input mapping and the layers
 * from it and never asks which kind it is.
 */
import { computePaperCropBox, computeSquareSizePx, extractCrop } from '../../src/data/crop-geometry.js';
import { createFallbackMean, type MeanImage } from '../../src/data/mean-image.js';
import { UsageError } from '../../src/errors.js';
import { listAnalysedLayers, type AnalysedLayer } from '../../src/graph/analysed-layers.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import type { GraphWeights, ModelGraph } from '../../src/graph/model-graph.js';
import { prepareModelInput } from '../../src/import/model-input.js';
import { describeModelInput, openImportedModel, type OpenedImportedModel } from '../../src/import/open-imported-model.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams } from '../../src/model/params.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { graphWeightsFromCheckpoint, graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import { readCheckpointFile } from '../../src/checkpoint/checkpoint-file.js';
import { probeInputMapping, type InputMapping } from '../../src/preferred/input-mapping.js';
import type { Store } from '../../src/store/open-store.js';
import { isImportedPassModel, type TopActivationRun } from '../../src/store/top-activations-store.js';
import { createInputCache, createInputCacheOf, findSourceRun, loadRunMean, loadRunModel, type InputCache } from '../shared/run-source.js';
import { openImportedModelOption } from '../shared/pass-model.js';

export interface PreferredModel {
  /** Architecture or imported model name (the run's model). */
  name: string;
  /** "checkpoint FILE", "imported model NAME (...)", "top-activations run ID (...)". */
  description: string;
  /** The weights' identity (sha256 or random-init:SEED). */
  fingerprint: string;
  graph: ModelGraph;
  weights: GraphWeights;
  inputSizePx: number;
  mapping: InputMapping;
  /** The layers that can be chosen, with aliases. */
  layers: AnalysedLayer[];
  /** Recorded with the run (part of its resume key). */
  source: Record<string, unknown>;
  /** The top-activations run measured against, with its prepared inputs; null without one. */
  run: { record: TopActivationRun; inputs: InputCache } | null;
  release(): void;
}

export interface OpenPreferredModelOptions {
  db: Store;
  runId?: string;
  checkpoint?: string;
  model?: string;
  /** Seed of a random init (`--model ARCH`). */
  seed: number;
  log: (line: string) => void;
}

/** The project's input mapping: minus the centre crop of the mean image. */
function meanMapping(inputSizePx: number, mean: MeanImage): InputMapping {
  const squarePx = computeSquareSizePx(inputSizePx);
  const crop = new Float32Array(inputSizePx * inputSizePx * 3);
  extractCrop(mean.pixels, squarePx, computePaperCropBox('centre', squarePx, inputSizePx, false), null, crop);
  return probeInputMapping(inputSizePx, (rgb) => rgb.map((v, i) => v - crop[i]!));
}

function importedModel(opened: OpenedImportedModel, extra: { run: PreferredModel['run']; description?: string }): PreferredModel {
  const { record, model } = opened;
  const steps = describeModelInput(model.preprocessing, record.name);
  return {
    name: record.name, fingerprint: model.sha256, graph: model.graph, weights: model.weights, inputSizePx: steps.inputSizePx,
    description: extra.description ?? `imported model ${record.name} (${record.format}${record.architecture === null ? '' : ` ${record.architecture}`}, sha256 ${model.sha256.slice(0, 12)})`,
    mapping: probeInputMapping(steps.inputSizePx, steps.normalize), layers: opened.layers,
    source: extra.run === null ? { model: record.name, modelSha256: model.sha256 } : { run: extra.run.record.runId },
    run: extra.run, release: () => undefined,
  };
}

function projectModel(config: ModelConfig, weights: GraphWeights, mean: MeanImage, fields: Pick<PreferredModel, 'description' | 'fingerprint' | 'source' | 'run' | 'release'>): PreferredModel {
  const graph = lowerModelConfig(config);
  return { name: config.name, graph, weights, inputSizePx: config.inputSizePx, mapping: meanMapping(config.inputSizePx, mean), layers: listAnalysedLayers(graph, 'conv-index'), ...fields };
}

/** The model of a top-activations run, with the run's inputs for its top-1 images. */
function openRunModel(db: Store, run: TopActivationRun, log: (line: string) => void): PreferredModel {
  const description = `top-activations run ${run.runId}`;
  if (isImportedPassModel(run.modelConfig)) {
    const opened = openImportedModel(db, run.modelConfig.imported.name);
    if (opened.model.sha256 !== run.weights) throw new UsageError(`Imported model ${opened.record.name} changed since run ${run.runId} (sha256 ${opened.model.sha256.slice(0, 12)}, the run used ${run.weights.slice(0, 12)}): its top-1 values would not be this model's`);
    const steps = describeModelInput(opened.model.preprocessing, opened.record.name);
    const inputs = createInputCacheOf((path) => prepareModelInput(path, steps));
    const model = importedModel(opened, { run: { record: run, inputs }, description: `${description} (imported model ${opened.record.name})` });
    return { ...model, layers: run.analysedLayers.map((l) => ({ ...l, aliases: opened.layers.find((o) => o.name === l.name)?.aliases ?? [] })) };
  }
  const loaded = loadRunModel(run, undefined, log);
  try {
    const mean = loadRunMean(db, run, loaded, log);
    return {
      ...projectModel(loaded.config, graphWeightsFromParams(loaded.config, loaded.params), mean, {
        description: `${description} (${loaded.description})`, fingerprint: loaded.fingerprint, source: { run: run.runId },
        run: { record: run, inputs: createInputCache(loaded.config.inputSizePx, mean) }, release: () => disposeParams(loaded.params),
      }),
      layers: run.analysedLayers,
    };
  } catch (error) {
    disposeParams(loaded.params);
    throw error;
  }
}

/**
 * Opens the model the options name (see the header).
 * @throws UsageError for no run, an unknown run or model name, an unusable checkpoint or model file
 */
export function openPreferredModel(options: OpenPreferredModelOptions): PreferredModel {
  const { db, log } = options;
  if (options.runId !== undefined && (options.checkpoint !== undefined || options.model !== undefined)) {
    throw new UsageError('Give a top-activations run (--run) or a model (--checkpoint or --model), not both: a run names its own model');
  }
  if (options.checkpoint === undefined && options.model === undefined) return openRunModel(db, findSourceRun(db, options.runId), log);
  const imported = openImportedModelOption(db, options);
  if (imported !== undefined) return importedModel(imported, { run: null });
  if (options.checkpoint !== undefined) {
    const contents = readCheckpointFile(options.checkpoint);
    const mean = contents.mean ?? createFallbackMean(computeSquareSizePx(contents.config.inputSizePx));
    if (contents.mean === null) log(`checkpoint ${options.checkpoint} carries no mean image: subtracting the constant ImageNet mean colour`);
    return projectModel(contents.config, graphWeightsFromCheckpoint(contents), mean, {
      description: `checkpoint ${options.checkpoint}`, fingerprint: contents.sha256, source: { checkpoint: options.checkpoint, checkpointSha256: contents.sha256 }, run: null, release: () => undefined,
    });
  }
  const config = buildModelConfig(options.model!);
  log(`WARNING: no --checkpoint given: optimising for a freshly initialised ${config.name} (paper init, seed ${options.seed}), the RANDOM-WEIGHT BASELINE, not a trained model.`);
  const params = initParams(config, options.seed);
  return projectModel(config, graphWeightsFromParams(config, params), createFallbackMean(computeSquareSizePx(config.inputSizePx)), {
    description: `random weights (paper init, seed ${options.seed})`, fingerprint: `random-init:${options.seed}`, source: { model: config.name, randomSeed: options.seed }, run: null, release: () => disposeParams(params),
  });
}
