/**
 * What a new user reads from the CLI (issue 22): refusals that come before
 * any engine starts, a refused import that says what import reads, and the
 * query commands' tables in the one vocabulary (class names with their ids,
 * ranks 1-9). The store is the explorer's fixture (two zfnet-tiny runs).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { IMPORT_FORMATS_HINT } from '../../pipelines/import/import-model.js';
import { writeServeFixture, type ServeFixture } from '../serve/serve-fixture.js';
import { runCli } from './run-cli.js';

let dir = '';
let fixture: ServeFixture;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'first-hour-cli-'));
  fixture = await writeServeFixture(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('mosaics refuses a layer the run lacks before an engine starts: one line, no backend or mean-image line', () => {
  const [, runId] = fixture.runIds;
  const refused = runCli(['mosaics', '--db', fixture.dbPath, '--run', runId, '--layers', '9', '--backend', 'wasm'], {}, dir);
  assert.equal(refused.status, 2);
  assert.equal(refused.stderr, `run-pipeline: Expected layer names, globs or numbers of run ${runId}'s map layers for --layers but received "9"; `
    + 'its map layers: 1:conv1, 2:conv2, 3:conv3, 4:conv4, 5:conv5\n');
});

test('./run-pipeline in the checkout starts the built CLI directly (npx installs the checkout into its cache on its first call)', () => {
  const launcher = fileURLToPath(new URL('../../../run-pipeline', import.meta.url));
  const direct = spawnSync(launcher, ['models'], { encoding: 'utf8' });
  assert.equal(direct.status, 0, direct.stderr);
  assert.equal(direct.stdout, runCli(['models']).stdout);
  assert.match(direct.stdout, /^zfnet-small +112px/m);
});

test('mosaics refuses units a layer lacks before an engine starts', () => {
  const [, runId] = fixture.runIds;
  const refused = runCli(['mosaics', '--db', fixture.dbPath, '--run', runId, '--layers', '1', '--units', '99-200', '--backend', 'wasm'], {}, dir);
  assert.equal(refused.status, 2);
  assert.equal(refused.stderr, 'run-pipeline: Expected units between 0 and 7 of conv1 for units but received 99\n');
});

test('import of a file that is no model says what import reads, state_dicts and --arch included', () => {
  const file = join(dir, 'passwd');
  writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\n');
  const refused = runCli(['import', file, '--db', join(dir, 'import.db'), '--out', join(dir, 'models')], {}, dir);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^run-pipeline: \S+ is not a readable ONNX model: .+\. run-pipeline import reads an ONNX file/);
  assert.ok(refused.stderr.endsWith(`. ${IMPORT_FORMATS_HINT}\n`), refused.stderr);
  assert.equal(IMPORT_FORMATS_HINT, 'run-pipeline import reads an ONNX file (torch.onnx.export, tf2onnx) or a safetensors file: a checkpoint of this project, '
    + 'or a torchvision state_dict with --arch (alexnet, vgg11, vgg16, vgg16_bn, resnet18, resnet50); save a PyTorch state_dict as safetensors first '
    + '(safetensors.torch.save_file(model.state_dict(), "model.safetensors"))');
});
