/**
 * The deconvnet of one examined node as an ONNX graph, batched over entries
 * (Zeiler & Fergus Sec. 2.1; project choices in zfnet-paper.md). Pure: the
 * graph is built as data from the ModelGraph and its PyTorch-layout weights.
 *
 * Each entry is one examined activation with its own input window (see
 * src/graph/reach-window.ts): the graph runs the forward over the window,
 * keeping every max pool's Indices output as that entry's switches, takes the
 * activation named by `select`, and goes down again, one rule per op:
 *   conv    -> ConvTranspose with the same weights and groups (no bias);
 *   relu    -> Relu of the signal (the deconvnet rule);
 *   maxpool -> unpool: ScatterElements with reduction 'add' into the pool's
 *              input, so windows that share a winner sum (ONNX MaxUnpool
 *              overwrites there, which the project's rule does not allow);
 *   lrn, dropout, identity -> identity (forward: the LRN of the forward engine).
 * Window cells outside a map's true grid hold the layer's padding value going
 * up (0 before a conv, POOL_PAD_VALUE before a max pool) and 0 going down.
 *
 * Ties: onnxruntime's MaxPool (with the Indices output) keeps the first
 * strictly greater value while scanning its window row by row, so a tied
 * window's switch is its first maximum in row-major order, the project's rule
 * (all-zero windows after ReLU point at their top-left cell). Checked in
 * test/onnx/build-deconv-graph.test.ts on tied inputs. The Indices are flat
 * offsets into the whole [E, C, H, W] pool input, which is what the 1-D
 * ScatterElements unpooling needs.
 *
 * Graph inputs:  `pixels` [E, C0, r0, c0] float; `select` [E, 1] int64, the
 *   flat (channel, row, col) index into the examined window; `valid.<i>`
 *   [E, 1, ri, ci] bool for each masked level i (maskedLevels).
 * Graph outputs: `activation` [E, 1]; `projection` [E, C0, r0, c0].
 */
