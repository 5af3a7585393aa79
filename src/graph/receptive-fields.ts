/**
 * Receptive fields over a ModelGraph, residual branches and concatenations
 * included. Pure. For every spatial node, per axis (rows, cols):
 *   - jumpPx: input pixels between neighbouring output cells;
 *   - offsetPx: input coordinate of the first pixel cell 0 can see (may be negative: padding);
 *   - receptiveFieldPx: the side of what one cell sees.
 * A window op (conv, pools) extends its input's field by (extent - 1) * jump.
 * A join (add, concat) sees the union of its inputs' fields: the extent of
 * the largest path, so a residual block's field is its longest branch's.
 * A global average sees its whole input. Flat nodes have no field.
 */
import { GRAPH_INPUT, type GraphNode, type ModelGraph, type Pair } from './model-graph.js';
import { inferGraphShapes } from './graph-shapes.js';

export interface ReceptiveField {
  receptiveFieldPx: Pair;
  jumpPx: Pair;
  offsetPx: Pair;
}

const perAxis = (f: (axis: 0 | 1) => number): Pair => [f(0), f(1)];

function windowField(input: ReceptiveField, extent: Pair, stride: Pair, padBefore: Pair): ReceptiveField {
  return {
    receptiveFieldPx: perAxis((a) => input.receptiveFieldPx[a] + (extent[a] - 1) * input.jumpPx[a]),
    jumpPx: perAxis((a) => input.jumpPx[a] * stride[a]),
    offsetPx: perAxis((a) => input.offsetPx[a] - padBefore[a] * input.jumpPx[a]),
  };
}

/** The union of the inputs' fields, cell by cell (their grids coincide: same shapes, same jumps). */
function joinFields(node: GraphNode, fields: ReceptiveField[]): ReceptiveField {
  const jump = fields[0]!.jumpPx;
  if (fields.some((f) => f.jumpPx[0] !== jump[0] || f.jumpPx[1] !== jump[1])) {
    throw new RangeError(`Node ${node.name} joins maps of different strides (${fields.map((f) => f.jumpPx.join('x')).join(', ')} px): their receptive fields do not line up`);
  }
  const start = perAxis((a) => Math.min(...fields.map((f) => f.offsetPx[a])));
  const end = perAxis((a) => Math.max(...fields.map((f) => f.offsetPx[a] + f.receptiveFieldPx[a])));
  return { receptiveFieldPx: perAxis((a) => end[a] - start[a]), jumpPx: jump, offsetPx: start };
}

function nodeField(node: GraphNode, fields: Array<ReceptiveField | null>, inputShape: number[]): ReceptiveField | null {
  const op = node.op;
  if (fields.some((f) => f === null)) return null;
  const input = fields[0]!;
  switch (op.op) {
    case 'conv':
      return windowField(input, perAxis((a) => (op.kernel[a] - 1) * op.dilation[a] + 1), op.stride, [op.padding[0], op.padding[2]]);
    case 'maxpool':
    case 'avgpool':
      return windowField(input, op.window, op.stride, [op.padding[0], op.padding[2]]);
    case 'global-avgpool':
      return windowField(input, [inputShape[1]!, inputShape[2]!], [1, 1], [0, 0]);
    case 'add':
    case 'concat':
      return joinFields(node, fields as ReceptiveField[]);
    case 'flatten':
    case 'dense':
    case 'softmax':
      return null;
    default:
      return input;
  }
}

/**
 * The receptive field of every spatial node (null for flat ones), keyed by node name.
 * @throws RangeError when a join mixes strides, or shapes cannot be inferred.
 */
export function computeReceptiveFields(graph: ModelGraph): Map<string, ReceptiveField | null> {
  const shapes = inferGraphShapes(graph);
  const fields = new Map<string, ReceptiveField | null>([[GRAPH_INPUT, { receptiveFieldPx: [1, 1], jumpPx: [1, 1], offsetPx: [0, 0] }]]);
  for (const node of graph.nodes) {
    fields.set(node.name, nodeField(node, node.inputs.map((name) => fields.get(name)!), shapes.get(node.inputs[0]!)!));
  }
  return fields;
}

/** The input pixels cell (y, x) sees, clipped to the [0, imageSizePx) image. */
export interface FieldBox {
  top: number;
  left: number;
  heightPx: number;
  widthPx: number;
}

/** The clipped box of cell (y, x): unclipped it starts at offset + cell * jump and spans the field. */
export function receptiveFieldBoxAt(field: ReceptiveField, y: number, x: number, imageSizePx: number): FieldBox {
  const clip = (axis: 0 | 1, cell: number): [number, number] => {
    const start = field.offsetPx[axis] + cell * field.jumpPx[axis];
    const lo = Math.max(0, start);
    const hi = Math.min(imageSizePx, start + field.receptiveFieldPx[axis]);
    return [lo, Math.max(0, hi - lo)];
  };
  const [top, heightPx] = clip(0, y);
  const [left, widthPx] = clip(1, x);
  return { top, left, heightPx, widthPx };
}
