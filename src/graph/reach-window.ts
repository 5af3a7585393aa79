/**
 * Receptive-field windows of the deconvnet: the signal from one examined
 * activation only ever reaches that activation's receptive field, so the
 * forward pass (which records the switches) and the way down can both run
 * over the part of each map the unit can reach instead of the full frame.
 * Pure geometry over a ModelGraph.
 *
 * The path from the graph input to the examined node is a chain of levels:
 * level 0 is the input, level i the output of path node i - 1. Each level has
 * one window size for every entry (so entries batch into one tensor) and a
 * per-entry origin on that level's grid. Going down through a window op
 * (conv, max pool) the window is exactly the input span its outputs read:
 *   originIn = originOut * stride - padBefore
 *   sizeIn   = (sizeOut - 1) * stride + (kernel - 1) * dilation + 1
 * so a "valid" (unpadded) op over the input window gives exactly the output
 * window: the crop is aligned to every layer's stride grid. Cells of a window
 * outside the true grid stand for the layer's padding: the engine sets them
 * to 0 before a conv and to -inf before a max pool (ceil-mode cells
 * included), and zeroes the signal there on the way down, so the true image
 * borders keep their padding and the result equals the full-frame one.
 *
 * `full` mode plans the whole examined grid instead (the full-frame deconvnet
 * in the same form), for checks and benchmarks.
 */
import { GRAPH_INPUT, findNode, type GraphNode, type GraphOpName, type ModelGraph, type Pair } from './model-graph.js';

export type WindowMode = 'reach' | 'full';

/** Ops that map a window to the same window (pointwise in space). */
const SAME_WINDOW_OPS: ReadonlySet<GraphOpName> = new Set<GraphOpName>(['relu', 'leaky-relu', 'lrn', 'dropout', 'identity', 'batchnorm']);

export interface WindowLevel {
  /** Node whose output this level is (GRAPH_INPUT for level 0). */
  node: string;
  /** Channels of the level's map. */
  channels: number;
  /** The true grid [rows, cols] of the map. */
  gridPx: Pair;
  /** The window [rows, cols], the same for every entry. */
  sizePx: Pair;
}

export interface ReachPlan {
  mode: WindowMode;
  /** The examined node (its output holds the units). */
  examined: string;
  /** Nodes from the input up to the examined node, in forward order. */
  path: GraphNode[];
  /** levels[0] is the input, levels[i] the output of path[i - 1]. */
  levels: WindowLevel[];
}

/** How a node maps windows: kernel extent, stride and leading padding per axis. */
interface WindowStep { extent: Pair; stride: Pair; padBefore: Pair }

function windowStep(node: GraphNode): WindowStep | null {
  const op = node.op;
  if (op.op === 'conv') {
    const extent: Pair = [(op.kernel[0] - 1) * op.dilation[0] + 1, (op.kernel[1] - 1) * op.dilation[1] + 1];
    return { extent, stride: op.stride, padBefore: [op.padding[0], op.padding[2]] };
  }
  if (op.op === 'maxpool') return { extent: op.window, stride: op.stride, padBefore: [op.padding[0], op.padding[2]] };
  if (SAME_WINDOW_OPS.has(op.op)) return null;
  throw new RangeError(`Deconvnet windows need a chain of conv, maxpool, ${[...SAME_WINDOW_OPS].join(', ')} nodes but node ${node.name} is ${op.op}`);
}

/**
 * The chain of nodes from the graph input to `examined`.
 * @throws RangeError naming the node that joins several inputs (branching graphs are not chains)
 */
export function chainToNode(graph: ModelGraph, examined: string): GraphNode[] {
  const path: GraphNode[] = [];
  let name = examined;
  while (name !== GRAPH_INPUT) {
    const node = findNode(graph, name);
    if (node.inputs.length !== 1) throw new RangeError(`Deconvnet windows need a chain of single-input nodes but node ${node.name} reads ${node.inputs.length} inputs`);
    path.unshift(node);
    name = node.inputs[0]!;
  }
  return path;
}

/**
 * Plans the windows of every level below an examined node.
 * @param shapes from inferGraphShapes: [C, H, W] per node and for GRAPH_INPUT
 * @throws RangeError when the path holds an op without a window rule, or a level is not a map
 */
