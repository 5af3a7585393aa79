/**
 * `npm run bench -- top-activations-rss`: does memory stay flat with the size
 * of the split? The whole `run-pipeline top-activations` command on the onnx
 * engine (full zfnet, 224 px, N worker threads, batch 16) over generated
 * 500x375 JPEGs, once over `--small` images and once over `--large` images,
 * each in a fresh process whose peak RSS (getrusage maxRSS, worker threads
 * included) is reported at exit (bench/rss-report.ts).
 *
 * The small pass is shard 0 of large/small of the large split (image id mod
 * N, the same images a sharded run reads), so one split serves both. The
 * split holds `--unique` generated JPEGs (throughput's generator) hard-linked
 * over and over up to `--large` files: every file is decoded as a separate
 * image, and writing 20,000 distinct noise JPEGs took about 4 minutes per
 * 1,000 on the shared machine (written once under out/bench-data, reused).
 *
 * Flags: --small=1000 --large=20000 --unique=500 --workers=N --batch=16
 */
import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult, BenchRow } from './bench-types.js';
import { DATA_DIR, ensureCheckpoint, ensureSplit } from './throughput.js';

const SPLIT = 'rss';
const SOURCE_SPLIT = 'rss-source';

/**
 * `count` files in `split`'s class folders under `root`, hard links to the
 * `unique` images of SOURCE_SPLIT; made once.
 */
export async function ensureLinkedSplit(count: number, unique: number, root = DATA_DIR, split = SPLIT): Promise<void> {
  const marker = join(root, `.${split}-linked-${count}-of-${unique}`);
  if (existsSync(marker)) return;
  await ensureSplit(SOURCE_SPLIT, unique);
  rmSync(join(root, split), { recursive: true, force: true });
  for (let i = 0; i < count; i++) {
    const [from, to] = [join(DATA_DIR, SOURCE_SPLIT, `n0000000${(i % unique) % 4}`, `${SOURCE_SPLIT}_${i % unique}.JPEG`), join(root, split, `n0000000${i % 4}`)];
    mkdirSync(to, { recursive: true });
    linkSync(from, join(to, `${split}_${i}.JPEG`));
  }
  for (const old of readdirSync(root).filter((f) => f.startsWith(`.${split}-linked-`))) rmSync(join(root, old));
  writeFileSync(marker, '');
}

function flag(args: string[], name: string, fallback: number): number {
  return Number(args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
}

interface PassResult { images: number; seconds: number; peakRssKiB: number }

/**
 * One whole command in a fresh process and folder (cold graph cache, new store).
 * @throws Error with the tail of stderr when the command fails
 */
async function runPass(checkpoint: string, workers: number, batch: number, shard: string | null): Promise<PassResult> {
  const here = dirname(fileURLToPath(import.meta.url));
  const cwd = mkdtempSync(join(tmpdir(), 'topact-rss-'));
  const report = join(cwd, 'rss.jsonl');
  const args = ['--import', pathToFileURL(join(here, 'rss-report.js')).href, join(here, '..', 'src', 'cli', 'main.js'), 'top-activations', '--data', DATA_DIR, '--split', SPLIT,
    '--checkpoint', checkpoint, '--db', join(cwd, 'store.db'), '--backend', 'onnx', '--workers', String(workers), '--batch-size', String(batch), ...(shard === null ? [] : ['--shard', shard])];
  const started = performance.now();
  const lines: string[] = [];
  try {
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ZFNET_RSS_REPORT: report } });
      child.stdout.on('data', (d: Buffer) => lines.push(d.toString()));
      child.stderr.on('data', (d: Buffer) => { lines.push(d.toString()); lines.splice(0, Math.max(0, lines.length - 50)); });
      child.once('error', fail).once('close', done);
    });
    if (code !== 0) throw new Error(`run-pipeline top-activations failed (exit ${code}): ${lines.join('').split('\n').slice(-6).join('\n')}`);
    const images = Number(/finished (\d+) images/.exec(lines.join(''))?.[1] ?? NaN);
    const { peakRssKiB } = JSON.parse(readFileSync(report, 'utf8').trim().split('\n').at(-1)!) as { peakRssKiB: number };
    return { images, seconds: (performance.now() - started) / 1000, peakRssKiB };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** Entry point called by bench/main.ts. */
export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const small = flag(args, 'small', 1000);
  const large = flag(args, 'large', 20000);
  const workers = flag(args, 'workers', availableParallelism());
  const batch = flag(args, 'batch', 16);
  if (!Number.isInteger(large / small)) throw new RangeError(`Expected --large to be a multiple of --small but received ${large} and ${small}`);
  await ensureLinkedSplit(large, flag(args, 'unique', 500));
  const checkpoint = await ensureCheckpoint('zfnet');
  const loads = [loadavg()[0]!.toFixed(1)];
  const smallPass = await runPass(checkpoint, workers, batch, `0/${large / small}`);
  loads.push(loadavg()[0]!.toFixed(1));
  const largePass = await runPass(checkpoint, workers, batch, null);
  loads.push(loadavg()[0]!.toFixed(1));
  const row = (pass: PassResult): BenchRow => ({
    name: `peak RSS, run-pipeline top-activations over ${pass.images} JPEGs, zfnet 224 onnx, ${workers} workers, batch ${batch}`,
    value: pass.peakRssKiB / 1024, unit: 'MiB', peakRssMiB: pass.peakRssKiB / 1024, backend: 'onnx', extra: { seconds: pass.seconds, imagesPerS: pass.images / pass.seconds, peakRssKiB: pass.peakRssKiB },
  });
  return {
    rows: [row(smallPass), row(largePass)],
    notes: [
      `large / small peak RSS: ${(largePass.peakRssKiB / smallPass.peakRssKiB).toFixed(3)} (${largePass.peakRssKiB.toLocaleString('en-US')} KiB vs ${smallPass.peakRssKiB.toLocaleString('en-US')} KiB); the small pass is shard 0/${large / small} of the large split`,
      `load average (1 min) before, between and after: ${loads.join(', ')}; ${availableParallelism()} cores`,
    ],
  };
}
