/**
 * Wraps lowered nodes into an ONNX ModelProto with the project's input
 * (`pixels`, [N, S, S, C] float32) and the builder's outputs, and names the
 * outputs every builder and the engine agree on. Pure.
 */
import type { ModelGraph } from '../graph/model-graph.js';
import type { OnnxModel, OnnxValueInfo } from './onnx-codec.js';
import { ONNX_DATA_TYPE } from './onnx-schema.js';
import { PIXELS_INPUT, type LoweredNodes } from './lower-graph-nodes.js';
import { tensorValueInfo } from './onnx-values.js';

/** The opset every built graph imports (ReduceMax/ReduceMean take `axes` as an attribute up to 17). */
export const BUILT_OPSET = 17;
/** IR version 8 (ONNX 1.10+), which every onnxruntime since 1.10 reads. */
export const BUILT_IR_VERSION = 8;

/** Output name of a whole tap of `layer`. */
export function tapOutputName(layer: string): string {
  return `tap/${layer}`;
}

/** Output names of the per-image distance of `layer` to the batch's first image, and that image's norm (distances graph). */
export function distanceOutputNames(layer: string): { distance: string; norm: string } {
  return { distance: `distance/${layer}`, norm: `norm/${layer}` };
}

/** Output names of the per-unit reductions of `layer`. */
export function reductionOutputNames(layer: string): { max: string; argmax: string; mean: string } {
  return { max: `top/${layer}/max`, argmax: `top/${layer}/argmax`, mean: `top/${layer}/mean` };
}

export interface WrapModelOptions {
  /** Graph kind, recorded in the metadata (`classifier`, `taps`, `top-activations`). */
  kind: string;
  outputs: OnnxValueInfo[];
  /** Recorded as metadata `zfnet.graph-options`. */
  description: string;
}

/** The model around `lowered`; its input is `pixels` [N, S, S, C]. */
export function wrapOnnxModel(graph: ModelGraph, lowered: LoweredNodes, options: WrapModelOptions): OnnxModel {
  const s = graph.input.sizePx;
  return {
    irVersion: BUILT_IR_VERSION,
    opsetImport: [{ domain: '', version: BUILT_OPSET }],
    producerName: 'zfnet-pipeline',
    graph: {
      name: `${graph.name}-${options.kind}`,
      node: lowered.nodes,
      initializer: lowered.initializers,
      input: [tensorValueInfo(PIXELS_INPUT, ONNX_DATA_TYPE.FLOAT, ['N', s, s, graph.input.channels])],
      output: options.outputs,
    },
    metadataProps: [
      { key: 'zfnet.graph-kind', value: options.kind },
      { key: 'zfnet.graph-options', value: options.description },
    ],
  };
}
