/**
 * The query commands on a run over an imported model, through the CLI:
 * `units` and `top` take a layer by its own name or its number and say both
 * in their JSON, a layer the run did not analyse is refused with the run's
 * layers, and `activations --model NAME` writes the named layers, whose
 * maxima are the stored top-1 values.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeOnnxModel } from '../../src/onnx/onnx-codec.js';
import { tf2onnxStyleModel } from '../import/onnx-fixtures.js';
import { readNpy } from '../pipelines/npy-reader.js';
import { writeTinyDataset } from '../pipelines/top-activations-fixture.js';
import { runCli } from './run-cli.js';
import { writeNarrowOnnx } from '../pipelines/imported-models-fixture.js';

let dir = '';
let data = '';
let db = '';
let runId = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imported-queries-'));
  data = join(dir, 'data');
  db = join(dir, 'store.db');
  await writeTinyDataset(data, { classes: 2, perClass: 4, sizePx: 80 });
  writeNarrowOnnx(dir, 'r18', 'resnet18', 64, 7, 2);
  const imported = runCli(['import', join(dir, 'r18.onnx'), '--name', 'r18', '--preset', 'torchvision', '--db', db, '--out', join(dir, 'models')]);
  assert.equal(imported.status, 0, imported.stderr);
  const pass = runCli(['top-activations', '--data', data, '--db', db, '--model', 'r18', '--layers', 'conv1,layer1.0,layer4.1', '--top-k', '3', '--workers', '1']);
  assert.equal(pass.status, 0, pass.stderr);
  runId = /^finished run (\S+):/m.exec(pass.stderr)![1]!;
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('units, top and activations on an imported model', () => {
  it('units takes a layer by name or number: the same table, and JSON with the number and the name', () => {
    const byName = runCli(['units', '--db', db, '--layer', 'layer1.0']);
    assert.equal(byName.status, 0, byName.stderr);
    assert.match(byName.stdout.split('\n')[0]!, new RegExp(`^run ${runId} layer1\\.0: 4 units, 8 images$`));
    assert.equal(byName.stdout.trimEnd().split('\n').length, 2 + 4);
    assert.equal(runCli(['units', '--db', db, '--layer', '5']).stdout, byName.stdout);
    const json = JSON.parse(runCli(['units', '--db', db, '--run', runId, '--layer', 'layer4.1', '--sort', 'max', '--json']).stdout) as {
      runId: string; layer: number; layerName: string; units: Array<{ unit: number; maxValue: number; imagesSeen: number }>;
    };
    assert.deepEqual([json.runId, json.layer, json.layerName, json.units.length], [runId, 29, 'layer4.1', 32]);
    assert.ok(json.units.every((u, i) => u.imagesSeen === 8 && (i === 0 || json.units[i - 1]!.maxValue >= u.maxValue)));
  });

  it('top takes a layer by name or number and gives the entries of a unit or of every unit', () => {
    const json = JSON.parse(runCli(['top', '--db', db, '--layer', 'conv1', '--unit', '2', '--json']).stdout) as {
      layer: number; layerName: string; entries: Array<{ unit: number; rank: number; value: number; imageId: number; path: string }>;
    };
    assert.deepEqual([json.layer, json.layerName, json.entries.map((e) => [e.unit, e.rank])], [1, 'conv1', [[2, 0], [2, 1], [2, 2]]]);
    assert.ok(json.entries.every((e, i) => e.path.startsWith(join(data, 'val')) && (i === 0 || json.entries[i - 1]!.value >= e.value)));
    const table = runCli(['top', '--db', db, '--layer', '1', '--unit', '2']);
    assert.equal(table.status, 0, table.stderr);
    assert.equal(table.stdout.trimEnd().split('\n').length, 1 + 3);
    assert.ok(table.stdout.includes(String(json.entries[0]!.imageId)));
    const all = JSON.parse(runCli(['top', '--db', db, '--layer', 'layer1.0', '--json']).stdout) as { entries: unknown[] };
    assert.equal(all.entries.length, 4 * 3);
  });

  it("refuses a layer the run did not analyse, listing the run's layers by name and number", () => {
    const expected = `run-pipeline: Run ${runId} analysed conv1 (1), layer1.0 (5), layer4.1 (29); expected one of these names or numbers for --layer but received `;
    for (const [command, value] of [['units', 'layer2.0'], ['top', '3']] as const) {
      const refused = runCli([command, '--db', db, '--layer', value]);
      assert.deepEqual([refused.status, refused.stderr], [2, `${expected}"${value}"\n`], `${command} ${value}`);
    }
    const unit = runCli(['top', '--db', db, '--layer', 'layer1.0', '--unit', '4']);
    assert.deepEqual([unit.status, unit.stderr], [2, 'run-pipeline: Expected integer between 0 and 3 for unit but received "4"\n']);
  });

  it("takes a layer's alias (conv1 of a Keras model's conv2d) and lists aliases in the refusal", () => {
    writeFileSync(join(dir, 'keras.onnx'), encodeOnnxModel(tf2onnxStyleModel()));
    assert.equal(runCli(['import', join(dir, 'keras.onnx'), '--name', 'keras', '--db', db, '--out', join(dir, 'models')]).status, 0);
    const pass = runCli(['top-activations', '--data', data, '--db', db, '--model', 'keras', '--top-k', '2', '--workers', '1']);
    assert.equal(pass.status, 0, pass.stderr);
    const kerasRun = /^finished run (\S+):/m.exec(pass.stderr)![1]!;
    const json = JSON.parse(runCli(['units', '--db', db, '--run', kerasRun, '--layer', 'conv1', '--json']).stdout) as { layer: number; layerName: string; units: unknown[] };
    assert.deepEqual([json.layer, json.layerName, json.units.length], [1, 'conv2d', 6]);
    const refused = runCli(['top', '--db', db, '--run', kerasRun, '--layer', 'conv2']);
    assert.equal(refused.stderr, `run-pipeline: Run ${kerasRun} analysed conv2d (1, conv1); expected one of these names or numbers for --layer but received "conv2"\n`);
  });

  it('activations --model writes the named layers; each unit map\'s maximum on its top-1 image is the stored value', () => {
    const top = JSON.parse(runCli(['top', '--db', db, '--run', runId, '--layer', 'layer4.1', '--unit', '5', '--json']).stdout) as { entries: Array<{ imageId: number; value: number; y: number; x: number }> };
    const entry = top.entries[0]!;
    const out = join(dir, 'act');
    const result = runCli(['activations', '--db', db, '--data', data, '--model', 'r18', '--image-id', String(entry.imageId), '--taps', 'layer4.1,fc', '--out', out]);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), ['input.npy', 'layer4.1.npy', 'fc.npy', 'activations.json'].map((f) => join(out, f)));
    const map = readNpy(join(out, 'layer4.1.npy'));
    assert.deepEqual(map.shape, [1, 32, 2, 2]);
    const cells = map.data.subarray(5 * 4, 6 * 4);
    const best = cells.indexOf(Math.max(...cells));
    assert.ok(Math.abs(cells[best]! - entry.value) <= 1e-5 * Math.max(1, Math.abs(entry.value)), `${cells[best]} vs stored ${entry.value}`);
    assert.deepEqual([Math.floor(best / 2), best % 2], [entry.y, entry.x]);
    assert.deepEqual(readNpy(join(out, 'fc.npy')).shape, [1, 2]);
    const sidecar = JSON.parse(readFileSync(join(out, 'activations.json'), 'utf8')) as { model: string; image: { imageId: number } };
    assert.deepEqual([sidecar.model, sidecar.image.imageId], ['r18', entry.imageId]);
    const refused = runCli(['activations', '--db', db, '--model', 'r18', '--image-id', String(entry.imageId), '--data', data, '--taps', 'layer9', '--out', out]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /^run-pipeline: Expected layer names, globs or numbers of r18's layers for --taps but received "layer9"; its layers: 1:conv1, 2:maxpool, /);
  });
});
