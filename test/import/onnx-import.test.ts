import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { findLayer } from '../../src/graph/model-graph.js';
import { importOnnxModel, SUPPORTED_ONNX_OPS } from '../../src/import/onnx-import.js';
import { moduleNameOf } from '../../src/import/onnx-names.js';
import { encodeOnnxModel, type OnnxModel } from '../../src/onnx/onnx-codec.js';
import { ONNX_DATA_TYPE } from '../../src/onnx/onnx-schema.js';
import { float32Tensor, makeNode, tensorValueInfo } from '../../src/onnx/onnx-values.js';
import { useBackend } from '../deconv/backends.js';
import { evaluateGraph, relativeError, seededFloats } from './graph-reference.js';
import { kerasPaddedStemModel, tf2onnxStyleModel, torchStyleModel } from './onnx-fixtures.js';

/** Runs the file in onnxruntime, with extra ONNX values exposed as outputs. */
async function runOrt(model: OnnxModel, input: ort.Tensor, outputs: string[]): Promise<Map<string, Float32Array>> {
  const exposed: OnnxModel = { ...model, graph: { ...model.graph, output: outputs.map((name) => ({ name, type: { tensorType: { elemType: ONNX_DATA_TYPE.FLOAT } } })) } };
  const session = await ort.InferenceSession.create(encodeOnnxModel(exposed));
  try {
    const feeds = { [model.graph.input![0]!.name]: input };
    const result = await session.run(feeds);
    return new Map(outputs.map((name) => [name, result[name]!.data as Float32Array]));
  } finally {
    await session.release();
  }
}

const source = 'fixture.onnx';

