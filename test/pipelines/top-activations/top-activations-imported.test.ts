/**
 * top-activations on an imported model: a narrow ResNet-18 (torchvision
 * names, residual joins, BatchNorm) written as ONNX by the project's builder,
 * imported like a user's file with torchvision preprocessing. The stored top-9
 * and statistics are checked against a direct computation: every image decoded,
 * cropped and normalised here, the graph evaluated on tfjs (an independent
 * implementation of each op), and the per-unit search done by brute force.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { importModel } from '../../../pipelines/import/import-model.js';
import { mergeStores } from '../../../pipelines/top-activations/merge-stores.js';
import { runTopActivations, type TopActivationsOptions } from '../../../pipelines/top-activations/top-activations.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { computePaperCropBox, extractCrop } from '../../../src/data/crop-geometry.js';
import { decodeSquare } from '../../../src/data/decode-image.js';
import { loadImportedModel } from '../../../src/import/imported-model-file.js';
import { normalizePixels } from '../../../src/import/preprocessing.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { getTopActivationRun } from '../../../src/store/top-activations-store.js';
import { evaluateGraph } from '../../import/graph-reference.js';
import { readRunResults, writeTinyDataset } from '../top-activations-fixture.js';
import { writeNarrowOnnx } from '../imported-models-fixture.js';

const quiet = (): void => {};
const LAYERS = ['conv1', 'layer1.0', 'layer2.0.conv2', 'layer3.1'];
let dir = '';
let data = '';
let modelPath = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'topact-imported-'));
  data = join(dir, 'data');
  await writeTinyDataset(data, { classes: 3, perClass: 7, sizePx: 90, withBadFiles: true });
  writeNarrowOnnx(dir, 'r18', 'resnet18', 64, 5);
  const db = openStore(join(dir, 'base.db'));
  try {
    modelPath = importModel({ db, file: join(dir, 'r18.onnx'), name: 'r18', preset: 'torchvision', preprocessing: {}, outDir: join(dir, 'models') }).record.modelPath;
  } finally {
    db.close();
  }
  await initBackend('cpu', { log: quiet });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A store holding the imported model's record (each test gets its own copy of the base store). */
function storeCopy(name: string): Store {
  const path = join(dir, name);
  writeFileSync(path, readFileSync(join(dir, 'base.db')));
  return openStore(path);
}

function options(db: Store, extra: Partial<TopActivationsOptions> = {}): TopActivationsOptions {
  return {
    db, data, split: 'val', model: 'r18', initSeed: 0, layers: LAYERS.join(','), topK: 4, batchSize: 5, commitEvery: 1,
    shard: { index: 0, count: 1 }, backend: 'auto', force: false, decodeConcurrency: 2, strict: false, workers: 1,
    resumeCommand: 'run-pipeline top-activations ...', log: quiet, ...extra,
  };
}

interface Expected { value: number; imageId: number; y: number; x: number }

/** Brute force over every good image: per layer and unit, the images by spatial max (ties: lower id), first row-major argmax. */
async function computeExpected(db: Store): Promise<Map<string, { top: Expected[]; meanMax: number; firing: number }>> {
  const model = loadImportedModel(modelPath);
  const { inputSizePx: s, resizePx } = model.preprocessing;
  const root = db.prepare('SELECT image_root FROM datasets').pluck().get() as string;
  const rows = db.prepare("SELECT id, rel_path FROM images WHERE split = 'val' ORDER BY id").all() as Array<{ id: number; rel_path: string }>;
  const perUnit = new Map<string, Expected[]>();
  for (const row of rows) {
    let square: Uint8Array;
    try {
      square = (await decodeSquare(readFileSync(join(root, row.rel_path)), { squarePx: resizePx, resample: model.preprocessing.resample, cropPx: s })).pixels;
    } catch {
      continue; // the bad files
    }
    const crop = new Float32Array(s * s * 3);
    extractCrop(square, resizePx, computePaperCropBox('centre', resizePx, s, false), null, crop);
    const nhwc = normalizePixels(crop, model.preprocessing);
    tf.tidy(() => {
      const values = evaluateGraph(model.graph, model.weights, tf.transpose(tf.tensor4d(nhwc, [1, s, s, 3]), [0, 3, 1, 2]));
      for (const name of LAYERS) {
        const layer = model.graph.layers.find((l) => l.name === name)!;
        const map = values.get(layer.node)!; // [1, C, H, W]
        const [, c, h, w] = map.shape as number[];
        const cells = map.dataSync();
        for (let unit = 0; unit < c!; unit++) {
          let best = 0;
          for (let i = 1; i < h! * w!; i++) if (cells[unit * h! * w! + i]! > cells[unit * h! * w! + best]!) best = i;
          const key = `${name}/${unit}`;
          const list = perUnit.get(key) ?? [];
          list.push({ value: cells[unit * h! * w! + best]!, imageId: row.id, y: Math.floor(best / w!), x: best % w! });
          perUnit.set(key, list);
        }
      }
    });
  }
  const out = new Map<string, { top: Expected[]; meanMax: number; firing: number }>();
  for (const [key, list] of perUnit) {
    const sorted = [...list].sort((a, b) => b.value - a.value || a.imageId - b.imageId);
    out.set(key, { top: sorted.slice(0, 4), meanMax: list.reduce((sum, e) => sum + e.value, 0) / list.length, firing: list.filter((e) => e.value > 0).length });
  }
  return out;
}

