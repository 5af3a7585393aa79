/**
 * An ONNX file (opset 11 or later, as torch.onnx.export or tf2onnx write it)
 * -> ModelGraph plus weights, the same form the project's own architectures
 * lower to, so one forward engine and one deconvnet builder serve both.
 *
 * Walks the nodes in file order: Constant nodes and shape arithmetic on
 * constants are folded (onnx-fold.ts); layer ops become graph nodes
 * (onnx-layer-ops.ts, onnx-shape-ops.ts) named after the model's modules
 * (onnx-names.ts); anything else stops the import with an error naming the
 * op, the node and the supported ops. An NHWC input (tf2onnx) is recognised by
 * the Transpose to NCHW that reads it. Pure: bytes in, graph out.
 */
import { UsageError } from '../errors.js';
import { describeGraphLayers } from '../graph/graph-layers.js';
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { GRAPH_INPUT, validateGraph, weightNamesOf, type GraphNode, type ModelGraph } from '../graph/model-graph.js';
import { decodeOnnxModel, type OnnxGraph, type OnnxModel, type OnnxNode } from '../onnx/onnx-format.js';
import { FOLD_OPS } from './onnx-fold.js';
import { describeNode, emitNode, type ImportContext, type ImportValue, type RuntimeValue } from './onnx-import-context.js';
import { LAYER_OPS, type OpConverter } from './onnx-layer-ops.js';
import { createNameAllocator, moduleNameOf } from './onnx-names.js';
import { SHAPE_OPS } from './onnx-shape-ops.js';
import { attrInts, readConstTensor, readConstantNode } from './onnx-tensors.js';

export const MIN_ONNX_OPSET = 11;

const CONVERTERS: Readonly<Record<string, OpConverter>> = Object.freeze({ ...LAYER_OPS, ...SHAPE_OPS });
/** Ops that never emit a node (their output is their input, or a constant). */
const PASS_OPS = new Set(['Identity', 'Cast', 'Shape', 'Transpose', 'Pad']);

/** Every op the importer reads, sorted, as the refusal message lists them. */
export const SUPPORTED_ONNX_OPS: readonly string[] = Object.freeze([...new Set(['Constant', ...Object.keys(CONVERTERS), ...Object.keys(FOLD_OPS)])].sort());

export interface OnnxImportOptions {
  /** Names the file in messages (its path). */
  source: string;
  /** The graph's name; default the ONNX graph's own name. */
  name?: string;
  /** Input side in pixels when the file leaves height and width symbolic. */
  inputSizePx?: number;
  /** Appended to the refusal of bytes that are no ONNX model (what the caller reads instead). */
  unreadableHint?: string;
}

export interface ImportedOnnxGraph {
  graph: ModelGraph;
  /** PyTorch layout, one entry per weight the graph names. */
  weights: Map<string, Float32Array>;
  /** The layout the file's input had (the graph itself always takes NCHW). */
  inputLayout: 'nchw' | 'nhwc';
  opset: number;
  producer: string;
}

function decode(bytes: Uint8Array, source: string, hint: string | undefined): OnnxModel {
  try {
    return decodeOnnxModel(bytes);
  } catch (error) {
    throw new UsageError(`${source} is not a readable ONNX model: ${(error as Error).message}${hint === undefined ? '' : `. ${hint}`}`);
  }
}

function defaultOpset(model: OnnxModel, source: string): number {
  const entry = model.opsetImport.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  const opset = entry?.version ?? 0;
  if (opset < MIN_ONNX_OPSET) throw new UsageError(`ONNX model ${source} uses opset ${opset}; opset ${MIN_ONNX_OPSET} or later is supported (torch.onnx.export(..., opset_version=17))`);
  return opset;
}