describe('importOnnxModel', () => {
  before(() => useBackend('cpu'));

  it('maps a torch.onnx-style residual net to named nodes and layers', () => {
    const { graph, weights, inputLayout, opset } = importOnnxModel(encodeOnnxModel(torchStyleModel()), { source });
    assert.equal(inputLayout, 'nchw');
    assert.equal(opset, 17);
    assert.deepEqual(graph.input, { channels: 3, sizePx: 12 });
    assert.deepEqual(graph.layers.map((l) => [l.name, l.kind, l.node]), [
      ['conv1', 'conv', 'relu'], ['maxpool', 'pool', 'maxpool'], ['layer1.0.conv1', 'conv', 'layer1.0.relu'],
      ['layer1.0.conv2', 'other', 'layer1.0.bn2'], ['layer1.0', 'conv', 'layer1.0.relu_1'], ['norm', 'norm', 'norm'],
      ['branch.pool', 'pool', 'branch.pool'], ['branch.conv', 'conv', 'branch.act'], ['concat', 'other', 'concat'],
      ['avgpool', 'pool', 'avgpool'], ['fc', 'logits', 'fc'], ['softmax', 'probs', 'softmax'],
    ]);
    assert.equal(findLayer(graph, 'logits').name, 'fc');
    assert.equal(findLayer(graph, 'probs').name, 'softmax');
    // the shape arithmetic is folded away: no Shape/Gather/... nodes, one flatten
    assert.deepEqual(graph.nodes.filter((n) => n.op.op === 'flatten').map((n) => n.name), ['reshape']);
    assert.deepEqual(graph.nodes.find((n) => n.name === 'norm')!.op, { op: 'lrn', size: 3, k: 2, alpha: Math.fround(3e-4) / 3, beta: 0.75 });
    assert.deepEqual(graph.weightShapes['conv1.weight'], [4, 3, 3, 3]);
    assert.deepEqual(graph.weightShapes['layer1.0.bn1.running_var'], [4]);
    assert.equal(weights.size, Object.keys(graph.weightShapes).length);
  });

  it('computes what onnxruntime computes from the same file (torch style)', async () => {
    const model = torchStyleModel();
    const { graph, weights } = importOnnxModel(encodeOnnxModel(model), { source });
    const pixels = seededFloats(2 * 3 * 12 * 12, 7, 2);
    const expected = await runOrt(model, new ort.Tensor('float32', pixels, [2, 3, 12, 12]), ['block', 'cat', 'logits', 'probs']);
    const nodes: Record<string, string> = { block: 'layer1.0.relu_1', cat: 'concat', logits: 'fc', probs: 'softmax' };
    const input = tf.tensor4d(pixels, [2, 3, 12, 12]);
    const actual = evaluateGraph(graph, weights, input);
    for (const [onnxName, node] of Object.entries(nodes)) {
      const error = relativeError(actual.get(node)!.dataSync(), expected.get(onnxName)!);
      assert.ok(error < 1e-5, `${node}: relative error ${error}`);
    }
    tf.dispose([input, ...actual.values()]);
  });

  it('absorbs tf2onnx NHWC transposes and reorders the dense weights of a Keras flatten', async () => {
    const model = tf2onnxStyleModel();
    const { graph, weights, inputLayout } = importOnnxModel(encodeOnnxModel(model), { source });
    assert.equal(inputLayout, 'nhwc');
    assert.deepEqual(graph.layers.map((l) => [l.name, l.kind, l.aliases]), [
      ['conv2d', 'conv', ['conv1']], ['max_pooling2d', 'pool', []], ['dense', 'logits', ['logits']], ['probs', 'probs', []],
    ]);
    assert.deepEqual(graph.nodes.find((n) => n.name === 'conv2d')!.op, {
      op: 'conv', weight: 'conv2d.weight', bias: 'conv2d.bias', outChannels: 6, kernel: [3, 3], stride: [2, 2], padding: [0, 1, 0, 1], dilation: [1, 1], groups: 1,
    });
    const nhwc = seededFloats(2 * 10 * 10 * 3, 11, 2);
    const expected = await runOrt(model, new ort.Tensor('float32', nhwc, [2, 10, 10, 3]), ['logits']);
    const actual = tf.tidy(() => {
      const nchw = tf.transpose(tf.tensor4d(nhwc, [2, 10, 10, 3]), [0, 3, 1, 2]);
      return evaluateGraph(graph, weights, nchw).get('dense')!;
    }).dataSync();
    const error = relativeError(actual, expected.get('logits')!);
    assert.ok(error < 1e-5, `logits: relative error ${error}`);
  });

  it("takes Keras' ZeroPadding2D (Pad) into the conv and max pool after it, and computes what onnxruntime computes", async () => {
    const model = kerasPaddedStemModel();
    const { graph, weights, inputLayout } = importOnnxModel(encodeOnnxModel(model), { source });
    assert.equal(inputLayout, 'nhwc');
    const op = (name: string) => graph.nodes.find((n) => n.name === name)!.op as { padding: number[] };
    assert.deepEqual([op('conv1_conv').padding, op('pool1_pool').padding], [[3, 3, 3, 3], [1, 1, 1, 1]]);
    const nhwc = seededFloats(2 * 20 * 20 * 3, 13, 2);
    const expected = await runOrt(model, new ort.Tensor('float32', nhwc, [2, 20, 20, 3]), ['logits', 'p1']);
    const values = evaluateGraph(graph, weights, tf.transpose(tf.tensor4d(nhwc, [2, 20, 20, 3]), [0, 3, 1, 2]));
    for (const [onnxName, node] of [['logits', 'predictions'], ['p1', 'pool1_pool']] as const) {
      const error = relativeError(values.get(node)!.dataSync(), expected.get(onnxName)!);
      assert.ok(error < 1e-5, `${node}: relative error ${error}`);
    }
    tf.dispose([...values.values()]);
    const avg = kerasPaddedStemModel();
    avg.graph.node![5] = makeNode('AveragePool', 'model/pool1_pool/AvgPool', ['r1p'], ['p1'], { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] } });
    assert.throws(() => importOnnxModel(encodeOnnxModel(avg), { source }), {
      message: 'ONNX model fixture.onnx: node "model/pool1_pool/AvgPool" (AveragePool) reads the output of a Pad; only a Conv, or a MaxPool after a ReLU, may read a zero-padded tensor',
    });
  });

  it('refuses an unsupported op naming the op, the node and the supported list', () => {
    const model = torchStyleModel();
    model.graph.node![1] = makeNode('Sigmoid', '/act/Sigmoid', ['/conv1/Conv_output_0'], ['/relu/Relu_output_0']);
    assert.throws(() => importOnnxModel(encodeOnnxModel(model), { source }), {
      name: 'UsageError',
      message: `ONNX model fixture.onnx: node "/act/Sigmoid" (Sigmoid) is not supported; supported ops: ${SUPPORTED_ONNX_OPS.join(', ')}`,
    });
    assert.ok(SUPPORTED_ONNX_OPS.includes('BatchNormalization') && SUPPORTED_ONNX_OPS.includes('Unsqueeze'));
  });

  it('refuses old opsets, external data, non-bias constants and unsized inputs with messages naming them', () => {
    const old = torchStyleModel();
    old.opsetImport = [{ domain: '', version: 9 }];
    assert.throws(() => importOnnxModel(encodeOnnxModel(old), { source }), { message: 'ONNX model fixture.onnx uses opset 9; opset 11 or later is supported (torch.onnx.export(..., opset_version=17))' });

    const external = torchStyleModel();
    const fc = external.graph.initializer!.find((t) => t.name === 'fc.weight')!;
    Object.assign(fc, { rawData: undefined, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }] });
    assert.throws(() => importOnnxModel(encodeOnnxModel(external), { source }), {
      message: 'ONNX model fixture.onnx: initializer fc.weight keeps its data outside the model (external data in weights.bin), which is not supported: save the model with its weights inside (onnx.save_model(model, path, save_as_external_data=False))',
    });

    const scaled = tf2onnxStyleModel();
    scaled.graph.node!.splice(2, 0, makeNode('Add', 'model/shift', ['conv', 'shift'], ['shifted']));
    scaled.graph.node![3]!.input = ['shifted'];
    scaled.graph.initializer!.push(float32Tensor('shift', [1], Float32Array.of(1)));
    assert.throws(() => importOnnxModel(encodeOnnxModel(scaled), { source }), {
      message: 'ONNX model fixture.onnx: node "model/shift" (Add) adds a constant of shape [1] that is not the bias of the conv or dense layer before it; only such biases are supported',
    });

    const dynamic = torchStyleModel();
    dynamic.graph.input = [tensorValueInfo('input.1', ONNX_DATA_TYPE.FLOAT, ['N', 3, 'H', 'W'])];
    assert.throws(() => importOnnxModel(encodeOnnxModel(dynamic), { source }), { message: 'ONNX model fixture.onnx: input input.1 has a symbolic height and width; give the input size (--input-size)' });
    assert.equal(importOnnxModel(encodeOnnxModel(dynamic), { source, inputSizePx: 12 }).graph.input.sizePx, 12);

    assert.throws(() => importOnnxModel(new Uint8Array([0xff, 0xff, 0xff]), { source }), /fixture.onnx is not a readable ONNX model: /);
  });

  it('reads module names from torch scopes, PyTorch weight names, tf2onnx names', () => {
    const node = (name: string, input: string[] = []) => ({ name, opType: 'Conv', input });
    assert.equal(moduleNameOf(node('/layer2/layer2.0/downsample/downsample.0/Conv'), 0), 'layer2.0.downsample.0');
    assert.equal(moduleNameOf(node('/features/features.10/Conv'), 0), 'features.10');
    assert.equal(moduleNameOf(node('/Flatten'), 0), 'flatten');
    assert.equal(moduleNameOf(node('Conv_0', ['x', 'features.3.weight']), 0), 'features.3');
    assert.equal(moduleNameOf(node('Conv_0', ['x', 'onnx::Conv_12']), 0), 'Conv_0');
    assert.equal(moduleNameOf(node('StatefulPartitionedCall/model/block1_conv1/Conv2D'), 0), 'block1_conv1');
    assert.equal(moduleNameOf(node(''), 4), 'conv_4');
  });
});
