/**
 * What the user sees when a model cannot be imported or used, through the
 * CLI: an unsupported op (the op, the node and the supported list; nothing
 * stored), a file that is no model, and an imported model whose converted
 * file went missing or changed (refused by info and the analysis commands
 * alike, naming the model and how to import it again); and what `info`
 * lists: every layer with its number, units and receptive field.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SUPPORTED_ONNX_OPS } from '../../src/import/onnx-import.js';
import { encodeOnnxModel } from '../../src/onnx/onnx-codec.js';
import { makeNode } from '../../src/onnx/onnx-values.js';
import { tf2onnxStyleModel, torchStyleModel } from '../import/onnx-fixtures.js';
import { writeTinyDataset } from '../pipelines/top-activations-fixture.js';
import { runCli } from './run-cli.js';
import { escapeRegExp } from '../data/fixtures.js';

let dir = '';
let db = '';
let models = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'import-refusals-'));
  db = join(dir, 'store.db');
  models = join(dir, 'models');
  await writeTinyDataset(join(dir, 'data'), { classes: 1, perClass: 1, sizePx: 40 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const modelPathOf = (name: string): string => {
  const store = new Database(db, { readonly: true });
  try {
    return store.prepare('SELECT model_path FROM imported_models WHERE name = ?').pluck().get(name) as string;
  } finally {
    store.close();
  }
};

describe('import and use refusals', () => {
  it('refuses an unsupported op naming the op, the node and the supported ops, and stores nothing', () => {
    const model = torchStyleModel();
    model.graph.node![1] = makeNode('Sigmoid', '/act/Sigmoid', ['/conv1/Conv_output_0'], ['/relu/Relu_output_0']);
    const file = join(dir, 'sigmoid.onnx');
    writeFileSync(file, encodeOnnxModel(model));
    const refused = runCli(['import', file, '--db', join(dir, 'refused.db'), '--out', join(dir, 'refused-models')]);
    assert.deepEqual([refused.status, refused.stderr], [2, `run-pipeline: ONNX model ${file}: node "/act/Sigmoid" (Sigmoid) is not supported; supported ops: ${SUPPORTED_ONNX_OPS.join(', ')}\n`]);
    assert.ok(!existsSync(join(dir, 'refused-models')) || readdirSync(join(dir, 'refused-models')).length === 0);
    if (existsSync(join(dir, 'refused.db'))) {
      const store = new Database(join(dir, 'refused.db'), { readonly: true });
      assert.equal(store.prepare('SELECT COUNT(*) FROM imported_models').pluck().get(), 0);
      store.close();
    }
    const text = join(dir, 'notes.onnx');
    writeFileSync(text, 'not a model\n');
    const unreadable = runCli(['import', text, '--db', join(dir, 'refused.db'), '--out', join(dir, 'refused-models')]);
    assert.equal(unreadable.status, 2);
    assert.match(unreadable.stderr, new RegExp(`^run-pipeline: ${escapeRegExp(text)} is not a readable ONNX model: .+\n$`));
  });

  it('info lists every layer with its number, kind, units and receptive field (table and JSON)', () => {
    writeFileSync(join(dir, 'keras.onnx'), encodeOnnxModel(tf2onnxStyleModel()));
    assert.equal(runCli(['import', join(dir, 'keras.onnx'), '--name', 'keras', '--db', db, '--out', models]).status, 0);
    const info = runCli(['info', '--model', 'keras', '--db', db]);
    assert.equal(info.status, 0, info.stderr);
    const table = info.stdout.split('\n').filter((line) => /^ *(#|\d+)  /.test(line));
    assert.deepEqual(table.map((line) => line.trim().split(/\s+/).slice(0, 3)), [
      ['#', 'layer', 'kind'], ['1', 'conv2d', 'conv'], ['2', 'max_pooling2d', 'pool'], ['3', 'dense', 'logits'], ['4', 'probs', 'probs'],
    ]);
    const json = JSON.parse(runCli(['info', '--model', 'keras', '--db', db, '--json']).stdout) as { layers: Array<{ number: number; name: string; units: number; receptiveFieldPx: number[] | null }> };
    assert.deepEqual(json.layers.map((l) => [l.number, l.name, l.units, l.receptiveFieldPx]), [[1, 'conv2d', 6, [3, 3]], [2, 'max_pooling2d', 6, [5, 5]], [3, 'dense', 4, null], [4, 'probs', 4, null]]);
  });

  it('a converted file changed or missing since the import is refused by info and the analysis commands, naming the model', () => {
    writeFileSync(join(dir, 'torch.onnx'), encodeOnnxModel(torchStyleModel()));
    assert.equal(runCli(['import', join(dir, 'torch.onnx'), '--name', 'other', '--db', db, '--out', models]).status, 0);
    const path = modelPathOf('keras');
    const source = join(dir, 'keras.onnx');
    copyFileSync(modelPathOf('other'), path);
    const image = join(dir, 'data', 'val', 'class00', 'img000.png');
    const changed = new RegExp(`^run-pipeline: Model file ${escapeRegExp(path)} of imported model keras changed since it was imported \\(sha256 [0-9a-f]{64}, recorded [0-9a-f]{64}\\); import ${escapeRegExp(source)} again\n$`);
    for (const args of [['info', '--model', 'keras'], ['activations', '--model', 'keras', '--image', image, '--out', join(dir, 'act')]]) {
      const refused = runCli([...args, '--db', db]);
      assert.equal(refused.status, 2, args[0]);
      assert.match(refused.stderr, changed, args[0]);
    }
    rmSync(path);
    const missing = `run-pipeline: Imported model keras: Model file ${path} does not exist; import ${source} again (run-pipeline import ... --name keras)\n`;
    for (const args of [['info', '--model', 'keras'], ['top-activations', '--model', 'keras', '--data', join(dir, 'data')]]) {
      const refused = runCli([...args, '--db', db]);
      assert.deepEqual([refused.status, refused.stderr.split('\n').filter((l) => l.startsWith('run-pipeline:')).join('\n') + '\n'], [2, missing], args[0]);
    }
  });
});
