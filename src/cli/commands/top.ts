import type { Command } from 'commander';
import { expectInteger, UsageError } from '../../errors.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { queryTopRows } from '../../store/top-activations-store.js';
import type { CommandSpec } from '../command-spec.js';
import { addDbOption } from '../common-options.js';
import { displayRank } from '../../vocabulary.js';
import { describeClass, expectRunLayer, formatTable, resolveTopActivationRun } from './units.js';

/** `run-pipeline top`: the stored top-k images of one unit, or of every unit of a layer. */
export const topCommand: CommandSpec = {
  name: 'top',
  summary: 'the top-9 images of a unit (or of every unit of a layer) from a top-activations run: image id, path, class, value, (y, x)',
  configure(command: Command) {
    command
      .option('--run <id>', 'top-activations run (default: the newest finished one)')
      .requiredOption('--layer <name>', 'an analysed layer of the run, by name (conv2, features.3, layer3.1), alias or number (2)')
      .option('--unit <n>', 'one unit (default: every unit of the layer)')
      .option('--json', 'print JSON instead of a table', false);
    addDbOption(command);
  },
  async run(options) {
    const dbPath = resolveDbPath(options['db'] as string | undefined);
    const db = openStore(dbPath, { mustExist: true });
    try {
      const run = resolveTopActivationRun(db, dbPath, options['run']);
      const layer = expectRunLayer(run, options['layer']);
      const unit = options['unit'] === undefined ? null : expectInteger('unit', options['unit'], 0, layer.units - 1);
      const rows = queryTopRows(db, run.runId, layer.number, unit);
      if (unit !== null && rows.length === 0) throw new UsageError(`Run ${run.runId} has no entries for ${layer.name} unit ${unit}`);
      if (options['json'] === true) {
        process.stdout.write(`${JSON.stringify({ runId: run.runId, layer: layer.number, layerName: layer.name, entries: rows }, null, 2)}\n`);
        return;
      }
      const header = ['unit', 'rank', 'image_id', 'value', 'y', 'x', 'class', 'path'];
      const cells = rows.map((r) => [
        String(r.unit), String(displayRank(r.rank)), String(r.imageId), r.value.toPrecision(6), String(r.y), String(r.x),
        describeClass(r.className, r.classKey, r.label), r.path,
      ]);
      process.stdout.write(`${formatTable(header, cells, [true, true, true, true, true, true, false, false])}\n`);
    } finally {
      db.close();
    }
  },
};
