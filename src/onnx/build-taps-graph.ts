/**
 * The taps graph: the whole outputs of named layers (`activations`, the
 * experiments). Maps come back NHWC by default, the layout of the project's
 * tfjs taps ([N, H, W, C]), or NCHW on request; feature layers are [N, F].
 * Pure.
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { findLayer, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import type { OnnxModel } from './onnx-codec.js';
import { ONNX_DATA_TYPE } from './onnx-schema.js';
import { lowerGraphNodes, type LowerOptions } from './lower-graph-nodes.js';
import { tapOutputName, wrapOnnxModel } from './onnx-model.js';
import { makeNode, tensorValueInfo } from './onnx-values.js';

export interface TapsGraphOptions extends LowerOptions {
  /** Layer names or aliases (findLayer), e.g. `conv1`, `pool2`, `fc6`, `logits`, `probs`. */
  layers: readonly string[];
  /** Layout of map outputs (default nhwc). */
  layout?: 'nhwc' | 'nchw';
}

/**
 * Builds the taps graph. Output `tap/<layer>` per requested layer, named by
 * the name it was asked with.
 * @throws RangeError naming an unknown layer (listing the graph's layers) or an empty request.
 */
export function buildTapsGraph(graph: ModelGraph, weights: GraphWeights, options: TapsGraphOptions): OnnxModel {
  if (options.layers.length === 0) throw new RangeError(`Expected at least one layer for the taps graph of ${graph.name} but received none`);
  const layout = options.layout ?? 'nhwc';
  const shapes = inferGraphShapes(graph);
  const layers = options.layers.map((name) => ({ asked: name, layer: findLayer(graph, name) }));
  const lowered = lowerGraphNodes(graph, weights, layers.map((l) => l.layer.node), options);
  const outputs = layers.map(({ asked, layer }) => {
    const shape = shapes.get(layer.node)!;
    const out = tapOutputName(asked);
    const isMap = shape.length === 3;
    if (isMap && layout === 'nhwc') {
      lowered.nodes.push(makeNode('Transpose', `${out}/nhwc`, [layer.node], [out], { perm: { ints: [0, 2, 3, 1] } }));
      return tensorValueInfo(out, ONNX_DATA_TYPE.FLOAT, ['N', shape[1]!, shape[2]!, shape[0]!]);
    }
    lowered.nodes.push(makeNode('Identity', out, [layer.node], [out]));
    return tensorValueInfo(out, ONNX_DATA_TYPE.FLOAT, ['N', ...shape]);
  });
  return wrapOnnxModel(graph, lowered, { kind: 'taps', outputs, description: `layers=${options.layers.join(',')};layout=${layout};lrn=${options.lrn}` });
}
