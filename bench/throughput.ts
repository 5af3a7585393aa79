/**
 * `npm run bench -- throughput`: how much of the machine the forward passes
 * use. Back to back, each case in its own child process (so each row's peak
 * RSS is its own):
 * - forward img/s of full zfnet at 224 on wasm: in-process, a pool of 1
 *   worker, and a pool of N workers (default: the core count);
 * - top-activations end to end (decode, crop, forward, reductions, heaps,
 *   store commits) with 1 worker (in-process) and N workers, over generated
 *   500x375 JPEGs.
 * - the same on the onnx engine (onnxruntime): forward in-process, one session
 *   with N intra-op threads, a pool of N 1-thread sessions; conv1-conv5 with
 *   the in-graph reductions (what top-activations computes) with each LRN
 *   form; top-activations end to end; the whole `run-pipeline top-activations`
 *   command over the split, start-up and decode included, from a fresh folder
 *   (cold graph cache); and start-up alone (seconds).
 * The notes give the ratios issues 8 and 15 set targets for. Optional: Debian's
 * PyTorch (python3-torch) rates of full zfnet and of conv1-conv5 alone, when
 * $PYTHON, python3 or /usr/bin/python3 imports torch (and --model is zfnet).
 *
 * Flags: --workers=N --model=zfnet --batch=16 --forward-batches=6 (timed batches per forward case)
 *        --images=400 (of the top-activations split) --no-torch --engines=tfjs,onnx
 */
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { initBackend } from '../src/backend/select-backend.js';
import { saveCheckpoint } from '../src/checkpoint/checkpoint-file.js';
import { buildModelConfig } from '../src/model/architectures.js';
import { disposeParams, initParams } from '../src/model/params.js';
import type { BenchResult, BenchRow } from './bench-types.js';
import type { ThroughputCase, ThroughputCaseResult } from './throughput-child.js';

export const DATA_DIR = resolve('out', 'bench-data', 'throughput');

export interface ThroughputFlags {
  workers: number;
  model: string;
  batchSize: number;
  forwardBatches: number;
  images: number;
  torch: boolean;
  engines: string[];
}

export function parseFlags(args: string[]): ThroughputFlags {
  const flag = (name: string, fallback: number | string): string => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? String(fallback);
  return {
    workers: Number(flag('workers', availableParallelism())),
    model: flag('model', 'zfnet'),
    batchSize: Number(flag('batch', 16)),
    forwardBatches: Number(flag('forward-batches', 6)),
    images: Number(flag('images', 400)),
    torch: !args.includes('--no-torch'),
    engines: flag('engines', 'tfjs,onnx').split(','),
  };
}

/** `count` 500x375 noisy JPEGs (ImageNet's typical size) in 4 class folders of `split`, written once. */
export async function ensureSplit(split: string, count: number): Promise<void> {
  const marker = join(DATA_DIR, `.${split}-${count}`);
  if (existsSync(marker)) return;
  rmSync(join(DATA_DIR, split), { recursive: true, force: true }); // written before with another count
  for (let i = 0; i < count; i++) {
    const dir = join(DATA_DIR, split, `n0000000${i % 4}`);
    mkdirSync(dir, { recursive: true });
    const noise = { type: 'gaussian' as const, mean: 90 + (i % 50), sigma: 50 };
    await sharp({ create: { width: 500, height: 375, channels: 3, background: '#000', noise } }).jpeg({ quality: 85 }).toFile(join(dir, `${split}_${i}.JPEG`));
  }
  for (const old of readdirSync(DATA_DIR).filter((f) => f.startsWith(`.${split}-`))) rmSync(join(DATA_DIR, old));
  writeFileSync(marker, '');
}

/** A checkpoint of `model` (paper init, seed 1), written once: loading it is faster than a fresh init. */
export async function ensureCheckpoint(model: string): Promise<string> {
  const path = join(DATA_DIR, `${model}-seed1.safetensors`);
  if (existsSync(path)) return path;
  await initBackend('cpu', { log: () => undefined });
  const config = buildModelConfig(model);
  const params = initParams(config, 1);
  try {
    saveCheckpoint(path, { config, params });
  } finally {
    disposeParams(params);
  }
  return path;
}

/**
 * Runs one case in a child process and returns its result line. The child's
 * stderr (progress lines) is kept quiet unless it fails.
 * @throws Error with the tail of the child's stderr when it fails.
 */
