/**
 * `npm run bench -- serve`: page latencies of the explorer on an
 * ImageNet-sized store (50,000 val images, full zfnet's 1,376 units, several
 * runs of the model; bench/serve-store.ts), over real HTTP on 127.0.0.1:
 * median and max per page kind, after two warm-up requests per kind.
 * Renders are not measured (no model runs here: they are the engine's
 * benchmarks, `project`); the pages are.
 *
 * Flags: --requests=40 (per page kind)  --runs=3 (runs in the store)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../src/data/seeded-rng.js';
import { openStore } from '../src/store/open-store.js';
import { createServeCache } from '../src/store/serve-cache.js';
import { createServeQueries } from '../src/store/serve-queries.js';
import { buildServeApp } from '../src/serve/server.js';
import { median } from './bench-stats.js';
import type { BenchResult, BenchRow } from './bench-types.js';
import { BENCH_IMAGES, writeBenchStore } from './serve-store.js';

function flag(args: string[], name: string, fallback: string): string {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

export async function runBenchmark(args: string[]): Promise<BenchResult> {
  const requests = Number(flag(args, 'requests', '40'));
  const dir = mkdtempSync(join(tmpdir(), 'zfnet-bench-serve-'));
  const dbPath = join(dir, 'store.db');
  try {
    const started = performance.now();
    const store = writeBenchStore(dbPath, Number(flag(args, 'runs', '3')));
    const writeS = (performance.now() - started) / 1000;
    const writer = openStore(dbPath, { mustExist: true });
    const reader = openStore(dbPath, { mustExist: true, readonly: true });
    const serve = buildServeApp({
      queries: createServeQueries(reader), cache: createServeCache(writer), outRoot: join(dir, 'out'), log: () => undefined,
      createRenderer: async () => { throw new Error('no renders in this benchmark'); },
    });
    await serve.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = serve.app.server.address() as { port: number };
    const rng = createRng(3);
    const [a, b] = [store.runIds[0]!, store.runIds[1] ?? store.runIds[0]!];
    const pick = <T>(items: readonly T[]): T => items[rng.nextInt(items.length)]!;
    const anyUnit = () => { const l = pick(store.units); return { layer: l.layer, unit: rng.nextInt(l.units) }; };
    const kinds: Record<string, () => string> = {
      runs: () => '/',
      run: () => `/runs/${pick(store.runIds)}`,
      'layer (unit order, 100 per page)': () => `/runs/${a}/layers/${pick(store.units).layer}`,
      'layer sorted by firing rate, page 2': () => `/runs/${a}/layers/${pick(store.units.filter((l) => l.units > 100)).layer}?sort=firing-rate&page=2`,
      'layer filtered (live, class, rate)': () => `/runs/${a}/layers/${pick(store.units).layer}?dead=live&min-rate=0.2&class=${rng.nextInt(1000)}`,
      'layer, all units on one page': () => `/runs/${a}/layers/3?per=1000`,
      unit: () => { const u = anyUnit(); return `/runs/${pick(store.runIds)}/layers/${u.layer}/units/${u.unit}`; },
      image: () => `/runs/${a}/images/${pick(store.imageIds)}`,
      'two runs side by side, 16 units': () => `/compare?a=${a}&b=${b}&layer=${pick(store.units).layer}&from=${rng.nextInt(80)}`,
      'render status (api)': () => { const u = anyUnit(); return `/api/runs/${a}/layers/${u.layer}/units/${u.unit}/projections`; },
    };
    const rows: BenchRow[] = [];
    const notes: string[] = [];
    for (const [kind, url] of Object.entries(kinds)) {
      const times: number[] = [];
      for (let i = 0; i < requests + 2; i++) {
        const target = url();
        const t0 = performance.now();
        const response = await fetch(`http://127.0.0.1:${port}${target}`);
        await response.arrayBuffer();
        const ms = performance.now() - t0;
        if (response.status !== 200) throw new Error(`${target} answered ${response.status}`);
        if (i >= 2) times.push(ms);
      }
      rows.push({ name: `serve ${kind}: median`, value: median(times), unit: 'ms' }, { name: `serve ${kind}: max`, value: Math.max(...times), unit: 'ms' });
    }
    await serve.close();
    reader.close();
    writer.close();
    notes.push(`store: ${BENCH_IMAGES} images, ${store.runIds.length} runs x ${store.units.reduce((s, l) => s + l.units, 0)} units (top-9 each), written in ${writeS.toFixed(1)} s; ${requests} requests per page kind over HTTP on 127.0.0.1 after 2 warm-ups`);
    return { rows, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
