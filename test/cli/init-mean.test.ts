import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readCheckpointFile } from '../../src/checkpoint/checkpoint-file.js';
import { computeSquareSizePx } from '../../src/data/crop-geometry.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { writeTinyDataset } from '../pipelines/top-activations-fixture.js';
import { runCli } from './run-cli.js';

let dir: string;
let data: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'init-mean-'));
  data = join(dir, 'data');
  await writeTinyDataset(data, { classes: 2, perClass: 2 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('init --data writes the store\'s mean of that dataset into the checkpoint, and info shows it; without one it names the command that computes it', () => {
  const db = join(dir, 'store.db');
  const sizePx = computeSquareSizePx(buildModelConfig('zfnet-tiny').inputSizePx);
  const missing = runCli(['init', '--model', 'zfnet-tiny', '--data', data, '--db', db, '--out', join(dir, 'none.safetensors'), '--backend', 'cpu']);
  assert.equal(missing.status, 2, missing.stderr);
  assert.equal(missing.stderr, `run-pipeline: The store has no mean image of ${data} at ${sizePx} px for --data: \`run-pipeline mean --split train --model zfnet-tiny --data ${data}\` computes it\n`);
  const mean = runCli(['mean', '--split', 'val', '--model', 'zfnet-tiny', '--data', data, '--db', db]);
  assert.equal(mean.status, 0, mean.stderr);
  const out = join(dir, 'with.safetensors');
  const init = runCli(['init', '--model', 'zfnet-tiny', '--data', data, '--db', db, '--out', out, '--backend', 'cpu']);
  assert.equal(init.status, 0, init.stderr);
  const carried = readCheckpointFile(out).mean!;
  assert.deepEqual([carried.split, carried.dataset, carried.imageCount, carried.sizePx], ['val', data, 4, sizePx]);
  assert.match(init.stderr, new RegExp(`^init: the checkpoint carries the store's \\(${sizePx} px, val of ${data}, 4 images, 0 skipped; sha256 ${carried.sha256.slice(0, 12)}\\)$`, 'm'));
  const info = runCli(['info', '--checkpoint', out]);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`^mean image  \\(${sizePx} px, val of ${data}, 4 images, 0 skipped; sha256 ${carried.sha256.slice(0, 12)}\\)$`, 'm'));
});
