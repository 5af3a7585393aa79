/**
 * The weights a graph builder reads (GraphWeights: PyTorch layout, by name),
 * from the project's in-memory parameters (tfjs layout) or from a checkpoint
 * file's tensors (already PyTorch layout).
 */
import type { CheckpointContents } from '../checkpoint/checkpoint-file.js';
import { convertToTorch, parameterLayouts } from '../checkpoint/torch-layout.js';
import type { GraphWeights } from '../graph/model-graph.js';
import type { ModelParams } from '../model/params.js';
import type { ModelConfig } from '../model/spec.js';

/**
 * PyTorch-layout copies of in-memory parameters. Reads the variables
 * (dataSync), never disposes them.
 * @throws RangeError naming a parameter the config needs that `params` lacks.
 */
export function graphWeightsFromParams(config: ModelConfig, params: ModelParams): GraphWeights {
  const weights = new Map<string, Float32Array>();
  for (const layout of parameterLayouts(config)) {
    const variable = params.get(layout.name);
    if (variable === undefined) throw new RangeError(`Model parameters have no tensor ${layout.name}`);
    weights.set(layout.name, convertToTorch(layout, variable.dataSync() as Float32Array));
  }
  return weights;
}

/** The tensors of a checkpoint read by readCheckpointFile (views, not copies). */
export function graphWeightsFromCheckpoint(contents: Pick<CheckpointContents, 'tensors'>): GraphWeights {
  return new Map([...contents.tensors].map(([name, tensor]) => [name, tensor.data]));
}
