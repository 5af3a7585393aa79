/**
 * The distances graph (invariance): per image, the Euclidean distance of
 * named layers to one reference image's output of the same layers, so only
 * [N] per layer comes back, plus named layers whole. The same measure as the
 * tfjs `distances` reducer (src/workers/batch-reducers.ts): the differences,
 * their squares and the sum are taken in float64, so both engines give the
 * distance of their own float32 features to float64 precision. Pure.
 *
 * The reference comes in the layout the taps reducer returns ([1, H, W, C]
 * for maps, [1, F] for feature layers) and is transposed to the graph's
 * NCHW inside the graph (one image, not N).
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { findLayer, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import type { OnnxModel, OnnxNode, OnnxValueInfo } from './onnx-codec.js';
import { ONNX_DATA_TYPE } from './onnx-schema.js';
import { lowerGraphNodes, type LowerOptions } from './lower-graph-nodes.js';
import { appendTapOutputs } from './build-taps-graph.js';
import { distanceOutputName, referenceInputName, wrapOnnxModel } from './onnx-model.js';
import { makeNode, tensorValueInfo } from './onnx-values.js';

export interface DistancesGraphOptions extends LowerOptions {
  /** Layers measured against a reference (names or aliases), e.g. conv1, fc7. */
  references: readonly string[];
  /** Layers returned whole (NHWC for maps), e.g. probs; may be empty. */
  taps: readonly string[];
}

/** The reference's shape as fed ([1, H, W, C] or [1, F]), from the layer's N-less NCHW shape. */
export function referenceShapeOf(shape: readonly number[]): number[] {
  return shape.length === 3 ? [1, shape[1]!, shape[2]!, shape[0]!] : [1, ...shape];
}

/** Nodes from the layer's output and its reference input to `distance/<name>` ([N] float64). */
function distanceNodes(name: string, node: string, rank: number): OnnxNode[] {
  const p = `distance/${name}`;
  const reference = referenceInputName(name);
  const toNchw = rank === 3 ? [makeNode('Transpose', `${p}/nchw`, [reference], [`${p}/nchw`], { perm: { ints: [0, 3, 1, 2] } })] : [];
  const referenceNchw = rank === 3 ? `${p}/nchw` : reference;
  return [
    ...toNchw,
    makeNode('Cast', `${p}/reference64`, [referenceNchw], [`${p}/reference64`], { to: { int: ONNX_DATA_TYPE.DOUBLE } }),
    makeNode('Cast', `${p}/layer64`, [node], [`${p}/layer64`], { to: { int: ONNX_DATA_TYPE.DOUBLE } }),
    makeNode('Sub', `${p}/difference`, [`${p}/layer64`, `${p}/reference64`], [`${p}/difference`]),
    makeNode('ReduceSumSquare', `${p}/squares`, [`${p}/difference`], [`${p}/squares`], { axes: { ints: Array.from({ length: rank }, (_, i) => i + 1) }, keepdims: { int: 0 } }),
    makeNode('Sqrt', distanceOutputName(name), [`${p}/squares`], [distanceOutputName(name)]),
  ];
}

/**
 * Builds the distances graph. Inputs: `pixels` and `reference/<layer>` per
 * reference; outputs: `distance/<layer>` float64 [N] per reference and
 * `tap/<layer>` per whole tap.
 * @throws RangeError naming an unknown layer, or when no reference is asked.
 */
export function buildDistancesGraph(graph: ModelGraph, weights: GraphWeights, options: DistancesGraphOptions): OnnxModel {
  if (options.references.length === 0) throw new RangeError(`Expected at least one reference layer for the distances graph of ${graph.name} but received none`);
  const shapes = inferGraphShapes(graph);
  const references = options.references.map((name) => ({ name, layer: findLayer(graph, name) }));
  const needed = [...references.map((r) => r.layer.node), ...options.taps.map((name) => findLayer(graph, name).node)];
  const lowered = lowerGraphNodes(graph, weights, needed, options);
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  for (const { name, layer } of references) {
    const shape = shapes.get(layer.node)!;
    inputs.push(tensorValueInfo(referenceInputName(name), ONNX_DATA_TYPE.FLOAT, referenceShapeOf(shape)));
    lowered.nodes.push(...distanceNodes(name, layer.node, shape.length));
    outputs.push(tensorValueInfo(distanceOutputName(name), ONNX_DATA_TYPE.DOUBLE, ['N']));
  }
  outputs.push(...appendTapOutputs(graph, lowered, options.taps, 'nhwc'));
  return wrapOnnxModel(graph, lowered, {
    kind: 'distances', inputs, outputs,
    description: `references=${options.references.join(',')};taps=${options.taps.join(',')};lrn=${options.lrn}`,
  });
}
