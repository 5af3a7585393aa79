/**
 * The weights of in-memory model parameters (tfjs layout) as GraphWeights
 * (PyTorch layout, what ModelGraph and the ONNX builders read).
 */
import { convertToTorch, parameterLayouts } from '../checkpoint/torch-layout.js';
import type { GraphWeights } from '../graph/model-graph.js';
import { getParam, type ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';

/**
 * Reads every parameter of `config` out of `params` and converts it to PyTorch layout.
 * @throws RangeError naming a parameter the set does not hold
 */
export function graphWeightsFromParams(config: ModelConfig, params: ModelParams): GraphWeights {
  const weights = new Map<string, Float32Array>();
  for (const layout of parameterLayouts(config)) {
    weights.set(layout.name, convertToTorch(layout, getParam(params, layout.name).dataSync() as Float32Array));
  }
  return weights;
}
