/**
 * mosaics on imported models: a narrow torchvision ResNet-18 (residual joins,
 * BatchNorm) and AlexNet, written as ONNX by the project's builder and
 * imported like a user's file. Every drawn entry's projection values equal a
 * direct computation (autodiff on tfjs through the graph with the method's
 * ReLU rule, on the image preprocessed here), and that reference is exactly
 * zero outside the receptive field the run recorded; an interrupted run
 * resumed equals an uninterrupted one; folders and pages carry the layer
 * names and the method; refusals name the problem.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runMosaics, type MosaicsOptions } from '../../../pipelines/mosaics/mosaics.js';
import { runTopActivations } from '../../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { receptiveFieldBox } from '../../../src/model/geometry.js';
import { geometryOfLayer } from '../../../src/mosaic/mosaic-layers.js';
import type { DeconvMethod } from '../../../src/onnx/deconv-down-rules.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { getTopActivationRun, queryTopRows } from '../../../src/store/top-activations-store.js';
import { importNarrowModel, readNpyValues, referenceOfRows } from '../imported-models-fixture.js';
import { writeTinyDataset } from '../top-activations-fixture.js';

const quiet = (): void => {};
let dir = '';
let db: Store;
const runs = { r18: '', anet: '' };
const modelPaths = { r18: '', anet: '' };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mosaics-imported-'));
  await writeTinyDataset(join(dir, 'data'), { classes: 3, perClass: 4, sizePx: 90 });
  await initBackend('cpu', { log: quiet });
  db = openStore(join(dir, 'store.db'));
  modelPaths.r18 = importNarrowModel(db, dir, 'r18', 'resnet18', 64, 5);
  modelPaths.anet = importNarrowModel(db, dir, 'anet', 'alexnet', 224, 6);
  const pass = { db, data: join(dir, 'data'), split: 'val', initSeed: 0, topK: 4, batchSize: 6, commitEvery: 1, shard: { index: 0, count: 1 }, backend: 'auto' as const, force: false, decodeConcurrency: 2, strict: false, workers: 1, resumeCommand: '', log: quiet };
  runs.r18 = (await runTopActivations({ ...pass, model: 'r18', layers: 'conv1,layer1.0,layer2.0.conv2,layer3.1' })).runId;
  runs.anet = (await runTopActivations({ ...pass, model: 'anet', layers: 'features.0,features.10' })).runId;
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(extra: Partial<MosaicsOptions>): MosaicsOptions {
  return { db, units: { kind: 'all' }, seed: 1, backend: 'auto', batchSize: 8, workers: 2, unitsPerSheet: 8, columns: 4, log: quiet, ...extra };
}

/** Checks every drawn entry of `layerName` against the reference of `method`; returns how many were checked. */
async function checkAgainstReference(model: 'r18' | 'anet', outDir: string, layerName: string, method: DeconvMethod, units?: number[]): Promise<number> {
  const run = getTopActivationRun(db, runs[model])!;
  const layer = run.analysedLayers.find((l) => l.name === layerName)!;
  const rows = queryTopRows(db, run.runId, layer.number, null).filter((r) => units === undefined || units.includes(r.unit));
  const frames = await referenceOfRows(modelPaths[model], layer, rows, method);
  const s = (run.modelConfig as { imported: { inputSizePx: number } }).imported.inputSizePx;
  rows.forEach((row, i) => {
    const box = receptiveFieldBox(geometryOfLayer(layer), row.y, row.x, s);
    const frame = frames[i]!;
    const inside = new Float32Array(box.heightPx * box.widthPx * 3);
    let outside = 0;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const within = y >= box.top && y < box.top + box.heightPx && x >= box.left && x < box.left + box.widthPx;
        for (let c = 0; c < 3; c++) {
          const v = frame[(y * s + x) * 3 + c]!;
          if (within) inside[((y - box.top) * box.widthPx + x - box.left) * 3 + c] = v;
          else if (v !== 0) outside++;
        }
      }
    }
    const label = `${model} ${layerName} unit ${row.unit} rank ${row.rank} (${method})`;
    assert.equal(outside, 0, `${label}: the reference is not zero outside the recorded receptive field`);
    const drawn = readNpyValues(join(outDir, layerName, 'units', `unit-${String(row.unit).padStart(4, '0')}-rank${row.rank}.npy`));
    assert.equal(drawn.length, inside.length, label);
    const scale = inside.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(scale > 0 || row.value === 0, `${label}: reference all zero for a firing unit`);
    drawn.forEach((v, j) => assert.ok(Math.abs(v - inside[j]!) <= 1e-4 * scale + 1e-9, `${label} value ${j}: drawn ${v} vs reference ${inside[j]}`));
  });
  return rows.length;
}

