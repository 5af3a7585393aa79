/**
 * The deconv graphs, the one way in for code outside src/onnx: the rules of
 * the way down, one per graph op (deconv-down-rules.ts: deconvnet, guided
 * backpropagation, plain and exact gradients), the walk that applies them
 * (propagate-down.ts), the deconvnet over receptive-field windows of the
 * project's architectures (build-deconv-graph.ts) and the full-frame
 * projection of any graph (build-graph-projection.ts). The training graphs
 * (src/train-graph) walk down with the same rules. Pure; src/deconv runs them.
 */
export * from './deconv-down-rules.js';
export * from './propagate-down.js';
export { buildDeconvGraph, DECONV_OPSET, FORWARD_RULES, type DeconvGraph } from './build-deconv-graph.js';
export * from './build-graph-projection.js';
