/**
 * occlusion, invariance and correspondence on --backend onnx (2 worker
 * threads) against --backend wasm (in-process), as a user runs them: the same
 * store rows, CSVs, summaries and pictures, numbers within 1e-5, and the
 * engine printed once and recorded with the run. The checkpoint has scaled
 * weights, random biases and a sharpened fc8, so maps, probabilities and top
 * classes vary (paper-initialised weights give uniform probabilities).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { initBackend } from '../../src/backend/select-backend.js';
import { saveCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { writeSampleData } from '../../src/data/sample-data.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams } from '../../src/model/params.js';
import { openStore } from '../../src/store/open-store.js';
import { makeParams } from '../onnx/onnx-fixtures.js';
import { assertRowsClose, type Row } from '../experiments/assert-rows-close.js';
import { runCli } from './run-cli.js';

let dir: string;
let data: string;
let checkpoint: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'experiments-onnx-'));
  data = (await writeSampleData(join(dir, 'data'), { trainPerClass: 1, valPerClass: 1 })).dir;
  await initBackend('cpu', { log: () => undefined });
  const config = buildModelConfig('zfnet-tiny', { numClasses: 12 });
  const params = makeParams(config, 3);
  const fc8 = params.get('fc8.weight')!;
  fc8.assign(tf.mul(fc8, 200)); // sharper probabilities: occluders and transforms change the top class
  checkpoint = join(dir, 'scaled.safetensors');
  saveCheckpoint(checkpoint, { config, params });
  disposeParams(params);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Pass {
  stderr: string;
  outDir: string;
  run: Row;
  tables: Record<string, Row[]>;
}

/** Runs `args` on one engine with its own store and output folder, and reads back the run and its tables. */
function runPass(name: string, backend: 'onnx' | 'wasm', args: string[], tables: Record<string, string>): Pass {
  const dbPath = join(dir, `${name}-${backend}.db`);
  const outDir = join(dir, `${name}-${backend}`);
  const workers = backend === 'onnx' ? '2' : '1';
  // In the temporary folder: the onnx engine caches its graphs of a checkpoint under out/onnx-cache.
  const result = runCli([name, ...args, '--data', data, '--db', dbPath, '--out', outDir, '--checkpoint', checkpoint, '--seed', '3', '--backend', backend, '--workers', workers], {}, dir);
  assert.equal(result.status, 0, result.stderr);
  const db = openStore(dbPath);
  try {
    const run = db.prepare('SELECT id, backend, backend_info FROM runs WHERE kind = ?').get(name) as Row;
    const read = Object.fromEntries(Object.entries(tables).map(([table, sql]) => [table, db.prepare(sql).all(run['id']) as Row[]]));
    return { stderr: result.stderr, outDir, run, tables: read };
  } finally {
    db.close();
  }
}

/** A CSV as rows keyed by its header; numeric fields as numbers. */
function readCsv(path: string): Row[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split(/\r?\n/).map((line) => line.split(','));
  return lines.map((fields) => Object.fromEntries(fields.map((f, i) => [header![i]!, f === '' || Number.isNaN(Number(f)) ? f : Number(f)])));
}

/** Every file under `root` (relative paths, sorted). */
function listFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => relative(root, join((e as { parentPath?: string }).parentPath ?? e.path, e.name))).sort();
}

