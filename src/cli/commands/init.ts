import type { Command } from 'commander';
import { initBackend } from '../../backend/select-backend.js';
import { saveCheckpoint } from '../../checkpoint/checkpoint-file.js';
import { expectChoice, expectInteger, UsageError } from '../../errors.js';
import { ARCHITECTURE_NAMES, buildModelConfig } from '../../model/architectures.js';
import { countParameters } from '../../model/geometry.js';
import { disposeParams, initParams } from '../../model/params.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addSeedOption, BACKEND_CHOICES } from '../common-options.js';

/** Largest class count --num-classes accepts (ImageNet-21k has 21,841). */
export const MAX_NUM_CLASSES = 100_000;
/** Seeds are 31-bit so they survive every RNG tfjs and this project use. */
export const MAX_SEED = 2 ** 31 - 1;

/**
 * `run-pipeline init`: a freshly initialised checkpoint (the paper's
 * N(0, 0.01^2) weights, zero biases), the starting point of training and the
 * random-weights baseline of the sanity checks.
 */
export const initCommand: CommandSpec = {
  name: 'init',
  summary: "write a freshly initialised checkpoint (the paper's N(0, 0.01^2) weights, zero biases) as safetensors",
  configure(command: Command) {
    command
      .option('--model <name>', `architecture: ${ARCHITECTURE_NAMES.join(', ')}`, 'zfnet')
      .option('--num-classes <n>', "number of classes (default: the architecture's: 1000 full size, 10 small, 4 tiny)")
      .requiredOption('--out <file>', 'checkpoint file to write, e.g. out/zfnet-init.safetensors');
    addSeedOption(command);
    addBackendOption(command);
  },
  async run(options) {
    const model = expectChoice('model', options['model'], ARCHITECTURE_NAMES);
    const seed = expectInteger('seed', options['seed'], 0, MAX_SEED);
    const numClasses = options['numClasses'] === undefined ? undefined : expectInteger('numClasses', options['numClasses'], 1, MAX_NUM_CLASSES);
    const out = options['out'];
    if (typeof out !== 'string' || out.trim() === '') throw new UsageError('Expected a file path for --out');
    const backend = expectChoice('backend', options['backend'], BACKEND_CHOICES);
    const config = buildModelConfig(model, numClasses === undefined ? {} : { numClasses });
    await initBackend(backend);
    const params = initParams(config, seed);
    try {
      const result = saveCheckpoint(out, { config, params });
      process.stdout.write(`wrote ${out}: ${config.name}, ${config.numClasses} classes, ${countParameters(config).toLocaleString('en-US')} parameters, seed ${seed}, sha256 ${result.sha256}\n`);
    } finally {
      disposeParams(params);
    }
  },
};
