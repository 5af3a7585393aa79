/**
 * occlusion, invariance and correspondence on imported models (`--model NAME`):
 * - an imported copy of one of the project's checkpoints gives the numbers the
 *   checkpoint gives (a different way in: its graph file, its per-channel
 *   preprocessing, no tfjs parameters);
 * - a narrow ResNet-18 (torchvision names, residual joins, BatchNorm) imported
 *   from ONNX with torchvision preprocessing and class labels in another order
 *   than the dataset's: the default layers by their own names, and the stored
 *   numbers equal a direct computation of the graph on tfjs
 *   (test/import/graph-reference.ts, an independent implementation of each op).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { runCorrespondencePipeline } from '../../../pipelines/experiments/correspondence.js';
import { importModel } from '../../../pipelines/import/import-model.js';
import { runInvariancePipeline } from '../../../pipelines/experiments/invariance.js';
import { runOcclusionPipeline } from '../../../pipelines/experiments/occlusion.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { saveCheckpoint } from '../../../src/checkpoint/checkpoint-file.js';
import { computeSoftmax, computeHammingFraction, computeSigns } from '../../../src/experiments/feature-measures.js';
import { applyTransform, makeTransform } from '../../../src/experiments/invariance-transforms.js';
import { applyOccluder, computeOccluderPlacements } from '../../../src/experiments/occluder.js';
import { loadImportedModel, type LoadedImportedModel } from '../../../src/import/imported-model-file.js';
import { prepareModelInput } from '../../../src/import/model-input.js';
import { describeModelInput } from '../../../src/import/open-imported-model.js';
import { buildModelConfig } from '../../../src/model/architectures.js';
import { disposeParams } from '../../../src/model/params.js';
import { openDataset } from '../../../src/store/open-dataset.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { evaluateGraph } from '../../import/graph-reference.js';
import { makeParams } from '../../onnx/onnx-fixtures.js';
import { assertRowsClose, type Row } from '../../experiments/assert-rows-close.js';
import { runCli } from '../../cli/run-cli.js';
import { writeTinyDataset } from '../top-activations-fixture.js';
import { writeNarrowOnnx } from '../imported-models-fixture.js';

const quiet = (): void => {};
const LABELS = ['class02', 'class00', 'class01']; // logit order: dataset label 0 (class00) is logit 1
let dir = '';
let data = '';
let checkpoint = '';
let r18: LoadedImportedModel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'experiments-imported-'));
  data = join(dir, 'data');
  await writeTinyDataset(data, { classes: 3, perClass: 2, sizePx: 90 });
  await initBackend('cpu', { log: quiet });
  const config = buildModelConfig('zfnet-tiny', { numClasses: 3 });
  const params = makeParams(config, 7);
  checkpoint = join(dir, 'tiny.safetensors');
  saveCheckpoint(checkpoint, { config, params });
  disposeParams(params);
  writeNarrowOnnx(dir, 'r18', 'resnet18', 64, 5);
  writeFileSync(join(dir, 'labels.txt'), `${LABELS.join('\n')}\n`);
  const db = openStore(join(dir, 'base.db'));
  try {
    const outDir = join(dir, 'models');
    r18 = loadImportedModel(importModel({ db, file: join(dir, 'r18.onnx'), name: 'r18', preset: 'torchvision', preprocessing: {}, labels: join(dir, 'labels.txt'), outDir }).record.modelPath);
    importModel({ db, file: checkpoint, name: 'tiny-imported', preprocessing: {}, outDir });
    openDataset(db, { root: data, splits: ['val'] });
  } finally {
    db.close();
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A store holding both imported models (each test its own copy). */
function storeCopy(name: string): Store {
  const path = join(dir, name);
  writeFileSync(path, readFileSync(join(dir, 'base.db')));
  return openStore(path);
}

/** The graph's outputs for inputs [N, S, S, 3] (NHWC, normalised), computed on tfjs: node name -> [N, ...] values. */
function evaluateDirect(inputs: readonly Float32Array[], s: number): Map<string, { data: Float32Array; shape: number[] }> {
  const out = new Map<string, { data: Float32Array; shape: number[] }>();
  tf.tidy(() => {
    const batch = tf.tensor4d(Float32Array.from(inputs.flatMap((x) => Array.from(x))), [inputs.length, s, s, 3]);
    for (const [name, t] of evaluateGraph(r18.graph, r18.weights, tf.transpose(batch, [0, 3, 1, 2]))) out.set(name, { data: t.dataSync() as Float32Array, shape: t.shape.slice() });
  });
  return out;
}

const nodeOf = (layer: string): string => r18.graph.layers.find((l) => l.name === layer)!.node;

