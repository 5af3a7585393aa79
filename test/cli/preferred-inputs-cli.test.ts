/**
 * run-pipeline preferred-inputs end to end: over a top-activations run of
 * zfnet-tiny (its top-1 measured by the same graph as the stored value),
 * over an imported AlexNet-shaped model by name; killed with SIGKILL and
 * rerun, the same rows and files as an uninterrupted run; the same --seed
 * the same images; bad layers, units and a tfjs engine refused in one line
 * (exit 2) with no run left behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { readNpyValues, writeNarrowOnnx } from '../pipelines/imported-models-fixture.js';
import { writeTinyDataset } from '../pipelines/top-activations-fixture.js';
import { CLI_PATH, runCli } from './run-cli.js';

let dir = '';
let db = '';
let runId = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'preferred-inputs-cli-'));
  db = join(dir, 'store.db');
  await writeTinyDataset(join(dir, 'data'), { classes: 3, perClass: 4, sizePx: 72 });
  const pass = runCli(['top-activations', '--model', 'zfnet-tiny', '--top-k', '4', '--data', join(dir, 'data'), '--db', db, '--workers', '1']);
  assert.equal(pass.status, 0, pass.stderr);
  runId = /finished run (top-activations-\S+):/.exec(pass.stderr)![1]!;
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Row { unit: number; activation: number; top1_stored: number | null; top1_activation: number | null; ratio: number | null; reached: number | null; final_objective: number; start_objective: number; npy: string; png: string; field_png: string | null }

function readRows(runIdOf: string): Row[] {
  const store = new Database(db, { readonly: true });
  try {
    return store.prepare('SELECT * FROM preferred_inputs WHERE run_id = ? ORDER BY layer, unit').all(runIdOf) as Row[];
  } finally {
    store.close();
  }
}

function countRows(): number {
  if (!existsSync(db)) return 0;
  const store = new Database(db, { readonly: true });
  try {
    return store.prepare("SELECT COUNT(*) FROM preferred_inputs p JOIN runs r ON r.id = p.run_id WHERE r.status != 'finished'").pluck().get() as number;
  } finally {
    store.close();
  }
}

const runOf = (stdout: string): string => /^preferred-inputs (preferred-inputs-\S+):/.exec(stdout)![1]!;

describe('run-pipeline preferred-inputs', () => {
  it('optimises units of a top-activations run, measures them against their top-1 with the same graph, and writes PNG, field PNG and .npy', () => {
    const out = join(dir, 'first');
    const result = runCli(['preferred-inputs', '--run', runId, '--layers', 'conv2', '--units', '0-3', '--steps', '12', '--batch-size', '2', '--workers', '1', '--db', db, '--out', out]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^preferred-inputs preferred-inputs-\S+: 4 units \(4 optimised now\), \d of \d live units reach their top-1 dataset activation; open .*index\.html\n$/);
    assert.match(result.stderr, /4 units of conv2, centre cell \(before the ReLU\), 12 steps, Adam lr 0\.05; Fourier parameterisation, decorrelated colour/);
    const rows = readRows(runOf(result.stdout));
    assert.deepEqual(rows.map((r) => r.unit), [0, 1, 2, 3]);
    for (const row of rows) {
      assert.ok(row.top1_stored !== null && row.top1_activation !== null && Math.abs(row.top1_activation - row.top1_stored) <= 1e-3 * Math.abs(row.top1_stored) + 1e-6, `unit ${row.unit}: top-1 recomputed`);
      if (row.ratio !== null) assert.ok(Math.abs(row.ratio - row.activation / row.top1_activation!) < 1e-9 && row.reached === (row.ratio >= 1 ? 1 : 0));
      assert.ok(row.final_objective > row.start_objective, `unit ${row.unit}: the objective rose`);
      for (const file of [row.png, row.field_png!, row.npy]) assert.ok(file.startsWith(out) && existsSync(file), file);
      assert.equal(readNpyValues(row.npy).length, 64 * 64 * 3);
    }
    for (const file of ['index.html', 'conv2/sheet-01.png']) assert.ok(existsSync(join(out, file)), file);
    assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /live units \(\d+\.\d%\) reach their top-1 dataset activation/);
    // mosaics of the same run show each unit's preferred input on its page and a row of them on the index
    const mosaics = join(dir, 'mosaics');
    const drawn = runCli(['mosaics', '--run', runId, '--layers', 'conv2', '--units', '0-4', '--workers', '1', '--db', db, '--out', mosaics]);
    assert.equal(drawn.status, 0, drawn.stderr);
    const unitPage = readFileSync(join(mosaics, 'conv2', 'unit-0001.html'), 'utf8');
    assert.match(unitPage, /<img src="\.\.\/\.\.\/first\/conv2\/unit-0001-field\.png" height="160" alt="preferred input of unit 1"><figcaption>preferred input \(preferred-inputs-\S+\): activation [0-9.e+-]+(, top-1 [0-9.e+-]+, ratio \d+\.\d\d)?<\/figcaption>/);
    assert.doesNotMatch(readFileSync(join(mosaics, 'conv2', 'unit-0004.html'), 'utf8'), /preferred input/);
    assert.match(readFileSync(join(mosaics, 'index.html'), 'utf8'), /<p>preferred inputs: (<a href="\.\.\/first\/conv2\/unit-000\d-field\.png"><img [^>]+><\/a> ?){4}<\/p>/);
    // the report shows the layer's first units' preferred inputs, linked to the files
    const report = runCli(['report', '--run', runId, '--db', db, '--out', join(dir, 'report-root')]);
    const reportDir = join(dir, 'report-root', 'reports', runId);
    assert.equal(report.status, 0, report.stderr);
    const html = readFileSync(join(reportDir, 'index.html'), 'utf8');
    assert.match(html, /Preferred inputs of the first units \(run-pipeline preferred-inputs, run preferred-inputs-\S+\)/);
    const links = [...html.matchAll(/<figure><a href="([^"]*unit-000(\d)-field\.png)"/g)];
    assert.deepEqual(links.map((m) => m[2]), ['0', '1', '2', '3']);
    for (const [, href] of links) assert.ok(existsSync(join(reportDir, href!)), href);
  });

  it('killed with SIGKILL, a rerun of the same command ends with the rows and files of an uninterrupted run (same --seed, same images)', async () => {
    const args = (out: string): string[] => ['preferred-inputs', '--run', runId, '--layers', 'conv5', '--units', '0-5', '--steps', '40', '--batch-size', '1', '--workers', '1', '--seed', '7', '--db', db, '--out', out];
    const whole = runCli(args(join(dir, 'whole')));
    assert.equal(whole.status, 0, whole.stderr);
    const killed = join(dir, 'killed');
    const before = countRows();
    const child = spawn(process.execPath, [CLI_PATH, ...args(killed)], { stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let outcome: { code: number | null; signal: string | null } | null = null;
    void exited.then((o) => { outcome = o; });
    while (outcome === null && countRows() < before + 2) await sleep(20);
    if (outcome === null) child.kill('SIGKILL');
    const ended = await exited;
    assert.equal(ended.signal, 'SIGKILL', `the run ended before the kill: ${JSON.stringify(ended)}`);
    const rerun = runCli(args(killed));
    assert.equal(rerun.status, 0, rerun.stderr);
    const resumed = /: 6 units \((\d) optimised now\)/.exec(rerun.stdout);
    assert.ok(resumed !== null && Number(resumed[1]) >= 1 && Number(resumed[1]) <= 4, `the rerun resumed: ${rerun.stdout}`);
    assert.match(rerun.stderr, /resuming unfinished preferred-inputs run/);
    const [want, got] = [readRows(runOf(whole.stdout)), readRows(runOf(rerun.stdout))];
    assert.deepEqual(got.map((r) => [r.unit, r.activation, r.final_objective, r.ratio]), want.map((r) => [r.unit, r.activation, r.final_objective, r.ratio]));
    want.forEach((row, i) => assert.deepEqual(readNpyValues(got[i]!.npy), readNpyValues(row.npy), row.npy));
  });

  it('optimises an imported AlexNet-shaped model named by --model, its last conv layer by default (no top-1 to compare with)', () => {
    const file = writeNarrowOnnx(dir, 'anet', 'alexnet', 224, 5);
    const imported = runCli(['import', file, '--name', 'anet', '--preset', 'torchvision', '--db', db, '--out', join(dir, 'models')]);
    assert.equal(imported.status, 0, imported.stderr);
    const out = join(dir, 'anet-out');
    // no --layers: the last conv layer, features.10 (AlexNet's conv5)
    const result = runCli(['preferred-inputs', '--model', 'anet', '--units', '0-1', '--steps', '4', '--workers', '1', '--db', db, '--out', out]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /2 units \(2 optimised now\), no top-activations run to compare with/);
    const rows = readRows(runOf(result.stdout));
    assert.deepEqual(rows.map((r) => [r.unit, r.ratio, r.top1_activation]), [[0, null, null], [1, null, null]]);
    assert.equal(rows[1]!.field_png, join(out, 'features.10', 'unit-0001-field.png'));
    assert.ok(existsSync(rows[1]!.field_png!));
  });

  it('refuses an unknown layer, a unit outside the layer and a tfjs engine in one line and nothing else, exit 2, leaving no run', () => {
    const runs = (): number => {
      const store = new Database(db, { readonly: true });
      try {
        return store.prepare("SELECT COUNT(*) FROM runs WHERE kind = 'preferred-inputs'").pluck().get() as number;
      } finally {
        store.close();
      }
    };
    const before = runs();
    const layer = runCli(['preferred-inputs', '--run', runId, '--layers', 'conv9', '--db', db]);
    assert.equal(layer.status, 2);
    assert.match(layer.stderr, /^run-pipeline: Expected layer names, globs or numbers of run top-activations-\S+'s map layers for --layers but received "conv9"; its map layers: 1:conv1, 2:conv2, 3:conv3, 4:conv4, 5:conv5\n$/, 'the refusal alone: no backend or model line before it');
    const unit = runCli(['preferred-inputs', '--run', runId, '--layers', 'conv2', '--units', '3,16', '--db', db]);
    assert.equal(unit.status, 2);
    assert.equal(unit.stderr, 'run-pipeline: Expected units between 0 and 15 of conv2 for units but received 16\n');
    const engine = runCli(['preferred-inputs', '--run', runId, '--backend', 'wasm', '--db', db]);
    assert.equal(engine.status, 2);
    assert.equal(engine.stderr, 'run-pipeline: preferred-inputs runs on the onnx engine only (the exact input gradient is an onnxruntime graph); expected --backend auto or onnx but received wasm\n');
    const both = runCli(['preferred-inputs', '--run', runId, '--model', 'anet', '--db', db]);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /not both: a run names its own model/);
    assert.equal(runs(), before);
  });
});
