import type { Command } from 'commander';
import { ARCHITECTURES } from '../../model/architectures.js';
import { buildModelConfig } from '../../model/architectures.js';
import { countParameters } from '../../model/geometry.js';
import type { CommandSpec } from '../command-spec.js';

export const modelsCommand: CommandSpec = {
  name: 'models',
  summary: 'list the model architectures --model accepts, with input size and parameter count',
  configure(command: Command) {
    command.option('--json', 'print JSON instead of a table', false);
  },
  async run(options) {
    const rows = Object.entries(ARCHITECTURES).map(([name, entry]) => {
      const config = buildModelConfig(name);
      return { name, inputSizePx: config.inputSizePx, numClasses: config.numClasses, parameters: countParameters(config), description: entry.description };
    });
    if (options['json'] === true) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    for (const row of rows) {
      process.stdout.write(`${row.name.padEnd(14)} ${String(row.inputSizePx).padStart(4)}px ${String(row.numClasses).padStart(5)} classes ${row.parameters.toLocaleString('en-US').padStart(12)} params  ${row.description}\n`);
    }
  },
};
