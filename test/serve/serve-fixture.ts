/**
 * A store for the explorer's tests: a tiny dataset (3 classes x 4 images,
 * 72 px), zfnet-tiny checkpoints of two "epochs" (different seeds) and a
 * finished top-activations run of layers 1-5 over each, all made here.
 */
import { join } from 'node:path';
import { runTopActivations } from '../../pipelines/top-activations.js';
import { initBackend } from '../../src/backend/select-backend.js';
import { saveCheckpoint } from '../../src/checkpoint/checkpoint-file.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, initParams } from '../../src/model/params.js';
import { openStore } from '../../src/store/open-store.js';
import { writeTinyDataset } from '../pipelines/top-activations-fixture.js';

export interface ServeFixture {
  dbPath: string;
  dataRoot: string;
  /** The two runs, epoch 1 then epoch 2. */
  runIds: [string, string];
}

/** Builds the store under `dir` (about 15 s on wasm). */
export async function writeServeFixture(dir: string): Promise<ServeFixture> {
  const dataRoot = join(dir, 'data');
  await writeTinyDataset(dataRoot, { classes: 3, perClass: 4, sizePx: 72 });
  await initBackend('wasm', { log: () => undefined });
  const config = buildModelConfig('zfnet-tiny', { numClasses: 3 });
  const dbPath = join(dir, 'store.db');
  const db = openStore(dbPath);
  const runIds: string[] = [];
  try {
    for (const epoch of [1, 2]) {
      const checkpoint = join(dir, 'checkpoints', `epoch-${String(epoch).padStart(4, '0')}.safetensors`);
      const params = initParams(config, 10 + epoch);
      saveCheckpoint(checkpoint, { config, params });
      disposeParams(params);
      const result = await runTopActivations({
        db, data: dataRoot, split: 'val', checkpoint, initSeed: 1, layers: [1, 2, 3, 4, 5], topK: 9,
        batchSize: 6, commitEvery: 1, shard: { index: 0, count: 1 }, backend: 'wasm', force: false,
        decodeConcurrency: 2, strict: false, resumeCommand: '', log: () => undefined,
      });
      runIds.push(result.runId);
    }
  } finally {
    db.close();
  }
  return { dbPath, dataRoot, runIds: runIds as [string, string] };
}
