import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { initBackend } from '../../../src/backend/select-backend.js';
import { openDataset } from '../../../src/store/open-dataset.js';
import { writeSampleData } from '../../../src/data/sample-data.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { getRun } from '../../../src/store/runs.js';
import { runCorrespondencePipeline } from '../../../pipelines/experiments/correspondence.js';
import { runInvariancePipeline } from '../../../pipelines/experiments/invariance.js';
import { runOcclusionPipeline } from '../../../pipelines/experiments/occlusion.js';
import { runCli } from '../../cli/run-cli.js';
import { computeSquareSizePx } from '../../../src/data/crop-geometry.js';
import { loadMeanImage } from '../../../src/store/mean-store.js';
import { createRng, deriveSeed } from '../../../src/data/seeded-rng.js';
import { extractFeatureVectors } from '../../../src/experiments/correspondence-measure.js';
import { prepareCentreInput } from '../../../src/experiments/experiment-inputs.js';
import { drawRandomRect } from '../../../src/experiments/occluder.js';
import { buildModelConfig } from '../../../src/model/architectures.js';
import { disposeParams, initParams } from '../../../src/model/params.js';
import { createInProcessExecutor } from '../../../src/workers/forward-executor.js';

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
  for (const s of result.summary) assert.ok(s.deltaMean >= 0 && s.deltaMean <= 1 && Math.abs(s.deltaSum - 6 * s.deltaMean) < 1e-9);
  assert.equal(db.prepare('SELECT COUNT(*) FROM correspondence_pairs WHERE run_id = ?').pluck().get(result.runId), 2 * (3 + 6));
  const expected = await computeControlDeltaIndependently(ids, [16, 16], 2);
  for (const layer of ['conv5', 'fc7'] as const) {
    const control = result.summary.find((s) => s.layer === layer && s.part === 'random')!;
    assert.ok(expected[layer].deltaSum > 0, `${layer}: the control changes some signs`);
    assert.ok(Math.abs(control.deltaSum - expected[layer].deltaSum) < 1e-9, `${layer} random Delta ${control.deltaSum}, independently ${expected[layer].deltaSum}`);
    assert.ok(Math.abs(control.deltaMean - expected[layer].pairMean) < 1e-9, `${layer} random pair mean ${control.deltaMean}, independently ${expected[layer].pairMean}`);
  }
});

/**
 * The random control's Delta_l computed apart from the pipeline: the same
 * images, the draw-d box of image i from seed (3, d, i) as the pipeline
 * documents, the box zeroed by hand (fill 'mean' is 0 after mean subtraction),
 * then D_l = sum over i != j of the fraction of differing signs of
 * e = original - masked, written out in loops; averaged over draws.
 */
async function computeControlDeltaIndependently(ids: number[], boxPx: [number, number], draws: number): Promise<Record<'conv5' | 'fc7', { deltaSum: number; pairMean: number }>> {
  const datasetId = db.prepare('SELECT id FROM datasets').pluck().get() as number;
  const classCount = db.prepare('SELECT COUNT(*) FROM classes WHERE dataset_id = ?').pluck().get(datasetId) as number;
  const config = buildModelConfig('zfnet-tiny', { numClasses: classCount });
  const params = initParams(config, 3);
  const S = config.inputSizePx;
  const mean = loadMeanImage(db, datasetId, computeSquareSizePx(S));
  const imageRoot = db.prepare('SELECT image_root FROM datasets WHERE id = ?').pluck().get(datasetId) as string;
  const paths = ids.map((id) => join(imageRoot, db.prepare('SELECT rel_path FROM images WHERE dataset_id = ? AND id = ?').pluck().get(datasetId, id) as string));
  const originals: Float32Array[] = [];
  for (const path of paths) originals.push((await prepareCentreInput(path, S, mean)).input);
  const copies: Float32Array[] = [];
  for (let d = 0; d < draws; d++) {
    originals.forEach((original, i) => {
      const rect = drawRandomRect(createRng(deriveSeed(3, d, i)), S, boxPx[0], boxPx[1]);
      const copy = Float32Array.from(original);
      for (let y = rect.yPx; y < rect.yPx + rect.heightPx; y++) for (let x = rect.xPx; x < rect.xPx + rect.widthPx; x++) copy.fill(0, (y * S + x) * 3, (y * S + x) * 3 + 3);
      copies.push(copy);
    });
  }
  try {
    const executor = await createInProcessExecutor('cpu', { kind: 'params', config, params });
    const features = await extractFeatureVectors(executor, ['conv5', 'fc7'], [...originals, ...copies], S, 1, (input, out, offset) => out.set(input, offset)).finally(() => executor.close());
    const n = ids.length;
    const out = { conv5: { deltaSum: 0, pairMean: 0 }, fc7: { deltaSum: 0, pairMean: 0 } };
    for (const layer of ['conv5', 'fc7'] as const) {
      let total = 0;
      for (let d = 0; d < draws; d++) {
        const e = Array.from({ length: n }, (_, i) => features[layer][i]!.map((v, k) => v - features[layer][n + d * n + i]![k]!));
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            if (i === j) continue;
            let differ = 0;
            for (let k = 0; k < e[i]!.length; k++) if (Math.sign(e[i]![k]!) !== Math.sign(e[j]![k]!)) differ += 1;
            total += differ / e[i]!.length;
          }
        }
      }
      out[layer] = { deltaSum: total / draws, pairMean: total / (draws * n * (n - 1)) };
    }
    return out;
  } finally {
    disposeParams(params);
  }
}

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
