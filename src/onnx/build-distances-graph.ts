/**
 * The distances graph (invariance): per image, the Euclidean distance of
 * named layers to the same layers of the batch's first image, and the first
 * image's norm, so only [N] per layer comes back; plus named layers whole.
 * The same measure as the tfjs `distances` reducer
 * (src/workers/batch-reducers.ts): the differences are taken in float32
 * (rounding each by at most 6e-8 of itself), their squares summed in float64,
 * so no float32 sum over a million terms decides the result. The layout does
 * not matter (a distance is the same in NCHW and NHWC), so maps are measured
 * as the graph computes them. Pure.
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { findLayer, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import type { OnnxModel, OnnxNode, OnnxValueInfo } from './onnx-codec.js';
import { ONNX_DATA_TYPE } from './onnx-schema.js';
import { lowerGraphNodes, type LowerOptions } from './lower-graph-nodes.js';
import { appendTapOutputs } from './build-taps-graph.js';
import { distanceOutputNames, wrapOnnxModel } from './onnx-model.js';
import { int64Tensor, makeNode, tensorValueInfo } from './onnx-values.js';

export interface DistancesGraphOptions extends LowerOptions {
  /** Layers measured (names or aliases), e.g. conv1, fc7. */
  features: readonly string[];
  /** Layers returned whole (NHWC for maps), e.g. probs; may be empty. */
  taps: readonly string[];
}

/** Row 0 of a batch: Slice over axis 0 from 0 to 1. */
const FIRST_ROW = { starts: 'distance/first/starts', ends: 'distance/first/ends', axes: 'distance/first/axes' };

/** Nodes from the layer's output to `distance/<name>` ([N] float64) and `norm/<name>` ([1] float64, the first image's). */
function distanceNodes(name: string, node: string, rank: number): OnnxNode[] {
  const p = `distance/${name}`;
  const out = distanceOutputNames(name);
  const axes = { axes: { ints: Array.from({ length: rank }, (_, i) => i + 1) }, keepdims: { int: 0 } };
  const toFloat64 = { to: { int: ONNX_DATA_TYPE.DOUBLE } };
  return [
    makeNode('Slice', `${p}/first`, [node, FIRST_ROW.starts, FIRST_ROW.ends, FIRST_ROW.axes], [`${p}/first`]),
    makeNode('Sub', `${p}/difference`, [node, `${p}/first`], [`${p}/difference`]),
    makeNode('Cast', `${p}/difference64`, [`${p}/difference`], [`${p}/difference64`], toFloat64),
    makeNode('ReduceSumSquare', `${p}/squares`, [`${p}/difference64`], [`${p}/squares`], axes),
    makeNode('Sqrt', out.distance, [`${p}/squares`], [out.distance]),
    makeNode('Cast', `${p}/first64`, [`${p}/first`], [`${p}/first64`], toFloat64),
    makeNode('ReduceSumSquare', `${p}/first-squares`, [`${p}/first64`], [`${p}/first-squares`], axes),
    makeNode('Sqrt', out.norm, [`${p}/first-squares`], [out.norm]),
  ];
}

/**
 * Builds the distances graph. Outputs per measured layer: `distance/<layer>`
 * float64 [N] and `norm/<layer>` float64 [1]; `tap/<layer>` per whole tap.
 * @throws RangeError naming an unknown layer, or when no layer is measured.
 */
export function buildDistancesGraph(graph: ModelGraph, weights: GraphWeights, options: DistancesGraphOptions): OnnxModel {
  if (options.features.length === 0) throw new RangeError(`Expected at least one layer to measure for the distances graph of ${graph.name} but received none`);
  const shapes = inferGraphShapes(graph);
  const features = [...new Set(options.features)].map((name) => ({ name, layer: findLayer(graph, name) }));
  const needed = [...features.map((f) => f.layer.node), ...options.taps.map((name) => findLayer(graph, name).node)];
  const lowered = lowerGraphNodes(graph, weights, needed, options);
  lowered.initializers.push(int64Tensor(FIRST_ROW.starts, [1], [0]), int64Tensor(FIRST_ROW.ends, [1], [1]), int64Tensor(FIRST_ROW.axes, [1], [0]));
  const outputs: OnnxValueInfo[] = [];
  for (const { name, layer } of features) {
    lowered.nodes.push(...distanceNodes(name, layer.node, shapes.get(layer.node)!.length));
    const out = distanceOutputNames(name);
    outputs.push(tensorValueInfo(out.distance, ONNX_DATA_TYPE.DOUBLE, ['N']), tensorValueInfo(out.norm, ONNX_DATA_TYPE.DOUBLE, [1]));
  }
  outputs.push(...appendTapOutputs(graph, lowered, options.taps, 'nhwc'));
  return wrapOnnxModel(graph, lowered, { kind: 'distances', outputs, description: `features=${options.features.join(',')};taps=${options.taps.join(',')};lrn=${options.lrn}` });
}
