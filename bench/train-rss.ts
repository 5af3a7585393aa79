/**
 * `npm run bench -- train-rss`: does training's memory stay flat over an
 * epoch? The whole `run-pipeline train` command on the onnx engine for one
 * epoch, once limited to `--small` images and once over the whole split of
 * `--large` images (500x375 JPEGs, hard links to `--unique` generated ones,
 * as top-activations-rss does), each in a fresh process whose peak RSS
 * (getrusage maxRSS, the training thread included) is reported at exit. One
 * store serves both, its mean image computed once before (a `mean` pass).
 *
 * Flags: --small=1000 --large=50000 --unique=500 --model=zfnet-small --batch=32
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult, BenchRow } from './bench-types.js';
import { DATA_DIR } from './throughput.js';
import { ensureLinkedSplit } from './top-activations-rss.js';

const ROOT = join(DATA_DIR, '..', 'train-rss');

interface PassResult { images: number; seconds: number; peakRssKiB: number }

/** One command in a fresh process, its peak RSS reported at exit (bench/rss-report.ts). @throws Error with stderr's tail when it fails. */
async function runCommand(args: string[], cwd: string): Promise<{ seconds: number; peakRssKiB: number; output: string }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const report = join(cwd, `rss-${Date.now()}.jsonl`);
  const started = performance.now();
  let output = '';
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(join(here, 'rss-report.js')).href, join(here, '..', 'src', 'cli', 'main.js'), ...args],
      { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ZFNET_RSS_REPORT: report } });
    child.stdout.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    child.stderr.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    child.once('error', fail).once('close', done);
  });
  if (code !== 0) throw new Error(`run-pipeline ${args[0]} failed (exit ${code}): ${output.split('\n').slice(-6).join('\n')}`);
  const { peakRssKiB } = JSON.parse(readFileSync(report, 'utf8').trim().split('\n').at(-1)!) as { peakRssKiB: number };
  return { seconds: (performance.now() - started) / 1000, peakRssKiB, output };
}

/** Entry point called by bench/main.ts. */
export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const flag = (name: string, fallback: string): string => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const small = Number(flag('small', '1000'));
  const large = Number(flag('large', '50000'));
  const model = flag('model', 'zfnet-small');
  const batch = flag('batch', '32');
  mkdirSync(ROOT, { recursive: true });
  await ensureLinkedSplit(large, Number(flag('unique', '500')), ROOT, 'train');
  const cwd = mkdtempSync(join(tmpdir(), 'train-rss-'));
  const db = join(cwd, 'store.db');
  const loads = [loadavg()[0]!.toFixed(1)];
  const passes: PassResult[] = [];
  try {
    await runCommand(['mean', '--data', ROOT, '--db', db, '--split', 'train', '--model', model], cwd);
    for (const limit of [small, large]) {
      const result = await runCommand(['train', '--model', model, '--data', ROOT, '--db', db, '--out', cwd, '--epochs', '1', '--batch-size', batch,
        '--limit', String(limit), '--val-split', 'none', '--keep-epochs', 'none', '--backend', 'onnx'], cwd);
      passes.push({ images: limit, seconds: result.seconds, peakRssKiB: result.peakRssKiB });
      loads.push(loadavg()[0]!.toFixed(1));
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  const row = (pass: PassResult): BenchRow => ({
    name: `peak RSS, run-pipeline train ${model} onnx, 1 epoch of ${pass.images} JPEGs, batch ${batch}`, value: pass.peakRssKiB / 1024, unit: 'MiB',
    peakRssMiB: pass.peakRssKiB / 1024, backend: 'onnx', extra: { seconds: pass.seconds, imagesPerS: pass.images / pass.seconds, peakRssKiB: pass.peakRssKiB },
  });
  const [a, b] = passes as [PassResult, PassResult];
  return {
    rows: passes.map(row),
    notes: [
      `large / small peak RSS: ${(b.peakRssKiB / a.peakRssKiB).toFixed(3)} (${b.peakRssKiB.toLocaleString('en-US')} KiB over ${b.images} images vs ${a.peakRssKiB.toLocaleString('en-US')} KiB over ${a.images})`,
      `load average (1 min) before and after each pass: ${loads.join(', ')}; ${availableParallelism()} cores`,
    ],
  };
}
