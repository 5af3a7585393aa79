/**
 * `node dist/test/shards/compare-stores.js MERGED.db ONE-PASS.db`: exits 0
 * when the merged store's top-activations run has exactly the statistics and
 * top-k rows of the single pass (readRunResults: every unit_stats value and
 * every top_activations row), 1 naming the first difference otherwise.
 * Used by scripts/test-slurm.sh.
 */
import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import { readRunResults } from '../pipelines/top-activations-fixture.js';

function readFinishedRun(path: string): ReturnType<typeof readRunResults> & { runId: string } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const runs = db.prepare("SELECT id FROM runs WHERE kind = 'top-activations' AND status = 'finished' ORDER BY id").pluck().all() as string[];
    if (runs.length !== 1) throw new Error(`${path}: expected one finished top-activations run, found ${runs.length}`);
    return { runId: runs[0]!, ...readRunResults(db, runs[0]!) };
  } finally {
    db.close();
  }
}

const [mergedPath, onePassPath] = process.argv.slice(2);
if (mergedPath === undefined || onePassPath === undefined) {
  process.stderr.write('usage: compare-stores.js MERGED.db ONE-PASS.db\n');
  process.exit(2);
}
const merged = readFinishedRun(mergedPath);
const onePass = readFinishedRun(onePassPath);
for (const table of ['stats', 'top'] as const) {
  const a = merged[table];
  const b = onePass[table];
  const first = Array.from({ length: Math.max(a.length, b.length) }, (_, i) => i).find((i) => !isDeepStrictEqual(a[i], b[i]));
  if (first !== undefined) {
    process.stderr.write(`${table} row ${first} differs: merged ${JSON.stringify(a[first])}, one pass ${JSON.stringify(b[first])} (${a.length} and ${b.length} rows)\n`);
    process.exit(1);
  }
}
process.stdout.write(`merged ${merged.runId} equals one pass ${onePass.runId}: ${merged.stats.length} unit statistics, ${merged.top.length} top-k rows\n`);
