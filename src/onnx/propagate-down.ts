/**
 * The walk down a graph that every backward builder shares (projections,
 * input gradients, the training step): signals start at some nodes' outputs,
 * each node on the path, in reverse graph order, hands its inputs what its
 * rule (deconv-down-rules.ts) gives, and a value read by several nodes (a
 * residual block's input) receives the sum of what comes down each of them.
 * Pure: nodes go into the context.
 */
import type { GraphNode } from '../graph/model-graph.js';
import { applyDownRule, type DownContext } from './deconv-down-rules.js';
import { makeNode } from './onnx-values.js';

export interface PropagateDownOptions {
  /** The nodes the signal may pass, in graph order (nodesNeededFor the starting nodes). */
  path: readonly GraphNode[];
  /** The signal arriving at each starting node's output, by node name. */
  start: ReadonlyMap<string, string>;
  /** Called with each node and the signal at its output, before its rule (parameter gradients read it). */
  onNode?: (node: GraphNode, g: string) => void;
  /** Values that need no signal: a node whose inputs all are here gets no rule (the image, when only weights learn). */
  noSignalFor?: ReadonlySet<string>;
}

/**
 * Walks the signals down `path`; returns the summed signal at a value (a node
 * name or the graph input), or null when none reached it.
 * @throws RangeError from applyDownRule for an op without a rule.
 */
export function propagateDown(ctx: DownContext, options: PropagateDownOptions): (name: string) => string | null {
  const arriving = new Map<string, string[]>([...options.start].map(([name, signal]) => [name, [signal]]));
  const summed = new Map<string, string>();
  const signalAt = (name: string): string | null => {
    const parts = arriving.get(name) ?? [];
    if (parts.length <= 1) return parts[0] ?? null;
    if (!summed.has(name)) {
      ctx.nodes.push(makeNode('Sum', `${name}/down/sum`, parts, [`${name}/down/sum`]));
      summed.set(name, `${name}/down/sum`);
    }
    return summed.get(name)!;
  };
  for (const node of [...options.path].reverse()) {
    const g = signalAt(node.name);
    if (g === null) continue;
    options.onNode?.(node, g);
    if (node.inputs.every((input) => options.noSignalFor?.has(input) === true)) continue;
    const down = applyDownRule(node, g, ctx);
    node.inputs.forEach((input, i) => arriving.set(input, [...(arriving.get(input) ?? []), down[i]!]));
  }
  return signalAt;
}