/** Engine printed once and recorded; the same files, PNGs of the same size, each CSV close. */
async function assertSameOutputs(onnx: Pass, wasm: Pass, csvFiles: string[]): Promise<void> {
  assert.equal(onnx.stderr.match(/^backend: /gm)?.length, 1, onnx.stderr);
  assert.match(onnx.stderr, /^backend: onnx \(onnxruntime-node \d+\.\d+\.\d+, cpu execution provider, /m);
  assert.match(onnx.stderr, /forward passes in 2 worker threads, each with its own onnx engine/);
  assert.equal(wasm.stderr.match(/^backend: /gm)?.length, 1, wasm.stderr);
  assert.match(wasm.stderr, /^backend: wasm \(/m);
  assert.deepEqual([onnx.run['backend'], wasm.run['backend']], ['onnx', 'wasm']);
  assert.equal((JSON.parse(onnx.run['backend_info'] as string) as { executionProvider: string }).executionProvider, 'cpu');
  const files = listFiles(onnx.outDir);
  assert.deepEqual(files, listFiles(wasm.outDir));
  for (const file of files.filter((f) => f.endsWith('.png'))) {
    const [a, b] = [await sharp(join(onnx.outDir, file)).metadata(), await sharp(join(wasm.outDir, file)).metadata()];
    assert.deepEqual([a.width, a.height], [b.width, b.height], file);
  }
  for (const csv of csvFiles) assertRowsClose(readCsv(join(onnx.outDir, csv)), readCsv(join(wasm.outDir, csv)), csv);
}

test('occlusion on onnx: the rows, cells.csv, summary.json and pictures of wasm, within 1e-5; onnx recorded', async () => {
  const args = ['--split', 'val', '--limit', '2', '--size', '16', '--stride', '8', '--fill', 'grey', '--batch-size', '12'];
  const tables = {
    images: 'SELECT image_key, image_id, label, layer, unit, unit_y, unit_x, unit_activation, unit_sum, true_prob, top_class, top_prob, rows, cols FROM occlusion_images WHERE run_id = ? ORDER BY image_key',
    cells: 'SELECT image_key, row, col, x_px, y_px, width_px, height_px, feature_sum, true_prob, top_class, top_prob FROM occlusion_cells WHERE run_id = ? ORDER BY image_key, row, col',
  };
  const [onnx, wasm] = [runPass('occlusion', 'onnx', args, tables), runPass('occlusion', 'wasm', args, tables)];
  assertRowsClose(onnx.tables['images']!, wasm.tables['images']!, 'occlusion_images');
  assertRowsClose(onnx.tables['cells']!, wasm.tables['cells']!, 'occlusion_cells');
  assert.equal(onnx.tables['cells']!.length, 2 * 64);
  await assertSameOutputs(onnx, wasm, ['cells.csv']);
  const summary = (pass: Pass): Row[] => (JSON.parse(readFileSync(join(pass.outDir, 'summary.json'), 'utf8')) as { images: Row[] }).images
    .map(({ files, minAt, ...rest }) => ({ ...rest, minAt: JSON.stringify(minAt), files: (files as string[]).map((f) => relative(pass.outDir, f)).join(' ') }));
  assertRowsClose(summary(onnx), summary(wasm), 'summary.json');
});

test('invariance on onnx: the rows and measures.csv of wasm within 1e-5, the same nine charts and grid; onnx recorded', async () => {
  const args = ['--split', 'val', '--limit', '2', '--translate', '-6:6:6', '--scale', '1:1.4:0.4', '--rotate', '0:90:90', '--batch-size', '3'];
  const tables = {
    measures: 'SELECT image_key, transform, amount, layer1_distance, layer1_normalised, layer7_distance, layer7_normalised, true_prob, top_class FROM invariance_measures WHERE run_id = ? ORDER BY image_key, transform, amount',
  };
  const [onnx, wasm] = [runPass('invariance', 'onnx', args, tables), runPass('invariance', 'wasm', args, tables)];
  assertRowsClose(onnx.tables['measures']!, wasm.tables['measures']!, 'invariance_measures');
  assert.equal(onnx.tables['measures']!.length, 2 * 7);
  assert.ok(onnx.tables['measures']!.some((r) => (r['layer1_normalised'] as number) > 0.01), 'some copies move away from the original');
  await assertSameOutputs(onnx, wasm, ['measures.csv']);
});

test('correspondence on onnx: Delta_l per part and layer, every pair and summary.csv of wasm within 1e-5; onnx recorded', async () => {
  const images = readdirSync(join(data, 'val'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && /\.(png|jpe?g)$/i.test(e.name)).slice(0, 3)
    .map((e) => join((e as { parentPath?: string }).parentPath ?? e.path, e.name));
  const maskFile = join(dir, 'masks.json');
  writeFileSync(maskFile, JSON.stringify({ boxSpace: 'input', images: images.map((path) => ({ path, parts: { centre: [24, 24, 16, 16], corner: [0, 0, 20, 20] } })) }));
  const args = ['--mask-boxes', maskFile, '--draws', '3', '--batch-size', '4'];
  const tables = {
    summary: 'SELECT part, layer, delta_sum, delta_mean, delta_std, pairs FROM correspondence_summary WHERE run_id = ? ORDER BY layer, part',
    pairs: 'SELECT part, draw, layer, image_i, image_j, hamming FROM correspondence_pairs WHERE run_id = ? ORDER BY layer, part, draw, image_i, image_j',
  };
  const [onnx, wasm] = [runPass('correspondence', 'onnx', args, tables), runPass('correspondence', 'wasm', args, tables)];
  assertRowsClose(onnx.tables['summary']!, wasm.tables['summary']!, 'correspondence_summary');
  assertRowsClose(onnx.tables['pairs']!, wasm.tables['pairs']!, 'correspondence_pairs');
  assert.ok(onnx.tables['summary']!.every((r) => (r['delta_sum'] as number) > 0), 'every mask changes some signs');
  await assertSameOutputs(onnx, wasm, ['summary.csv']);
});
