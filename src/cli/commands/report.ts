import type { Command } from 'commander';
import { writeReport } from '../../../pipelines/report/report.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { addDbOption } from '../common-options.js';
import type { CommandSpec } from '../command-spec.js';

export const reportCommand: CommandSpec = {
  name: 'report',
  summary: 'write a static HTML report of a run (training curves, evaluation, unit tables, mosaics, experiments) under out/reports/<run>/',
  configure(command: Command) {
    command
      .requiredOption('--run <id>', 'run to report on (run-pipeline runs lists them); a training run also shows the analyses of its checkpoints')
      .option('--out <dir>', 'folder of the generated artefacts the report links to', 'out');
    addDbOption(command);
  },
  async run(options) {
    const dbPath = resolveDbPath(options['db'] as string | undefined);
    const db = openStore(dbPath);
    try {
      const result = writeReport({ db, runId: options['run'] as string, outRoot: options['out'] as string, dbPath });
      process.stdout.write(`report: ${result.path} (${result.epochs} epochs, ${result.passes} top-activations passes, ${result.experiments} experiment runs)\n`);
    } finally {
      db.close();
    }
  },
};