export function planReachWindows(graph: ModelGraph, shapes: ReadonlyMap<string, number[]>, examined: string, mode: WindowMode): ReachPlan {
  const path = chainToNode(graph, examined);
  const names = [GRAPH_INPUT, ...path.map((n) => n.name)];
  const grids = names.map((name) => {
    const shape = shapes.get(name);
    if (shape === undefined || shape.length !== 3) throw new RangeError(`Deconvnet windows need [C, H, W] maps but ${name} has shape [${(shape ?? []).join(', ')}]`);
    return shape as [number, number, number];
  });
  const top = grids.at(-1)!;
  const sizes: Pair[] = new Array(names.length);
  sizes[names.length - 1] = mode === 'reach' ? [1, 1] : [top[1], top[2]];
  for (let i = path.length - 1; i >= 0; i--) sizes[i] = windowSizeIn(windowStep(path[i]!), sizes[i + 1]!);
  const levels = names.map((node, i) => ({ node, channels: grids[i]![0], gridPx: [grids[i]![1], grids[i]![2]] as Pair, sizePx: sizes[i]! }));
  return { mode, examined, path, levels };
}

function windowSizeIn(step: WindowStep | null, sizeOut: Pair): Pair {
  if (step === null) return sizeOut;
  return [0, 1].map((a) => (sizeOut[a]! - 1) * step.stride[a]! + step.extent[a]!) as Pair;
}

/**
 * The origin of every level's window for one examined cell (y, x), level 0 first.
 * In `full` mode the cell does not move the windows.
 * @throws RangeError naming the cell when it is outside the examined grid
 */
export function placeWindows(plan: ReachPlan, y: number, x: number): Pair[] {
  const top = plan.levels.at(-1)!;
  if (!Number.isInteger(y) || !Number.isInteger(x) || y < 0 || x < 0 || y >= top.gridPx[0] || x >= top.gridPx[1]) {
    throw new RangeError(`Expected a cell inside the ${top.gridPx[0]}x${top.gridPx[1]} grid of ${plan.examined} but received ${y},${x}`);
  }
  const origins: Pair[] = new Array(plan.levels.length);
  origins[plan.levels.length - 1] = plan.mode === 'reach' ? [y, x] : [0, 0];
  for (let i = plan.path.length - 1; i >= 0; i--) {
    const step = windowStep(plan.path[i]!);
    const out = origins[i + 1]!;
    origins[i] = step === null ? out : [out[0] * step.stride[0] - step.padBefore[0], out[1] * step.stride[1] - step.padBefore[1]];
  }
  return origins;
}

/**
 * Which cells of a window lie on the true grid: row-major [rows * cols], 1 inside, 0 outside.
 */
export function windowValidity(origin: Pair, sizePx: Pair, gridPx: Pair): Uint8Array {
  const mask = new Uint8Array(sizePx[0] * sizePx[1]);
  const [r0, r1] = [Math.max(0, -origin[0]), Math.min(sizePx[0], gridPx[0] - origin[0])];
  const [c0, c1] = [Math.max(0, -origin[1]), Math.min(sizePx[1], gridPx[1] - origin[1])];
  for (let r = r0; r < r1; r++) mask.fill(1, r * sizePx[1] + c0, r * sizePx[1] + Math.max(c0, c1));
  return mask;
}

/** Levels whose map feeds a window op: the engine masks these (padding values) going up and down. */
export function maskedLevels(plan: ReachPlan): number[] {
  const out: number[] = [];
  plan.path.forEach((node, i) => {
    if (windowStep(node) !== null) out.push(i);
  });
  return out;
}

/** Multiply-accumulates of the window ops along the path for one entry (forward only), for cost estimates. */
export function countWindowMacs(plan: ReachPlan): number {
  let total = 0;
  plan.path.forEach((node, i) => {
    if (node.op.op !== 'conv') return;
    const out = plan.levels[i + 1]!;
    const cin = plan.levels[i]!.channels / node.op.groups;
    total += out.sizePx[0] * out.sizePx[1] * out.channels * cin * node.op.kernel[0] * node.op.kernel[1];
  });
  return total;
}
