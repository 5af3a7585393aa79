import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { loadImportedModel } from '../../src/import/imported-model-file.js';
import { buildTorchvisionGraph } from '../../src/import/torchvision-architectures.js';
import { encodeOnnxModel } from '../../src/onnx/onnx-codec.js';
import { tf2onnxStyleModel } from '../import/onnx-fixtures.js';
import { writeStateDict } from '../import/torchvision-fixtures.js';
import { runCli } from './run-cli.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'zfnet-import-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('run-pipeline import', () => {
  it('imports a torchvision ResNet-18 state_dict, records it, and info lists its layers with receptive fields', () => {
    const file = join(dir, 'resnet18.safetensors');
    writeFileSync(file, writeStateDict(buildTorchvisionGraph('resnet18', { numClasses: 4, widthDivisor: 16 })));
    const db = join(dir, 'store.db');
    // widthDivisor 16 is a test-only narrowing: the CLI imports torchvision widths, so this file must be refused with the tensor named
    const refused = runCli(['import', file, '--arch', 'resnet18', '--db', db, '--out', join(dir, 'models')]);
    assert.equal(refused.status, 2);
    assert.equal(refused.stderr.trim(), `run-pipeline: State dict ${file}: tensor conv1.weight has shape [4, 3, 7, 7] but resnet18 expects [64, 3, 7, 7]`);
    const full = join(dir, 'resnet18-full.safetensors');
    writeFileSync(full, writeStateDict(buildTorchvisionGraph('resnet18', { numClasses: 4 })));
    const result = runCli(['import', full, '--arch', 'resnet18', '--name', 'r18', '--db', db, '--out', join(dir, 'models')]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^model       r18: 224x224x3 input, 11,178,564 parameters, /m);
    assert.match(result.stdout, /^29  layer4\.1 +conv +relu +512x7x7 +512 +435 +224 +32 *$/m);
    assert.match(result.stdout, /^ 4  layer1\.0\.conv2 +other +batchnorm +64x56x56 +64 +/m);
    assert.match(result.stdout, /^preprocess \{"inputSizePx":224,"resizePx":256,"resample":"pil-bilinear","channelOrder":"rgb","valueScale":1,"mean":\[0\.485,0\.456,0\.406\]/m);
  });

  it('imports an ONNX file with its preprocessing, stores the record and the converted file, and info reads both', () => {
    const file = join(dir, 'keras.onnx');
    writeFileSync(file, encodeOnnxModel(tf2onnxStyleModel()));
    writeFileSync(join(dir, 'labels.txt'), 'cat\ndog\nbird\nfish\n');
    const db = join(dir, 'onnx.db');
    const out = join(dir, 'models');
    const result = runCli(['import', file, '--name', 'keras-net', '--preset', 'caffe', '--labels', join(dir, 'labels.txt'), '--db', db, '--out', out]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^imported   keras-net \(onnx\) from .*keras\.onnx, sha256 [0-9a-f]{64}$/m);
    assert.match(result.stdout, /^ 1  conv2d +conv +relu +6x5x5 +6 +3 +3 +2  conv1$/m);
    const row = new Database(db, { readonly: true }).prepare('SELECT * FROM imported_models').get() as Record<string, string>;
    assert.equal(row['name'], 'keras-net');
    assert.deepEqual(JSON.parse(row['class_labels_json']!), ['cat', 'dog', 'bird', 'fish']);
    assert.equal(JSON.parse(row['preprocessing_json']!).channelOrder, 'bgr');
    const model = loadImportedModel(row['model_path']!);
    assert.equal(model.origin.inputLayout, 'nhwc');
    assert.equal(model.origin.sourceSha256, row['source_sha256']);
    assert.deepEqual(model.preprocessing.mean, [103.939, 116.779, 123.68]);
    const byName = runCli(['info', '--model', 'keras-net', '--db', db]);
    assert.equal(byName.status, 0, byName.stderr);
    assert.match(byName.stdout, /^ 2  max_pooling2d +pool +maxpool +6x2x2 +6 +5 +5 +4 *$/m);
    const byFile = runCli(['info', '--checkpoint', row['model_path']!]);
    assert.equal(byFile.stdout, byName.stdout);
    const unknown = runCli(['info', '--model', 'nope', '--db', db]);
    assert.equal(unknown.stderr.trim(), 'run-pipeline: No imported model named "nope" in the store; imported: keras-net');
  });

  it("imports the project's own checkpoint under its layer names, with the ImageNet mean as its preprocessing", () => {
    const checkpoint = join(dir, 'tiny.safetensors');
    assert.equal(runCli(['init', '--model', 'zfnet-tiny', '--out', checkpoint]).status, 0);
    const result = runCli(['import', checkpoint, '--db', join(dir, 'own.db'), '--out', join(dir, 'models')]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^imported   tiny \(project-checkpoint zfnet-tiny\) from /m);
    assert.match(result.stdout, /^ 4  conv2 +conv +relu +16x6x6 +16 +27 +27 +8$/m);
    assert.match(result.stdout, /"valueScale":255,"mean":\[123\.68,116\.78,103\.94\]/);
  });

  it('refuses a labels file of the wrong length and a missing file', () => {
    const file = join(dir, 'keras2.onnx');
    writeFileSync(file, encodeOnnxModel(tf2onnxStyleModel()));
    writeFileSync(join(dir, 'two.txt'), 'a\nb\n');
    const result = runCli(['import', file, '--labels', join(dir, 'two.txt'), '--db', join(dir, 'store.db'), '--out', join(dir, 'models')]);
    assert.equal(result.stderr.trim(), `run-pipeline: Labels file ${join(dir, 'two.txt')} has 2 names but the model has 4 classes`);
    assert.equal(runCli(['import', join(dir, 'none.onnx'), '--db', join(dir, 'store.db')]).stderr.trim(), `run-pipeline: Model file ${join(dir, 'none.onnx')} does not exist`);
  });
});
