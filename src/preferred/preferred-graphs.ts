/**
 * The two graphs a layer's preferred inputs run on: the input-gradient graph
 * of the objective's node (the lead's exact backward rules,
 * src/train-graph/build-input-gradient-graph.ts) and the top-activations
 * graph of the layer, which measures every optimised image and every top-1
 * dataset image the same way. Pure: sources of encoded bytes, built when a
 * runner first needs them.
 */
import { findLayer, findNode, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import { buildTopActivationsGraph } from '../onnx/forward-graphs.js';
import { encodeOnnxModel } from '../onnx/onnx-format.js';
import { buildInputGradientGraph } from '../train-graph/train-graphs.js';
import { findObjectiveWindow } from './objective-window.js';
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

export interface PreferredGraphs {
  gradient: GraphSource;
  measure: GraphSource;
  /** The node optimised. */
  objectiveNode: string;
  /** The crop of the view the gradient graph reads (centre objective, src/preferred/objective-window.ts); null: the whole view. */
  window: { startPx: number; sizePx: number } | null;
}

/**
 * The gradient and measure graphs of one layer of a model; `weightsId`
 * (checkpoint or model sha256) keeps keys apart between models.
 * @throws RangeError naming an unknown layer
 */
export function preferredGraphsOf(graph: ModelGraph, weights: GraphWeights, weightsId: string, layerName: string, settings: Pick<PreferredSettings, 'objective' | 'preRelu'>): PreferredGraphs {
  const node = objectiveNodeOf(graph, layerName, settings.preRelu);
  const window = settings.objective === 'centre' ? findObjectiveWindow(graph, node) : null;
  const gradientGraph = window?.graph ?? graph;
  const crop = window === null ? '' : ` over the ${window.sizePx} px crop at ${window.startPx} px`;
  return {
    objectiveNode: node,
    window: window === null ? null : { startPx: window.startPx, sizePx: window.sizePx },
    gradient: {
      key: `${weightsId}|${node}|${settings.objective}|input-gradient${crop}`,
      build: () => ({ bytes: encodeOnnxModel(buildInputGradientGraph(gradientGraph, weights, { node, objective: settings.objective })), description: `input-gradient graph of ${graph.name} ${node} (${settings.objective}${crop})` }),
    },
    measure: {
      key: `${weightsId}|${layerName}|measure`,
      build: () => ({ bytes: encodeOnnxModel(buildTopActivationsGraph(graph, weights, { layers: [layerName], lrn: 'pool' })), description: `top-activations graph of ${graph.name} ${layerName}` }),
    },
  };
}
