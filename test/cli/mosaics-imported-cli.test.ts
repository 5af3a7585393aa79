/**
 * End to end through the CLI on an imported model: import (ONNX written by
 * the project's builder) -> top-activations --model NAME --layers by name ->
 * mosaics --method guided into its default folder; a mosaics process killed
 * with SIGKILL and rerun ends with exactly the files of an uninterrupted run;
 * bad --layers and --method values give one line and exit 2.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { readNpyValues, writeNarrowOnnx } from '../pipelines/imported-models-fixture.js';
import { writeTinyDataset } from '../pipelines/top-activations-fixture.js';
import { CLI_PATH, runCli } from './run-cli.js';

let dir = '';
let db = '';
let runId = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mosaics-imported-cli-'));
  db = join(dir, 'store.db');
  await writeTinyDataset(join(dir, 'data'), { classes: 3, perClass: 4, sizePx: 80 });
  const file = writeNarrowOnnx(dir, 'r18', 'resnet18', 64, 8);
  const imported = runCli(['import', file, '--name', 'r18', '--preset', 'torchvision', '--db', db, '--out', join(dir, 'models')]);
  assert.equal(imported.status, 0, imported.stderr);
  const pass = runCli(['top-activations', '--model', 'r18', '--layers', 'conv1,layer2.0,layer3.*', '--top-k', '4', '--data', join(dir, 'data'), '--db', db, '--workers', '1']);
  assert.equal(pass.status, 0, pass.stderr);
  runId = /finished run (top-activations-\S+):/.exec(pass.stderr)![1]!;
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The .npy values under a mosaics folder, by relative path. */
function readAll(root: string): Map<string, Float32Array> {
  const found = new Map<string, Float32Array>();
  for (const layer of readdirSync(root).filter((d) => !d.endsWith('.html'))) {
    for (const f of readdirSync(join(root, layer, 'units')).filter((n) => n.endsWith('.npy'))) found.set(`${layer}/${f}`, readNpyValues(join(root, layer, 'units', f)));
  }
  return found;
}

describe('run-pipeline mosaics on an imported model', () => {
  it('draws guided projections of the named layers into out/mosaics/<run>-guided and reuses them on a rerun', () => {
    const cwd = join(dir, 'work');
    mkdirSync(cwd, { recursive: true });
    const args = ['mosaics', '--layers', 'conv1,layer2.0', '--method', 'guided', '--db', db, '--workers', '2'];
    const first = runCli(args, {}, cwd);
    assert.equal(first.status, 0, first.stderr);
    const out = `out/mosaics/${runId}-guided`;
    assert.equal(first.stdout, `mosaics of ${runId} (guided): ${(4 + 8) * 4} projections, 12 units, 2 sheets; open ${out}/index.html\n`);
    assert.match(first.stderr, /mosaics of top-activations-\S+ \(imported model r18 \(onnx, sha256 [0-9a-f]{12}\)\) into out\/mosaics\/\S+-guided; guided: onnx \(onnxruntime-node [^)]*2 worker threads x 1-thread sessions; guided through the graph's rules, full frame\)/);
    for (const file of ['index.html', 'conv1/filters.png', 'conv1/sheet-01.png', 'layer2.0/sheet-01.png', 'layer2.0/unit-0007.html', 'layer2.0/units/unit-0007-rank3.npy']) {
      assert.ok(existsSync(join(cwd, out, file)), file);
    }
    const again = runCli(args, {}, cwd);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /12 units \(12 already drawn by an earlier call with the same run, weights and method; reused\)/);
  });

  it('killed with SIGKILL, a rerun of the same command ends with the files of an uninterrupted run', async () => {
    const args = (out: string): string[] => ['mosaics', '--run', runId, '--method', 'gradient', '--batch-size', '4', '--workers', '1', '--db', db, '--out', out];
    const whole = runCli(args(join(dir, 'whole')));
    assert.equal(whole.status, 0, whole.stderr);
    const killed = join(dir, 'killed');
    const child = spawn(process.execPath, [CLI_PATH, ...args(killed)], { stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let outcome: { code: number | null; signal: string | null } | null = null;
    void exited.then((o) => { outcome = o; });
    const pages = (): number => (existsSync(join(killed, 'layer3.0')) ? readdirSync(join(killed, 'layer3.0')).filter((f) => f.endsWith('.html')).length : 0);
    while (outcome === null && pages() < 3) await sleep(5);
    if (outcome === null) child.kill('SIGKILL');
    const ended = await exited;
    // A run that finished before the kill would leave nothing to resume: the test would prove nothing.
    assert.equal(ended.signal, 'SIGKILL', `the mosaics process ended before the kill: ${JSON.stringify(ended)}`);
    const units = 4 + 8 + 16 * 7;
    const rerun = runCli(args(killed));
    assert.equal(rerun.status, 0, rerun.stderr);
    // The rerun kept the units the killed process drew (its projection count is the whole output's).
    const resumed = /: (\d+) projections, (\d+) units \((\d+) already drawn by an earlier call with the same run, weights and method; reused\)/.exec(rerun.stdout);
    assert.ok(resumed !== null, `the rerun did not resume: ${rerun.stdout}`);
    const [projections, total, kept] = resumed.slice(1).map(Number) as [number, number, number];
    assert.equal(total, units);
    assert.ok(kept >= 3 && kept < units, `${kept} of ${units} units kept`);
    assert.equal(projections, units * 4);
    assert.match(rerun.stderr, new RegExp(`\\n${kept} units already drawn from the same run, weights and method are kept\\n`));
    const [want, got] = [readAll(join(dir, 'whole')), readAll(killed)];
    assert.equal(want.size, units * 4);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [file, values] of want) assert.deepEqual(got.get(file), values, file);
  });

  it('names a bad layer and a bad method in one line, exit 2', () => {
    const layer = runCli(['mosaics', '--run', runId, '--layers', 'layer9', '--db', db, '--out', join(dir, 'bad')]);
    assert.equal(layer.status, 2);
    assert.match(layer.stderr, /^run-pipeline: Expected layer names, globs or numbers of run top-activations-\S+'s map layers for --layers but received "layer9"; its map layers: 1:conv1, 12:layer2\.0, 16:layer3\.0\.conv1, 17:layer3\.0\.conv2, 18:layer3\.0\.downsample\.0, 19:layer3\.0, 20:layer3\.1\.conv1, 21:layer3\.1\.conv2, 22:layer3\.1\n$/m);
    assert.equal(layer.stderr.split('\n').filter((l) => l.startsWith('run-pipeline:')).length, 1);
    const method = runCli(['mosaics', '--run', runId, '--method', 'saliency', '--db', db]);
    assert.equal(method.status, 2);
    assert.equal(method.stderr, 'run-pipeline: Expected one of deconvnet, guided, gradient for method but received "saliency"\n');
  });
});
