/**
 * The training graphs, the one way into src/train-graph: the SGD step of the
 * project's architectures (build-train-step-graph.ts, with its loss and
 * update in loss-and-update.ts and each layer's parameter gradients in
 * param-gradients.ts) and the input-gradient graph that preferred inputs
 * climb (build-input-gradient-graph.ts). Built over the ONNX codec and the
 * forward lowering of src/onnx, walking down with its deconv-graph rules.
 * Pure; src/train and src/preferred run them.
 */
export * from './build-train-step-graph.js';
export * from './build-input-gradient-graph.js';
export * from './loss-and-update.js';
export * from './param-gradients.js';
