/**
 * Lowers the project's own architectures (src/model/spec.ts ModelConfig:
 * zfnet, alexnet and their scaled variants) into a ModelGraph.
 *
 * Node names keep the config's layer names for the layers themselves
 * (`conv1`, `pool1`, `norm1`, `fc6`), with the nonlinearity and dropout as
 * their own nodes (`conv1.relu`, `fc6.relu`, `fc6.dropout`). The analysable
 * layers are the project's taps: `conv1` is the rectified conv1 output (the
 * project's examined activation), `fc6` the rectified fc6 output, `logits` the
 * last dense layer and `probs` its softmax. Weight names and layouts are the
 * checkpoint's (PyTorch layout, src/model/torch-layout.ts), so the
 * safetensors tensors feed the graph as they are.
 */
import { parameterLayouts } from '../model/torch-layout.js';
import type { LayerSpec, ModelConfig } from '../model/spec.js';
import { GRAPH_INPUT, type GraphLayer, type GraphNode, type GraphOp, type ModelGraph } from './model-graph.js';

interface Lowered { nodes: GraphNode[]; layers: GraphLayer[]; last: string }

function push(state: Lowered, name: string, op: GraphOp): string {
  state.nodes.push({ name, op, inputs: [state.last] });
  state.last = name;
  return name;
}

function lowerLayer(state: Lowered, layer: LayerSpec, isLast: boolean, flattened: { done: boolean }): void {
  switch (layer.kind) {
    case 'conv': {
      const k = layer.kernelPx;
      push(state, layer.name, { op: 'conv', weight: `${layer.name}.weight`, bias: `${layer.name}.bias`, outChannels: layer.filters, kernel: [k, k], stride: [layer.stride, layer.stride], padding: [...layer.padding], dilation: [1, 1], groups: 1 });
      const tap = push(state, `${layer.name}.relu`, { op: 'relu' });
      state.layers.push({ name: layer.name, node: tap, kind: 'conv', aliases: [] });
      return;
    }
    case 'maxpool':
      push(state, layer.name, { op: 'maxpool', window: [layer.windowPx, layer.windowPx], stride: [layer.stride, layer.stride], padding: [...layer.padding], ceilMode: layer.ceilMode });
      state.layers.push({ name: layer.name, node: layer.name, kind: 'pool', aliases: [] });
      return;
    case 'lrn':
      push(state, layer.name, { op: 'lrn', size: layer.size, k: layer.k, alpha: layer.alpha, beta: layer.beta });
      state.layers.push({ name: layer.name, node: layer.name, kind: 'norm', aliases: [] });
      return;
    case 'dense': {
      if (!flattened.done) {
        push(state, 'flatten', { op: 'flatten' });
        flattened.done = true;
      }
      const out = push(state, layer.name, { op: 'dense', weight: `${layer.name}.weight`, bias: `${layer.name}.bias`, outUnits: layer.units });
      if (isLast) {
        state.layers.push({ name: 'logits', node: out, kind: 'logits', aliases: [layer.name] });
        return;
      }
      const tap = layer.relu ? push(state, `${layer.name}.relu`, { op: 'relu' }) : out;
      state.layers.push({ name: layer.name, node: tap, kind: 'dense', aliases: [] });
      if (layer.dropout > 0) push(state, `${layer.name}.dropout`, { op: 'dropout', rate: layer.dropout });
    }
  }
}

/**
 * The graph of a project architecture. Pure.
 * @throws RangeError when the config's geometry is invalid (see computeGeometry).
 */
export function lowerModelConfig(config: ModelConfig): ModelGraph {
  const state: Lowered = { nodes: [], layers: [], last: GRAPH_INPUT };
  const flattened = { done: false };
  config.layers.forEach((layer, i) => lowerLayer(state, layer, i === config.layers.length - 1, flattened));
  const logits = state.last;
  push(state, 'probs', { op: 'softmax' });
  state.layers.push({ name: 'probs', node: 'probs', kind: 'probs', aliases: [] });
  const weightShapes: Record<string, number[]> = {};
  for (const layout of parameterLayouts(config)) weightShapes[layout.name] = layout.torchShape.slice();
  return { name: config.name, input: { channels: config.inputChannels, sizePx: config.inputSizePx }, nodes: state.nodes, logits, probs: 'probs', layers: state.layers, weightShapes };
}