describe('mosaics on an imported model', () => {
  it('draws every unit of every layer of a ResNet-18 run by name, each projection equal to the direct computation', async () => {
    const outDir = join(dir, 'r18-deconvnet');
    const result = await runMosaics(options({ runId: runs.r18, outDir }));
    assert.equal(result.method, 'deconvnet');
    assert.equal(result.units, 4 + 4 + 8 + 16);
    assert.equal(result.projections, 32 * 4);
    assert.deepEqual(readdirSync(outDir).sort(), ['conv1', 'index.html', 'layer1.0', 'layer2.0.conv2', 'layer3.1']);
    assert.deepEqual(result.sheets, ['conv1/sheet-01.png', 'layer1.0/sheet-01.png', 'layer2.0.conv2/sheet-01.png', 'layer3.1/sheet-01.png', 'layer3.1/sheet-02.png']);
    assert.ok(existsSync(join(outDir, 'conv1', 'filters.png')), 'the 7x7 conv reading the image has its filter sheet');
    assert.ok(!existsSync(join(outDir, 'layer1.0', 'filters.png')));
    let checked = 0;
    for (const layer of ['conv1', 'layer1.0', 'layer2.0.conv2', 'layer3.1']) checked += await checkAgainstReference('r18', outDir, layer, 'deconvnet');
    assert.equal(checked, 128);
    const index = readFileSync(join(outDir, 'index.html'), 'utf8');
    assert.match(index, /<h1>Deconvnet mosaics of run top-activations-/);
    assert.match(index, /Model: imported model r18 \(onnx, sha256 [0-9a-f]{12}\)/);
    assert.match(readFileSync(join(outDir, 'layer3.1', 'unit-0015.html'), 'utf8'), /<title>layer3\.1 unit 15 \(deconvnet\)<\/title>/);
  });

  it('draws guided and gradient projections of an AlexNet by layer name and alias, the method named in folder, pages and record', async () => {
    for (const method of ['guided', 'gradient'] as const) {
      const outDir = join(dir, `anet-${method}`);
      const result = await runMosaics(options({ runId: runs.anet, outDir, method, layers: 'conv1,features.10', units: { kind: 'list', units: [0, 1, 2] } }));
      assert.deepEqual([result.method, result.units], [method, 6]);
      assert.ok(existsSync(join(outDir, 'features.0', 'filters.png')));
      assert.equal(await checkAgainstReference('anet', outDir, 'features.0', method, [0, 1, 2]), 12);
      assert.equal(await checkAgainstReference('anet', outDir, 'features.10', method, [0, 1, 2]), 12);
      const page = readFileSync(join(outDir, 'features.10', 'unit-0002.html'), 'utf8');
      assert.ok(page.includes(`projections: ${method}`));
      assert.match(readFileSync(join(outDir, 'index.html'), 'utf8'), new RegExp(`<h1>${method[0]!.toUpperCase()}${method.slice(1)} mosaics of run`));
      const record = db.prepare("SELECT options_json FROM runs WHERE kind = 'mosaics' AND options_json LIKE ?").pluck().get(`%${outDir}%`) as string;
      assert.deepEqual(JSON.parse(record), { run: runs.anet, outDir, method, layers: ['features.0', 'features.10'] });
    }
  });

  it('resumes an interrupted run: the result equals an uninterrupted one', async () => {
    const common = { runId: runs.r18, method: 'gradient' as const, layers: 'layer1.0,layer3.1', batchSize: 4 };
    const whole = await runMosaics(options({ ...common, outDir: join(dir, 'whole') }));
    const stop = new Error('killed');
    await assert.rejects(runMosaics(options({ ...common, outDir: join(dir, 'resumed'), onBatchDone: (done) => { if (done >= 6 * 4) throw stop; } })), stop);
    const resumed = await runMosaics(options({ ...common, outDir: join(dir, 'resumed') }));
    assert.ok(resumed.keptUnits >= 6 && resumed.keptUnits < 20, `kept ${resumed.keptUnits}`);
    assert.equal(resumed.units, whole.units);
    for (const layer of ['layer1.0', 'layer3.1']) {
      const files = readdirSync(join(dir, 'whole', layer, 'units')).filter((f) => f.endsWith('.npy')).sort();
      assert.equal(files.length, (layer === 'layer1.0' ? 4 : 16) * 4);
      assert.deepEqual(readdirSync(join(dir, 'resumed', layer, 'units')).filter((f) => f.endsWith('.npy')).sort(), files);
      for (const f of files) assert.deepEqual(readNpyValues(join(dir, 'resumed', layer, 'units', f)), readNpyValues(join(dir, 'whole', layer, 'units', f)), `${layer}/${f}`);
    }
  });

  it('stops on a stored value the model does not reproduce, and refuses what it cannot do, by name', async () => {
    const copy = join(dir, 'changed.db');
    await db.backup(copy);
    const changed = openStore(copy);
    try {
      const run = getTopActivationRun(changed, runs.r18)!;
      const layer = run.analysedLayers.find((l) => l.name === 'layer1.0')!;
      changed.prepare('UPDATE top_activations SET value = value * 2 + 1 WHERE run_id = ? AND layer = ? AND unit = 1 AND rank = 0').run(runs.r18, layer.number);
      const row = queryTopRows(changed, runs.r18, layer.number, 1)[0]!;
      await assert.rejects(runMosaics(options({ db: changed, runId: runs.r18, layers: 'layer1.0', units: { kind: 'list', units: [1] }, outDir: join(dir, 'changed') })), (error: Error) => {
        assert.equal(error.name, 'UsageError');
        assert.ok(error.message.startsWith(`Run ${runs.r18}, layer1.0 unit 1, image ${row.imageId} (${row.path}): stored activation ${row.value} but the projection's forward pass gives `), error.message);
        return true;
      });
    } finally {
      changed.close();
    }
    await assert.rejects(runMosaics(options({ runId: runs.r18, layers: 'layer9', outDir: join(dir, 'x') })), {
      name: 'UsageError', message: `Expected layer names, globs or numbers of run ${runs.r18}'s map layers for --layers but received "layer9"; its map layers: 1:conv1, 5:layer1.0, 10:layer2.0.conv2, 22:layer3.1`,
    });
    await assert.rejects(runMosaics(options({ runId: runs.r18, backend: 'wasm', outDir: join(dir, 'x') })), {
      name: 'UsageError', message: 'Imported model r18 runs on the onnx engine only; use --backend auto or onnx',
    });
    await assert.rejects(runMosaics(options({ runId: runs.r18, checkpoint: 'model.safetensors', outDir: join(dir, 'x') })), {
      name: 'UsageError', message: `Run ${runs.r18} analysed the imported model r18; --checkpoint names weights of the project's own architectures`,
    });
  });
});
