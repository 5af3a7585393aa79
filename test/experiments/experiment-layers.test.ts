import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findDefaultLayer, resolveExperimentLayers } from '../../src/experiments/experiment-layers.js';
import { computeSoftmax } from '../../src/experiments/feature-measures.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { buildTorchvisionGraph } from '../../src/import/torchvision-architectures.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { mapImportedLabel } from '../../pipelines/experiments/experiment-model.js';

const zfnet = lowerModelConfig(buildModelConfig('zfnet'));
const resnet = buildTorchvisionGraph('resnet18', { widthDivisor: 16, inputSizePx: 64, numClasses: 3 });
const alexnet = buildTorchvisionGraph('alexnet', { widthDivisor: 16, inputSizePx: 224, numClasses: 3 });

test('default layers: the paper\'s layers 1, 5 and 7 on the project\'s graphs, their counterparts on imported ones', () => {
  const defaults = (graph: typeof zfnet) => (['first-conv', 'last-conv', 'before-logits'] as const).map((which) => findDefaultLayer(graph, which));
  assert.deepEqual(defaults(zfnet), ['conv1', 'conv5', 'fc7']);
  assert.deepEqual(defaults(resnet), ['conv1', 'layer4.1', 'avgpool']);
  assert.deepEqual(defaults(alexnet), ['features.0', 'features.10', 'classifier.4']);
});

test('layers by name, alias or number, in the order given; counts and maps checked; refusals name the option', () => {
  assert.deepEqual(resolveExperimentLayers(zfnet, 'fc6, conv2', [], { option: '--layers' }), ['fc6', 'conv2']);
  assert.deepEqual(resolveExperimentLayers(zfnet, 'fc8', [], { option: '--layers' }), ['logits'], 'an alias gives the layer\'s name');
  assert.deepEqual(resolveExperimentLayers(alexnet, 'conv5', ['first-conv'], { option: '--layer', count: 1, maps: true }), ['features.10']);
  const number = zfnet.layers.findIndex((l) => l.name === 'pool2') + 1;
  assert.deepEqual(resolveExperimentLayers(zfnet, String(number), [], { option: '--layer' }), ['pool2']);
  assert.deepEqual(resolveExperimentLayers(resnet, undefined, ['last-conv', 'before-logits'], { option: '--layers' }), ['layer4.1', 'avgpool']);
  assert.throws(() => resolveExperimentLayers(zfnet, 'conv1', [], { option: '--layers', count: 2 }), { name: 'UsageError', message: 'Expected 2 layers for --layers but received 1 ("conv1")' });
  assert.throws(() => resolveExperimentLayers(zfnet, 'fc7', [], { option: '--layer', maps: true }), { name: 'UsageError', message: 'Expected a layer with [C, H, W] maps for --layer but received fc7 of shape [4096]' });
  assert.throws(() => resolveExperimentLayers(zfnet, 'conv*', [], { option: '--layer' }), { name: 'UsageError', message: 'Expected one layer per name for --layer but "conv*" names conv1, conv2, conv3, conv4, conv5' });
  assert.throws(() => resolveExperimentLayers(zfnet, 'conv9', [], { option: '--layer' }), { name: 'UsageError', message: /^Expected layer names, globs or numbers of zfnet's layers for --layer but received "conv9"; its layers: 1:conv1, / });
});

test('softmax in float64: sums to 1, keeps the order, stable for large logits', () => {
  const p = computeSoftmax(Float32Array.from([1, 2, 3]));
  const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
  p.forEach((v, i) => assert.ok(Math.abs(v - e[i]! / (e[0]! + e[1]! + e[2]!)) < 1e-15));
  assert.deepEqual(Array.from(computeSoftmax([1000, 1000])), [0.5, 0.5]);
});

test('an imported model\'s true class: through its labels (key or name), else the label when the classes are the dataset\'s, else unknown', () => {
  const classes = [{ label: 0, key: 'n01', name: 'tench' }, { label: 1, key: 'n02', name: 'goldfish' }];
  assert.equal(mapImportedLabel(['goldfish', 'n01', 'x'], 3, classes, 0), 1, 'by key');
  assert.equal(mapImportedLabel(['goldfish', 'n01', 'x'], 3, classes, 1), 0, 'by name');
  assert.equal(mapImportedLabel(['a', 'b'], 2, classes, 1), null, 'not among the labels');
  assert.equal(mapImportedLabel(null, 2, classes, 1), 1, 'same classes as the dataset');
  assert.equal(mapImportedLabel(null, 1000, classes, 1), null, 'another class count: unknown');
  assert.equal(mapImportedLabel(null, 2, classes, null), null);
});
