/**
 * The ONNX codec, the one way into the file format for code outside
 * src/onnx: the format's messages (onnx-schema.ts), encoding and decoding
 * (onnx-codec.ts), and the constructors of graph pieces (onnx-values.ts).
 * The three graph kinds are built on it: forward graphs (forward-graphs.ts),
 * deconv graphs (deconv-graphs.ts) and training graphs
 * (src/train-graph/train-graphs.ts); the importer (src/import) reads
 * users' files with it.
 */
export * from './onnx-schema.js';
export * from './onnx-codec.js';
export * from './onnx-values.js';
