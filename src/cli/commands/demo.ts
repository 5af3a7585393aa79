import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { DEMO_RECIPE, runDemo, type DemoRecipe, type DemoResult } from '../../../pipelines/demo/demo.js';
import { expectChoice, expectInteger, expectNumber } from '../../errors.js';
import { ARCHITECTURE_NAMES } from '../../model/architectures.js';
import { INIT_SCHEMES } from '../../train/init-scale.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { parseUnitSelection } from '../../mosaic/unit-selection.js';
import { formatDuration } from '../../progress.js';
import { describeExplorerCommand } from '../../vocabulary.js';
import { addBackendOption, addDbOption } from '../common-options.js';
import type { CommandSpec } from '../command-spec.js';

/**
 * The demo's closing summary: what was trained and analysed, the report's
 * path on a line of its own, then the command that opens the explorer.
 */
export function describeDemoResult(result: DemoResult, recipe: Pick<DemoRecipe, 'model' | 'epochs'>, where: { dbPath: string; cwd: string; launcher: string }): string {
  const error = result.valTop1Error === null ? 'not measured' : `${(result.valTop1Error * 100).toFixed(1)}%`;
  const early = result.earlyTopActivationsRunId === null ? '' : `; the same over the first epoch's checkpoint (run ${result.earlyTopActivationsRunId}), to compare`;
  return `\nDemo finished in ${formatDuration(result.elapsedS)}. ${recipe.model} trained ${recipe.epochs} epochs (run ${result.trainRunId}); `
    + `validation top-1 error ${error}. Top-9 activations of ${result.totalUnits} conv units over val (run ${result.topActivationsRunId}): `
    + `${result.deadUnits} dead units${early}. Mosaics, occlusion and invariance figures are linked from the report:\n${result.reportPath}\n`
    + `Browse every unit, its projections, the same unit at each analysed epoch and the two runs side by side in the explorer (http://127.0.0.1:8080/):\n`
    + `${describeExplorerCommand(where.dbPath, where.cwd, where.launcher)}\n`;
}

export const demoCommand: CommandSpec = {
  name: 'demo',
  summary: 'the main job end to end on the sample dataset: train, top-activations, mosaics, occlusion, invariance, report (reuses finished steps)',
  configure(command: Command) {
    command
      .option('--model <name>', `architecture to train: ${ARCHITECTURE_NAMES.join(', ')}`, DEMO_RECIPE.model)
      .option('--init <scheme>', 'weight initialisation: paper or scaled (for the small models)', DEMO_RECIPE.init)
      .option('--epochs <n>', 'training epochs', String(DEMO_RECIPE.epochs))
      .option('--batch-size <n>', 'training batch size', String(DEMO_RECIPE.batchSize))
      .option('--lr <x>', 'learning rate (fixed schedule)', String(DEMO_RECIPE.learningRate))
      .option('--dropout <x>', 'dropout rate of fc6 and fc7', String(DEMO_RECIPE.dropout))
      .option('--seed <n>', 'seed of the training run', String(DEMO_RECIPE.seed))
      .option('--data <dir>', 'dataset root instead of the built-in sample dataset')
      .option('--mosaic-units <sel>', 'units per layer to draw: all, 0-15, random:16 (the first 16 keep the demo within 10 minutes)', '0-15')
      .option('--experiment-images <n>', 'val images for occlusion and invariance', '3');
    addDbOption(command);
    addBackendOption(command);
  },
  async run(o, _command, context) {
    if (context === undefined) throw new TypeError('demo runs other commands: expected the CommandContext the program passes (run it through buildProgram)');
    const recipe = {
      model: expectChoice('model', o['model'], ARCHITECTURE_NAMES),
      init: expectChoice('init', o['init'], INIT_SCHEMES),
      epochs: expectInteger('epochs', o['epochs'], 1, 10000),
      batchSize: expectInteger('batchSize', o['batchSize'], 1, 4096),
      learningRate: expectNumber('lr', o['lr'], 1e-9, 10),
      dropout: expectNumber('dropout', o['dropout'], 0, 0.95),
      seed: expectInteger('seed', o['seed'], 0, 2 ** 31 - 1),
    };
    const mosaicUnits = String(o['mosaicUnits']);
    parseUnitSelection(mosaicUnits);
    const experimentImages = expectInteger('experimentImages', o['experimentImages'], 1, 1000);
    const dbPath = resolveDbPath(o['db'] as string | undefined);
    const db = openStore(dbPath);
    try {
      const result = await runDemo({
        db, dbPath, backend: String(o['backend']), recipe, data: o['data'] as string | undefined, mosaicUnits, experimentImages,
        runCommand: context.runCommand,
      });
      process.stdout.write(describeDemoResult(result, recipe, { dbPath, cwd: process.cwd(), launcher: existsSync('run-pipeline') ? './run-pipeline' : 'run-pipeline' }));
    } finally {
      db.close();
    }
  },
};
