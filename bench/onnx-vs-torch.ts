/**
 * `npm run bench -- onnx-vs-torch`: the issue-15 targets, measured in
 * alternating rounds so a changing load on a shared machine hits every
 * contestant alike. Each round runs, back to back:
 * - Debian's PyTorch, conv1-conv5 of full zfnet alone (own LRN, no decode), N threads;
 * - the onnx engine's conv1-conv5 with the in-graph reductions: a pool of N
 *   single-threaded sessions, then one session with N intra-op threads;
 * - the whole `run-pipeline top-activations` command over the JPEG split
 *   (start-up, decode, store included; cold graph cache), which also gives
 *   its steady-state rate.
 * Rows are medians over the rounds; the notes give the median of each
 * round's ratio (the figure the targets are about).
 *
 * With --baseline=PATH (another build's dist/src/cli/main.js, e.g. of an
 * older commit) each round also runs that build's whole command, so a change
 * is measured before and after in the same alternating rounds.
 *
 * Flags: --rounds=3 --workers=N --batch=16 --forward-batches=6 --images=400 --baseline=PATH
 */
import { availableParallelism, loadavg } from 'node:os';
import { median } from './bench-stats.js';
import type { BenchResult, BenchRow } from './bench-types.js';
import { DATA_DIR, ensureCheckpoint, ensureSplit, measureTorch, parseFlags, runCase, runCliPass, toRow } from './throughput.js';

/** Entry point called by bench/main.ts. */
export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const flags = { ...parseFlags(args), model: 'zfnet' };
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 3);
  const n = flags.workers;
  await ensureSplit('train', flags.images);
  const checkpoint = await ensureCheckpoint('zfnet');
  const convs = (inProcess: boolean) => runCase({
    kind: 'forward', checkpoint, backend: 'onnx', batchSize: flags.batchSize, batches: flags.forwardBatches, reducer: 'top-activations',
    workers: inProcess ? 1 : n, inProcess, ...(inProcess ? { intraOpThreads: n } : {}),
  });
  const baseline = args.find((a) => a.startsWith('--baseline='))?.slice(11);
  const series: Record<string, BenchRow[]> = { torch: [], pool: [], intra: [], whole: [], steady: [], ...(baseline === undefined ? {} : { baseWhole: [], baseSteady: [] }) };
  const loads: string[] = [];
  for (let round = 0; round < rounds; round++) {
    loads.push(loadavg()[0]!.toFixed(1));
    const torch = measureTorch(flags, [], 'convs');
    if (torch === null) throw new Error('onnx-vs-torch needs PyTorch: apt-get install python3-torch');
    series['torch']!.push(torch);
    series['pool']!.push(toRow(`conv1-conv5 + in-graph reductions zfnet 224 onnx batch ${flags.batchSize}, pool of ${n} workers`, convs(false)));
    series['intra']!.push(toRow(`conv1-conv5 + in-graph reductions zfnet 224 onnx batch ${flags.batchSize}, 1 session x ${n} intra-op threads`, convs(true)));
    const cli = await runCliPass(flags, checkpoint, 'onnx');
    series['whole']!.push(cli.whole);
    series['steady']!.push(cli.steady);
    if (baseline !== undefined) {
      const base = await runCliPass(flags, checkpoint, 'onnx', baseline);
      series['baseWhole']!.push(base.whole);
      series['baseSteady']!.push(base.steady);
    }
  }
  const rows = Object.values(series).map((list) => ({ ...list[0]!, name: `${list[0]!.name} (median of ${rounds})`, value: median(list.map((r) => r.value)), extra: { rounds: list.map((r) => Number(r.value.toFixed(2))) } }));
  const ratioOf = (key: string): string => {
    const per = series[key]!.map((row, i) => row.value / series['torch']![i]!.value);
    return `${median(per).toFixed(2)}x (rounds ${per.map((r) => r.toFixed(2)).join(', ')})`;
  };
  const notes = [
    `vs PyTorch conv1-conv5, ${n} threads, per-round ratios: whole top-activations command ${ratioOf('whole')} (target >= 1.0); steady state ${ratioOf('steady')} (target >= 1.3); onnx conv1-conv5 pool ${ratioOf('pool')}; 1 session x ${n} threads ${ratioOf('intra')}`,
    ...(baseline === undefined ? [] : [`baseline build ${baseline} vs PyTorch, per-round ratios: whole command ${ratioOf('baseWhole')}; steady state ${ratioOf('baseSteady')}`]),
    `pool of ${n} / 1 session x ${n} threads: ${median(series['pool']!.map((r, i) => r.value / series['intra']![i]!.value)).toFixed(2)}x`,
    `split: ${flags.images} 500x375 JPEGs in ${DATA_DIR}; load average (1 min) at each round's start: ${loads.join(', ')}; ${availableParallelism()} cores shared with other work`,
  ];
  return { rows, notes };
}
