import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { initBackend } from '../../../src/backend/select-backend.js';
import { writeSampleData } from '../../../src/data/sample-data.js';
import { openStore, type Store } from '../../../src/store/open-store.js';
import { runFixedExperiment, type ResumeEngine } from './experiment-child.js';

const CHILD = fileURLToPath(new URL('./experiment-child.js', import.meta.url));
let dir: string;
let data: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'experiment-resume-'));
  data = (await writeSampleData(join(dir, 'data'), { trainPerClass: 1, valPerClass: 1 })).dir;
  await initBackend('cpu', { log: () => {} });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const TABLES: Record<string, string> = {
  occlusion: `SELECT i.image_key, i.unit, i.true_prob, c.row, c.col, c.feature_sum, c.true_prob AS p, c.top_class, c.top_prob
              FROM occlusion_images i JOIN occlusion_cells c USING (run_id, image_key) WHERE run_id = ? ORDER BY i.image_key, c.row, c.col`,
  invariance: 'SELECT image_key, transform, amount, layer1_distance, layer7_distance, true_prob, top_class FROM invariance_measures WHERE run_id = ? ORDER BY image_key, transform, amount',
};
const CSV: Record<string, string> = { occlusion: 'cells.csv', invariance: 'measures.csv' };

function readOutcome(db: Store, kind: string, runId: string, outDir: string): unknown {
  const summary = kind === 'occlusion' ? (JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as { images: Array<Record<string, unknown>> }).images.map(({ files, ...rest }) => ({ ...rest, files: (files as string[]).map((f) => f.slice(outDir.length)) })) : null;
  return { rows: db.prepare(TABLES[kind]!).all(runId), csv: readFileSync(join(outDir, CSV[kind]!), 'utf8'), summary };
}

const CASES: Array<[string, ResumeEngine]> = [['occlusion', 'cpu'], ['invariance', 'cpu'], ['occlusion', 'onnx'], ['invariance', 'onnx']];

for (const [kind, engine] of CASES) {
  test(`${kind} on ${engine}: killed after its first image, a rerun with the same options resumes that run and ends equal to an uninterrupted run; --force starts over`, async () => {
    const name = `${kind}-${engine}`;
    const reference = openStore(join(dir, `${name}-ref.db`));
    const refOut = join(dir, `${name}-ref`);
    const refRun = await runFixedExperiment(kind, reference, data, refOut, () => {}, false, engine);

    const storePath = join(dir, `${name}.db`);
    const outDir = join(dir, `${name}-out`);
    const killed = spawnSync(process.execPath, [CHILD, kind, storePath, data, outDir, 'kill-after-1', engine], { encoding: 'utf8' });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    const store = openStore(storePath);
    try {
      const before = store.prepare('SELECT id, status FROM runs WHERE kind = ?').all(kind) as Array<{ id: string; status: string }>;
      assert.equal(before.length, 1);
      assert.equal(before[0]!.status, 'running');
      const lines: string[] = [];
      const resumed = await runFixedExperiment(kind, store, data, outDir, (line) => lines.push(line), false, engine);
      assert.equal(resumed.runId, before[0]!.id);
      assert.ok(lines.includes(`taking over run ${resumed.runId} from process ${killed.pid} on host ${hostname()}: process ${killed.pid} no longer exists on ${hostname()}`), lines.join('\n'));
      assert.ok(lines.includes(`resuming unfinished ${kind} run ${resumed.runId} (same options): images it committed are kept; --force starts over`), lines.join('\n'));
      assert.equal(lines.filter((l) => l.endsWith('committed by the earlier run, kept')).length, 1, lines.join('\n'));
      assert.deepEqual(readOutcome(store, kind, resumed.runId, outDir), readOutcome(reference, kind, refRun.runId, refOut));
      assert.equal(store.prepare('SELECT status FROM runs WHERE id = ?').pluck().get(resumed.runId), 'finished');

      // A finished run is not resumed: the same command makes a new run; --force on an unfinished one deletes it first.
      store.prepare("UPDATE runs SET status = 'interrupted' WHERE id = ?").run(resumed.runId);
      const forcedLines: string[] = [];
      const forced = await runFixedExperiment(kind, store, data, join(dir, `${name}-forced`), (line) => forcedLines.push(line), true, engine);
      // A new run, every image computed again (its id may equal the deleted one's: run ids have one-second resolution).
      assert.ok(forcedLines.includes(`--force: deleting unfinished ${kind} run ${resumed.runId} and starting over`), forcedLines.join('\n'));
      assert.ok(!forcedLines.some((l) => l.startsWith('resuming') || l.endsWith('committed by the earlier run, kept')), forcedLines.join('\n'));
      assert.equal(forcedLines.filter((l) => new RegExp(`^${kind} \\d+: `).test(l)).length, 3, forcedLines.join('\n'));
      assert.deepEqual(store.prepare('SELECT id FROM runs WHERE kind = ?').pluck().all(kind), [forced.runId]);
    } finally {
      store.close();
      reference.close();
    }
  });
}