/** True when every reader transposes the value to NCHW (tf2onnx), possibly after a zero Pad. */
function readsAsNhwc(graph: OnnxGraph, value: string): boolean {
  const readers = (graph.node ?? []).filter((n) => n.input?.[0] === value);
  return readers.length > 0 && readers.every((n) => (n.opType === 'Transpose' && attrInts(n, 'perm')?.join(',') === '0,3,1,2')
    || (n.opType === 'Pad' && n.output?.[0] !== undefined && readsAsNhwc(graph, n.output[0])));
}

/** The one image input: its name, layout and N-less NCHW shape. */
function readInput(graph: OnnxGraph, options: OnnxImportOptions): { name: string; layout: 'nchw' | 'nhwc'; channels: number; sizePx: number } {
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1) throw new UsageError(`ONNX model ${options.source} has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); expected one image input`);
  const input = inputs[0]!;
  const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimValue ?? null);
  if (dims.length !== 4) throw new UsageError(`ONNX model ${options.source}: input ${input.name} has rank ${dims.length}; expected an image batch [N, C, H, W] or [N, H, W, C]`);
  const nhwc = readsAsNhwc(graph, input.name);
  const [channels, h, w] = nhwc ? [dims[3], dims[1], dims[2]] : [dims[1], dims[2], dims[3]];
  if (channels === null || channels === undefined) throw new UsageError(`ONNX model ${options.source}: input ${input.name} has no fixed channel count`);
  const sizePx = h ?? w ?? options.inputSizePx;
  if (sizePx === undefined || sizePx === null) throw new UsageError(`ONNX model ${options.source}: input ${input.name} has a symbolic height and width; give the input size (--input-size)`);
  if ((h !== null && h !== sizePx) || (w !== null && w !== sizePx)) throw new UsageError(`ONNX model ${options.source}: input ${input.name} is ${h}x${w}; only square inputs are supported`);
  return { name: input.name, layout: nhwc ? 'nhwc' : 'nchw', channels, sizePx };
}

function countUses(graph: OnnxGraph): Map<string, number> {
  const uses = new Map<string, number>();
  const add = (name: string): void => { if (name !== '') uses.set(name, (uses.get(name) ?? 0) + 1); };
  for (const node of graph.node ?? []) for (const name of node.input ?? []) add(name);
  for (const output of graph.output ?? []) add(output.name);
  return uses;
}

function unsupported(ctx: ImportContext, node: OnnxNode): UsageError {
  const domain = node.domain !== undefined && node.domain !== '' && node.domain !== 'ai.onnx' ? ` of domain ${node.domain}` : '';
  return new UsageError(`ONNX model ${ctx.source}: ${describeNode(node)}${domain} is not supported; supported ops: ${SUPPORTED_ONNX_OPS.join(', ')}`);
}

function convertNode(ctx: ImportContext, node: OnnxNode, index: number, allocate: (base: string, op: string) => string): Array<ImportValue | null> {
  const label = `ONNX model ${ctx.source}: ${describeNode(node)}`;
  if (node.domain !== undefined && node.domain !== '' && node.domain !== 'ai.onnx') throw unsupported(ctx, node);
  if (node.opType === 'Constant') return [{ kind: 'const', tensor: readConstantNode(node, label) }];
  const inputs = (node.input ?? []).filter((name) => name !== '').map((name) => ctx.values.get(name));
  const fold = FOLD_OPS[node.opType];
  const constants = inputs.flatMap((v) => (v?.kind === 'const' ? [v.tensor] : []));
  if (fold !== undefined && inputs.length > 0 && constants.length === inputs.length) return [{ kind: 'const', tensor: fold(node, constants, label) }];
  const converter = CONVERTERS[node.opType];
  if (converter === undefined) throw unsupported(ctx, node);
  const name = PASS_OPS.has(node.opType) ? '' : allocate(moduleNameOf(node, index), node.opType);
  return converter(node, ctx, name);
}

