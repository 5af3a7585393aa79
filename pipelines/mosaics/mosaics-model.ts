/**
 * The model `mosaics` projects through, whichever kind the top-activations
 * run analysed; the drawing (mosaics.ts) does not ask which:
 * - the project's own architecture: the run's checkpoint (or `--checkpoint`,
 *   or its seeded random init), the mean image whose hash the run recorded;
 *   the deconvnet on the engine --backend picks (src/deconv/projector.ts:
 *   receptive-field windows on onnx, the tfjs reference), guided and gradient
 *   through the generic graph rules on onnx;
 * - an imported model: its file (checked against the record's SHA-256), its
 *   preprocessing (resize, crop, scale, channel order, mean/std), any method
 *   through the generic graph rules (src/deconv/graph-projector.ts) on onnx.
 */
import { inferenceEngineOf, type BackendChoice } from '../../src/backend-choice.js';
import { currentExecutionProvider } from '../../src/backend/select-backend.js';
import { createFullFrameProjector } from '../../src/deconv/graph-projector.js';
import { createProjector, type Projector } from '../../src/deconv/projector.js';
import { UsageError } from '../../src/errors.js';
import type { AnalysedLayer } from '../../src/graph/analysed-layers.js';
import { findImageConvOf, readConvFilters } from '../../src/graph/input-conv.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import type { GraphWeights, ModelGraph } from '../../src/graph/model-graph.js';
import { prepareModelInput } from '../../src/import/model-input.js';
import { describeModelInput, openImportedModel } from '../../src/import/open-imported-model.js';
import { stretchSymmetric, type RgbImage } from '../../src/mosaic/display-scaling.js';
import { disposeParams } from '../../src/model/params.js';
import type { DeconvMethod } from '../../src/onnx/deconv-graphs.js';
import { graphWeightsFromParams } from '../../src/onnx/graph-weights.js';
import type { Store } from '../../src/store/open-store.js';
import { isImportedPassModel, type TopActivationRun } from '../../src/store/top-activations-store.js';
import { createInputCache, createInputCacheOf, loadRunMean, loadRunModel, type InputCache } from '../shared/run-source.js';

export interface MosaicModel {
  /** e.g. `checkpoint model.safetensors`, `imported model r18 (onnx, sha256 ...)`. */
  description: string;
  /** The weights' identity (checkpoint or model file sha256, or `random-init:<seed>`), part of the pages' stamp. */
  fingerprint: string;
  kind: 'project' | 'imported';
  inputSizePx: number;
  projector: Projector;
  inputs: InputCache;
  /** The run's analysed layers, with the model's aliases. */
  layers: AnalysedLayer[];
  /** The layer's filters as RGB tiles (each stretched on its own) when it is the conv reading the image; else null. */
  filtersOf(layer: AnalysedLayer): RgbImage[] | null;
  /** Ends the projector and frees the weights. */
  close(): Promise<void>;
}

export interface OpenMosaicModelOptions {
  /** Weights to use instead of the run's checkpoint (project architectures only). */
  checkpoint?: string;
  backend: BackendChoice;
  workers?: number;
  method: DeconvMethod;
  log: (line: string) => void;
}

/** The RGB tiles of the filters of the image-reading conv behind `layer`, or null. */
function filterTiles(graph: ModelGraph, weights: GraphWeights, layer: AnalysedLayer): RgbImage[] | null {
  const conv = findImageConvOf(graph, layer);
  if (conv === null) return null;
  const { values, shape: [kh, kw, cin, count] } = readConvFilters(graph, weights, conv);
  return Array.from({ length: count }, (_, f) => {
    const one = new Float32Array(kh * kw * cin);
    for (let i = 0; i < kh * kw * cin; i++) one[i] = values[i * count + f]!;
    return { widthPx: kw, heightPx: kh, pixels: stretchSymmetric(one) };
  });
}

/** @throws UsageError when `method` needs the onnx engine and the backend is a tfjs one. */
function requireOnnx(backend: BackendChoice, what: string): void {
  if (inferenceEngineOf(backend) === 'tfjs') throw new UsageError(`${what} runs on the onnx engine only; use --backend auto or onnx`);
}

function openProjectModel(db: Store, run: TopActivationRun, options: OpenMosaicModelOptions): MosaicModel {
  const model = loadRunModel(run, options.checkpoint, options.log);
  try {
    const mean = loadRunMean(db, run, model, options.log); // the mean whose hash the run recorded (checkpoint's, store's or fallback)
    const graph = lowerModelConfig(model.config);
    const weights = graphWeightsFromParams(model.config, model.params);
    const executionProvider = currentExecutionProvider();
    let projector: Projector;
    if (options.method === 'deconvnet') {
      projector = createProjector({ backend: options.backend, config: model.config, params: model.params, workers: options.workers, executionProvider });
    } else {
      requireOnnx(options.backend, `--method ${options.method}`);
      projector = createFullFrameProjector(graph, weights, options.method, { workers: options.workers, executionProvider });
    }
    return {
      description: model.description, fingerprint: model.fingerprint, kind: 'project', inputSizePx: model.config.inputSizePx, projector,
      inputs: createInputCache(model.config.inputSizePx, mean), layers: run.analysedLayers, filtersOf: (layer) => filterTiles(graph, weights, layer),
      close: async () => {
        await projector.close();
        disposeParams(model.params);
      },
    };
  } catch (error) {
    disposeParams(model.params);
    throw error;
  }
}

function openImported(db: Store, run: TopActivationRun, name: string, options: OpenMosaicModelOptions): MosaicModel {
  if (options.checkpoint !== undefined) throw new UsageError(`Run ${run.runId} analysed the imported model ${name}; --checkpoint names weights of the project's own architectures`);
  requireOnnx(options.backend, `Imported model ${name}`);
  const opened = openImportedModel(db, name);
  const { graph, weights, sha256 } = opened.model;
  if (sha256 !== run.weights) options.log(`imported model ${name} (sha256 ${sha256.slice(0, 12)}) differs from the one run ${run.runId} used (${run.weights.slice(0, 12)}): every stored value is checked before drawing`);
  const steps = describeModelInput(opened.model.preprocessing, name);
  const projector = createFullFrameProjector(graph, weights, options.method, { workers: options.workers, executionProvider: currentExecutionProvider() });
  const aliases = new Map(opened.layers.map((l) => [l.name, l.aliases]));
  return {
    description: `imported model ${name} (${opened.record.format}${opened.record.architecture === null ? '' : ` ${opened.record.architecture}`}, sha256 ${sha256.slice(0, 12)})`,
    fingerprint: sha256, kind: 'imported', inputSizePx: steps.inputSizePx, projector,
    inputs: createInputCacheOf((path) => prepareModelInput(path, steps)),
    layers: run.analysedLayers.map((l) => ({ ...l, aliases: aliases.get(l.name) ?? [] })),
    filtersOf: (layer) => filterTiles(graph, weights, layer),
    close: () => projector.close(),
  };
}

/**
 * Opens the model of a top-activations run for projections by `options.method`.
 * @throws UsageError when the weights cannot be found or used, or the method or model needs the onnx engine.
 */
export function openMosaicModel(db: Store, run: TopActivationRun, options: OpenMosaicModelOptions): MosaicModel {
  return isImportedPassModel(run.modelConfig) ? openImported(db, run, run.modelConfig.imported.name, options) : openProjectModel(db, run, options);
}
