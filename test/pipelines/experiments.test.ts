import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { initBackend } from '../../src/backend/select-backend.js';
import { openDataset } from '../../src/data/open-dataset.js';
import { writeSampleData } from '../../src/data/sample-data.js';
import { openStore, type Store } from '../../src/store/open-store.js';
import { getRun } from '../../src/store/runs.js';
import { runCorrespondencePipeline } from '../../pipelines/correspondence.js';
import { runInvariancePipeline } from '../../pipelines/invariance.js';
import { runOcclusionPipeline } from '../../pipelines/occlusion.js';
import { runCli } from '../cli/run-cli.js';

let dir: string;
let data: string;
let db: Store;
const quiet = (): void => {};
const source = () => ({ db, data, model: 'zfnet-tiny', seed: 3, backend: 'cpu' as const, log: quiet });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'experiments-'));
  data = (await writeSampleData(join(dir, 'data'), { trainPerClass: 1, valPerClass: 1 })).dir;
  db = openStore(join(dir, 'store.db'));
  openDataset(db, { root: data, splits: ['val'] });
  await initBackend('cpu', { log: quiet });
});

after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('occlusion runs end to end: one map cell per occluder position, PNGs, CSV, run finished', async () => {
  const start = tf.memory().numTensors;
  const outDir = join(dir, 'occlusion');
  const result = await runOcclusionPipeline({ ...source(), outDir, images: { split: 'val', limit: 2 }, sizePx: 16, stridePx: 8, fill: 'grey', batchSize: 16 });
  assert.equal(tf.memory().numTensors, start);
  assert.equal(result.rows, 8); // 64 px / stride 8
  assert.equal(result.images.length, 2);
  assert.equal(getRun(db, result.runId)?.status, 'finished');
  const cells = db.prepare('SELECT COUNT(*) FROM occlusion_cells WHERE run_id = ?').pluck().get(result.runId);
  assert.equal(cells, 2 * 64);
  for (const image of result.images) {
    assert.equal(image.files.length, 5);
    for (const file of image.files) assert.ok((await sharp(file).metadata()).width! > 0, file);
  }
  assert.ok(existsSync(join(outDir, 'cells.csv')) && existsSync(join(outDir, 'summary.json')));
});

test('invariance runs end to end: identity copies have distance 0, nine panels and a grid', async () => {
  const start = tf.memory().numTensors;
  const outDir = join(dir, 'invariance');
  const amounts = { translate: [-6, 0, 6], scale: [1, 1.4], rotate: [0, 90] };
  const result = await runInvariancePipeline({ ...source(), outDir, images: { split: 'val', limit: 2 }, amounts, batchSize: 3 });
  assert.equal(tf.memory().numTensors, start);
  assert.equal(result.rows.length, 2 * 7);
  for (const row of result.rows.filter((r) => r.amount === 0 || (r.transform.kind === 'scale' && r.amount === 1))) {
    assert.ok(row.layer1Distance < 1e-3 && row.layer7Normalised < 1e-6, `${row.transform.kind} ${row.amount}`);
  }
  assert.ok(result.rows.some((r) => r.layer1Normalised > 0.01));
  assert.equal(result.files.length, 11);
  assert.equal(db.prepare('SELECT COUNT(*) FROM invariance_measures WHERE run_id = ?').pluck().get(result.runId), 14);
});

test('correspondence runs end to end and stores Delta_l per part and layer', async () => {
  const maskFile = join(dir, 'masks.json');
  const ids = db.prepare("SELECT id FROM images WHERE split = 'val' ORDER BY id LIMIT 3").pluck().all() as number[];
  writeFileSync(maskFile, JSON.stringify({ boxSpace: 'input', images: ids.map((imageId) => ({ imageId, parts: { centre: [24, 24, 16, 16] } })) }));
  const result = await runCorrespondencePipeline({ ...source(), outDir: join(dir, 'corr'), maskFile, draws: 2, fill: 'mean', batchSize: 4 });
  assert.deepEqual(result.summary.map((s) => `${s.layer}/${s.part}/${s.pairs}`), ['conv5/centre/3', 'conv5/random/6', 'fc7/centre/3', 'fc7/random/6']);
  for (const s of result.summary) assert.ok(s.deltaMean >= 0 && s.deltaMean <= 1 && Math.abs(s.deltaSum - (s.part === 'random' ? s.deltaSum : 6 * s.deltaMean)) < 1e-9);
  assert.equal(db.prepare('SELECT COUNT(*) FROM correspondence_pairs WHERE run_id = ?').pluck().get(result.runId), 2 * (3 + 6));
});

test('experiment commands reject bad input with one line naming the value', () => {
  const env = { ZFNET_DB: join(dir, 'cli.db') };
  const noModel = runCli(['occlusion', '--split', 'val', '--data', data], env);
  assert.equal(noModel.status, 2);
  assert.equal(noModel.stderr.trim(), 'run-pipeline: Expected --checkpoint FILE (a trained model) or --model NAME (fresh random weights)');
  const badFill = runCli(['occlusion', '--model', 'zfnet-tiny', '--fill', 'pink', '--data', data], env);
  assert.equal(badFill.stderr.trim(), 'run-pipeline: Expected one of mean, grey, zero for fill but received "pink"');
  const badRange = runCli(['invariance', '--model', 'zfnet-tiny', '--scale', '2:1:0.1', '--data', data], env);
  assert.equal(badRange.stderr.trim(), 'run-pipeline: Expected a range START:STOP:STEP with STEP > 0 and STOP >= START for scale but received "2:1:0.1"');
  writeFileSync(join(dir, 'bad-masks.json'), JSON.stringify({ images: [{ imageId: 1, parts: { eye: [0, 0, 4, 4] } }] }));
  const badMasks = runCli(['correspondence', '--model', 'zfnet-tiny', '--mask-boxes', join(dir, 'bad-masks.json'), '--data', data], env);
  assert.equal(badMasks.stderr.trim(), `run-pipeline: Mask file ${join(dir, 'bad-masks.json')}: needs "images": a list of at least 2 images`);
});
