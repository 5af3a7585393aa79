/**
 * activations on an imported model: a narrow ResNet-18 (torchvision names,
 * residual joins, BatchNorm) written as ONNX by the project's builder and
 * imported like a user's file. The written input and layers are checked
 * against a direct computation: the image decoded, cropped and normalised
 * here, the graph evaluated on tfjs (an independent implementation of each
 * op), in the model's own NCHW layout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { writeActivations, type ActivationsOptions } from '../../../pipelines/activations/activations.js';
import { importModel } from '../../../pipelines/import/import-model.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { computePaperCropBox, extractCrop } from '../../../src/data/crop-geometry.js';
import { decodeSquare, type ResampleMethod } from '../../../src/data/decode-image.js';
import { openDataset } from '../../../src/store/open-dataset.js';
import { loadImportedModel, type LoadedImportedModel } from '../../../src/import/imported-model-file.js';
import { normalizePixels } from '../../../src/import/preprocessing.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { evaluateGraph } from '../../import/graph-reference.js';
import { writeTinyDataset } from '../top-activations-fixture.js';
import { readNpy } from '../npy-reader.js';
import { writeNarrowOnnx } from '../imported-models-fixture.js';

const quiet = (): void => {};
let dir = '';
let data = '';
let image = '';
let db: Store;
let model: LoadedImportedModel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'activations-imported-'));
  data = join(dir, 'data');
  await writeTinyDataset(data, { classes: 2, perClass: 2, sizePx: 90 });
  image = join(data, 'val', 'class01', 'img001.png');
  writeNarrowOnnx(dir, 'r18', 'resnet18', 64, 9);
  db = openStore(join(dir, 'store.db'));
  const imported = importModel({ db, file: join(dir, 'r18.onnx'), name: 'r18', preset: 'torchvision', preprocessing: {}, outDir: join(dir, 'models') });
  importModel({ db, file: join(dir, 'r18.onnx'), name: 'r18-caffe', preset: 'caffe', preprocessing: {}, outDir: join(dir, 'models') });
  model = loadImportedModel(imported.record.modelPath);
  await initBackend('cpu', { log: quiet });
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(outDir: string, extra: Partial<ActivationsOptions> = {}): ActivationsOptions {
  return { db, image: { path: image }, model: 'r18', initSeed: 0, outDir: join(dir, outDir), backend: 'auto', log: quiet, ...extra };
}

/** The crop the model sees, [S, S, 3] RGB 0..255, decoded and cropped here. */
async function referenceCrop(resizePx: number, sizePx: number, resample: ResampleMethod): Promise<Float32Array> {
  const square = (await decodeSquare(readFileSync(image), { squarePx: resizePx, resample, cropPx: sizePx })).pixels;
  const crop = new Float32Array(sizePx * sizePx * 3);
  extractCrop(square, resizePx, computePaperCropBox('centre', resizePx, sizePx, false), null, crop);
  return crop;
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  let scale = 1;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= 1e-5 * scale, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

interface Sidecar {
  model: string; modelSha256: string; backend: string; layout: string; image: { path: string; imageId: number | null };
  input: { shape: number[] }; preprocessing: { mean: number[]; crop: string };
  taps: Record<string, { number: number; shape: number[]; file: string; definition: string; kind: string; units: number; receptiveFieldPx: number[] | null }>;
}
const readSidecar = (outDir: string): Sidecar => JSON.parse(readFileSync(join(dir, outDir, 'activations.json'), 'utf8')) as Sidecar;

describe('activations on an imported model', () => {
  it('writes the input and the named layers in NCHW, equal to a direct evaluation of the graph', async () => {
    const layers = ['conv1', 'layer1.0', 'layer2.0.conv2', 'layer4.1', 'avgpool', 'fc'];
    const result = await writeActivations(options('direct', { taps: layers.join(',') }));
    assert.deepEqual(result.files.map((f) => f.slice(join(dir, 'direct').length + 1)), ['input.npy', ...layers.map((l) => `${l}.npy`)]);
    const { inputSizePx: s, resizePx } = model.preprocessing;
    const nhwc = normalizePixels(await referenceCrop(resizePx, s, model.preprocessing.resample), model.preprocessing);
    const sidecar = readSidecar('direct');
    tf.tidy(() => {
      const input = tf.transpose(tf.tensor4d(nhwc, [1, s, s, 3]), [0, 3, 1, 2]);
      const written = readNpy(join(dir, 'direct', 'input.npy'));
      assert.deepEqual(written.shape, [1, 3, s, s]);
      assertClose(written.data, input.dataSync() as Float32Array, 'input');
      const values = evaluateGraph(model.graph, model.weights, input);
      for (const name of layers) {
        const expected = values.get(model.graph.layers.find((l) => l.name === name)!.node)!;
        const npy = readNpy(join(dir, 'direct', `${name}.npy`));
        assert.deepEqual(npy.shape, expected.shape, name);
        assert.deepEqual(sidecar.taps[name]!.shape, expected.shape, name);
        assertClose(npy.data, expected.dataSync() as Float32Array, name);
      }
    });
    assert.deepEqual(Object.keys(sidecar.taps), layers);
    assert.deepEqual([sidecar.model, sidecar.modelSha256, sidecar.backend, sidecar.image.path, sidecar.image.imageId], ['r18', model.sha256, 'onnx', image, null]);
    assert.match(sidecar.layout, /^NCHW float32/);
    assert.deepEqual([sidecar.input.shape, sidecar.preprocessing.mean, sidecar.preprocessing.crop], [[1, 3, 64, 64], [0.485, 0.456, 0.406], 'centre']);
    const block = sidecar.taps['layer1.0']!;
    assert.deepEqual([block.number, block.kind, block.units, block.file], [5, 'conv', 4, 'layer1.0.npy']);
    assert.match(block.definition, /^layer1\.0: conv layer, the output of graph node \S+ \(relu\) \(after layer1\.0, i\.e\. the conv output after its nonlinearity\), 4 units; receptive field \d+x\d+ px, jump 4x4 px$/);
    assert.equal(sidecar.taps['fc']!.receptiveFieldPx, null);
  });

  it('defaults to the conv layers, takes globs, numbers and ranges, and an indexed image like its file', async () => {
    await writeActivations(options('default'));
    const convs = model.graph.layers.filter((l) => l.kind === 'conv').map((l) => l.name);
    assert.equal(convs.length, 17);
    assert.deepEqual(Object.keys(readSidecar('default').taps), convs);
    await writeActivations(options('globbed', { taps: 'layer4.1*,1,30-31' }));
    assert.deepEqual(Object.keys(readSidecar('globbed').taps), ['conv1', 'layer4.1.conv1', 'layer4.1.conv2', 'layer4.1', 'avgpool', 'fc']);
    openDataset(db, { root: data, splits: ['val'] }); // the index --image-id refers to (top-activations makes it)
    const indexed = db.prepare("SELECT id FROM images WHERE rel_path = 'val/class01/img001.png'").pluck().get() as number;
    await writeActivations(options('by-id', { image: { imageId: indexed }, data, taps: 'conv1' }));
    assert.equal(readSidecar('by-id').image.imageId, indexed);
    assert.deepEqual(readFileSync(join(dir, 'by-id', 'conv1.npy')), readFileSync(join(dir, 'default', 'conv1.npy')));
  });

  it("applies the model's own preprocessing: caffe's BGR 0..255 minus the mean", async () => {
    await writeActivations(options('caffe', { model: 'r18-caffe', taps: 'conv1' }));
    const { inputSizePx: s, resizePx } = model.preprocessing;
    const crop = await referenceCrop(resizePx, s, 'sharp-lanczos3');
    const input = readNpy(join(dir, 'caffe', 'input.npy'));
    const mean = [103.939, 116.779, 123.68];
    for (const [y, x] of [[0, 0], [31, 17], [63, 63]] as const) {
      for (let c = 0; c < 3; c++) {
        const expected = crop[(y * s + x) * 3 + (2 - c)]! - mean[c]!; // channel 0 is blue
        assert.ok(Math.abs(input.data[(c * s + y) * s + x]! - expected) < 1e-4, `input[${c}, ${y}, ${x}]`);
      }
    }
  });

  it('refuses an unknown layer listing the layers, the tfjs engine, and an unknown model', async () => {
    await assert.rejects(writeActivations(options('bad', { taps: 'conv1,layer9' })), {
      name: 'UsageError', message: /^Expected layer names, globs or numbers of r18's layers for --taps but received "layer9"; its layers: 1:conv1, 2:maxpool, 3:layer1\.0\.conv1, .*, 31:fc \(logits\), 32:probs$/,
    });
    await assert.rejects(writeActivations(options('bad', { backend: 'wasm', taps: 'conv1' })), {
      name: 'UsageError', message: "Imported model r18 runs on the onnx engine only; use --backend auto or onnx (tfjs runs the project's own architectures)",
    });
    await assert.rejects(writeActivations(options('bad', { model: 'r19' })), {
      name: 'UsageError', message: /^Expected an imported model \(r18, r18-caffe\) or an architecture \(zfnet, .*\) for --model but received "r19"$/,
    });
    assert.ok(!readdirSync(dir).includes('bad'));
  });
});
