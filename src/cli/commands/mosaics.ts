import type { Command } from 'commander';
import { runMosaics } from '../../../pipelines/mosaics/mosaics.js';
import { expectChoice, expectInteger } from '../../errors.js';
import { DECONV_METHODS } from '../../onnx/deconv-graphs.js';
import { parseUnitSelection } from '../../mosaic/unit-selection.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import type { CommandSpec } from '../command-spec.js';
import { parseWorkersOption } from '../../workers/workers-option.js';
import { addBackendOption, addDbOption, addSeedOption, addWorkersOption, BACKEND_CHOICES } from '../common-options.js';

/** `run-pipeline mosaics`: the paper's Fig. 2 for every chosen unit of a top-activations run. */
export const mosaicsCommand: CommandSpec = {
  name: 'mosaics',
  summary: "Fig. 2 mosaics: each unit's top-9 projected to pixels (deconvnet, guided or gradient) beside the image patches; sheets, unit pages, index.html",
  configure(command: Command) {
    command
      .option('--run <id>', 'top-activations run (default: the newest finished one)')
      .option('--layers <list>', "layers of the run by name, alias, glob or number: e.g. 1-5, conv2,conv5, 'layer?.1' (default: every layer of the run)")
      .option('--method <name>', `projection: ${DECONV_METHODS.join(', ')} (guided and gradient run on the onnx engine; see docs/readme/own-models.md)`, 'deconvnet')
      .option('--units <which>', 'all, a list like 0-15 or 3,7, or random:N (drawn with --seed)', 'all')
      .option('--checkpoint <file>', "weights to project with instead of the run's checkpoint (project architectures; stored values are still checked)")
      .option('--out <dir>', 'output folder (default out/mosaics/<run id>, or out/mosaics/<run id>-<method> for guided and gradient)')
      .option('--batch-size <n>', 'projections per forward/backward pass (rounded up to whole units)', '16')
      .option('--units-per-sheet <n>', 'units on one sheet PNG (larger layers get several pages)', '64')
      .option('--columns <n>', 'units per sheet row', '8');
    addSeedOption(command);
    addBackendOption(command);
    addWorkersOption(command);
    addDbOption(command);
  },
  async run(options) {
    const layers = options['layers'] === undefined ? undefined : String(options['layers']);
    const method = expectChoice('method', options['method'], DECONV_METHODS);
    const units = parseUnitSelection(String(options['units']));
    const seed = expectInteger('seed', options['seed'], 0, 2 ** 31 - 1);
    const backend = expectChoice('backend', options['backend'], BACKEND_CHOICES);
    const batchSize = expectInteger('batchSize', options['batchSize'], 1, 4096);
    const unitsPerSheet = expectInteger('unitsPerSheet', options['unitsPerSheet'], 1, 4096);
    const columns = expectInteger('columns', options['columns'], 1, 256);
    const db = openStore(resolveDbPath(options['db'] as string | undefined));
    try {
      const result = await runMosaics({
        db, layers, method, units, seed, backend, batchSize, unitsPerSheet, columns, workers: parseWorkersOption(options),
        runId: typeof options['run'] === 'string' ? options['run'] : undefined,
        checkpoint: typeof options['checkpoint'] === 'string' ? options['checkpoint'] : undefined,
        outDir: typeof options['out'] === 'string' ? options['out'] : undefined,
      });
      const reused = result.keptUnits === 0 ? '' : ` (${result.keptUnits} already drawn by an earlier call with the same run, weights and method; reused)`;
      process.stdout.write(`mosaics of ${result.runId} (${result.method}): ${result.projections} projections, ${result.units} units${reused}, ${result.sheets.length} sheets; open ${result.outDir}/index.html\n`);
    } finally {
      db.close();
    }
  },
};
