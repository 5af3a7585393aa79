/**
 * Test fixtures: small ONNX models written the way the two exporters write
 * them, with the project's ONNX value constructors.
 *
 * - `torchStyleModel`: torch.onnx.export naming (`/layer1/layer1.0/conv1/Conv`),
 *   a residual block with BatchNormalization, LRN, AveragePool, LeakyRelu,
 *   a Concat of two branches, GlobalAveragePool, the `x.view(x.size(0), -1)`
 *   shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape),
 *   Dropout, Identity, Gemm with transB, and Softmax.
 * - `tf2onnxStyleModel`: an NHWC input with the Transpose tf2onnx adds, Keras
 *   names (`model/conv2d/Conv2D`), a Transpose back to NHWC before the
 *   flatten (Keras flattens in (h, w, c) order), Cast and Constant shape
 *   leftovers, MatMul + Add bias.
 */
import type { OnnxModel, OnnxNode, OnnxTensor } from '../../src/onnx/onnx-codec.js';
import { ONNX_DATA_TYPE } from '../../src/onnx/onnx-schema.js';
import { float32Tensor, int64Tensor, makeNode, tensorValueInfo } from '../../src/onnx/onnx-values.js';
import { seededFloats } from './graph-reference.js';

const F = ONNX_DATA_TYPE.FLOAT;

function model(nodes: OnnxNode[], initializers: OnnxTensor[], input: [string, (number | string)[]], output: [string, (number | string)[]], opset = 17): OnnxModel {
  return {
    irVersion: 8, opsetImport: [{ domain: '', version: opset }], producerName: 'fixture',
    graph: { name: 'fixture', node: nodes, initializer: initializers, input: [tensorValueInfo(input[0], F, input[1])], output: [tensorValueInfo(output[0], F, output[1])] },
  };
}

let seed = 1;
const weight = (name: string, dims: number[], scale = 0.3): OnnxTensor => float32Tensor(name, dims, seededFloats(dims.reduce((a, b) => a * b, 1), seed++, scale));
const positive = (name: string, dims: number[]): OnnxTensor => float32Tensor(name, dims, seededFloats(dims.reduce((a, b) => a * b, 1), seed++, 0.5).map((v) => 1 + v));

function batchNorm(prefix: string, channels: number): OnnxTensor[] {
  return [positive(`${prefix}.weight`, [channels]), weight(`${prefix}.bias`, [channels]), weight(`${prefix}.running_mean`, [channels], 0.1), positive(`${prefix}.running_var`, [channels])];
}

