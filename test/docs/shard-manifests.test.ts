/**
 * The cluster examples under docs/shards/ and the Dockerfile they use.
 * No container engine runs here, so the image is checked for its command
 * structure (PID 1, exec form, built from the repository), and the shard
 * script of the Kubernetes manifest is run for real: as PID 1 of its own PID
 * namespace (as in a container), with a real SIGTERM sent to it, it must make
 * run-pipeline commit, exit 75 (the Job retries the index) and resume to the
 * uninterrupted result when run again.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { CLI_PATH, readTopActivationCommits, runCli } from '../cli/run-cli.js';
import { readRunResults, writeTinyDataset } from '../pipelines/top-activations-fixture.js';
import { escapeRegExp } from '../data/fixtures.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MANIFEST = join(REPO, 'docs', 'shards', 'top-activations-indexed-job.yaml');
const readRepoFile = (...parts: string[]): string => readFileSync(join(REPO, ...parts), 'utf8');

/** The block scalar (`- |`) that follows `marker` in a YAML text, de-indented: the shell script a container runs. */
function extractBlockScalar(yaml: string, marker: string): string {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => l.includes(marker));
  assert.ok(start >= 0, `no ${marker} in the manifest`);
  const bar = lines.findIndex((l, i) => i > start && /^\s*- \|\s*$/.test(l));
  const indentOf = (l: string): number => l.length - l.trimStart().length;
  const body: string[] = [];
  for (const line of lines.slice(bar + 1)) {
    if (line.trim() !== '' && indentOf(line) <= indentOf(lines[bar]!)) break;
    body.push(line);
  }
  const indent = indentOf(body.find((l) => l.trim() !== '')!);
  return body.map((l) => l.slice(indent)).join('\n').trimEnd() + '\n';
}

describe('Dockerfile and manifest structure', () => {
  it('the image builds the project from the repository on Node 24 and runs tini as PID 1, in exec form', () => {
    const dockerfile = readRepoFile('Dockerfile');
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    assert.ok(froms.length >= 2 && froms.every((f) => /^node:24[-.\w]*$/.test(f!)), `stages: ${froms.join(', ')}`);
    const build = dockerfile.slice(0, dockerfile.lastIndexOf('\nFROM '));
    for (const tool of ['python3', 'make', 'g\\+\\+']) assert.match(build, new RegExp(`apt-get install[^\\n]* ${tool}(?=\\s)`), tool);
    assert.match(build, /^RUN npm ci\b/m);
    assert.match(build, /npx tsc -p tsconfig\.json/);
    assert.match(build, /^COPY package\.json package-lock\.json/m);
    assert.doesNotMatch(dockerfile, /npm install -g|npm i -g/);
    const entrypoint = /^ENTRYPOINT (.*)$/m.exec(dockerfile)?.[1];
    assert.deepEqual(JSON.parse(entrypoint ?? 'null'), ['/usr/bin/tini', '--'], 'ENTRYPOINT in exec form: tini is PID 1');
    assert.ok(Array.isArray(JSON.parse(/^CMD (.*)$/m.exec(dockerfile)?.[1] ?? 'null')), 'CMD in exec form');
    assert.match(dockerfile.slice(dockerfile.lastIndexOf('\nFROM ')), /apt-get install[^\n]* tini/);
    const ignored = readRepoFile('.dockerignore').split('\n').map((l) => l.trim());
    for (const path of ['node_modules', 'dist', 'dist-*', 'out', '.git']) assert.ok(ignored.includes(path), `.dockerignore lists ${path}`);
    // npm ci runs the prepare script: every file it runs is copied in before, and let through .dockerignore
    const prepare = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts['prepare']!;
    const beforeInstall = build.slice(0, build.search(/^RUN npm ci\b/m));
    for (const [, file] of prepare.matchAll(/\bnode (\S+)/g)) {
      assert.match(beforeInstall, new RegExp(`^COPY ${escapeRegExp(file!)} `, 'm'), `the build copies ${file} before npm ci`);
      assert.ok(ignored.includes(`!${file}`), `.dockerignore lets ${file} through`);
    }
  });

  it('the Kubernetes manifest uses that image, keeps tini as PID 1 and gives the commit time before SIGKILL', () => {
    const yaml = readFileSync(MANIFEST, 'utf8');
    const code = yaml.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');
    assert.doesNotMatch(code, /npm install/);
    assert.doesNotMatch(code, /^\s*command:/m, 'a `command:` would replace the image\'s ENTRYPOINT (tini)');
    const images = [...code.matchAll(/^\s*image: (\S+)/gm)].map((m) => m[1]);
    assert.equal(images.length, 2);
    assert.ok(images.every((i) => i === images[0] && /zfnet-pipeline:/.test(i!) && !i!.startsWith('node:')), images.join(', '));
    const graces = [...code.matchAll(/terminationGracePeriodSeconds: (\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(graces.length, 2);
    assert.ok(graces.every((s) => s >= 60), `grace periods ${graces.join(', ')} s`);
    assert.match(code, /- exec run-pipeline merge /, 'the merge shell execs run-pipeline');
    const script = extractBlockScalar(yaml, 'name: shard');
    assert.match(script, /trap 'kill -TERM "\$pass"[^']*' TERM/);
  });
});


function readResults(dbPath: string): { status: string; results: unknown } {
  const db = new Database(dbPath, { readonly: true });
  try {
    const run = db.prepare("SELECT id, status FROM runs WHERE kind = 'top-activations'").get() as { id: string; status: string };
    return { status: run.status, results: readRunResults(db, run.id) };
  } finally {
    db.close();
  }
}

/** The pid of `parent`'s only child (bash inside `unshare --fork`), from /proc. */
async function findChildPid(parent: number): Promise<number> {
  for (let tries = 0; tries < 2000; tries++) {
    for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) return Number(entry);
      } catch {
        // the process ended while we looked
      }
    }
    await sleep(5);
  }
  throw new Error(`process ${parent} started no child`);
}

