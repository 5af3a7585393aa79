import type { Command } from 'commander';
import { DEFAULT_PROJECT_TAPS, writeActivations } from '../../../pipelines/activations/activations.js';
import { DEFAULT_MODEL } from '../../../pipelines/shared/pass-model.js';
import { expectChoice, expectInteger, UsageError } from '../../errors.js';
import { ARCHITECTURE_NAMES } from '../../model/architectures.js';
import { TAP_NAMES } from '../../model/spec.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addDataOption, addDbOption, addSeedOption, BACKEND_CHOICES } from '../common-options.js';

/** `run-pipeline activations`: one image's input and taps as .npy files with a JSON sidecar. */
export const activationsCommand: CommandSpec = {
  name: 'activations',
  summary: 'write one image\'s preprocessed input and chosen taps or layers as .npy (float32) with a JSON sidecar, for numpy',
  configure(command: Command) {
    command
      .option('--image <path>', 'an image file')
      .option('--image-id <n>', 'an image of the dataset index (see `top`)')
      .option('--checkpoint <file>', 'trained weights (.safetensors); without it a freshly initialised model')
      .option('--model <name>', `an imported model (run-pipeline import), or the architecture without a checkpoint (default ${DEFAULT_MODEL}): ${ARCHITECTURE_NAMES.join(', ')}`)
      .option('--taps <list>', `taps to write: ${TAP_NAMES.join(', ')} (default ${DEFAULT_PROJECT_TAPS}); for an imported model its layers by name, alias, glob ('layer1.*', '*' for all) or number (default: its conv layers)`)
      .requiredOption('--out <dir>', 'folder for the .npy files and activations.json');
    addDataOption(command);
    addDbOption(command);
    addBackendOption(command);
    addSeedOption(command);
  },
  async run(options) {
    const hasPath = options['image'] !== undefined;
    const hasId = options['imageId'] !== undefined;
    if (hasPath === hasId) throw new UsageError('Give exactly one of --image PATH and --image-id N');
    const image = hasPath ? { path: String(options['image']) } : { imageId: expectInteger('imageId', options['imageId'], 0, Number.MAX_SAFE_INTEGER) };
    const db = openStore(resolveDbPath(options['db'] as string | undefined));
    try {
      const result = await writeActivations({
        db, image, data: options['data'] as string | undefined, checkpoint: options['checkpoint'] as string | undefined,
        model: options['model'] as string | undefined, taps: options['taps'] as string | undefined,
        initSeed: expectInteger('seed', options['seed'], 0, 2 ** 31 - 1), outDir: String(options['out']),
        backend: expectChoice('backend', options['backend'], BACKEND_CHOICES),
      });
      process.stdout.write(`${[...result.files, result.sidecarPath].join('\n')}\n`);
    } finally {
      db.close();
    }
  },
};