/** Input [N, 3, 12, 12] -> 5 classes. */
export function torchStyleModel(): OnnxModel {
  seed = 1;
  const ints = (values: number[]) => ({ ints: values });
  const nodes: OnnxNode[] = [
    makeNode('Conv', '/conv1/Conv', ['input.1', 'onnx::Conv_90', 'onnx::Conv_91'], ['/conv1/Conv_output_0'], { kernel_shape: ints([3, 3]), strides: ints([1, 1]), pads: ints([1, 1, 1, 1]) }),
    makeNode('Relu', '/relu/Relu', ['/conv1/Conv_output_0'], ['/relu/Relu_output_0']),
    makeNode('MaxPool', '/maxpool/MaxPool', ['/relu/Relu_output_0'], ['/maxpool/MaxPool_output_0'], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), ceil_mode: { int: 1 } }),
    makeNode('Conv', '/layer1/layer1.0/conv1/Conv', ['/maxpool/MaxPool_output_0', 'layer1.0.conv1.weight'], ['c1'], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }),
    makeNode('BatchNormalization', '/layer1/layer1.0/bn1/BatchNormalization', ['c1', 'layer1.0.bn1.weight', 'layer1.0.bn1.bias', 'layer1.0.bn1.running_mean', 'layer1.0.bn1.running_var'], ['b1'], { epsilon: { float: 1e-5 } }),
    makeNode('Relu', '/layer1/layer1.0/relu/Relu', ['b1'], ['r1']),
    makeNode('Conv', '/layer1/layer1.0/conv2/Conv', ['r1', 'layer1.0.conv2.weight'], ['c2'], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }),
    makeNode('BatchNormalization', '/layer1/layer1.0/bn2/BatchNormalization', ['c2', 'layer1.0.bn2.weight', 'layer1.0.bn2.bias', 'layer1.0.bn2.running_mean', 'layer1.0.bn2.running_var'], ['b2']),
    makeNode('Add', '/layer1/layer1.0/Add', ['b2', '/maxpool/MaxPool_output_0'], ['sum']),
    makeNode('Relu', '/layer1/layer1.0/relu_1/Relu', ['sum'], ['block']),
    makeNode('LRN', '/norm/LRN', ['block'], ['norm'], { size: { int: 3 }, alpha: { float: 3e-4 }, beta: { float: 0.75 }, bias: { float: 2 } }),
    makeNode('AveragePool', '/branch/pool/AveragePool', ['norm'], ['avg'], { kernel_shape: ints([3, 3]), strides: ints([1, 1]), pads: ints([1, 1, 1, 1]) }),
    makeNode('Conv', '/branch/conv/Conv', ['norm', 'branch.conv.weight', 'branch.conv.bias'], ['bc'], { kernel_shape: ints([1, 1]), group: { int: 2 } }),
    makeNode('LeakyRelu', '/branch/act/LeakyRelu', ['bc'], ['bl'], { alpha: { float: 0.1 } }),
    makeNode('Concat', '/Concat', ['avg', 'bl'], ['cat'], { axis: { int: 1 } }),
    makeNode('GlobalAveragePool', '/avgpool/GlobalAveragePool', ['cat'], ['gap']),
    makeNode('Shape', '/Shape', ['gap'], ['shape']),
    makeNode('Constant', '/Constant', [], ['zero'], { value: { tensor: int64Tensor('', [], [0]) } }),
    makeNode('Gather', '/Gather', ['shape', 'zero'], ['n']),
    makeNode('Unsqueeze', '/Unsqueeze', ['n', 'axes0'], ['n1']),
    makeNode('Concat', '/Concat_1', ['n1', 'minus1'], ['target'], { axis: { int: 0 } }),
    makeNode('Reshape', '/Reshape', ['gap', 'target'], ['flat']),
    makeNode('Dropout', '/drop/Dropout', ['flat'], ['dropped']),
    makeNode('Identity', '/Identity', ['dropped'], ['same']),
    makeNode('Gemm', '/fc/Gemm', ['same', 'fc.weight', 'fc.bias'], ['logits'], { transB: { int: 1 } }),
    makeNode('Softmax', '/Softmax', ['logits'], ['probs'], { axis: { int: 1 } }),
  ];
  const initializers = [
    weight('onnx::Conv_90', [4, 3, 3, 3]), weight('onnx::Conv_91', [4], 0.1),
    weight('layer1.0.conv1.weight', [4, 4, 3, 3]), ...batchNorm('layer1.0.bn1', 4),
    weight('layer1.0.conv2.weight', [4, 4, 3, 3]), ...batchNorm('layer1.0.bn2', 4),
    weight('branch.conv.weight', [6, 2, 1, 1]), weight('branch.conv.bias', [6], 0.1),
    weight('fc.weight', [5, 10]), weight('fc.bias', [5], 0.1),
    int64Tensor('axes0', [1], [0]), int64Tensor('minus1', [1], [-1]),
  ];
  return model(nodes, initializers, ['input.1', ['batch', 3, 12, 12]], ['probs', ['batch', 5]]);
}

