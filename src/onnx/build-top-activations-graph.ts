/**
 * The top-activations graph: for each requested map layer, per (image, unit)
 * the spatial maximum, the first row-major position holding it and the
 * spatial mean, computed inside the graph so only [N, C] arrays come back
 * (the same reductions as src/topk/reduce-conv-tap.ts on tfjs). Pure.
 *
 * The first maximum: ONNX ArgMax with select_last_index = 0 returns the
 * first index among ties, over the flattened H*W cells in row-major order,
 * i.e. y * W + x (checked against onnxruntime with tied inputs in the tests).
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { findLayer, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import type { OnnxModel } from './onnx-codec.js';
import { ONNX_DATA_TYPE } from './onnx-schema.js';
import { lowerGraphNodes, type LowerOptions } from './lower-graph-nodes.js';
import { reductionOutputNames, wrapOnnxModel } from './onnx-model.js';
import { int64Tensor, makeNode, tensorValueInfo } from './onnx-values.js';

export interface TopActivationsGraphOptions extends LowerOptions {
  /** Map layers (names or aliases), e.g. conv1..conv5. */
  layers: readonly string[];
}

/**
 * Builds the reductions graph. Outputs per layer: `top/<layer>/max` and
 * `/mean` float32 [N, C], `/argmax` int32 [N, C].
 * @throws RangeError naming a layer that is unknown or not a map ([C, H, W]), or an empty request.
 */
export function buildTopActivationsGraph(graph: ModelGraph, weights: GraphWeights, options: TopActivationsGraphOptions): OnnxModel {
  if (options.layers.length === 0) throw new RangeError(`Expected at least one layer for the top-activations graph of ${graph.name} but received none`);
  const shapes = inferGraphShapes(graph);
  const layers = options.layers.map((name) => {
    const layer = findLayer(graph, name);
    const shape = shapes.get(layer.node)!;
    if (shape.length !== 3) throw new RangeError(`Expected a layer with [C, H, W] maps for top-activations but received ${name} of shape [${shape.join(', ')}]`);
    return { name, node: layer.node, shape: shape as [number, number, number] };
  });
  const lowered = lowerGraphNodes(graph, weights, layers.map((l) => l.node), options);
  const outputs = layers.flatMap(({ name, node, shape: [c, h, w] }) => {
    const out = reductionOutputNames(name);
    const cells = `top/${name}/cells`;
    lowered.initializers.push(int64Tensor(`${cells}/shape`, [3], [-1, c, h * w]));
    lowered.nodes.push(
      makeNode('Reshape', cells, [node, `${cells}/shape`], [cells]), // [N, C, H*W]
      makeNode('ReduceMax', out.max, [cells], [out.max], { axes: { ints: [2] }, keepdims: { int: 0 } }),
      makeNode('ReduceMean', out.mean, [cells], [out.mean], { axes: { ints: [2] }, keepdims: { int: 0 } }),
      makeNode('ArgMax', `${out.argmax}/int64`, [cells], [`${out.argmax}/int64`], { axis: { int: 2 }, keepdims: { int: 0 }, select_last_index: { int: 0 } }),
      makeNode('Cast', out.argmax, [`${out.argmax}/int64`], [out.argmax], { to: { int: ONNX_DATA_TYPE.INT32 } }),
    );
    return [
      tensorValueInfo(out.max, ONNX_DATA_TYPE.FLOAT, ['N', c]),
      tensorValueInfo(out.argmax, ONNX_DATA_TYPE.INT32, ['N', c]),
      tensorValueInfo(out.mean, ONNX_DATA_TYPE.FLOAT, ['N', c]),
    ];
  });
  return wrapOnnxModel(graph, lowered, { kind: 'top-activations', outputs, description: `layers=${options.layers.join(',')};lrn=${options.lrn}` });
}