export function runCase(spec: ThroughputCase): ThroughputCaseResult {
  const child = join(dirname(fileURLToPath(import.meta.url)), 'throughput-child.js');
  try {
    const out = execFileSync(process.execPath, [child, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out.trim().split('\n').pop()!) as ThroughputCaseResult;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n').slice(-15).join('\n');
    throw new Error(`throughput case ${JSON.stringify(spec)} failed:\n${stderr}`);
  }
}

export function toRow(name: string, result: ThroughputCaseResult): BenchRow {
  return { name, value: result.imagesPerSecond, unit: 'images/s', peakRssMiB: result.peakRssMiB, backend: result.backend, extra: result.detail };
}

/** Pythons to try for torch: $PYTHON, then the PATH's, then Debian's (python3-torch installs there, not into pyenv). */
export const PYTHON_CANDIDATES = [process.env['PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => p !== undefined && p !== '');

/** The first Python that imports torch (PYTHON, python3, /usr/bin/python3), or null. */
export function findTorchPython(): string | null {
  for (const python of PYTHON_CANDIDATES) {
    try {
      execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}

/** PyTorch's CPU forward rate of `part` (one thread per core), or null when no python has torch. */
export function measureTorch(flags: ThroughputFlags, notes: string[], part: 'full' | 'convs'): BenchRow | null {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'torch-forward.py');
  const python = findTorchPython();
  if (python === null) {
    notes.push(`PyTorch comparison skipped: none of ${PYTHON_CANDIDATES.join(', ')} imports torch (Debian: apt-get install python3-torch)`);
    return null;
  }
  try {
    const out = execFileSync(python, [script, String(flags.batchSize), String(flags.forwardBatches), String(flags.workers), part], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { imagesPerSecond: number; peakRssMiB: number; threads: number; version: string };
    const what = part === 'full' ? 'forward zfnet 224' : 'conv1-conv5 zfnet 224 (own LRN, no decode)';
    return { name: `${what} PyTorch ${result.version} CPU, ${result.threads} threads, batch ${flags.batchSize}`, value: result.imagesPerSecond, unit: 'images/s', peakRssMiB: result.peakRssMiB, backend: 'torch' };
  } catch (error) {
    notes.push(`PyTorch comparison failed: ${(error as Error).message.split('\n')[0]}`);
    return null;
  }
}

/**
 * Cores `threads` spinning JavaScript threads actually get right now (CPU
 * seconds / wall seconds): on a machine shared with other work this is the
 * ceiling for any N-worker speed-up measured next to it.
 */
export async function measureAvailableCores(threads: number): Promise<number> {
  const spin = 'let x = 0; for (let i = 0; i < 4e8; i++) x += i % 7; require("node:worker_threads").parentPort.postMessage(x);';
  const startMs = performance.now();
  const startCpu = process.cpuUsage();
  await Promise.all(Array.from({ length: threads }, () => new Promise((done, fail) => new Worker(spin, { eval: true }).once('message', done).once('error', fail))));
  const cpu = process.cpuUsage(startCpu);
  return (cpu.user + cpu.system) / 1e3 / (performance.now() - startMs);
}

function ratio(a: BenchRow | undefined, b: BenchRow | undefined): string {
  return a !== undefined && b !== undefined ? (a.value / b.value).toFixed(2) : 'n/a';
}

/** What one whole-command run measured. */
export interface CliPassResult {
  /** Images per wall second, process start to exit. */
  whole: BenchRow;
  /** Images per second from the first progress line (after batch 1) to the last. */
  steady: BenchRow;
}

/**
 * The whole `run-pipeline top-activations` command as a user runs it (process
 * start, model load and hash, graph build, sessions, decode, store), from a
 * fresh folder so the graph cache is cold. Its progress lines (stderr) are
 * time-stamped as they arrive, which gives the steady-state rate of the same run.
 * @param cliPath another build's dist/src/cli/main.js (default this build's), to compare builds side by side
 * @throws Error with the tail of stderr when the command fails.
 */
export async function runCliPass(flags: ThroughputFlags, checkpoint: string, backend: string, cliPath?: string): Promise<CliPassResult> {
  const main = cliPath ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
  const cwd = mkdtempSync(join(tmpdir(), 'throughput-cli-'));
  const args = [main, 'top-activations', '--data', DATA_DIR, '--split', 'train', '--checkpoint', checkpoint, '--db', join(cwd, 'store.db'),
    '--backend', backend, '--workers', String(flags.workers), '--batch-size', String(flags.batchSize)];
  const ticks: Array<{ ms: number; images: number }> = [];
  const lines: string[] = [];
  const startMs = performance.now();
  try {
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
      createInterface({ input: child.stderr }).on('line', (line) => {
        lines.push(line);
        const m = /^top-activations \S+ (\d+)\//.exec(line);
        if (m !== null) ticks.push({ ms: performance.now(), images: Number(m[1]) });
      });
      child.once('error', fail).once('close', done);
    });
    if (code !== 0) throw new Error(`run-pipeline top-activations failed (exit ${code}): ${lines.slice(-5).join('\n')}`);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  const seconds = (performance.now() - startMs) / 1000;
  const [first, last] = [ticks[0], ticks.at(-1)];
  if (first === undefined || last === undefined || last.images <= first.images) throw new Error(`too few progress lines to time the command (${ticks.length}); use more images`);
  const steadySeconds = (last.ms - first.ms) / 1000;
  const label = `run-pipeline top-activations over ${flags.images} JPEGs, ${backend}, ${flags.workers} workers${cliPath === undefined ? '' : ` (${cliPath})`}`;
  return {
    whole: { name: `${label}, whole command (start-up and decode included)`, value: flags.images / seconds, unit: 'images/s', backend, extra: { seconds, secondsToFirstBatch: (first.ms - startMs) / 1000 } },
    steady: { name: `${label}, steady state (first progress line to last)`, value: (last.images - first.images) / steadySeconds, unit: 'images/s', backend, extra: { steadySeconds } },
  };
}

function tfjsRows(flags: ThroughputFlags, base: { checkpoint: string; batchSize: number }): Record<string, BenchRow> {
  const n = flags.workers;
  const b = { ...base, backend: 'wasm' as const };
  const forwardCase = (workers: number, inProcess: boolean): ThroughputCase => ({ kind: 'forward', ...b, workers, inProcess, batches: flags.forwardBatches });
  const topactCase = (workers: number): ThroughputCase => ({ kind: 'top-activations', ...b, workers, data: DATA_DIR, split: 'train', dbDir: join(DATA_DIR, 'db') });
  const label = `${flags.model} ${buildModelConfig(flags.model).inputSizePx} wasm batch ${flags.batchSize}`;
  return {
    inProcess: toRow(`forward ${label}, in-process (1 thread)`, runCase(forwardCase(1, true))),
    pool1: toRow(`forward ${label}, pool of 1 worker`, runCase(forwardCase(1, false))),
    poolN: toRow(`forward ${label}, pool of ${n} workers`, runCase(forwardCase(n, false))),
    topact1: toRow(`top-activations end to end ${label}, 1 worker`, runCase(topactCase(1))),
    topactN: toRow(`top-activations end to end ${label}, ${n} workers`, runCase(topactCase(n))),
  };
}

async function onnxRows(flags: ThroughputFlags, base: { checkpoint: string; batchSize: number }): Promise<Record<string, BenchRow>> {
  const n = flags.workers;
  const b = { ...base, backend: 'onnx' as const };
  const forward = (extra: Partial<Extract<ThroughputCase, { kind: 'forward' }>>): ThroughputCase => ({ kind: 'forward', ...b, workers: n, inProcess: false, batches: flags.forwardBatches, ...extra });
  const label = `${flags.model} ${buildModelConfig(flags.model).inputSizePx} onnx batch ${flags.batchSize}`;
  const startup = runCase({ kind: 'startup', ...b, workers: n });
  const cli = await runCliPass(flags, base.checkpoint, 'onnx');
  return {
    onnxInProcess: toRow(`forward ${label}, in-process (1 thread)`, runCase(forward({ workers: 1, inProcess: true }))),
    onnxIntra: toRow(`forward ${label}, 1 session x ${n} intra-op threads`, runCase(forward({ workers: 1, inProcess: true, intraOpThreads: n }))),
    onnxPoolN: toRow(`forward ${label}, pool of ${n} workers x 1 thread`, runCase(forward({}))),
    convsIntra: toRow(`conv1-conv5 + in-graph reductions ${label}, 1 session x ${n} intra-op threads`, runCase(forward({ workers: 1, inProcess: true, intraOpThreads: n, reducer: 'top-activations' }))),
    convsPoolN: toRow(`conv1-conv5 + in-graph reductions ${label}, pool of ${n} workers`, runCase(forward({ reducer: 'top-activations' }))),
    convsPoolOrtLrn: toRow(`conv1-conv5 + in-graph reductions ${label}, pool of ${n} workers, onnxruntime's LRN kernel`, runCase(forward({ reducer: 'top-activations', lrn: 'onnx' }))),
    onnxTopactN: toRow(`top-activations end to end ${label}, ${n} workers (steady state)`, runCase({ kind: 'top-activations', ...b, workers: n, data: DATA_DIR, split: 'train', dbDir: join(DATA_DIR, 'db') })),
    onnxCli: cli.whole,
    onnxCliSteady: cli.steady,
    onnxStartup: { name: `start-up ${flags.model} onnx, ${n} workers: engine, checkpoint read and hash, graphs built (no cache), sessions`, value: startup.imagesPerSecond, unit: 's', peakRssMiB: startup.peakRssMiB, backend: 'onnx', extra: startup.detail },
  };
}

/** Entry point called by bench/main.ts. */
export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const flags = parseFlags(args);
  const n = flags.workers;
  await ensureSplit('train', flags.images);
  const base = { checkpoint: await ensureCheckpoint(flags.model), batchSize: flags.batchSize };
  const coresBefore = await measureAvailableCores(n);
  const rows: Record<string, BenchRow> = {
    ...(flags.engines.includes('tfjs') ? tfjsRows(flags, base) : {}),
    ...(flags.engines.includes('onnx') ? await onnxRows(flags, base) : {}),
  };
  const notes: string[] = [];
  if (rows['inProcess'] !== undefined) {
    notes.push(
      `forward: ${n} workers / in-process = ${ratio(rows['poolN'], rows['inProcess'])}x; pool of 1 / in-process = ${ratio(rows['pool1'], rows['inProcess'])}x`,
      `top-activations: ${n} workers / 1 worker = ${ratio(rows['topactN'], rows['topact1'])}x (target >= 1.8 on 2 cores)`,
      `top-activations ${n} workers / plain forward ${n} workers = ${ratio(rows['topactN'], rows['poolN'])} (target >= 0.85)`,
    );
  }
  if (rows['onnxPoolN'] !== undefined) {
    notes.push(
      `onnx forward: pool of ${n} / 1 session x ${n} threads = ${ratio(rows['onnxPoolN'], rows['onnxIntra'])}x; conv1-conv5: ${ratio(rows['convsPoolN'], rows['convsIntra'])}x (the engine's default is the pool)`,
      `onnx conv1-conv5: LRN as channel pooling / onnxruntime's LRN kernel = ${ratio(rows['convsPoolN'], rows['convsPoolOrtLrn'])}x`,
      `top-activations end to end: onnx / wasm (${n} workers) = ${ratio(rows['onnxTopactN'], rows['topactN'])}x`,
    );
  }
  notes.push(`top-activations rate: ${flags.images} images, timed from the first progress line (after batch 1) to the last, so model loading and worker start-up stay out; the whole-command row includes them`);
  const cores = Object.entries(rows).filter(([, row]) => row.extra?.['coresUsed'] !== undefined).map(([key, row]) => `${key} ${Number(row.extra!['coresUsed']).toFixed(2)}`).join(', ');
  notes.push(`cores busy (CPU seconds / wall seconds, worker threads included): ${cores}; below the worker count means the machine did not give the cores`);
  notes.push(`cores that ${n} spinning threads got: ${coresBefore.toFixed(2)} before the cases, ${(await measureAvailableCores(n)).toFixed(2)} after (other work on the machine takes the rest)`);
  const all: BenchRow[] = Object.values(rows);
  if (flags.torch && flags.model === 'zfnet') {
    const convs = measureTorch(flags, notes, 'convs');
    const full = measureTorch(flags, notes, 'full');
    for (const row of [convs, full]) if (row !== null) all.push(row);
    if (convs !== null) {
      notes.push(`vs PyTorch conv1-conv5 (${n} threads): whole top-activations command onnx = ${ratio(rows['onnxCli'], convs)}x (target >= 1.0), steady state onnx = ${ratio(rows['onnxTopactN'], convs)}x (target >= 1.3), wasm steady state = ${ratio(rows['topactN'], convs)}x, onnx conv1-conv5 alone = ${ratio(rows['convsPoolN'], convs)}x`);
    }
  }
  notes.push(`machine: ${availableParallelism()} cores, shared with other work while measured (load average ${loadavg().map((v) => v.toFixed(1)).join(' ')} at the end): compare the ratios`);
  return { rows: all, notes };
}
