/**
 * A usage error comes alone (issue 22, item 6): top-activations checks
 * --layers against the model before it says anything about the engine, the
 * dataset or the model's weights and mean image.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTempDir, writeFolderTree } from '../data/fixtures.js';
import { runCli } from './run-cli.js';

let tmp: ReturnType<typeof makeTempDir>;
let data: string;

before(async () => {
  tmp = makeTempDir('zfnet-refusals-');
  data = join(tmp.dir, 'data');
  await writeFolderTree(data, { train: { a: 2, b: 2 }, val: { a: 1, b: 1 } });
});
after(() => tmp.cleanup());

test('top-activations refuses a layer the model lacks in one line: no backend, warning or mean-image line before it', () => {
  for (const backend of ['onnx', 'wasm']) {
    const refused = runCli(['top-activations', '--model', 'zfnet-tiny', '--data', data, '--db', join(tmp.dir, `${backend}.db`), '--split', 'val', '--layers', '9', '--backend', backend]);
    assert.equal(refused.status, 2, refused.stderr);
    assert.equal(refused.stderr, 'run-pipeline: Expected layer names, globs or numbers of zfnet-tiny\'s map layers for --layers but received "9"; '
      + 'its map layers: 1:conv1, 2:conv2, 3:conv3, 4:conv4, 5:conv5\n', backend);
  }
  // With a good --layers the held lines come, in their order, before the pass.
  const ran = runCli(['top-activations', '--model', 'zfnet-tiny', '--data', data, '--db', join(tmp.dir, 'ok.db'), '--split', 'val', '--layers', '1', '--backend', 'onnx']);
  assert.equal(ran.status, 0, ran.stderr);
  const lines = ran.stderr.split('\n');
  assert.match(lines[0]!, /^backend: onnx \(/);
  assert.match(lines[1]!, /^WARNING: no --checkpoint given/);
  assert.ok(lines.findIndex((l) => l.startsWith('mean image: ')) < lines.findIndex((l) => l.startsWith('started run ')), ran.stderr);
});
