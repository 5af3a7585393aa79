import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import { findLayer, validateGraph } from '../../src/graph/model-graph.js';
import { buildTorchvisionGraph, TORCHVISION_NAMES } from '../../src/import/torchvision-architectures.js';
import { importTorchvisionStateDict } from '../../src/import/torchvision-import.js';
import { useBackend } from '../deconv/backends.js';
import { evaluateGraph, relativeError, seededFloats } from './graph-reference.js';
import { writeStateDict } from './torchvision-fixtures.js';

/** Trainable parameters (running statistics are buffers, not parameters). */
function countParameters(shapes: Record<string, number[]>): number {
  return Object.entries(shapes).filter(([name]) => !/running_(mean|var)$/.test(name)).reduce((sum, [, s]) => sum + s.reduce((a, b) => a * b, 1), 0);
}

describe('torchvision architectures', () => {
  before(() => useBackend('cpu'));

  it("have torchvision's parameter counts (sum(p.numel() for p in model.parameters()))", () => {
    const expected: Record<string, number> = {
      alexnet: 61_100_840, vgg11: 132_863_336, vgg16: 138_357_544, vgg16_bn: 138_365_992, resnet18: 11_689_512, resnet50: 25_557_032,
    };
    for (const name of TORCHVISION_NAMES) {
      const graph = buildTorchvisionGraph(name);
      validateGraph(graph);
      assert.equal(countParameters(graph.weightShapes), expected[name], name);
    }
  });

  it("keep torchvision's module names and shapes at 224 px", () => {
    const resnet = buildTorchvisionGraph('resnet18');
    const shapes = inferGraphShapes(resnet);
    assert.deepEqual(resnet.weightShapes['layer3.1.conv2.weight'], [256, 256, 3, 3]);
    assert.deepEqual(resnet.weightShapes['layer2.0.downsample.1.running_var'], [128]);
    assert.deepEqual(shapes.get(findLayer(resnet, 'layer4.1').node), [512, 7, 7]);
    assert.deepEqual(resnet.layers.filter((l) => l.kind === 'conv').map((l) => l.name).slice(0, 6), ['conv1', 'layer1.0.conv1', 'layer1.0', 'layer1.1.conv1', 'layer1.1', 'layer2.0.conv1']);
    assert.equal(findLayer(resnet, 'layer1.0.conv2').kind, 'other');
    assert.equal(findLayer(resnet, 'logits').name, 'fc');
    const alexnet = buildTorchvisionGraph('alexnet');
    assert.deepEqual(inferGraphShapes(alexnet).get('features.12'), [256, 6, 6]);
    assert.deepEqual(alexnet.layers.filter((l) => l.kind === 'conv').map((l) => `${l.name}=${l.aliases.join('')}@${l.node}`), [
      'features.0=conv1@features.1', 'features.3=conv2@features.4', 'features.6=conv3@features.7', 'features.8=conv4@features.9', 'features.10=conv5@features.11',
    ]);
    assert.deepEqual(findLayer(alexnet, 'classifier.4').node, 'classifier.5');
    const vgg = buildTorchvisionGraph('vgg16_bn');
    assert.equal(findLayer(vgg, 'conv13').name, 'features.40');
    assert.equal(findLayer(vgg, 'features.40').node, 'features.42');
  });

  it('import a state_dict: class count from the last Linear, DataParallel prefix, num_batches_tracked skipped', () => {
    const small = buildTorchvisionGraph('resnet18', { widthDivisor: 16, inputSizePx: 64, numClasses: 7 });
    const file = writeStateDict(small, { prefix: 'module.' });
    const { graph, weights } = importTorchvisionStateDict(file, { source: 'r18.safetensors', architecture: 'resnet18', widthDivisor: 16, inputSizePx: 64 });
    assert.deepEqual(graph.weightShapes['fc.weight'], [7, 32]);
    assert.equal(weights.size, Object.keys(graph.weightShapes).length);
  });

  it('name the tensor, expected and found shape when the file is of another width', () => {
    const file = writeStateDict(buildTorchvisionGraph('resnet18', { widthDivisor: 16, inputSizePx: 64 }));
    assert.throws(() => importTorchvisionStateDict(file, { source: 'r18.safetensors', architecture: 'resnet18', widthDivisor: 8, inputSizePx: 64 }), {
      name: 'UsageError',
      message: 'State dict r18.safetensors: tensor conv1.weight has shape [4, 3, 7, 7] but resnet18 expects [8, 3, 7, 7]',
    });
    assert.throws(() => importTorchvisionStateDict(file, { source: 'r18.safetensors', architecture: 'resnet34' }), {
      message: 'Expected one of alexnet, vgg11, vgg16, vgg16_bn, resnet18, resnet50 for --arch but received "resnet34"',
    });
    assert.throws(() => buildTorchvisionGraph('vgg11', { inputSizePx: 160 }), {
      message: 'vgg11: avgpool (AdaptiveAvgPool2d to 7x7) gets a 5x5 map at this input size; choose an input size whose map is a multiple of 7 (224 gives 7)',
    });
  });

  it("compute torchvision's BasicBlock: relu(bn2(conv2(relu(bn1(conv1 x)))) + downsample(x))", () => {
    const small = buildTorchvisionGraph('resnet18', { widthDivisor: 16, inputSizePx: 64, numClasses: 5 });
    const { graph, weights } = importTorchvisionStateDict(writeStateDict(small, { seed: 3 }), { source: 'x', architecture: 'resnet18', widthDivisor: 16, inputSizePx: 64 });
    const input = tf.tensor4d(seededFloats(2 * 3 * 64 * 64, 5), [2, 3, 64, 64]);
    const values = evaluateGraph(graph, weights, input);
    const direct = tf.tidy(() => {
      const w = (name: string): tf.Tensor => tf.tensor(weights.get(name)!, graph.weightShapes[name]);
      const conv = (x: tf.Tensor, name: string, stride: number, pad: number): tf.Tensor => tf.transpose(tf.conv2d(
        tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, tf.transpose(w(`${name}.weight`), [2, 3, 1, 0]) as tf.Tensor4D, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]]), [0, 3, 1, 2]);
      const bn = (x: tf.Tensor, name: string): tf.Tensor => {
        const v = (s: string): tf.Tensor => tf.reshape(w(`${name}.${s}`), [1, -1, 1, 1]);
        return tf.add(tf.mul(tf.div(tf.sub(x, v('running_mean')), tf.sqrt(tf.add(v('running_var'), 1e-5))), v('weight')), v('bias'));
      };
      const x = values.get('layer1.1.relu_1')!; // input of layer2.0
      const main = bn(conv(tf.relu(bn(conv(x, 'layer2.0.conv1', 2, 1), 'layer2.0.bn1')), 'layer2.0.conv2', 1, 1), 'layer2.0.bn2');
      return tf.relu(tf.add(main, bn(conv(x, 'layer2.0.downsample.0', 2, 0), 'layer2.0.downsample.1')));
    });
    const error = relativeError(values.get(findLayer(graph, 'layer2.0').node)!.dataSync(), direct.dataSync());
    assert.ok(error < 1e-5, `layer2.0: relative error ${error}`);
    assert.deepEqual(values.get('probs')!.shape, [2, 5]);
    tf.dispose([input, direct, ...values.values()]);
  });
});