const CAN_UNSHARE = process.platform === 'linux' && spawnSync('unshare', ['--pid', '--fork', 'true']).status === 0;

describe('the manifest\'s shard script under a real SIGTERM', () => {
  let dir = '';
  let env: Record<string, string> = {};
  let script = '';
  let reference: unknown;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shard-manifest-'));
    const data = join(dir, 'imagenet');
    await writeTinyDataset(data, { classes: 4, perClass: 60 });
    const work = join(dir, 'work');
    mkdirSync(join(work, 'stores'), { recursive: true });
    const checkpoint = join(work, 'checkpoints', 'zfnet-epoch-070.safetensors');
    const init = runCli(['init', '--model', 'zfnet-tiny', '--out', checkpoint, '--backend', 'cpu']);
    assert.equal(init.status, 0, init.stderr);
    // run-pipeline as the image has it (a command on PATH), plus small batches so the pass is many commits long.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const passOptions = ['--batch-size', '1', '--commit-every', '1', '--workers', '1', '--backend', 'wasm'];
    writeFileSync(join(bin, 'run-pipeline'), `#!/bin/sh\nexec "${process.execPath}" "${CLI_PATH}" "$@" ${passOptions.join(' ')}\n`);
    chmodSync(join(bin, 'run-pipeline'), 0o755);
    env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, JOB_COMPLETION_INDEX: '0' } as Record<string, string>;
    // The manifest's script with only its two volume paths moved under the test folder.
    script = extractBlockScalar(readFileSync(MANIFEST, 'utf8'), 'name: shard').replaceAll('/imagenet', data).replaceAll('/work/', `${work}/`);
    const full = runCli(['top-activations', '--data', data, '--split', 'val', '--checkpoint', checkpoint, '--shard', '0/8', '--db', join(dir, 'ref.db'), ...passOptions]);
    assert.equal(full.status, 0, full.stderr);
    reference = readResults(join(dir, 'ref.db')).results;
  });
  after(() => { if (dir !== '') rmSync(dir, { recursive: true, force: true }); });

  /** Runs `shell` with bash as PID 1 of a new PID namespace; sends SIGTERM to bash once `commits` commits are in `dbPath`. */
  async function runAsPid1(shell: string, dbPath: string, commits: number | null): Promise<{ code: number | null; stdout: string; stderr: string; signalledAt: number | null }> {
    const argv = CAN_UNSHARE ? ['unshare', '--pid', '--fork', 'bash', '-c', shell] : ['bash', '-c', shell];
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let done = false;
    void exited.then(() => { done = true; });
    let signalledAt: number | null = null;
    if (commits !== null) {
      const bash = CAN_UNSHARE ? await findChildPid(child.pid!) : child.pid!;
      while (!done && readTopActivationCommits(dbPath) < commits) await sleep(5);
      if (!done) {
        signalledAt = readTopActivationCommits(dbPath);
        process.kill(bash, 'SIGTERM');
      }
    }
    return { code: await exited, stdout, stderr, signalledAt };
  }

  it('SIGTERM to the shard\'s PID 1 reaches run-pipeline: it commits, the pod fails with 75, and a rerun resumes to one pass', async (t) => {
    if (!CAN_UNSHARE) t.diagnostic('unshare --pid is not permitted here: bash runs as a plain child, not as PID 1');
    const dbPath = join(dir, 'work', 'stores', 'shard-0.db');
    const stopped = await runAsPid1(script, dbPath, 2);
    assert.notEqual(stopped.signalledAt, null, `the pass ended before the signal: ${stopped.stdout}`);
    assert.equal(stopped.code, 75, stopped.stderr);
    assert.match(stopped.stdout, /^top-activations-\S+ interrupted \d+ images 0 skipped \(\d+\/\d+\)$/m);
    assert.match(stopped.stderr, /SIGTERM: finishing the current batch and committing/);
    assert.match(stopped.stderr, /interrupted: committed \d+ of \d+ images; resume with:/);
    assert.ok(readTopActivationCommits(dbPath) > stopped.signalledAt!, 'a commit after the signal');
    assert.equal(readResults(dbPath).status, 'interrupted');
    const resumed = await runAsPid1(script, dbPath, null);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, / finished /);
    assert.match(resumed.stderr, /resuming run top-activations-\S+ at image \d+/);
    assert.deepEqual(readResults(dbPath), { status: 'finished', results: reference });
  });

  it('control: the old manifest\'s shell line (result=$(run-pipeline ...) under bash -c) as PID 1 never passes SIGTERM on', async (t) => {
    if (!CAN_UNSHARE) {
      t.skip('needs unshare --pid: only PID 1 drops a signal it has no handler for');
      return;
    }
    const dbPath = join(dir, 'work', 'stores', 'old-0.db');
    const old = script.replace(/^run-pipeline top-activations[\s\S]*?> "\$out" &$/m, (line) => `result=$(${line.replace(/ > "\$out" &$/, '')})`)
      .replace(/^pass=\$!$[\s\S]*?rm -f "\$out"$/m, '').replaceAll('/shard-${shard}.db', '/old-${shard}.db');
    assert.match(old, /^result=\$\(run-pipeline top-activations/m);
    const run = await runAsPid1(old, dbPath, 2);
    assert.notEqual(run.signalledAt, null, 'signalled while the pass ran');
    assert.doesNotMatch(run.stderr, /SIGTERM/);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, / finished /, 'the pass ran to its end: the signal never reached it');
  });
});
