/**
 * The first-epoch warning on real training runs: zfnet-tiny with the paper's
 * init stays at ln(4) and is warned about; the same model with the scaled
 * init, a larger rate and no dropout learns the solid-colour classes within
 * the epoch's 12 steps and is not.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initBackend } from '../../../src/backend/select-backend.js';
import { createTrainingStore } from '../../../src/store/training-store.js';
import { resolveRecipeDefaults } from '../../../src/train/recipe-defaults.js';
import { runTrainPipeline, type TrainRecipe } from '../../../pipelines/train/train.js';
import { makeTempDir, openTempStore, writeFolderTree } from '../../data/fixtures.js';

let tmp: { dir: string; cleanup: () => void };
let data: string;

before(async () => {
  await initBackend('cpu', { log: () => {} });
  tmp = makeTempDir('zfnet-learning-');
  data = join(tmp.dir, 'data');
  await writeFolderTree(data, { train: { a: 12, b: 12, c: 12, d: 12 }, val: { a: 2, b: 2, c: 2, d: 2 } });
});
after(() => tmp.cleanup());

function recipe(name: string, recipeFields: Partial<TrainRecipe>): TrainRecipe {
  return {
    model: 'zfnet-tiny', data, seed: 4, ...resolveRecipeDefaults('zfnet-tiny').defaults, epochs: 1, microBatch: null, momentum: 0.9, weightDecay: 0, dropout: 0.5,
    filterRadius: 0.1, patience: 5, stepEpochs: 20, lrFactor: 10, crop: 'paper', limit: null,
    valSplit: 'val', valLimit: null, keepEpochs: [], keepAll: true, outDir: join(tmp.dir, name), batchSize: 4, ...recipeFields,
  };
}

async function train(name: string, recipeFields: Partial<TrainRecipe>): Promise<{ lines: string[]; trainLoss: number; valLoss: number }> {
  const db = openTempStore(tmp.dir, `${name}.db`);
  const lines: string[] = [];
  try {
    const result = await runTrainPipeline({ db, backend: 'cpu', recipe: recipe(name, recipeFields), log: (line) => lines.push(line) });
    const [epoch] = createTrainingStore(db).listEpochs(result.runId);
    return { lines, trainLoss: epoch!.trainLoss!, valLoss: epoch!.valLoss! };
  } finally {
    db.close();
  }
}

test('a run whose loss stays at ln(classes) after epoch 1 is warned, naming the cause and the flag', async () => {
  const stuck = await train('stuck', { init: 'paper', learningRate: 0.01 });
  assert.ok(Math.abs(stuck.valLoss - Math.log(4)) < 1e-3, `val loss ${stuck.valLoss}`);
  const warnings = stuck.lines.filter((l) => l.includes('warning'));
  assert.equal(warnings.length, 1, stuck.lines.join('\n'));
  assert.match(warnings[0]!, /^train: warning: after epoch 1 the loss has not moved from ln\(4\) = 1\.3863 \(train loss 1\.38\d\d, val loss 1\.38\d\d\): the model predicts chance and is not learning\. Likely cause: the paper's init N\(0, 0\.01\^2\) leaves zfnet-tiny's logits near zero, so the gradients vanish; use --init scaled/);
});

test('a run that learns (scaled init, lr 0.005, no dropout) moves its loss in epoch 1 and is not warned', async () => {
  const learning = await train('learning', { learningRate: 0.005, dropout: 0 });
  assert.ok(learning.valLoss < Math.log(4) * 0.95, `val loss ${learning.valLoss} vs ln 4 = ${Math.log(4)}`);
  assert.deepEqual(learning.lines.filter((l) => l.includes('warning')), []);
});
