/**
 * Child process for the run-ownership tests: the top-activations pass of
 * `run-pipeline top-activations --data DATA --db STORE --model zfnet-tiny
 * --batch-size 3 --commit-every 1 --workers 1 --backend wasm`, run through
 * the pipeline so the test can stop it at exact points:
 *
 *   node top-activations-child.js STORE DATA stop-after-2   stops cleanly after 2 batches (committed, interrupted)
 *   node top-activations-child.js STORE DATA pause-on-resume  resumes the run, then SIGSTOPs itself while owning it
 */
import { writeSync } from 'node:fs';
import { runTopActivations } from '../../../pipelines/top-activations/top-activations.js';
import { openStore } from '../../../src/store/open-store.js';

async function main(): Promise<void> {
  const [store, data, mode] = process.argv.slice(2) as [string, string, string];
  let checks = 0;
  // The pass asks `aborted` once per batch: this one says yes after two batches, deterministically.
  const stopAfterTwo = { get aborted() { checks += 1; return checks > 2; } } as AbortSignal;
  const db = openStore(store);
  const log = (line: string): void => {
    writeSync(2, `${line}\n`);
    if (mode === 'pause-on-resume' && line.startsWith('resuming run')) {
      writeSync(1, 'paused\n');
      process.kill(process.pid, 'SIGSTOP');
    }
  };
  const result = await runTopActivations({
    db, data, split: 'val', model: 'zfnet-tiny', initSeed: 1, layers: [1, 2, 3, 4, 5], topK: 9, batchSize: 3, commitEvery: 1,
    shard: { index: 0, count: 1 }, backend: 'wasm', force: false, decodeConcurrency: 2, workers: 1, strict: false,
    signal: mode === 'stop-after-2' ? stopAfterTwo : undefined, resumeCommand: 'run-pipeline top-activations ...', log,
  });
  writeSync(1, `${result.runId} ${result.status} ${result.position}\n`);
  db.close();
}

main().catch((error: unknown) => {
  writeSync(2, `${(error as Error).stack}\n`);
  process.exit(1);
});
