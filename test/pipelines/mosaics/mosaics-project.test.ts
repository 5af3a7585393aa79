import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { runProject, type ProjectOptions } from '../../../pipelines/mosaics/project.js';
import { initBackend } from '../../../src/backend/select-backend.js';
import { parseCell } from '../../../src/cli/commands/project.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { writeTinyDataset } from '../top-activations-fixture.js';

let dir: string;
let db: Store;
const quiet = (): void => {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'project-'));
  await writeTinyDataset(join(dir, 'data'), { classes: 2, perClass: 2, sizePx: 72 });
  db = openStore(join(dir, 'store.db'));
  await initBackend('wasm', { log: quiet });
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Run ids of experiment sessions have one-second resolution (pipelines/shared/experiment-session.ts),
 * so two runs in one second collide; each run here starts in its own second.
 */
async function nextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
}

function projectOptions(extra: Partial<ProjectOptions>): ProjectOptions {
  return {
    db, data: join(dir, 'data'), model: 'zfnet-tiny', seed: 2, backend: 'wasm', log: quiet,
    image: { paths: [join(dir, 'data', 'val', 'class01', 'img001.png')] }, layer: 2, unit: 3, outDir: join(dir, 'out'), ...extra,
  };
}

test('project writes the projection (PNG, raw .npy) beside the patch under the clipped receptive field', async () => {
  const start = tf.memory().numTensors;
  await nextSecond();
  const strongest = await runProject(projectOptions({}));
  await nextSecond();
  const atCorner = await runProject(projectOptions({ at: [0, 0] }));
  assert.equal(tf.memory().numTensors, start);
  assert.ok(strongest.activation >= atCorner.activation);
  // zfnet-tiny conv2 cell (0, 0): receptive field 27 px from -1, clipped to rows/cols 0..25
  const summary = JSON.parse(readFileSync(atCorner.files[3]!, 'utf8')) as { receptiveField: unknown; at: number[] };
  assert.deepEqual(summary.receptiveField, { top: 0, left: 0, heightPx: 26, widthPx: 26 });
  assert.deepEqual(summary.at, [0, 0]);
  const npy = readFileSync(atCorner.files[1]!);
  assert.ok(npy.toString('latin1', 0, 128).includes("'shape': (26, 26, 3)"));
  const patch = await sharp(atCorner.files[2]!).metadata();
  assert.deepEqual([patch.width, patch.height], [26, 26]);
});

test('project rejects cells outside the layer and bad --at values with their names', async () => {
  await nextSecond();
  await assert.rejects(runProject(projectOptions({ at: [40, 0] })), { message: 'Expected --at inside the 6x6 grid of conv2 but received 40,0' });
  await nextSecond();
  await assert.rejects(runProject(projectOptions({ unit: 99 })), { message: 'Expected unit between 0 and 15 of conv2 but received 99' });
  assert.throws(() => parseCell('3;4'), { message: 'Expected a cell like 5,7 (row,column on the layer grid) for at but received "3;4"' });
});

test('project on onnx writes the same projection as on tfjs (one interface, engine from --backend)', async () => {
  await nextSecond();
  const onTfjs = await runProject(projectOptions({ outDir: join(dir, 'out-tfjs') }));
  await nextSecond();
  const onOnnx = await runProject(projectOptions({ backend: 'onnx', outDir: join(dir, 'out-onnx') }));
  assert.ok(onTfjs.activation > 0, `the fixture must fire: ${onTfjs.activation}`);
  assert.ok(Math.abs(onOnnx.activation - onTfjs.activation) <= 1e-4 * Math.abs(onTfjs.activation) + 1e-9);
  const values = (file: string): Float32Array => {
    const bytes = readFileSync(file);
    const start = 10 + bytes.readUInt16LE(8);
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  };
  const [a, b] = [values(onOnnx.files[1]!), values(onTfjs.files[1]!)];
  const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(scale > 0);
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= 1e-3 * scale + 1e-12, `value ${i}: ${v} vs ${b[i]}`));
  const summary = JSON.parse(readFileSync(onOnnx.files[3]!, 'utf8')) as { deconvnetEngine: string };
  assert.match(summary.deconvnetEngine, /^onnx \(onnxruntime-node /);
});
