/**
 * The forward graphs, the one way in for code outside src/onnx: a ModelGraph
 * lowered to ONNX nodes (lower-graph-nodes.ts), wrapped with the project's
 * input and output names (onnx-model.ts), and the builders of what a forward
 * pass returns: taps, top-activation reductions, class scores and feature
 * distances. Pure functions from a graph and its weights to an OnnxModel;
 * running them is the engines' (src/workers/onnx-forward-runner.ts).
 */
export * from './lower-graph-nodes.js';
export * from './onnx-model.js';
export * from './build-taps-graph.js';
export * from './build-top-activations-graph.js';
export * from './build-classifier-graph.js';
export * from './build-distances-graph.js';
