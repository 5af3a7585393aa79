/**
 * A small builder of graphs named like PyTorch modules: each call appends a
 * node after the current one (or after the node given), records the PyTorch
 * weight shapes the module has in its state_dict, and tracks the channel
 * count and spatial size so later modules know their inputs. Used by the
 * torchvision architectures (torchvision-architectures.ts). Pure.
 */
import { UsageError } from '../errors.js';
import { windowOutputPx } from '../graph/graph-shapes.js';
import { GRAPH_INPUT, type GraphNode, type GraphOp } from '../graph/model-graph.js';

/** Where the builder is: the last node, its channels (or features) and spatial side. */
export interface Cursor {
  node: string;
  channels: number;
  sizePx: number;
}

export interface ModuleGraphBuilder {
  nodes: GraphNode[];
  weightShapes: Record<string, number[]>;
  at: Cursor;
}

export function createModuleBuilder(channels: number, sizePx: number): ModuleGraphBuilder {
  return { nodes: [], weightShapes: {}, at: { node: GRAPH_INPUT, channels, sizePx } };
}

function append(b: ModuleGraphBuilder, name: string, op: GraphOp, inputs: string[], next: Omit<Cursor, 'node'>): Cursor {
  b.nodes.push({ name, op, inputs });
  b.at = { node: name, ...next };
  return b.at;
}

/** nn.Conv2d(in, out, k, stride, padding, bias). */
export function addConv(b: ModuleGraphBuilder, name: string, outChannels: number, kernelPx: number, stride: number, pad: number, bias: boolean, from: Cursor = b.at): Cursor {
  b.weightShapes[`${name}.weight`] = [outChannels, from.channels, kernelPx, kernelPx];
  if (bias) b.weightShapes[`${name}.bias`] = [outChannels];
  const op: GraphOp = {
    op: 'conv', weight: `${name}.weight`, bias: bias ? `${name}.bias` : null, outChannels,
    kernel: [kernelPx, kernelPx], stride: [stride, stride], padding: [pad, pad, pad, pad], dilation: [1, 1], groups: 1,
  };
  return append(b, name, op, [from.node], { channels: outChannels, sizePx: windowOutputPx(from.sizePx, kernelPx, stride, pad, pad, false) });
}

/** nn.BatchNorm2d(channels), eps 1e-5: weight, bias, running_mean, running_var. */
export function addBatchNorm(b: ModuleGraphBuilder, name: string): Cursor {
  const c = b.at.channels;
  for (const suffix of ['weight', 'bias', 'running_mean', 'running_var']) b.weightShapes[`${name}.${suffix}`] = [c];
  const op: GraphOp = { op: 'batchnorm', scale: `${name}.weight`, bias: `${name}.bias`, mean: `${name}.running_mean`, variance: `${name}.running_var`, epsilon: 1e-5 };
  return append(b, name, op, [b.at.node], { channels: c, sizePx: b.at.sizePx });
}

export function addRelu(b: ModuleGraphBuilder, name: string): Cursor {
  return append(b, name, { op: 'relu' }, [b.at.node], { channels: b.at.channels, sizePx: b.at.sizePx });
}

/** nn.MaxPool2d(k, stride, padding), floor mode. */
export function addMaxPool(b: ModuleGraphBuilder, name: string, windowPx: number, stride: number, pad: number): Cursor {
  const op: GraphOp = { op: 'maxpool', window: [windowPx, windowPx], stride: [stride, stride], padding: [pad, pad, pad, pad], ceilMode: false };
  return append(b, name, op, [b.at.node], { channels: b.at.channels, sizePx: windowOutputPx(b.at.sizePx, windowPx, stride, pad, pad, false) });
}

/**
 * nn.AdaptiveAvgPool2d(outputPx) as the fixed op it equals at this input
 * size: identity when the map already has that size, a global average for 1,
 * an average pool of side in/out when that divides.
 * @throws UsageError naming the module and sizes when the map's side is not a multiple of outputPx.
 */
export function addAdaptiveAvgPool(b: ModuleGraphBuilder, name: string, outputPx: number, architecture: string): Cursor {
  const inPx = b.at.sizePx;
  const next = { channels: b.at.channels, sizePx: outputPx };
  if (inPx === outputPx) return append(b, name, { op: 'identity' }, [b.at.node], next);
  if (outputPx === 1) return append(b, name, { op: 'global-avgpool' }, [b.at.node], next);
  if (inPx % outputPx !== 0) {
    throw new UsageError(`${architecture}: ${name} (AdaptiveAvgPool2d to ${outputPx}x${outputPx}) gets a ${inPx}x${inPx} map at this input size; choose an input size whose map is a multiple of ${outputPx} (224 gives ${outputPx})`);
  }
  const k = inPx / outputPx;
  return append(b, name, { op: 'avgpool', window: [k, k], stride: [k, k], padding: [0, 0, 0, 0], ceilMode: false, countIncludePad: false }, [b.at.node], next);
}

/** torch.flatten(x, 1). */
export function addFlatten(b: ModuleGraphBuilder, name: string): Cursor {
  return append(b, name, { op: 'flatten' }, [b.at.node], { channels: b.at.channels * b.at.sizePx * b.at.sizePx, sizePx: 1 });
}

/** nn.Linear(in, out). */
export function addLinear(b: ModuleGraphBuilder, name: string, outUnits: number): Cursor {
  b.weightShapes[`${name}.weight`] = [outUnits, b.at.channels];
  b.weightShapes[`${name}.bias`] = [outUnits];
  return append(b, name, { op: 'dense', weight: `${name}.weight`, bias: `${name}.bias`, outUnits }, [b.at.node], { channels: outUnits, sizePx: 1 });
}

export function addDropout(b: ModuleGraphBuilder, name: string, rate = 0.5): Cursor {
  return append(b, name, { op: 'dropout', rate }, [b.at.node], { ...b.at });
}

/** out += identity: the residual join of two equal-shaped branches. */
export function addResidual(b: ModuleGraphBuilder, name: string, main: Cursor, shortcut: Cursor): Cursor {
  return append(b, name, { op: 'add' }, [main.node, shortcut.node], { channels: main.channels, sizePx: main.sizePx });
}

export function addSoftmax(b: ModuleGraphBuilder, name: string): Cursor {
  return append(b, name, { op: 'softmax' }, [b.at.node], { ...b.at });
}
