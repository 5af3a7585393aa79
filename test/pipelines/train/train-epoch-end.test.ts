import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initBackend } from '../../../src/backend/select-backend.js';
import { createTrainingStore } from '../../../src/store/training-store.js';
import { runTrainPipeline } from '../../../pipelines/train/train.js';
import { makeTempDir, openTempStore, writeBytes, writeFolderTree } from '../../data/fixtures.js';

let tmp: { dir: string; cleanup: () => void };
let data: string;
const quiet = (): void => {};

before(async () => {
  await initBackend('cpu', { log: quiet });
  tmp = makeTempDir('zfnet-train-val-');
  data = join(tmp.dir, 'data');
  await writeFolderTree(data, { train: { a: 2, b: 2 }, val: { a: 1, b: 2 } });
  writeBytes(join(data, 'val', 'b', 'img_0.jpg'), 'not an image');
});
after(() => tmp.cleanup());

test('validation records each bad image in skipped_items under the training run, every epoch, and says so', async () => {
  const db = openTempStore(tmp.dir);
  const lines: string[] = [];
  const result = await runTrainPipeline({
    db, backend: 'cpu', log: (l) => lines.push(l),
    recipe: {
      model: 'zfnet-tiny', data, seed: 3, init: 'paper', epochs: 2, batchSize: 2, microBatch: null, learningRate: 0.01, momentum: 0.9, weightDecay: 0,
      dropout: 0.5, filterRadius: 0.1, lrSchedule: 'plateau', patience: 1, stepEpochs: 20, lrFactor: 10, crop: 'paper', limit: null,
      valSplit: 'val', valLimit: null, keepEpochs: [], keepAll: true, outDir: join(tmp.dir, 'out'),
    },
  });
  const rows = createTrainingStore(db).listEpochs(result.runId);
  assert.deepEqual(rows.map((r) => r.valImages), [2, 2]);
  const skips = db.prepare('SELECT path, stage, reason FROM skipped_items WHERE run_id = ? ORDER BY id').all(result.runId) as Array<{ path: string; stage: string; reason: string }>;
  const bad = join(data, 'val', 'b', 'img_0.jpg');
  assert.deepEqual(skips, [1, 2].map(() => ({ path: bad, stage: 'decode', reason: 'Input buffer contains unsupported image format' })));
  assert.deepEqual(lines.filter((l) => l.startsWith('val epoch')), [1, 2].map((e) => `val epoch ${e}: skipped 1 bad images of val (recorded in skipped_items of run ${result.runId})`));
  db.close();
});
