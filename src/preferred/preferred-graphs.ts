/**
 * The two graphs a layer's preferred inputs run on: the input-gradient graph
 * of the objective's node (the lead's exact backward rules,
 * src/train-graph/build-input-gradient-graph.ts) and the top-activations
 * graph of the layer, which measures every optimised image and every top-1
 * dataset image the same way. Pure: sources of encoded bytes, built when a
 * runner first needs them.
 */
import { findLayer, findNode, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import { buildTopActivationsGraph } from '../onnx/build-top-activations-graph.js';
import { encodeOnnxModel } from '../onnx/onnx-codec.js';
import { buildInputGradientGraph } from '../train-graph/build-input-gradient-graph.js';
import type { GraphSource } from './preferred-runner.js';
import type { PreferredSettings } from './preferred-settings.js';

/**
 * The node whose value is optimised for layer `layerName`: the examined node,
 * or with `preRelu` the input of its ReLU when the examined node is one.
 * @throws RangeError naming an unknown layer
 */
export function objectiveNodeOf(graph: ModelGraph, layerName: string, preRelu: boolean): string {
  const node = findNode(graph, findLayer(graph, layerName).node);
  const isRelu = node.op.op === 'relu' || node.op.op === 'leaky-relu';
  return preRelu && isRelu && node.inputs.length === 1 ? node.inputs[0]! : node.name;
}

/**
 * The gradient and measure graphs of one layer of a model; `weightsId`
 * (checkpoint or model sha256) keeps keys apart between models.
 * @throws RangeError naming an unknown layer
 */
export function preferredGraphsOf(graph: ModelGraph, weights: GraphWeights, weightsId: string, layerName: string, settings: Pick<PreferredSettings, 'objective' | 'preRelu'>): { gradient: GraphSource; measure: GraphSource; objectiveNode: string } {
  const node = objectiveNodeOf(graph, layerName, settings.preRelu);
  return {
    objectiveNode: node,
    gradient: {
      key: `${weightsId}|${node}|${settings.objective}|input-gradient`,
      build: () => ({ bytes: encodeOnnxModel(buildInputGradientGraph(graph, weights, { node, objective: settings.objective })), description: `input-gradient graph of ${graph.name} ${node} (${settings.objective})` }),
    },
    measure: {
      key: `${weightsId}|${layerName}|measure`,
      build: () => ({ bytes: encodeOnnxModel(buildTopActivationsGraph(graph, weights, { layers: [layerName], lrn: 'pool' })), description: `top-activations graph of ${graph.name} ${layerName}` }),
    },
  };
}
