import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import { createRun } from '../../src/store/runs.js';
import { createTrainingStore, type EpochRecord } from '../../src/store/training-store.js';

test('epoch rows round-trip, upsert on rewrite, and checkpoints can be marked deleted; evaluations keep class rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'train-store-'));
  try {
    const db = openStore(join(dir, 'z.db'));
    createRun(db, { id: 'train-x', kind: 'train', model: 'zfnet-tiny', backend: 'cpu' });
    const store = createTrainingStore(db);
    const row: EpochRecord = {
      runId: 'train-x', epoch: 1, steps: 3, trainImages: 24, trainLoss: 1.2, trainTop1Error: 0.5, trainTop5Error: 0.1,
      valImages: 8, valLoss: 1.1, valTop1Error: 0.375, valTop5Error: 0, learningRate: 0.01, imagesPerS: 40.5, wallS: 0.8,
      checkpointPath: '/x/epoch-0001.safetensors', checkpointKept: true, completedAt: '2026-01-01T00:00:00.000Z',
    };
    store.saveEpoch(row);
    store.saveEpoch({ ...row, epoch: 2, trainLoss: 0.9 });
    store.saveEpoch({ ...row, epoch: 2, trainLoss: 0.8 });
    store.markCheckpointsDeleted('train-x', [1]);
    const epochs = store.listEpochs('train-x');
    assert.deepEqual(epochs[0], { ...row, checkpointKept: false });
    assert.equal(epochs.length, 2);
    assert.equal(epochs[1]!.trainLoss, 0.8);
    const id = store.saveEvaluation(
      { runId: null, checkpointPath: '/x/e.safetensors', checkpointSha256: 'ab', model: 'zfnet-tiny', split: 'val', tenCrop: true, images: 4, loss: 1, top1Error: 0.25, top5Error: 0, createdAt: 'now' },
      [{ label: 0, classKey: 'n0', images: 4, top1Error: 0.25, top5Error: 0 }],
    );
    assert.equal(store.listEvaluations()[0]!.tenCrop, true);
    assert.deepEqual(store.listClassErrors(id), [{ label: 0, classKey: 'n0', images: 4, top1Error: 0.25, top5Error: 0 }]);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
