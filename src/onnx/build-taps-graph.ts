/**
 * The taps graph: the whole outputs of named layers (`activations`, the
 * experiments). Maps come back NHWC by default, the layout of the project's
 * tfjs taps ([N, H, W, C]), or NCHW on request; feature layers are [N, F].
 * Pure.
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { findLayer, type GraphWeights, type ModelGraph } from '../graph/model-graph.js';
import type { OnnxModel, OnnxValueInfo } from './onnx-codec.js';
import { ONNX_DATA_TYPE } from './onnx-schema.js';
import { lowerGraphNodes, type LoweredNodes, type LowerOptions } from './lower-graph-nodes.js';
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
  const lowered = lowerGraphNodes(graph, weights, options.layers.map((name) => findLayer(graph, name).node), options);
  const outputs = appendTapOutputs(graph, lowered, options.layers, layout);
  return wrapOnnxModel(graph, lowered, { kind: 'taps', outputs, description: `layers=${options.layers.join(',')};layout=${layout};lrn=${options.lrn}` });
}

/**
 * Adds output `tap/<name>` for each layer to `lowered` (whose nodes already
 * compute them): maps transposed to NHWC unless `layout` is nchw, feature
 * layers [N, F] as they are. Returns the outputs' value infos.
 * @throws RangeError naming an unknown layer.
 */
export function appendTapOutputs(graph: ModelGraph, lowered: LoweredNodes, names: readonly string[], layout: 'nhwc' | 'nchw'): OnnxValueInfo[] {
  const shapes = inferGraphShapes(graph);
  return names.map((asked) => {
    const layer = findLayer(graph, asked);
    const shape = shapes.get(layer.node)!;
    const out = tapOutputName(asked);
    if (shape.length === 3 && layout === 'nhwc') {
      lowered.nodes.push(makeNode('Transpose', `${out}/nhwc`, [layer.node], [out], { perm: { ints: [0, 2, 3, 1] } }));
      return tensorValueInfo(out, ONNX_DATA_TYPE.FLOAT, ['N', shape[1]!, shape[2]!, shape[0]!]);
    }
    lowered.nodes.push(makeNode('Identity', out, [layer.node], [out]));
    return tensorValueInfo(out, ONNX_DATA_TYPE.FLOAT, ['N', ...shape]);
  });
}