describe('image experiments on an imported copy of a checkpoint', () => {
  it('give the rows the checkpoint gives (same layers, numbers within 1e-5)', async () => {
    const db = storeCopy('copy.db');
    try {
      const images = { split: 'val', limit: 2 };
      const base = { db, data, seed: 3, backend: 'onnx' as const, workers: 1, log: quiet };
      const read = (sql: string, runId: string): Row[] => db.prepare(sql).all(runId) as Row[];
      const cells = 'SELECT c.image_key, i.layer, i.unit, i.unit_y, i.unit_x, i.unit_sum, i.true_prob AS p0, c.row, c.col, c.feature_sum, c.true_prob, c.top_class, c.top_prob FROM occlusion_cells c JOIN occlusion_images i USING (run_id, image_key) WHERE run_id = ? ORDER BY 1, c.row, c.col';
      const occlusion = async (model: object) => read(cells, (await runOcclusionPipeline({ ...base, ...model, images, sizePx: 16, stridePx: 16, fill: 'grey', batchSize: 8, outDir: join(dir, `occ-${JSON.stringify(model).length}`) })).runId);
      assertRowsClose(await occlusion({ model: 'tiny-imported' }), await occlusion({ checkpoint }), 'occlusion');
      const measures = 'SELECT image_key, transform, amount, layer1_distance, layer7_distance, true_prob, top_class FROM invariance_measures WHERE run_id = ? ORDER BY 1, 2, 3';
      const amounts = { translate: [-4, 0, 4], scale: [1.2], rotate: [90] };
      const invariance = async (model: object) => read(measures, (await runInvariancePipeline({ ...base, ...model, images, amounts, batchSize: 3, outDir: join(dir, `inv-${JSON.stringify(model).length}`) })).runId);
      assertRowsClose(await invariance({ model: 'tiny-imported' }), await invariance({ checkpoint }), 'invariance');
      const runs = db.prepare("SELECT model, backend, options_json AS options FROM runs WHERE kind = 'invariance' ORDER BY model").all() as Row[];
      assert.deepEqual(runs.map((r) => [r['model'], r['backend'], (JSON.parse(r['options'] as string) as { layers: string[] }).layers]), [['tiny-imported', 'onnx', ['conv1', 'fc7']], ['zfnet-tiny', 'onnx', ['conv1', 'fc7']]]);
    } finally {
      db.close();
    }
  });
});

