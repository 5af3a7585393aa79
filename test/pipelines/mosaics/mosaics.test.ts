import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { runMosaics, type MosaicsOptions } from '../../../pipelines/mosaics/mosaics.js';
import { runTopActivations } from '../../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { saveCheckpoint } from '../../../src/checkpoint/checkpoint-file.js';
import { chooseCellPx, layoutSheet } from '../../../src/mosaic/sheet-layout.js';
import { buildModelConfig } from '../../../src/model/architectures.js';
import { computeGeometry } from '../../../src/model/geometry.js';
import { disposeParams, initParams } from '../../../src/model/params.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { queryTopRows } from '../../../src/store/top-activations-store.js';
import { writeTinyDataset } from '../top-activations-fixture.js';
import { escapeRegExp } from '../../data/fixtures.js';

let dir: string;
let db: Store;
let runId: string;
const checkpointPath = (): string => join(dir, 'model.safetensors');
const quiet = (): void => {};
const config = buildModelConfig('zfnet-tiny', { numClasses: 3 });

function writeCheckpoint(seed: number): void {
  const params = initParams(config, seed);
  saveCheckpoint(checkpointPath(), { config, params });
  disposeParams(params);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mosaics-'));
  await writeTinyDataset(join(dir, 'data'), { classes: 3, perClass: 4, sizePx: 72 });
  await initBackend('wasm', { log: quiet });
  writeCheckpoint(5);
  db = openStore(join(dir, 'store.db'));
  const result = await runTopActivations({
    db, data: join(dir, 'data'), split: 'val', checkpoint: checkpointPath(), initSeed: 1, layers: [1, 2, 3, 4, 5], topK: 9,
    batchSize: 6, commitEvery: 1, shard: { index: 0, count: 1 }, backend: 'wasm', force: false,
    decodeConcurrency: 2, strict: false, resumeCommand: '', log: quiet,
  });
  runId = result.runId;
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function mosaicOptions(extra: Partial<MosaicsOptions> = {}): MosaicsOptions {
  return {
    db, layers: [1, 2, 5], units: { kind: 'list', units: [0, 1, 2] }, seed: 1, backend: 'wasm', outDir: join(dir, 'out'),
    batchSize: 8, unitsPerSheet: 2, columns: 2, log: quiet, ...extra,
  };
}

test('mosaics writes sheets of the expected size, unit pages, .npy values and an index, and leaks no tensors', async () => {
  const start = tf.memory().numTensors;
  const result = await runMosaics(mosaicOptions());
  assert.equal(tf.memory().numTensors, start);
  assert.equal(result.runId, runId);
  assert.equal(result.projections, 3 * 3 * 9);
  assert.deepEqual(result.sheets, ['conv1/sheet-01.png', 'conv1/sheet-02.png', 'conv2/sheet-01.png', 'conv2/sheet-02.png', 'conv5/sheet-01.png', 'conv5/sheet-02.png']);
  const geometry = computeGeometry(config);
  for (const layer of ['conv1', 'conv5']) {
    const rf = geometry.find((g) => g.name === layer)!.receptiveFieldPx!;
    const full = layoutSheet({ cellPx: chooseCellPx(rf, 64), entriesPerUnit: 9, unitCount: 2, columns: 2 });
    const meta = await sharp(join(dir, 'out', layer, 'sheet-01.png')).metadata();
    assert.deepEqual([meta.width, meta.height], [full.widthPx, full.heightPx]);
    const last = layoutSheet({ cellPx: chooseCellPx(rf, 64), entriesPerUnit: 9, unitCount: 1, columns: 2 });
    const lastMeta = await sharp(join(dir, 'out', layer, 'sheet-02.png')).metadata();
    assert.deepEqual([lastMeta.width, lastMeta.height], [last.widthPx, last.heightPx]);
  }
  assert.ok(existsSync(join(dir, 'out', 'conv1', 'filters.png')));
  const index = readFileSync(join(dir, 'out', 'index.html'), 'utf8');
  assert.ok(index.includes('href="conv5/unit-0002.html"') && index.includes('href="conv1/filters.png"'));
  const rows = queryTopRows(db, runId, 5, 2);
  const page = readFileSync(join(dir, 'out', 'conv5', 'unit-0002.html'), 'utf8');
  for (const row of rows) assert.ok(page.includes(row.path), `page lists ${row.path}`);
  const npy = readFileSync(join(dir, 'out', 'conv5', 'units', 'unit-0002-rank0.npy'));
  assert.equal(npy.subarray(1, 6).toString('latin1'), 'NUMPY');
  assert.equal(result.keptUnits, 0);
});

test('a rerun keeps the unit pages drawn from the same run and weights, and redraws the sheets', async () => {
  rmSync(join(dir, 'out', 'conv2', 'unit-0001.html'));
  const result = await runMosaics(mosaicOptions());
  assert.equal(result.keptUnits, 3 * 3 - 1);
  assert.ok(existsSync(join(dir, 'out', 'conv2', 'unit-0001.html')));
  assert.equal(result.sheets.length, 6);
});

test('the stored-value check stops mosaics when the checkpoint changed', async () => {
  writeCheckpoint(6);
  const first = queryTopRows(db, runId, 1, 0)[0]!;
  await assert.rejects(runMosaics(mosaicOptions({ layers: [1], outDir: join(dir, 'out-changed') })), (error: Error) => {
    const expected = new RegExp(`^Run ${runId}, conv1 unit 0, image ${first.imageId} \\(${escapeRegExp(first.path)}\\): stored activation ${first.value} but the projection's forward pass gives [-0-9.e]+ \\(relative tolerance 0\\.001\\); the checkpoint or the image data changed since that run$`);
    assert.match(error.message, expected);
    return error.name === 'UsageError';
  });
  writeCheckpoint(5);
});

test('an unknown run is named', async () => {
  await assert.rejects(runMosaics(mosaicOptions({ runId: 'top-nope' })), { message: 'No top-activations run top-nope in this store' });
});

/** Every projection's .npy values under a mosaics folder, by relative path. */
function readProjections(root: string): Map<string, Float32Array> {
  const found = new Map<string, Float32Array>();
  for (const layer of readdirSync(root).filter((d) => d.startsWith('conv'))) {
    for (const file of readdirSync(join(root, layer, 'units')).filter((f) => f.endsWith('.npy'))) {
      const bytes = readFileSync(join(root, layer, 'units', file));
      const headerEnd = 10 + bytes.readUInt16LE(8);
      found.set(`${layer}/${file}`, new Float32Array(bytes.buffer.slice(bytes.byteOffset + headerEnd, bytes.byteOffset + bytes.length)));
    }
  }
  return found;
}

test('mosaics on onnx: an interrupted run resumed equals an uninterrupted one, and both equal the tfjs deconvnet', async () => {
  const all = { units: { kind: 'all' } as const, layers: [1, 2, 5], batchSize: 9 };
  await runMosaics(mosaicOptions({ ...all, outDir: join(dir, 'tfjs') }));
  const whole = await runMosaics(mosaicOptions({ ...all, backend: 'onnx', workers: 2, outDir: join(dir, 'onnx-whole') }));
  assert.equal(whole.projections, (8 + 16 + 16) * 9);
  const stop = new Error('killed');
  let finished = 0;
  await assert.rejects(runMosaics(mosaicOptions({
    ...all, backend: 'onnx', workers: 2, outDir: join(dir, 'onnx-resumed'),
    onBatchDone: (done) => {
      finished = done;
      if (done >= 12 * 9) throw stop;
    },
  })), stop);
  const resumed = await runMosaics(mosaicOptions({ ...all, backend: 'onnx', workers: 2, outDir: join(dir, 'onnx-resumed') }));
  assert.ok(resumed.keptUnits >= 12 && resumed.keptUnits <= finished / 9 + 1, `kept ${resumed.keptUnits} units of ${finished / 9} finished`);
  const [reference, once, twice] = [readProjections(join(dir, 'tfjs')), readProjections(join(dir, 'onnx-whole')), readProjections(join(dir, 'onnx-resumed'))];
  assert.equal(once.size, 40 * 9);
  assert.deepEqual([...twice.keys()].sort(), [...once.keys()].sort());
  for (const [file, values] of once) {
    assert.deepEqual(twice.get(file), values, `${file}: resumed == uninterrupted`);
    const want = reference.get(file)!;
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    values.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 1e-3 * scale + 1e-12, `${file} value ${i}: onnx ${v} vs tfjs ${want[i]}`));
  }
});
