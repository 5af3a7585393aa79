import type { Command } from 'commander';
import { readCheckpointFile } from '../../checkpoint/checkpoint-file.js';
import { describeCheckpoint, formatCheckpointReport } from '../../checkpoint/describe-checkpoint.js';
import { UsageError } from '../../errors.js';
import type { CommandSpec } from '../command-spec.js';

/**
 * `run-pipeline info`: architecture, parameter count, per-layer output shapes
 * and receptive fields, and training state of a checkpoint. Reads and
 * validates the file without starting a TensorFlow.js backend.
 */
export const infoCommand: CommandSpec = {
  name: 'info',
  summary: 'describe a checkpoint: architecture, parameters, per-layer output shapes and receptive fields, training state',
  configure(command: Command) {
    command
      .requiredOption('--checkpoint <file>', 'safetensors checkpoint written by init or train')
      .option('--json', 'print JSON instead of a table', false);
  },
  async run(options) {
    const path = options['checkpoint'];
    if (typeof path !== 'string' || path.trim() === '') throw new UsageError('Expected a file path for --checkpoint');
    const report = describeCheckpoint(path, readCheckpointFile(path));
    process.stdout.write(options['json'] === true ? `${JSON.stringify(report, null, 2)}\n` : formatCheckpointReport(report));
  },
};
