import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEMO_RECIPE } from '../../pipelines/demo/demo.js';
import { parseTrainRecipe } from '../../src/cli/commands/train.js';
import { ARCHITECTURE_NAMES } from '../../src/model/architectures.js';
import { describeStuckLoss, isLossStuckAtChance } from '../../src/train/learning-check.js';
import { PAPER_RECIPE_DEFAULTS, resolveRecipeDefaults, SMALL_MODEL_RECIPE_DEFAULTS } from '../../src/train/recipe-defaults.js';
import { runCli } from '../cli/run-cli.js';

/** The options commander hands parseTrainRecipe when only --model is given (the defaults that stay global). */
const base = (model: string): Record<string, unknown> => ({
  model, seed: '1', epochs: '70', momentum: '0.9', weightDecay: '0', filterRadius: '0.1',
  patience: '5', stepEpochs: '20', lrFactor: '10', crop: 'paper', valSplit: 'val', keepEpochs: 'none', out: 'out',
});

describe('training defaults per architecture', () => {
  it('full size gets the paper\'s recipe, the scaled-down variants the demo\'s measured one', () => {
    assert.deepEqual(PAPER_RECIPE_DEFAULTS.defaults, { init: 'paper', batchSize: 128, learningRate: 0.01, lrSchedule: 'plateau', dropout: 0.5 });
    assert.deepEqual(SMALL_MODEL_RECIPE_DEFAULTS.defaults, { init: 'scaled', batchSize: 32, learningRate: 0.001, lrSchedule: 'fixed', dropout: 0 });
    const byModel = Object.fromEntries(ARCHITECTURE_NAMES.map((m) => [m, resolveRecipeDefaults(m) === PAPER_RECIPE_DEFAULTS ? 'paper' : 'small']));
    assert.deepEqual(byModel, { zfnet: 'paper', alexnet: 'paper', 'zfnet-small': 'small', 'alexnet-small': 'small', 'zfnet-tiny': 'small', 'alexnet-tiny': 'small' });
    const demo = SMALL_MODEL_RECIPE_DEFAULTS.defaults;
    assert.deepEqual([DEMO_RECIPE.init, DEMO_RECIPE.batchSize, DEMO_RECIPE.learningRate, DEMO_RECIPE.dropout], [demo.init, demo.batchSize, demo.learningRate, demo.dropout], 'the demo trains with the table\'s values');
    assert.throws(() => resolveRecipeDefaults('vgg'), { name: 'RangeError', message: /^Expected one of zfnet, alexnet, .* for model but received "vgg"$/ });
  });

  it('options not given take the architecture\'s values, and the run records which did', () => {
    const small = parseTrainRecipe(base('zfnet-small'));
    assert.deepEqual([small.init, small.batchSize, small.learningRate, small.lrSchedule, small.dropout], ['scaled', 32, 0.001, 'fixed', 0]);
    assert.deepEqual(small.recipeDefaults, { source: SMALL_MODEL_RECIPE_DEFAULTS.source, flags: '--init scaled --batch-size 32 --lr 0.001 --lr-schedule fixed --dropout 0' });
    const full = parseTrainRecipe(base('zfnet'));
    assert.deepEqual([full.init, full.batchSize, full.learningRate, full.lrSchedule, full.dropout], ['paper', 128, 0.01, 'plateau', 0.5]);
    const given = parseTrainRecipe({ ...base('zfnet-small'), lr: '0.02', init: 'paper', dropout: '0.3' });
    assert.deepEqual([given.init, given.batchSize, given.learningRate, given.lrSchedule, given.dropout], ['paper', 32, 0.02, 'fixed', 0.3]);
    assert.equal(given.recipeDefaults!.flags, '--batch-size 32 --lr-schedule fixed');
    assert.throws(() => parseTrainRecipe({ ...base('zfnet-small'), lr: 'fast' }), { message: 'Expected number between 0 and 10 for lr but received "fast"' });
  });

  it('train --help shows the defaults of each architecture', () => {
    const help = runCli(['train', '--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Defaults per architecture of the options not given \(recorded with the run\):\n {2}zfnet, alexnet: --init paper --batch-size 128 --lr 0\.01 --lr-schedule plateau --dropout 0\.5 \(the paper's recipe \(Sec\. 3\)\)\n {2}zfnet-small, alexnet-small, zfnet-tiny, alexnet-tiny: --init scaled --batch-size 32 --lr 0\.001 --lr-schedule fixed --dropout 0/);
  });
});

describe('the first-epoch learning check', () => {
  // Measured on zfnet-small, sample dataset (12 classes), epoch 1: paper init (stuck) and the demo recipe (learning).
  const stuck = { trainLoss: 2.485009749730428, valLoss: 2.4849034593672155, numClasses: 12 };
  const learning = { trainLoss: 2.524499373965793, valLoss: 2.3203911564900817, numClasses: 12 };

  it('fires on losses at ln(C) and not on measured learning ones', () => {
    assert.equal(isLossStuckAtChance(stuck), true);
    assert.equal(isLossStuckAtChance(learning), false);
    assert.equal(isLossStuckAtChance({ ...stuck, valLoss: null }), true, 'without validation the train loss decides');
    assert.equal(isLossStuckAtChance({ ...stuck, valLoss: 2.3 }), false, 'a val loss that moved is learning');
    assert.equal(isLossStuckAtChance({ trainLoss: null, valLoss: null, numClasses: 12 }), false, 'no loss, no claim');
    assert.equal(isLossStuckAtChance({ trainLoss: Math.log(1000) + 0.03, valLoss: null, numClasses: 1000 }), true, 'ImageNet: within 0.5% of ln 1000');
    assert.equal(isLossStuckAtChance({ trainLoss: Math.log(1000) - 0.05, valLoss: null, numClasses: 1000 }), false);
  });

  it('names the likely cause and the flag to change', () => {
    assert.equal(describeStuckLoss(learning, { model: 'zfnet-small', init: 'scaled', learningRate: 0.001 }), null);
    assert.equal(describeStuckLoss(stuck, { model: 'zfnet-small', init: 'paper', learningRate: 0.01 }),
      "train: warning: after epoch 1 the loss has not moved from ln(12) = 2.4849 (train loss 2.4850, val loss 2.4849): the model predicts chance and is not learning. "
      + "Likely cause: the paper's init N(0, 0.01^2) leaves zfnet-small's logits near zero, so the gradients vanish; use --init scaled "
      + '(the recipe measured to learn on the small models: --init scaled --batch-size 32 --lr 0.001 --lr-schedule fixed --dropout 0).');
    assert.match(describeStuckLoss(stuck, { model: 'zfnet-small', init: 'scaled', learningRate: 0.001 })!, /Likely cause: the learning rate 0\.001 is too small .*; change --lr \(try 0\.003 and 0\.000333/);
  });
});
