import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckpointContents } from '../../src/checkpoint/checkpoint-file.js';
import { describeCheckpoint, formatCheckpointReport } from '../../src/checkpoint/describe-checkpoint.js';
import { parameterLayouts } from '../../src/model/torch-layout.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { countParameters } from '../../src/model/geometry.js';

function contentsOf(model: string, trainingState: CheckpointContents['trainingState'], classIds: string[] | null = null): CheckpointContents {
  const config = buildModelConfig(model, classIds === null ? {} : { classIds });
  const tensors = new Map(parameterLayouts(config).map((l) => [l.name, { shape: l.torchShape, data: new Float32Array(l.torchShape.reduce((a, b) => a * b, 1)) }]));
  return { config, tensors, trainingState, mean: null, sha256: 'ab'.repeat(32), sizeBytes: 2_500_000 };
}

describe('describeCheckpoint', () => {
  it('reports zfnet as the paper has it: parameters, shapes, receptive fields, ceil-mode padding', () => {
    const report = describeCheckpoint('z.safetensors', contentsOf('zfnet', null));
    assert.equal(report.parameters, 62_357_608);
    const rows = Object.fromEntries(report.layers.map((l) => [l.name, l]));
    assert.deepEqual([rows['conv1']!.spec, rows['conv1']!.outputShape, rows['conv1']!.parameters], ['96 7x7 /2 pad [1,1,1,1]', [110, 110, 96], 96 * 3 * 49 + 96]);
    assert.deepEqual([rows['pool1']!.spec, rows['pool1']!.outputShape], ['max 3x3 /2 ceil pad [0,1,0,1]', [55, 55, 96]]);
    assert.deepEqual([rows['pool5']!.spec, rows['pool5']!.receptiveFieldPx, rows['pool5']!.jumpPx], ['max 3x3 /2 pad [0,0,0,0]', 171, 32]);
    assert.deepEqual([rows['fc6']!.spec, rows['fc6']!.parameters], ['4096 relu dropout 0.5', 9216 * 4096 + 4096]);
  });

  it('prints training state, class ids and counts', () => {
    const ids = ['n01', 'n02', 'n03', 'n04', 'n05', 'n06'];
    const text = formatCheckpointReport(describeCheckpoint('t.safetensors', contentsOf('zfnet-tiny', { epoch: 3, step: 120, metrics: { top1: 0.5, loss: 1.25 } }, ids)));
    const lines = text.split('\n');
    assert.equal(lines[0], `checkpoint  t.safetensors (2.5 MB, sha256 ${'ab'.repeat(32)})`);
    assert.equal(lines[1], `model       zfnet-tiny: 64x64x3 input, 6 classes, ${countParameters(buildModelConfig('zfnet-tiny', { numClasses: 6 })).toLocaleString('en-US')} parameters`);
    assert.equal(lines[2], 'class ids   n01, n02, n03, n04, n05, ... (6)');
    assert.equal(lines[3], 'training    epoch 3, step 120, metrics top1=0.5 loss=1.25');
    const other = formatCheckpointReport(describeCheckpoint('o.safetensors', contentsOf('zfnet-tiny', { kind: 'sgd-momentum' } as never)));
    assert.equal(other.split('\n')[3], 'training    {"kind":"sgd-momentum"}');
  });
});
