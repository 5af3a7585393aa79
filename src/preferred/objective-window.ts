/**
 * The centre objective reads one cell, which sees only its receptive field:
 * outside it the input gradient is exactly zero and the pixels play no part.
 * So the gradient graph can run on a crop of the view that holds the field
 * (zfnet conv5: 160 px of 224, about half the work), built by the same
 * builder from a graph that takes the crop's size. The crop is exact, not an
 * approximation, when
 * - it starts on the node's stride grid (a multiple of its jump), so every
 *   layer's cells fall on the same pixels as in the whole view;
 * - the centre cell's field lies inside the view and inside the crop, so no
 *   cell the objective depends on reads padding in either (the cells near
 *   the crop's edges change, but the objective does not read them);
 * - the crop's map has its centre cell (floor(H/2), floor(W/2)) on that same cell.
 * Otherwise (a field that reaches the view's border, the mean objective)
 * there is no window and the whole view is used. Pure.
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import type { ModelGraph } from '../graph/model-graph.js';
import { computeReceptiveFields } from '../graph/receptive-fields.js';
import { nodesNeededFor } from '../onnx/forward-graphs.js';
import type { InputGradientFn } from './optimise-batch.js';

export interface ObjectiveWindow {
  /** First row and column of the crop in the view. */
  startPx: number;
  /** Side of the crop. */
  sizePx: number;
  /** The graph up to the objective's node, taking the crop. */
  graph: ModelGraph;
}

/** The graph of the nodes `node` needs, reading an input of `sizePx`. */
function cropGraph(graph: ModelGraph, node: string, sizePx: number): ModelGraph {
  const nodes = nodesNeededFor(graph, [node]);
  const kept = new Set(nodes.map((n) => n.name));
  return { ...graph, input: { ...graph.input, sizePx }, nodes, logits: node, probs: null, layers: graph.layers.filter((l) => kept.has(l.node)) };
}

/** The side of `node`'s square map for an input of `sizePx`, or null when it is not a square map there. */
function mapSideAt(graph: ModelGraph, node: string, sizePx: number): number | null {
  try {
    const shape = inferGraphShapes(cropGraph(graph, node, sizePx)).get(node)!;
    return shape.length === 3 && shape[1] === shape[2] && shape[1]! > 0 ? shape[1]! : null;
  } catch {
    return null;
  }
}

/**
 * The smallest exact crop for the centre objective of `node`, or null when there is none.
 * @throws RangeError when the node is not in the graph
 */
export function findObjectiveWindow(graph: ModelGraph, node: string): ObjectiveWindow | null {
  const S = graph.input.sizePx;
  const field = computeReceptiveFields(graph).get(node);
  const side = mapSideAt(graph, node, S);
  if (field === undefined) throw new RangeError(`Graph ${graph.name} has no node named ${node}`);
  if (field === null || side === null || field.jumpPx[0] !== field.jumpPx[1] || field.offsetPx[0] !== field.offsetPx[1] || field.receptiveFieldPx[0] !== field.receptiveFieldPx[1]) return null;
  const jump = field.jumpPx[0];
  const centre = Math.floor(side / 2);
  const first = field.offsetPx[0] + centre * jump;
  const end = first + field.receptiveFieldPx[0];
  if (first < 0 || end > S) return null;
  const startPx = Math.floor(first / jump) * jump;
  for (let sizePx = end - startPx; startPx + sizePx <= S; sizePx++) {
    const cropSide = mapSideAt(graph, node, sizePx);
    if (cropSide !== null && Math.floor(cropSide / 2) === centre - startPx / jump) {
      return sizePx >= S ? null : { startPx, sizePx, graph: cropGraph(graph, node, sizePx) };
    }
  }
  return null;
}

/**
 * The input-gradient function of the whole view from one of the crop: each
 * row's crop goes to `cropped`, its gradient comes back into a zero view.
 */
export function windowGradientFn(window: Pick<ObjectiveWindow, 'startPx' | 'sizePx'>, viewPx: number, channels: number, cropped: InputGradientFn): InputGradientFn {
  const { startPx, sizePx } = window;
  const rowFloats = sizePx * channels;
  return async (pixels, units) => {
    const rows = units.length;
    const crop = new Float32Array(rows * sizePx * rowFloats);
    for (let b = 0; b < rows; b++) {
      for (let y = 0; y < sizePx; y++) {
        const from = ((b * viewPx + startPx + y) * viewPx + startPx) * channels;
        crop.set(pixels.subarray(from, from + rowFloats), (b * sizePx + y) * rowFloats);
      }
    }
    const out = await cropped(crop, units);
    const gradient = new Float32Array(pixels.length);
    for (let b = 0; b < rows; b++) {
      for (let y = 0; y < sizePx; y++) {
        const at = (b * sizePx + y) * rowFloats;
        gradient.set(out.gradient.subarray(at, at + rowFloats), ((b * viewPx + startPx + y) * viewPx + startPx) * channels);
      }
    }
    return { objective: out.objective, gradient };
  };
}
