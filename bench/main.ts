/**
 * `npm run bench [-- NAME ...]`: runs the named benchmarks (all without a
 * name) and prints their tables. Each benchmark is a module exporting
 * `runBenchmark(args): Promise<BenchResult>`; results are also written as
 * JSON under out/bench/ with the machine's core count.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';

export interface BenchRow {
  /** What was measured, e.g. "forward zfnet 224 wasm batch 8". */
  name: string;
  value: number;
  unit: string;
  /** Peak resident set size during the measurement, when measured. */
  peakRssMiB?: number;
  extra?: Record<string, unknown>;
}

export interface BenchResult {
  rows: BenchRow[];
  notes?: string[];
}

type BenchModule = { runBenchmark(args: string[]): Promise<BenchResult> };

/** The table of benchmarks: name -> module. */
const BENCHMARKS: Readonly<Record<string, () => Promise<BenchModule>>> = Object.freeze({
  forward: () => import('./forward.js'),
  input: () => import('./input.js'),
});

function printRows(title: string, result: BenchResult): void {
  process.stdout.write(`\n== ${title}\n`);
  for (const row of result.rows) {
    const rss = row.peakRssMiB !== undefined ? `  peak RSS ${row.peakRssMiB.toFixed(0)} MiB` : '';
    process.stdout.write(`${row.name.padEnd(56)} ${row.value.toFixed(2).padStart(10)} ${row.unit}${rss}\n`);
  }
  for (const note of result.notes ?? []) process.stdout.write(`  note: ${note}\n`);
}

async function main(argv: string[]): Promise<void> {
  const names = argv.filter((a) => !a.startsWith('--'));
  const flags = argv.filter((a) => a.startsWith('--'));
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}; valid: ${Object.keys(BENCHMARKS).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const selected = names.length > 0 ? names : Object.keys(BENCHMARKS);
  const results: Record<string, BenchResult> = {};
  for (const name of selected) {
    const mod = await BENCHMARKS[name]!();
    results[name] = await mod.runBenchmark(flags);
    printRows(name, results[name]!);
  }
  const outDir = join('out', 'bench');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ cores: availableParallelism(), cpu: cpus()[0]?.model, node: process.version, results }, null, 2));
  process.stdout.write(`\nwritten ${file}\n`);
}

await main(process.argv.slice(2));
