/**
 * `npm run bench -- train-vs-torch`: the issue-21 target, the whole
 * `run-pipeline train` command against PyTorch doing the same SGD steps, in
 * alternating rounds so a changing load on a shared machine hits both alike.
 * Each round runs, back to back:
 * - Debian's PyTorch: `--images / --batch` SGD steps of full zfnet on random
 *   input at `--threads` threads (bench/torch-train.py; no decode, no
 *   start-up: its ceiling);
 * - `run-pipeline train --model zfnet` for one epoch over the JPEG split
 *   (`--images` 500x375 JPEGs, batch 32, no validation), timed as a whole
 *   process: start-up, decode, crops, the steps and the checkpoint included.
 *   The mean image is computed once before the first round (a fresh store
 *   would recompute it in every round).
 * With --before, each round also runs the same command on tfjs wasm (the
 * training engine before the onnx one). Rows are medians; the notes give
 * the median of each round's ratio.
 *
 * Flags: --rounds=3 --images=256 --batch=32 --threads=N --before
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './bench-stats.js';
import type { BenchResult, BenchRow } from './bench-types.js';
import { DATA_DIR, ensureSplit } from './throughput.js';
import { measureTorchTraining } from './train.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');

/** One `run-pipeline` process; resolves with its wall seconds. @throws Error with the last lines when it fails. */
function runCli(args: string[], cwd: string): Promise<number> {
  const startMs = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr = (stderr + String(d)).slice(-2000); });
    child.once('error', fail).once('close', (code) => (code === 0 ? done((performance.now() - startMs) / 1000) : fail(new Error(`run-pipeline ${args[0]} failed (exit ${code}): ${stderr}`))));
  });
}

export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const rounds = Number(flag('rounds') ?? 3);
  const images = Number(flag('images') ?? 256);
  const batch = Number(flag('batch') ?? 32);
  const threads = Number(flag('threads') ?? availableParallelism());
  const before = args.includes('--before');
  await ensureSplit('train', images);
  const cwd = mkdtempSync(join(tmpdir(), 'train-vs-torch-'));
  const db = join(cwd, 'store.db');
  const train = (backend: string): string[] => ['train', '--model', 'zfnet', '--data', DATA_DIR, '--db', db, '--out', cwd, '--epochs', '1', '--batch-size', String(batch),
    '--limit', String(images), '--val-split', 'none', '--keep-epochs', 'none', '--backend', backend];
  const series: Record<string, number[]> = { torch: [], onnx: [], ...(before ? { wasm: [] } : {}) };
  const loads: string[] = [];
  try {
    await runCli(['mean', '--data', DATA_DIR, '--db', db, '--split', 'train', '--model', 'zfnet'], cwd);
    for (let round = 0; round < rounds; round++) {
      loads.push(loadavg()[0]!.toFixed(1));
      const torch = measureTorchTraining('zfnet', batch, Math.max(1, Math.round(images / batch)), threads, 4);
      if (torch === null) throw new Error('train-vs-torch needs PyTorch: apt-get install python3-torch');
      series['torch']!.push(torch.value);
      series['onnx']!.push(images / await runCli(train('onnx'), cwd));
      if (before) series['wasm']!.push(images / await runCli(train('wasm'), cwd));
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  const names: Record<string, string> = {
    torch: `PyTorch SGD steps of zfnet, ${threads} threads, batch ${batch}, random input (no decode, no start-up)`,
    onnx: `run-pipeline train zfnet, 1 epoch of ${images} JPEGs, batch ${batch}, onnx, whole command`,
    wasm: `run-pipeline train zfnet, 1 epoch of ${images} JPEGs, batch ${batch}, tfjs wasm, whole command`,
  };
  const rows: BenchRow[] = Object.entries(series).map(([key, values]) => ({
    name: `${names[key]!} (median of ${rounds})`, value: median(values), unit: 'img/s', backend: key, extra: { rounds: values.map((v) => Number(v.toFixed(3))) },
  }));
  const ratio = (key: string): string => {
    const per = series[key]!.map((v, i) => v / series['torch']![i]!);
    return `${median(per).toFixed(2)}x (rounds ${per.map((r) => r.toFixed(2)).join(', ')})`;
  };
  return {
    rows,
    notes: [
      `whole command / PyTorch, per-round ratios: onnx ${ratio('onnx')} (target >= 2.0)${before ? `; tfjs wasm ${ratio('wasm')}` : ''}`,
      `split: ${images} 500x375 JPEGs in ${DATA_DIR} (4 classes); load average (1 min) at each round's start: ${loads.join(', ')}; ${availableParallelism()} cores shared with other work`,
    ],
  };
}
