/**
 * The analysable layers of a graph whose nodes carry the model's own names
 * (imported ONNX files, torchvision architectures). Pure. The rules:
 *
 * - a conv is examined after its nonlinearity: conv [-> batchnorm] -> relu
 *   gives layer `<conv name>` on the relu's output (kind `conv`); a conv with
 *   no nonlinearity of its own (the last conv of a residual branch, before the
 *   join) is kept as kind `other` on the conv or batchnorm output;
 * - a relu right after an add is a residual block's output: layer `<add name>`
 *   (a trailing `.add` dropped), kind `conv`, so `layer1.0` is the block;
 * - pools (`pool`), LRN (`norm`), concat (`other`), dense layers after their
 *   relu (`dense`), the logits node (`logits`, alias `logits`) and the softmax
 *   (`probs`, alias `probs`);
 * - when no layer is called `convN` already, the conv layers get the aliases
 *   conv1, conv2, ... in forward order.
 */
import type { GraphLayer, GraphNode } from './model-graph.js';

const NONLINEAR = new Set(['relu', 'leaky-relu']);

/** Follows conv -> [batchnorm] -> relu through nodes with a single reader. */
function examinedNodeOfConv(conv: GraphNode, byName: Map<string, GraphNode>, readers: Map<string, string[]>): { node: string; rectified: boolean } {
  let current = conv;
  for (;;) {
    const next = readers.get(current.name) ?? [];
    if (next.length !== 1) return { node: current.name, rectified: false };
    const reader = byName.get(next[0]!)!;
    if (NONLINEAR.has(reader.op.op)) return { node: reader.name, rectified: true };
    if (reader.op.op !== 'batchnorm' || current !== conv) return { node: current.name, rectified: false };
    current = reader;
  }
}

function layerOfNode(node: GraphNode, byName: Map<string, GraphNode>, readers: Map<string, string[]>, logits: string, probs: string | null): GraphLayer | null {
  const op = node.op.op;
  if (node.name === logits) return { name: node.name, node: node.name, kind: 'logits', aliases: node.name === 'logits' ? [] : ['logits'] };
  if (node.name === probs) return { name: node.name, node: node.name, kind: 'probs', aliases: node.name === 'probs' ? [] : ['probs'] };
  switch (op) {
    case 'conv': {
      const examined = examinedNodeOfConv(node, byName, readers);
      return { name: node.name, node: examined.node, kind: examined.rectified ? 'conv' : 'other', aliases: [] };
    }
    case 'relu':
    case 'leaky-relu': {
      const input = byName.get(node.inputs[0]!);
      if (input?.op.op === 'add') return { name: input.name.replace(/\.add$/, ''), node: node.name, kind: 'conv', aliases: [] };
      if (input?.op.op === 'dense' && input.name !== logits) return { name: input.name, node: node.name, kind: 'dense', aliases: [] };
      return null;
    }
    case 'maxpool':
    case 'avgpool':
    case 'global-avgpool':
      return { name: node.name, node: node.name, kind: 'pool', aliases: [] };
    case 'lrn':
      return { name: node.name, node: node.name, kind: 'norm', aliases: [] };
    case 'concat':
      return { name: node.name, node: node.name, kind: 'other', aliases: [] };
    default:
      return null;
  }
}

/**
 * The layers of a graph in forward order, by the rules above.
 * @param nodes in topological order
 */
export function describeGraphLayers(nodes: readonly GraphNode[], logits: string, probs: string | null): GraphLayer[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const readers = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
  for (const node of nodes) for (const input of node.inputs) readers.get(input)?.push(node.name);
  const layers: GraphLayer[] = [];
  const names = new Set<string>();
  for (const node of nodes) {
    const layer = layerOfNode(node, byName, readers, logits, probs);
    if (layer === null || names.has(layer.name)) continue;
    names.add(layer.name);
    layers.push(layer);
  }
  if (!layers.some((l) => /^conv\d+$/.test(l.name) || l.aliases.some((a) => /^conv\d+$/.test(a)))) {
    let k = 0;
    for (const layer of layers) {
      if (layer.kind === 'conv' && byName.get(layer.name)?.op.op === 'conv') layer.aliases.push(`conv${++k}`);
    }
  }
  return layers;
}