describe('top-activations on an imported model', () => {
  it('stores the top-k and statistics of named layers that a direct computation of the graph gives', async () => {
    const db = storeCopy('direct.db');
    try {
      const result = await runTopActivations(options(db));
      assert.deepEqual([result.status, result.imagesProcessed, result.imagesSkipped], ['finished', 21, 2]);
      const run = getTopActivationRun(db, result.runId)!;
      assert.deepEqual(run.analysedLayers.map((l) => l.name), LAYERS);
      assert.deepEqual(run.analysedLayers.map((l) => [l.units, l.mapHeight]), [[4, 32], [4, 16], [8, 8], [16, 4]]);
      assert.equal(run.run.backend, 'onnx');
      assert.deepEqual(run.preprocessing['mean'], [0.485, 0.456, 0.406]);
      const expected = await computeExpected(db);
      const top = db.prepare('SELECT layer_name, unit, rank, image_id, value, y, x FROM top_activations WHERE run_id = ? ORDER BY layer, unit, rank').all(result.runId) as Array<{ layer_name: string; unit: number; rank: number; image_id: number; value: number; y: number; x: number }>;
      assert.equal(top.length, 32 * 4);
      for (const row of top) {
        const want = expected.get(`${row.layer_name}/${row.unit}`)!.top[row.rank]!;
        assert.deepEqual([row.image_id, row.y, row.x], [want.imageId, want.y, want.x], `${row.layer_name} unit ${row.unit} rank ${row.rank}`);
        assert.ok(Math.abs(row.value - want.value) <= 1e-5 * Math.max(1, Math.abs(want.value)), `${row.layer_name}/${row.unit}: ${row.value} vs ${want.value}`);
      }
      const stats = db.prepare('SELECT layer_name, unit, mean_max, firing_count, images_seen FROM unit_stats WHERE run_id = ?').all(result.runId) as Array<{ layer_name: string; unit: number; mean_max: number; firing_count: number; images_seen: number }>;
      assert.equal(stats.length, 32);
      for (const row of stats) {
        const want = expected.get(`${row.layer_name}/${row.unit}`)!;
        assert.equal(row.images_seen, 21);
        assert.equal(row.firing_count, want.firing);
        assert.ok(Math.abs(row.mean_max - want.meanMax) <= 1e-5 * Math.max(1, Math.abs(want.meanMax)));
      }
    } finally {
      db.close();
    }
  });

  it('gives the same rows in 2 workers, when stopped and resumed, and merged from 2 shards', async () => {
    const reference = storeCopy('reference.db');
    const direct = await runTopActivations(options(reference));
    const want = readRunResults(reference, direct.runId);
    reference.close();
    const db = storeCopy('resumed.db');
    try {
      const controller = new AbortController();
      const stopped = await runTopActivations(options(db, { workers: 2, signal: controller.signal, log: () => controller.abort() }));
      assert.equal(stopped.status, 'interrupted');
      assert.ok(stopped.position > 0 && stopped.position < 23, `stopped at ${stopped.position}`);
      const resumed = await runTopActivations(options(db, { workers: 2 }));
      assert.equal(resumed.runId, stopped.runId);
      assert.equal(resumed.status, 'finished');
      assert.deepEqual(readRunResults(db, resumed.runId), want);
    } finally {
      db.close();
    }
    for (const i of [0, 1]) {
      const shard = storeCopy(`shard${i}.db`);
      await runTopActivations(options(shard, { shard: { index: i, count: 2 } }));
      shard.close();
    }
    const merged = mergeStores({ sources: [join(dir, 'shard0.db'), join(dir, 'shard1.db')], into: join(dir, 'merged.db'), force: false, log: quiet });
    const mergedDb = openStore(join(dir, 'merged.db'));
    try {
      const results = readRunResults(mergedDb, merged.runId);
      assert.deepEqual(results.top, want.top);
      const names = mergedDb.prepare('SELECT name FROM top_activation_layers WHERE run_id = ? ORDER BY layer').pluck().all(merged.runId);
      assert.deepEqual(names, LAYERS);
    } finally {
      mergedDb.close();
    }
  });

  it('selects layers by glob, refuses unknown layers and the tfjs engine by name', async () => {
    const db = storeCopy('refusals.db');
    try {
      const globbed = await runTopActivations(options(db, { layers: 'layer4.*', topK: 1 }));
      const run = getTopActivationRun(db, globbed.runId)!;
      assert.deepEqual(run.analysedLayers.map((l) => l.name), ['layer4.0.conv1', 'layer4.0.conv2', 'layer4.0.downsample.0', 'layer4.0', 'layer4.1.conv1', 'layer4.1.conv2', 'layer4.1']);
      const defaults = await runTopActivations(options(db, { layers: undefined, topK: 1 }));
      assert.ok(getTopActivationRun(db, defaults.runId)!.analysedLayers.every((l) => l.kind === 'conv'));
      await assert.rejects(runTopActivations(options(db, { layers: 'layer9' })), {
        name: 'UsageError', message: /^Expected layer names, globs or numbers of r18's map layers for --layers but received "layer9"; its map layers: 1:conv1, 2:maxpool, 3:layer1\.0\.conv1, .*, 30:avgpool$/,
      });
      await assert.rejects(runTopActivations(options(db, { backend: 'wasm' })), {
        name: 'UsageError', message: "Imported model r18 runs on the onnx engine only; use --backend auto or onnx (tfjs runs the project's own architectures)",
      });
      await assert.rejects(runTopActivations(options(db, { model: 'no-such-model' })), {
        name: 'UsageError', message: /^Expected an imported model \(r18\) or an architecture \(zfnet, .*\) for --model but received "no-such-model"$/,
      });
    } finally {
      db.close();
    }
    assert.ok(readdirSync(join(dir, 'models')).includes('r18.safetensors'));
  });
});
