import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildModelConfig } from '../../src/model/architectures.js';
import { computeGeometry, countParameters } from '../../src/model/geometry.js';
import { COMMAND_NAMES } from '../../src/cli/command-table.js';
import { buildProgram, commandsFor } from '../../src/cli/program.js';
import { runCli } from './run-cli.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'zfnet-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const shaOf = (stdout: string): string => /sha256 ([0-9a-f]{64})/.exec(stdout)?.[1] ?? 'none';

describe('run-pipeline bin', () => {
  it('npx run-pipeline --help lists the commands (the package bin as installed)', () => {
    const result = spawnSync('npx', ['--no-install', 'run-pipeline', '--help'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, result.stderr);
    for (const name of ['models', 'init', 'info']) assert.match(result.stdout, new RegExp(`^  ${name} `, 'm'));
  });

  it('loads only the command a line names; all of them for help or an unknown name, which lists them', async () => {
    assert.deepEqual(commandsFor(['top-activations', '--split', 'val', '--model', 'zfnet']), ['top-activations']);
    assert.deepEqual(commandsFor(['--help']), COMMAND_NAMES);
    assert.deepEqual(commandsFor(['help', 'init']), COMMAND_NAMES);
    assert.deepEqual(commandsFor(['top-activation']), COMMAND_NAMES);
    assert.deepEqual(commandsFor(['constructor']), COMMAND_NAMES, 'only the table\'s own names');
    const one = await buildProgram(['init', '--seed', '2'], 'user');
    assert.deepEqual(one.commands.map((c) => c.name()), ['init']);
    const all = await buildProgram(['node', 'run-pipeline', '--help']);
    assert.deepEqual(all.commands.map((c) => c.name()), COMMAND_NAMES);
    const misspelt = runCli(['top-activation']);
    assert.equal(misspelt.status, 2);
    assert.match(misspelt.stderr, /\(Did you mean top-activations\?\)/);
    assert.match(misspelt.stderr, new RegExp(`^valid commands: ${COMMAND_NAMES.join(', ')}$`, 'm'));
  });

  it('init --help describes every option with its default', () => {
    const { status, stdout } = runCli(['init', '--help']);
    assert.equal(status, 0);
    assert.match(stdout, /--model <name> .*\(default:\s+"zfnet"\)/s);
    assert.match(stdout, /--seed <n> .*\(default:\s+"1"\)/s);
    assert.match(stdout, /--backend <name> .*default:\s+"auto", env:\s+ZFNET_BACKEND/s);
    assert.match(stdout, /--execution-provider <name> .*cpu, webgpu, cuda, tensorrt.*default:\s+"cpu", env:\s+ZFNET_EXECUTION_PROVIDER/s);
    assert.match(stdout, /--num-classes <n> .*1000\s+full\s+size/s);
  });
});

describe('init then info', () => {
  it('writes a seeded checkpoint that info describes, the same on cpu and wasm', () => {
    const file = join(dir, 'a.safetensors');
    const init = runCli(['init', '--model', 'zfnet-tiny', '--num-classes', '3', '--seed', '5', '--out', file, '--backend', 'cpu']);
    assert.equal(init.status, 0, init.stderr);
    assert.equal(init.stderr, 'backend: cpu (plain JavaScript, 1 thread)\n');
    const params = countParameters(buildModelConfig('zfnet-tiny', { numClasses: 3 }));
    assert.match(init.stdout, new RegExp(`^wrote ${file.replace(/[.]/g, '\\.')}: zfnet-tiny, 3 classes, ${params.toLocaleString('en-US')} parameters, seed 5, sha256 [0-9a-f]{64}\\n$`));
    const again = runCli(['init', '--model', 'zfnet-tiny', '--num-classes', '3', '--seed', '5', '--out', join(dir, 'b.safetensors')], { ZFNET_BACKEND: 'wasm' });
    assert.match(again.stderr, /^backend: wasm /);
    assert.equal(shaOf(again.stdout), shaOf(init.stdout));
    const other = runCli(['init', '--model', 'zfnet-tiny', '--num-classes', '3', '--seed', '6', '--out', join(dir, 'c.safetensors'), '--backend', 'cpu']);
    assert.notEqual(shaOf(other.stdout), shaOf(init.stdout));

    const info = runCli(['info', '--checkpoint', file]);
    assert.equal(info.status, 0, info.stderr);
    assert.equal(info.stderr, '');
    assert.match(info.stdout, new RegExp(`sha256 ${shaOf(init.stdout)}`));
    assert.match(info.stdout, new RegExp(`zfnet-tiny: 64x64x3 input, 3 classes, ${params.toLocaleString('en-US')} parameters`));
    assert.match(info.stdout, /^training {4}none \(fresh initialisation\)$/m);
    assert.match(info.stdout, /^conv1 +conv +8 7x7 \/2 pad \[1,1,1,1\] +30x30x8 +1,184 +7 +2$/m);
    assert.match(info.stdout, /^pool1 +maxpool +max 3x3 \/2 ceil pad \[0,1,0,1\] +15x15x8 +- +11 +4$/m);
  });

  it('info --json gives the geometry of every layer', () => {
    const file = join(dir, 'j.safetensors');
    assert.equal(runCli(['init', '--model', 'alexnet-tiny', '--out', file, '--backend', 'cpu']).status, 0);
    const { status, stdout } = runCli(['info', '--checkpoint', file, '--json']);
    assert.equal(status, 0);
    const report = JSON.parse(stdout) as { parameters: number; layers: { name: string; outputShape: number[]; receptiveFieldPx: number | null }[] };
    const config = buildModelConfig('alexnet-tiny');
    assert.equal(report.parameters, countParameters(config));
    assert.deepEqual(report.layers.map((l) => [l.name, l.outputShape, l.receptiveFieldPx]), computeGeometry(config).map((g) => [g.name, g.outputShape, g.receptiveFieldPx]));
  });
});

describe('usage errors: exit 2, one line', () => {
  it('names the bad value', () => {
    const cases: [string[], string][] = [
      [['init', '--model', 'vgg', '--out', join(dir, 'x.safetensors')], 'run-pipeline: Expected one of zfnet, alexnet, zfnet-small, alexnet-small, zfnet-tiny, alexnet-tiny for model but received "vgg"\n'],
      [['init', '--model', 'zfnet-tiny', '--seed', '-1', '--out', join(dir, 'x.safetensors')], 'run-pipeline: Expected integer between 0 and 2147483647 for seed but received "-1"\n'],
      [['init', '--model', 'zfnet-tiny', '--num-classes', '0', '--out', join(dir, 'x.safetensors')], 'run-pipeline: Expected integer between 1 and 100000 for numClasses but received "0"\n'],
      [['info', '--checkpoint', join(dir, 'missing.safetensors')], `run-pipeline: Checkpoint ${join(dir, 'missing.safetensors')} does not exist\n`],
    ];
    for (const [args, stderr] of cases) {
      const result = runCli(args);
      assert.deepEqual([result.status, result.stderr, result.stdout], [2, stderr, ''], args.join(' '));
    }
  });

  it('refuses a truncated or non-safetensors checkpoint, naming the file', () => {
    const file = join(dir, 't.safetensors');
    assert.equal(runCli(['init', '--model', 'zfnet-tiny', '--out', file, '--backend', 'cpu']).status, 0);
    const size = readFileSync(file).byteLength;
    truncateSync(file, size - 4);
    const truncated = runCli(['info', '--checkpoint', file]);
    assert.equal(truncated.status, 2);
    assert.match(truncated.stderr, new RegExp(`^run-pipeline: Checkpoint ${file.replace(/[.]/g, '\\.')} is truncated: tensor fc8\\.bias ends at data byte \\d+ but the file holds \\d+ data bytes\\n$`));
    writeFileSync(file, 'not a checkpoint at all');
    const claimed = Buffer.from('not a ch').readBigUInt64LE(0);
    const garbage = runCli(['info', '--checkpoint', file]);
    assert.deepEqual([garbage.status, garbage.stderr], [2, `run-pipeline: Checkpoint ${file} is truncated: its header claims ${claimed} bytes but the file has 15 after the length\n`]);
  });

  it('rejects a bad choice before doing any work (commander: message, then the help hint)', () => {
    const result = runCli(['init', '--backend', 'gpu', '--out', join(dir, 'x.safetensors')]);
    assert.equal(result.status, 2);
    assert.equal(result.stderr.split('\n')[0], "error: option '--backend <name>' argument 'gpu' is invalid. Allowed choices are auto, onnx, tensorflow, wasm, cpu.");
  });
});