describe('image experiments on an imported ResNet-18', () => {
  it('occlusion watches the last conv layer (layer4.1) and stores what a direct computation of the graph gives', async () => {
    const db = storeCopy('r18-occlusion.db');
    try {
      const result = await runOcclusionPipeline({ db, data, model: 'r18', seed: 1, backend: 'auto', workers: 2, log: quiet, images: { split: 'val', limit: 2 }, sizePx: 16, stridePx: 8, fill: 'mean', batchSize: 12, outDir: join(dir, 'r18-occ') });
      assert.equal(result.images.length, 2);
      const stored = db.prepare('SELECT image_key, path, label, layer, unit, unit_y, unit_x, unit_activation, unit_sum, true_prob FROM occlusion_images WHERE run_id = ? ORDER BY image_key').all(result.runId) as Row[];
      const steps = describeModelInput(r18.preprocessing, 'r18');
      const s = steps.inputSizePx;
      const placements = computeOccluderPlacements(s, 16, 8);
      for (const row of stored) {
        assert.equal(row['layer'], 'layer4.1');
        const { input } = await prepareModelInput(row['path'] as string, steps);
        const key = db.prepare('SELECT c.class_key FROM images i JOIN classes c ON c.dataset_id = i.dataset_id AND c.label = i.label WHERE i.id = ?').pluck().get(Number(row['image_key'])) as string;
        assert.equal(row['label'], LABELS.indexOf(key), 'the true class through the labels file');
        const picked = [0, 27, placements.length - 1];
        const copies = picked.map((p) => {
          const out = new Float32Array(s * s * 3);
          applyOccluder(input, s, placements[p]!.rect, new Float32Array(s * s * 3), out);
          return out;
        });
        const values = evaluateDirect([input, ...copies], s);
        const map = values.get(nodeOf('layer4.1'))!; // [N, C, h, w]
        const [, c, h, w] = map.shape as [number, number, number, number];
        const plane = (n: number, unit: number) => map.data.subarray((n * c + unit) * h * w, (n * c + unit + 1) * h * w);
        const maxima = Array.from({ length: c }, (_, unit) => Math.max(...plane(0, unit)));
        const unit = maxima.indexOf(Math.max(...maxima));
        const cell = plane(0, unit).indexOf(maxima[unit]!);
        assert.deepEqual([row['unit'], row['unit_y'], row['unit_x']], [unit, Math.floor(cell / w), cell % w]);
        assert.ok(Math.abs((row['unit_activation'] as number) - maxima[unit]!) <= 1e-5 * maxima[unit]!);
        const logits = values.get(r18.graph.logits)!.data;
        const probs = (n: number) => computeSoftmax(logits.subarray(n * 3, n * 3 + 3));
        assert.ok(Math.abs((row['true_prob'] as number) - probs(0)[row['label'] as number]!) <= 1e-5);
        const storedCells = db.prepare('SELECT row, col, feature_sum, true_prob, top_class FROM occlusion_cells WHERE run_id = ? AND image_key = ? ORDER BY row, col').all(result.runId, row['image_key']) as Row[];
        picked.forEach((p, k) => {
          const cellRow = storedCells[p]!;
          const sum = plane(k + 1, unit).reduce((a, b) => a + b, 0);
          assert.ok(Math.abs((cellRow['feature_sum'] as number) - sum) <= 1e-5 * Math.max(1, Math.abs(sum)), `cell ${p}: ${cellRow['feature_sum']} vs ${sum}`);
          const p1 = probs(k + 1);
          assert.ok(Math.abs((cellRow['true_prob'] as number) - p1[row['label'] as number]!) <= 1e-5);
          assert.equal(cellRow['top_class'], p1.indexOf(Math.max(...p1)));
        });
      }
      const summary = JSON.parse(readFileSync(join(dir, 'r18-occ', 'summary.json'), 'utf8')) as { model: string; layer: string };
      assert.deepEqual([summary.model, summary.layer], ['r18', 'layer4.1']);
    } finally {
      db.close();
    }
  });

  it('invariance measures conv1 and avgpool (the layer before the logits) as a direct computation of the graph does', async () => {
    const db = storeCopy('r18-invariance.db');
    try {
      const amounts = { translate: [-4, 4], scale: [1.3], rotate: [90] };
      const result = await runInvariancePipeline({ db, data, model: 'r18', seed: 1, backend: 'onnx', workers: 1, log: quiet, images: { split: 'val', limit: 1 }, amounts, batchSize: 2, outDir: join(dir, 'r18-inv') });
      const options = JSON.parse(db.prepare('SELECT options_json FROM runs WHERE id = ?').pluck().get(result.runId) as string) as { layers: string[] };
      assert.deepEqual(options.layers, ['conv1', 'avgpool']);
      const steps = describeModelInput(r18.preprocessing, 'r18');
      const s = steps.inputSizePx;
      const path = db.prepare("SELECT path FROM invariance_measures WHERE run_id = ? LIMIT 1").pluck().get(result.runId) as string;
      const { input } = await prepareModelInput(path, steps);
      const transforms = result.rows.map((r) => r.transform);
      const copies = transforms.map((t) => {
        const out = new Float32Array(s * s * 3);
        applyTransform(input, s, 3, t, out);
        return out;
      });
      const values = evaluateDirect([input, ...copies], s);
      for (const [layer, key] of [['conv1', 'layer1Distance'], ['avgpool', 'layer7Distance']] as const) {
        const out = values.get(nodeOf(layer))!;
        const size = out.data.length / (copies.length + 1);
        result.rows.forEach((row, k) => {
          let sum = 0;
          for (let i = 0; i < size; i++) sum += (out.data[(k + 1) * size + i]! - out.data[i]!) ** 2;
          assert.ok(Math.abs(row[key] - Math.sqrt(sum)) <= 1e-5 * Math.sqrt(sum), `${layer} ${row.transform.kind} ${row.amount}: ${row[key]} vs ${Math.sqrt(sum)}`);
        });
      }
      assert.deepEqual(result.rows.map((r) => `${r.transform.kind} ${r.amount}`), ['translate -4', 'translate 4', 'scale 1.3', 'rotate 90']);
      assert.deepEqual(transforms[0], makeTransform('translate', -4));
    } finally {
      db.close();
    }
  });

  it('correspondence compares the layers --layers names (layer3.1, avgpool) as a direct computation of the graph does', async () => {
    const db = storeCopy('r18-correspondence.db');
    try {
      const ids = db.prepare("SELECT id FROM images WHERE split = 'val' ORDER BY id").pluck().all() as number[];
      const maskFile = join(dir, 'masks.json');
      const chosen = [ids[0]!, ids[2]!, ids[4]!];
      writeFileSync(maskFile, JSON.stringify({ boxSpace: 'input', images: chosen.map((imageId) => ({ imageId, parts: { centre: [20, 20, 24, 24] } })) }));
      const result = await runCorrespondencePipeline({ db, data, model: 'r18', seed: 4, backend: 'onnx', workers: 2, log: quiet, maskFile, draws: 1, fill: 'mean', batchSize: 3, layers: 'layer3.1,avgpool', outDir: join(dir, 'r18-corr') });
      assert.deepEqual(result.summary.map((r) => `${r.layer}/${r.part}`), ['layer3.1/centre', 'layer3.1/random', 'avgpool/centre', 'avgpool/random']);
      const steps = describeModelInput(r18.preprocessing, 'r18');
      const s = steps.inputSizePx;
      const root = db.prepare('SELECT image_root FROM datasets').pluck().get() as string;
      const inputs = await Promise.all(chosen.map(async (id) => (await prepareModelInput(join(root, db.prepare('SELECT rel_path FROM images WHERE id = ?').pluck().get(id) as string), steps)).input));
      const masked = inputs.map((input) => {
        const out = new Float32Array(s * s * 3);
        applyOccluder(input, s, { xPx: 20, yPx: 20, widthPx: 24, heightPx: 24 }, new Float32Array(s * s * 3), out);
        return out;
      });
      const values = evaluateDirect([...inputs, ...masked], s);
      const pairs = db.prepare("SELECT layer, image_i, image_j, hamming FROM correspondence_pairs WHERE run_id = ? AND part = 'centre' ORDER BY layer DESC, image_i, image_j").all(result.runId) as Row[];
      for (const row of pairs) {
        const out = values.get(nodeOf(row['layer'] as string))!;
        const size = out.data.length / 6;
        const signs = (i: number) => computeSigns(Array.from({ length: size }, (_, k) => out.data[i * size + k]! - out.data[(3 + i) * size + k]!));
        const expected = computeHammingFraction(signs(row['image_i'] as number), signs(row['image_j'] as number));
        // A sign may differ where a difference is within float rounding of zero: allow two components of the vector.
        assert.ok(Math.abs((row['hamming'] as number) - expected) <= 2 / size, `${row['layer']} ${row['image_i']},${row['image_j']}: ${row['hamming']} vs ${expected}`);
      }
      assert.equal(pairs.length, 6);
    } finally {
      db.close();
    }
  });

  it('refuses a layer that is not there or not a map, an unknown model, and the tfjs engine, before recording a run', async () => {
    const db = storeCopy('r18-refusals.db');
    try {
      const base = { db, data, seed: 1, workers: 1, log: quiet, images: { split: 'val', limit: 1 }, fill: 'mean' as const, batchSize: 4 };
      await assert.rejects(runOcclusionPipeline({ ...base, model: 'r18', backend: 'onnx', layer: 'layer9' }), { name: 'UsageError', message: /^Expected layer names, globs or numbers of r18's layers for --layer but received "layer9"; its layers: 1:conv1, / });
      await assert.rejects(runOcclusionPipeline({ ...base, model: 'r18', backend: 'onnx', layer: 'fc' }), { name: 'UsageError', message: 'Expected a layer with [C, H, W] maps for --layer but received fc of shape [3]' });
      await assert.rejects(runInvariancePipeline({ ...base, model: 'r18', backend: 'onnx', amounts: {}, layers: 'conv1' }), { name: 'UsageError', message: 'Expected 2 layers for --layers but received 1 ("conv1")' });
      await assert.rejects(runOcclusionPipeline({ ...base, model: 'r19', backend: 'onnx' }), { name: 'UsageError', message: /^Expected an imported model \(r18, tiny-imported\) or an architecture \(zfnet, .*\) for --model but received "r19"$/ });
      await assert.rejects(runOcclusionPipeline({ ...base, model: 'r18', backend: 'wasm' }), { name: 'UsageError', message: 'Imported model r18 runs on the onnx engine only; use --backend auto or onnx (tfjs runs the project\'s own architectures)' });
      assert.equal(db.prepare('SELECT COUNT(*) FROM runs').pluck().get(), 0);
    } finally {
      db.close();
    }
    // The same through the command line: --model takes an imported name, --layer and --layers reach the pipelines.
    const cli = (args: string[]) => runCli([...args, '--model', 'r18', '--db', join(dir, 'r18-refusals.db'), '--data', data, '--split', 'val', '--limit', '1']);
    const layer = cli(['occlusion', '--layer', 'fc']);
    assert.deepEqual([layer.status, layer.stderr.trim().split('\n').at(-1)], [2, 'run-pipeline: Expected a layer with [C, H, W] maps for --layer but received fc of shape [3]']);
    const layers = cli(['invariance', '--layers', 'conv1,layer9']);
    assert.equal(layers.status, 2);
    assert.match(layers.stderr, /run-pipeline: Expected layer names, globs or numbers of r18's layers for --layers but received "layer9"; its layers: 1:conv1, /);
  });
});
