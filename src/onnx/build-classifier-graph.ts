/**
 * The classifier graph: logits and/or class probabilities, [N, classes]
 * (evaluation, training's validation pass). Pure.
 */
import type { GraphWeights, ModelGraph } from '../graph/model-graph.js';
import type { OnnxModel } from './onnx-codec.js';
import { ONNX_DATA_TYPE } from './onnx-schema.js';
import { lowerGraphNodes, type LowerOptions } from './lower-graph-nodes.js';
import { tapOutputName, wrapOnnxModel } from './onnx-model.js';
import { makeNode, tensorValueInfo } from './onnx-values.js';
import { inferGraphShapes } from '../graph/graph-shapes.js';

export type ClassifierOutput = 'logits' | 'probs';

export interface ClassifierGraphOptions extends LowerOptions {
  outputs: readonly ClassifierOutput[];
}

/**
 * Builds the classifier graph; outputs `tap/logits`, `tap/probs`.
 * @throws RangeError when probs is asked of a graph without a softmax node, or no output is asked.
 */
export function buildClassifierGraph(graph: ModelGraph, weights: GraphWeights, options: ClassifierGraphOptions): OnnxModel {
  if (options.outputs.length === 0) throw new RangeError(`Expected logits and/or probs for the classifier graph of ${graph.name} but received none`);
  const nodeOf = (output: ClassifierOutput): string => {
    if (output === 'logits') return graph.logits;
    if (graph.probs === null) throw new RangeError(`Graph ${graph.name} has no probs node`);
    return graph.probs;
  };
  const shapes = inferGraphShapes(graph);
  const lowered = lowerGraphNodes(graph, weights, options.outputs.map(nodeOf), options);
  const outputs = options.outputs.map((output) => {
    const name = tapOutputName(output);
    lowered.nodes.push(makeNode('Identity', name, [nodeOf(output)], [name]));
    return tensorValueInfo(name, ONNX_DATA_TYPE.FLOAT, ['N', ...shapes.get(nodeOf(output))!]);
  });
  return wrapOnnxModel(graph, lowered, { kind: 'classifier', outputs, description: `outputs=${options.outputs.join(',')};lrn=${options.lrn}` });
}