/** Input [N, 10, 10, 3] (NHWC) -> 4 logits. */
export function tf2onnxStyleModel(): OnnxModel {
  seed = 50;
  const nodes: OnnxNode[] = [
    makeNode('Transpose', 'model/conv2d/Conv2D__6', ['input_1'], ['nchw'], { perm: { ints: [0, 3, 1, 2] } }),
    makeNode('Conv', 'model/conv2d/Conv2D', ['nchw', 'conv_w', 'conv_b'], ['conv'], { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, auto_pad: { string: 'SAME_UPPER' } }),
    makeNode('Relu', 'model/conv2d/Relu', ['conv'], ['relu']),
    makeNode('MaxPool', 'model/max_pooling2d/MaxPool', ['relu'], ['pool'], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }),
    makeNode('Transpose', 'model/max_pooling2d/MaxPool__12', ['pool'], ['nhwc'], { perm: { ints: [0, 2, 3, 1] } }),
    makeNode('Constant', 'model/flatten/Const', [], ['shape_i32'], { value: { tensor: { name: '', dims: [2], dataType: ONNX_DATA_TYPE.INT32, int32Data: [-1, 24] } } }),
    makeNode('Cast', 'model/flatten/Reshape__15', ['shape_i32'], ['shape'], { to: { int: ONNX_DATA_TYPE.INT64 } }),
    makeNode('Reshape', 'model/flatten/Reshape', ['nhwc', 'shape'], ['flat']),
    makeNode('MatMul', 'model/dense/MatMul', ['flat', 'dense_w'], ['mm']),
    makeNode('Add', 'model/dense/BiasAdd', ['mm', 'dense_b'], ['logits']),
  ];
  const initializers = [weight('conv_w', [6, 3, 3, 3]), weight('conv_b', [6], 0.1), weight('dense_w', [24, 4]), weight('dense_b', [4], 0.1)];
  return model(nodes, initializers, ['input_1', ['unk__1', 10, 10, 3]], ['logits', ['unk__1', 4]], 13);
}

/**
 * Keras' ResNet stem through tf2onnx: ZeroPadding2D as Pad (on the NHWC input,
 * before the Transpose, and in NCHW before the max pool), a VALID 7x7/2 conv,
 * GlobalAveragePool + Squeeze, MatMul + Add, Softmax. Input [N, 20, 20, 3] -> 3 classes.
 */
export function kerasPaddedStemModel(): OnnxModel {
  seed = 80;
  const nodes: OnnxNode[] = [
    makeNode('Pad', 'model/conv1_pad/Pad', ['input_1', 'pads_nhwc'], ['padded']),
    makeNode('Transpose', 'model/conv1_conv/Conv2D__5', ['padded'], ['nchw'], { perm: { ints: [0, 3, 1, 2] } }),
    makeNode('Conv', 'model/conv1_conv/Conv2D', ['nchw', 'w1', 'b1'], ['c1'], { kernel_shape: { ints: [7, 7] }, strides: { ints: [2, 2] }, auto_pad: { string: 'VALID' } }),
    makeNode('Relu', 'model/conv1_relu/Relu', ['c1'], ['r1']),
    makeNode('Pad', 'model/pool1_pad/Pad', ['r1', 'pads_nchw'], ['r1p']),
    makeNode('MaxPool', 'model/pool1_pool/MaxPool', ['r1p'], ['p1'], { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] } }),
    makeNode('GlobalAveragePool', 'model/avg_pool/Mean', ['p1'], ['gap']),
    makeNode('Squeeze', 'model/avg_pool/Squeeze', ['gap', 'axes23'], ['flat']),
    makeNode('MatMul', 'model/predictions/MatMul', ['flat', 'wd'], ['mm']),
    makeNode('Add', 'model/predictions/BiasAdd', ['mm', 'bd'], ['logits']),
    makeNode('Softmax', 'model/predictions/Softmax', ['logits'], ['probs']),
  ];
  const initializers = [
    int64Tensor('pads_nhwc', [8], [0, 3, 3, 0, 0, 3, 3, 0]), int64Tensor('pads_nchw', [8], [0, 0, 1, 1, 0, 0, 1, 1]), int64Tensor('axes23', [2], [2, 3]),
    weight('w1', [5, 3, 7, 7], 0.2), weight('b1', [5], 0.1), weight('wd', [5, 3]), weight('bd', [3], 0.1),
  ];
  return model(nodes, initializers, ['input_1', ['N', 20, 20, 3]], ['probs', ['N', 3]], 13);
}