/** The nodes the probs node depends on (drops branches that lead nowhere). */
function liveNodes(nodes: GraphNode[], output: string): GraphNode[] {
  const live = new Set([output]);
  for (let i = nodes.length - 1; i >= 0; i--) if (live.has(nodes[i]!.name)) for (const input of nodes[i]!.inputs) live.add(input);
  return nodes.filter((n) => live.has(n.name));
}

function finishOutputs(ctx: ImportContext, graph: OnnxGraph, allocate: (base: string, op: string) => string): { logits: string; probs: string } {
  const outputs = graph.output ?? [];
  if (outputs.length !== 1) throw new UsageError(`ONNX model ${ctx.source} has ${outputs.length} outputs (${outputs.map((o) => o.name).join(', ')}); expected one (the logits or class probabilities)`);
  const value = ctx.values.get(outputs[0]!.name);
  if (value?.kind !== 'runtime' || value.shape.length !== 1 || value.node === GRAPH_INPUT) {
    throw new UsageError(`ONNX model ${ctx.source}: output ${outputs[0]!.name} is not a computed [N, classes] tensor`);
  }
  const last = ctx.nodes.find((n) => n.name === value.node)!;
  if (last.op.op === 'softmax') return { logits: last.inputs[0]!, probs: last.name };
  const probs = emitNode(ctx, allocate('probs', 'Softmax'), { op: 'softmax' }, [value.node], value.shape.slice());
  return { logits: value.node, probs: probs.node };
}

/**
 * Imports an ONNX model.
 * @throws UsageError naming the file and, for a node, its name and op: not ONNX, opset below 11,
 *   an unsupported op (with the supported list), attribute values the graph cannot express,
 *   external data, several inputs or outputs, a non-square or unsized input.
 */
export function importOnnxModel(bytes: Uint8Array, options: OnnxImportOptions): ImportedOnnxGraph {
  const model = decode(bytes, options.source, options.unreadableHint);
  const opset = defaultOpset(model, options.source);
  const graph = model.graph;
  const input = readInput(graph, options);
  const ctx: ImportContext = { source: options.source, opset, values: new Map(), nodes: [], weights: new Map(), useCount: countUses(graph) };
  for (const tensor of graph.initializer ?? []) {
    ctx.values.set(tensor.name ?? '', { kind: 'const', tensor: readConstTensor(tensor, `ONNX model ${options.source}: initializer ${tensor.name}`) });
  }
  const shape = input.layout === 'nhwc' ? [input.sizePx, input.sizePx, input.channels] : [input.channels, input.sizePx, input.sizePx];
  const inputValue: RuntimeValue = { kind: 'runtime', node: GRAPH_INPUT, shape, layout: input.layout, hwcFrom: null };
  ctx.values.set(input.name, inputValue);
  const allocate = createNameAllocator([GRAPH_INPUT]);
  (graph.node ?? []).forEach((node, index) => {
    const results = convertNode(ctx, node, index, allocate);
    (node.output ?? []).forEach((name, i) => { if (name !== '' && results[i] !== undefined && results[i] !== null) ctx.values.set(name, results[i]!); });
  });
  const { logits, probs } = finishOutputs(ctx, graph, allocate);
  const nodes = liveNodes(ctx.nodes, probs);
  const weightNames = new Set(nodes.flatMap((n) => weightNamesOf(n.op)));
  const weightShapes = Object.fromEntries([...weightNames].map((w) => [w, ctx.weights.get(w)!.shape]));
  const result: ModelGraph = {
    name: options.name ?? (graph.name !== undefined && graph.name !== '' ? graph.name : 'onnx-model'),
    input: { channels: input.channels, sizePx: input.sizePx },
    nodes, logits, probs, layers: describeGraphLayers(nodes, logits, probs), weightShapes,
  };
  validateGraph(result);
  inferGraphShapes(result);
  const weights = new Map([...weightNames].map((w) => [w, ctx.weights.get(w)!.data]));
  return { graph: result, weights, inputLayout: input.layout, opset, producer: `${model.producerName ?? 'unknown'} ${model.producerVersion ?? ''}`.trim() };
}
