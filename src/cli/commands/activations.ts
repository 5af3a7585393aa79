import type { Command } from 'commander';
import { writeActivations } from '../../../pipelines/activations.js';
import { DEFAULT_MODEL } from '../../../pipelines/pass-model.js';
import { expectChoice, expectInteger, invalidParameterError, UsageError } from '../../errors.js';
import { ARCHITECTURE_NAMES } from '../../model/architectures.js';
import { TAP_NAMES, type TapName } from '../../model/spec.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addDataOption, addDbOption, addSeedOption, BACKEND_CHOICES } from '../common-options.js';

/**
 * Parses --taps "conv1,conv5,fc7".
 * @throws RangeError (usage error) naming the first unknown tap.
 */
export function parseTapList(value: unknown): TapName[] {
  const names = String(value).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw invalidParameterError('taps', `a comma-separated list of ${TAP_NAMES.join(', ')}`, value);
  for (const name of names) if (!(TAP_NAMES as readonly string[]).includes(name)) throw invalidParameterError('taps', `tap names among ${TAP_NAMES.join(', ')}`, name);
  return [...new Set(names)] as TapName[];
}

/** `run-pipeline activations`: one image's input and taps as .npy files with a JSON sidecar. */
export const activationsCommand: CommandSpec = {
  name: 'activations',
  summary: 'write one image\'s preprocessed input and chosen taps as .npy (NHWC float32) with a JSON sidecar, for numpy',
  configure(command: Command) {
    command
      .option('--image <path>', 'an image file')
      .option('--image-id <n>', 'an image of the dataset index (see `top`)')
      .option('--checkpoint <file>', 'trained weights (.safetensors); without it a freshly initialised model')
      .option('--model <name>', `architecture without a checkpoint (default ${DEFAULT_MODEL}): ${ARCHITECTURE_NAMES.join(', ')}`)
      .option('--taps <list>', `taps to write: ${TAP_NAMES.join(', ')}`, 'conv1,conv5,fc7')
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
    const taps = parseTapList(options['taps']);
    const db = openStore(resolveDbPath(options['db'] as string | undefined));
    try {
      const result = await writeActivations({
        db, image, data: options['data'] as string | undefined, checkpoint: options['checkpoint'] as string | undefined,
        model: options['model'] === undefined ? undefined : expectChoice('model', options['model'], ARCHITECTURE_NAMES),
        initSeed: expectInteger('seed', options['seed'], 0, 2 ** 31 - 1), taps, outDir: String(options['out']),
        backend: expectChoice('backend', options['backend'], BACKEND_CHOICES),
      });
      process.stdout.write(`${[...result.files, result.sidecarPath].join('\n')}\n`);
    } finally {
      db.close();
    }
  },
};
