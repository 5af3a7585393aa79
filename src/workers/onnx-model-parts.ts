/**
 * What the onnx engine runs, whichever way the model came: the graph, its
 * weights, the hash the graph cache is keyed by, how top-activations requests
 * number its layers, and the description requests are checked against. The
 * executor (in-process) and the worker runner both build their runner from it.
 */
import type { LayerNumbering } from '../graph/analysed-layers.js';
import { lowerModelConfig } from '../graph/lower-model-config.js';
import type { GraphWeights, ModelGraph } from '../graph/model-graph.js';
import type { LoadedImportedModel } from '../import/imported-model-file.js';
import type { ModelConfig } from '../model/spec.js';
import { describeConfigForward, describeGraphForward, type ForwardModel } from './forward-model.js';

export interface OnnxModelParts {
  graph: ModelGraph;
  weights: GraphWeights;
  /** SHA-256 of the file the weights came from (keys the graph cache); null: not cached. */
  sha256: string | null;
  numbering: LayerNumbering;
  forward: ForwardModel;
}

/** A project architecture with its weights. */
export function onnxPartsOfConfig(config: ModelConfig, weights: GraphWeights, sha256: string | null): OnnxModelParts {
  return { graph: lowerModelConfig(config), weights, sha256, numbering: 'conv-index', forward: describeConfigForward(config) };
}

/** An imported model: its layers are numbered by position (src/graph/analysed-layers.ts). */
export function onnxPartsOfImported(model: LoadedImportedModel): OnnxModelParts {
  return { graph: model.graph, weights: model.weights, sha256: model.sha256, numbering: 'position', forward: describeGraphForward(model.graph) };
}