import { type GraphNode, type GraphOpName, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import { POOL_PAD_VALUE } from '../model/geometry.js';
import { maskedLevels, type ReachPlan } from '../graph/reach-window.js';
import type { OnnxModel, OnnxNode, OnnxTensor } from './onnx-codec.js';
import { ONNX_DATA_TYPE } from './onnx-schema.js';
import { ONNX_LOWERINGS } from './lower-graph-nodes.js';
import { float32Tensor, int64Tensor, makeNode, tensorValueInfo } from './onnx-values.js';

/** ScatterElements' `reduction` needs opset 16. */
export const DECONV_OPSET = 17;
const IR_VERSION = 8;

export interface DeconvGraph {
  model: OnnxModel;
  plan: ReachPlan;
  /** Level indices that have a `valid.<i>` input. */
  maskedLevels: number[];
}

/** What one rule sees: the node, its level index, and a way to add ONNX nodes and weights. */
interface RuleContext {
  node: GraphNode;
  /** Level of the node's input (its output is level + 1). */
  level: number;
  emit(opType: string, inputs: string[], outputs: string[], attributes?: Parameters<typeof makeNode>[4]): void;
  weight(name: string): string;
  /** Adds a shared constant initializer (once). */
  constant(name: string, tensor: OnnxTensor): void;
  /** Adds ready-made ONNX nodes. */
  nodes(list: OnnxNode[]): void;
  plan: ReachPlan;
  /** The masked (padding-valued) name of level `level`'s forward value, or the plain name when not masked. */
  masked: boolean;
}

type ForwardRule = (ctx: RuleContext, input: string, output: string) => void;
type DownRule = (ctx: RuleContext, signal: string, output: string) => void;

const spatialAttributes = (node: GraphNode): Record<string, { ints: number[] }> => {
  const op = node.op;
  if (op.op === 'conv') return { kernel_shape: { ints: op.kernel.slice() }, strides: { ints: op.stride.slice() }, dilations: { ints: op.dilation.slice() } };
  if (op.op === 'maxpool') return { kernel_shape: { ints: op.window.slice() }, strides: { ints: op.stride.slice() } };
  return {};
};

const identityForward: ForwardRule = (ctx, input, output) => ctx.emit('Identity', [input], [output]);
const identityDown: DownRule = (ctx, signal, output) => ctx.emit('Identity', [signal], [output]);

/** How each op runs forward over a window (no pads: the window holds them). */
export const FORWARD_RULES: Readonly<Partial<Record<GraphOpName, ForwardRule>>> = Object.freeze({
  conv: (ctx, input, output) => {
    const op = ctx.node.op as Extract<GraphNode['op'], { op: 'conv' }>;
    const inputs = [input, ctx.weight(op.weight), ...(op.bias === null ? [] : [ctx.weight(op.bias)])];
    ctx.emit('Conv', inputs, [output], { ...spatialAttributes(ctx.node), group: { int: op.groups } });
  },
  relu: (ctx, input, output) => ctx.emit('Relu', [input], [output]),
  maxpool: (ctx, input, output) => ctx.emit('MaxPool', [input], [output, `switches.${ctx.level}`], spatialAttributes(ctx.node)),
  // The forward engine's lowering (src/onnx/lower-graph-nodes.ts): a channel AveragePool, faster than ORT's LRN kernel.
  lrn: (ctx, input, output) => {
    const op = ctx.node.op as Extract<GraphNode['op'], { op: 'lrn' }>;
    const { channels, sizePx } = ctx.plan.levels[ctx.level]!;
    const shape = [channels, ...sizePx];
    const lowered = ONNX_LOWERINGS.lrn(op, {
      node: { ...ctx.node, name: output, inputs: [input] }, inputShape: shape, outputShape: shape, options: { lrn: 'pool' },
      constant: (name, tensor) => { ctx.constant(name, tensor); return name; },
    });
    ctx.nodes(lowered);
  },
  dropout: identityForward,
  identity: identityForward,
});

/** How each op passes the signal down (the deconvnet rules). */
export const DOWN_RULES: Readonly<Partial<Record<GraphOpName, DownRule>>> = Object.freeze({
  conv: (ctx, signal, output) => {
    const op = ctx.node.op as Extract<GraphNode['op'], { op: 'conv' }>;
    ctx.emit('ConvTranspose', [signal, ctx.weight(op.weight)], [output], { ...spatialAttributes(ctx.node), group: { int: op.groups } });
  },
  relu: (ctx, signal, output) => ctx.emit('Relu', [signal], [output]),
  maxpool: (ctx, signal, output) => {
    const into = forwardInputName(ctx.level, ctx.masked);
    const l = ctx.level;
    ctx.constant('const.flat', int64Tensor('const.flat', [1], [-1]));
    ctx.emit('Shape', [into], [`unpool.${l}.shape`]);
    ctx.emit('ConstantOfShape', [`unpool.${l}.shape`], [`unpool.${l}.zeros`], { value: { tensor: float32Tensor('zero', [1], new Float32Array([0])) } });
    ctx.emit('Reshape', [`unpool.${l}.zeros`, 'const.flat'], [`unpool.${l}.zeros.flat`]);
    ctx.emit('Reshape', [`switches.${l}`, 'const.flat'], [`unpool.${l}.switches.flat`]);
    ctx.emit('Reshape', [signal, 'const.flat'], [`unpool.${l}.signal.flat`]);
    ctx.emit('ScatterElements', [`unpool.${l}.zeros.flat`, `unpool.${l}.switches.flat`, `unpool.${l}.signal.flat`], [`unpool.${l}.flat`], { axis: { int: 0 }, reduction: { string: 'add' } });
    ctx.emit('Reshape', [`unpool.${l}.flat`, `unpool.${l}.shape`], [output]);
  },
  lrn: identityDown,
  dropout: identityDown,
  identity: identityDown,
});

const forwardName = (level: number): string => `forward.${level}`;
const forwardInputName = (level: number, masked: boolean): string => (masked ? `forward.${level}.padded` : forwardName(level));
const downName = (level: number): string => `down.${level}`;

/**
 * Builds the deconvnet graph of a plan (planReachWindows).
 * @throws RangeError naming the op, the node and the supported ops when a node on the path has no rule,
 *   or naming a weight the map does not hold
 */
export function buildDeconvGraph(graph: ModelGraph, weights: GraphWeights, plan: ReachPlan): DeconvGraph {
  const nodes: OnnxNode[] = [];
  const initializers = new Map<string, OnnxTensor>();
  const masked = new Set(maskedLevels(plan));
  const weight = (name: string): string => {
    if (!initializers.has(name)) initializers.set(name, weightTensor(graph, weights, name));
    return name;
  };
  const context = (node: GraphNode, level: number): RuleContext => ({
    node, level, weight, masked: masked.has(level),
    constant: (name, tensor) => void (initializers.has(name) || initializers.set(name, tensor)),
    nodes: (list) => void nodes.push(...list),
    plan,
    emit: (opType, inputs, outputs, attributes = {}) => nodes.push(makeNode(opType, `${node.name}:${opType}:${outputs[0]}`, inputs, outputs, attributes)),
  });
  nodes.push(makeNode('Identity', 'pixels', ['pixels'], [forwardName(0)]));
  plan.path.forEach((node, level) => {
    const rule = findRule(FORWARD_RULES, node, 'forward');
    if (masked.has(level)) {
      const pad = node.op.op === 'maxpool' ? POOL_PAD_VALUE : 0;
      initializers.set(`const.pad.${level}`, float32Tensor(`const.pad.${level}`, [], new Float32Array([pad])));
      nodes.push(makeNode('Where', `pad.${level}`, [`valid.${level}`, forwardName(level), `const.pad.${level}`], [forwardInputName(level, true)]));
    }
    rule(context(node, level), forwardInputName(level, masked.has(level)), forwardName(level + 1));
  });
  const top = plan.path.length;
  nodes.push(...selectTopNodes(forwardName(top), downName(top)));
  for (let level = top - 1; level >= 0; level--) {
    const node = plan.path[level]!;
    const out = masked.has(level) ? `${downName(level)}.raw` : downName(level);
    findRule(DOWN_RULES, node, 'down')(context(node, level), downName(level + 1), out);
    if (masked.has(level)) {
      initializers.set('const.zero', float32Tensor('const.zero', [], new Float32Array([0])));
      nodes.push(makeNode('Where', `unpad.${level}`, [`valid.${level}`, out, 'const.zero'], [downName(level)]));
    }
  }
  nodes.push(makeNode('Identity', 'projection', [downName(0)], ['projection']));
  return { model: assembleModel(graph, plan, nodes, [...initializers.values()], [...masked]), plan, maskedLevels: [...masked] };
}

/** The examined activation of each entry (`activation`) and the one-hot signal that starts the way down. */
function selectTopNodes(top: string, signal: string): OnnxNode[] {
  return [
    makeNode('Shape', 'top.shape', [top], ['top.shape']),
    makeNode('Flatten', 'top.flat', [top], ['top.flat'], { axis: { int: 1 } }),
    makeNode('GatherElements', 'activation', ['top.flat', 'select'], ['activation'], { axis: { int: 1 } }),
    makeNode('Shape', 'top.flat.shape', ['top.flat'], ['top.flat.shape']),
    makeNode('ConstantOfShape', 'top.zeros', ['top.flat.shape'], ['top.zeros'], { value: { tensor: float32Tensor('zero', [1], new Float32Array([0])) } }),
    makeNode('ScatterElements', 'top.onehot', ['top.zeros', 'select', 'activation'], ['top.onehot'], { axis: { int: 1 } }),
    makeNode('Reshape', 'top.signal', ['top.onehot', 'top.shape'], [signal]),
  ];
}

function findRule<R>(rules: Readonly<Partial<Record<GraphOpName, R>>>, node: GraphNode, direction: string): R {
  const rule = rules[node.op.op];
  if (rule === undefined) {
    throw new RangeError(`The deconvnet has no ${direction} rule for op ${node.op.op} (node ${node.name}); supported: ${Object.keys(rules).join(', ')}`);
  }
  return rule;
}

function weightTensor(graph: ModelGraph, weights: GraphWeights, name: string): OnnxTensor {
  const data = weights.get(name);
  const shape = graph.weightShapes[name];
  if (data === undefined || shape === undefined) throw new RangeError(`The deconvnet of ${graph.name} needs weight ${name}, which the weights do not hold`);
  return float32Tensor(name, shape, data);
}

function assembleModel(graph: ModelGraph, plan: ReachPlan, node: OnnxNode[], initializer: OnnxTensor[], masked: number[]): OnnxModel {
  const [input, top] = [plan.levels[0]!, plan.levels.at(-1)!];
  const validInputs = masked.map((l) => tensorValueInfo(`valid.${l}`, ONNX_DATA_TYPE.BOOL, ['E', 1, ...plan.levels[l]!.sizePx]));
  return {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: DECONV_OPSET }],
    producerName: 'zfnet-pipeline',
    docString: `deconvnet of ${graph.name} ${plan.examined} (${plan.mode} windows, ${top.channels} units)`,
    graph: {
      name: `deconv-${plan.examined}`,
      node,
      initializer,
      input: [
        tensorValueInfo('pixels', ONNX_DATA_TYPE.FLOAT, ['E', input.channels, ...input.sizePx]),
        tensorValueInfo('select', ONNX_DATA_TYPE.INT64, ['E', 1]),
        ...validInputs,
      ],
      output: [
        tensorValueInfo('activation', ONNX_DATA_TYPE.FLOAT, ['E', 1]),
        tensorValueInfo('projection', ONNX_DATA_TYPE.FLOAT, ['E', input.channels, ...input.sizePx]),
      ],
    },
  };
}
