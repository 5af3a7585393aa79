import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildModelConfig } from '../../src/model/architectures.js';
import { computeGeometry, countParameters, receptiveFieldBox } from '../../src/model/geometry.js';

const shapeOf = (model: string, layer: string): number[] =>
  computeGeometry(buildModelConfig(model)).find((g) => g.name === layer)!.outputShape;

test('zfnet output sizes are the paper\'s 110/55/26/13/13/13/6', () => {
  assert.deepEqual(shapeOf('zfnet', 'conv1'), [110, 110, 96]);
  assert.deepEqual(shapeOf('zfnet', 'pool1'), [55, 55, 96]);
  assert.deepEqual(shapeOf('zfnet', 'conv2'), [26, 26, 256]);
  assert.deepEqual(shapeOf('zfnet', 'pool2'), [13, 13, 256]);
  assert.deepEqual(shapeOf('zfnet', 'conv3'), [13, 13, 384]);
  assert.deepEqual(shapeOf('zfnet', 'conv4'), [13, 13, 384]);
  assert.deepEqual(shapeOf('zfnet', 'conv5'), [13, 13, 256]);
  assert.deepEqual(shapeOf('zfnet', 'pool5'), [6, 6, 256]);
  assert.deepEqual(shapeOf('zfnet', 'fc8'), [1000]);
});

test('parameter counts at 1000 classes', () => {
  assert.equal(countParameters(buildModelConfig('zfnet')), 62_357_608);
  // single-tower AlexNet: 11x11x3x96 conv1, 5x5x96x256 conv2, same 3-5 and fc as zfnet
  const alexConv = (11 * 11 * 3 * 96 + 96) + (5 * 5 * 96 * 256 + 256) + (9 * 256 * 384 + 384) + (9 * 384 * 384 + 384) + (9 * 384 * 256 + 256);
  const fc = (9216 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000);
  assert.equal(countParameters(buildModelConfig('alexnet')), alexConv + fc);
  assert.deepEqual(shapeOf('alexnet', 'conv1'), [55, 55, 96]);
  assert.deepEqual(shapeOf('alexnet', 'pool5'), [6, 6, 256]);
});

test('zfnet receptive fields match zfnet-paper.md', () => {
  const rf = Object.fromEntries(computeGeometry(buildModelConfig('zfnet')).filter((g) => g.receptiveFieldPx !== null).map((g) => [g.name, [g.receptiveFieldPx, g.jumpPx]]));
  assert.deepEqual(rf['conv1'], [7, 2]);
  assert.deepEqual(rf['pool1'], [11, 4]);
  assert.deepEqual(rf['conv2'], [27, 8]);
  assert.deepEqual(rf['pool2'], [43, 16]);
  assert.deepEqual(rf['conv3'], [75, 16]);
  assert.deepEqual(rf['conv4'], [107, 16]);
  assert.deepEqual(rf['conv5'], [139, 16]);
  assert.deepEqual(rf['pool5'], [171, 32]);
});

test('receptive field boxes are clipped to the image', () => {
  const conv1 = computeGeometry(buildModelConfig('zfnet')).find((g) => g.name === 'conv1')!;
  assert.deepEqual(receptiveFieldBox(conv1, 0, 0, 224), { top: 0, left: 0, heightPx: 6, widthPx: 6 });
  assert.deepEqual(receptiveFieldBox(conv1, 10, 20, 224), { top: 19, left: 39, heightPx: 7, widthPx: 7 });
  const conv5 = computeGeometry(buildModelConfig('zfnet')).find((g) => g.name === 'conv5')!;
  const box = receptiveFieldBox(conv5, 12, 12, 224);
  assert.equal(box.top + box.heightPx, 224);
});

test('unknown model names list the valid ones', () => {
  assert.throws(() => buildModelConfig('vgg'), { message: 'Expected one of zfnet, alexnet, zfnet-small, alexnet-small, zfnet-tiny, alexnet-tiny for model but received "vgg"' });
});
