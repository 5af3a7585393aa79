import { resolve } from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../../backend/select-backend.js';
import { saveCheckpoint } from '../../checkpoint/checkpoint-file.js';
import { expectChoice, expectInteger, UsageError } from '../../errors.js';
import { ARCHITECTURE_NAMES, buildModelConfig } from '../../model/architectures.js';
import { countParameters } from '../../model/geometry.js';
import { disposeParams, initParams } from '../../model/params.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addDbOption, addSeedOption, BACKEND_CHOICES } from '../common-options.js';
import { computeSquareSizePx } from '../../data/crop-geometry.js';
import { findDataset } from '../../store/image-index.js';
import { describeMean, type MeanImage } from '../../data/mean-image.js';
import { formatMeanHint, loadMeanImage } from '../../store/mean-store.js';
import type { ModelConfig } from '../../model/spec.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';

/**
 * The computed mean of --data at the model's square size, or null without --data.
 * @throws UsageError when --data is given but the store has no computed mean of it at that size.
 */
function readStoredMean(data: unknown, dbOption: unknown, config: ModelConfig): MeanImage | null {
  if (typeof data !== 'string') return null;
  const root = resolve(data);
  const db = openStore(resolveDbPath(dbOption as string | undefined));
  try {
    const dataset = findDataset(db, root);
    const mean = dataset === undefined ? undefined : loadMeanImage(db, dataset.id, computeSquareSizePx(config.inputSizePx));
    if (mean === undefined || mean.source === 'fallback') throw new UsageError(`The store has no mean image of ${root} at ${computeSquareSizePx(config.inputSizePx)} px for --data: \`${formatMeanHint(config)} --data ${root}\` computes it`);
    return mean;
  } finally {
    db.close();
  }
}

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
      .requiredOption('--out <file>', 'checkpoint file to write, e.g. out/zfnet-init.safetensors')
      .option('--data <dir>', "dataset whose stored mean image (run-pipeline mean) the checkpoint carries, when the store has one at the model's size");
    addDbOption(command);
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
    const mean = readStoredMean(options['data'], options['db'], config);
    await initBackend(backend);
    if (mean !== null) process.stderr.write(`init: the checkpoint carries ${describeMean(mean).replace(/^mean image: /, '')}\n`);
    const params = initParams(config, seed);
    try {
      const result = saveCheckpoint(out, { config, params, mean });
      process.stdout.write(`wrote ${out}: ${config.name}, ${config.numClasses} classes, ${countParameters(config).toLocaleString('en-US')} parameters, seed ${seed}, sha256 ${result.sha256}\n`);
    } finally {
      disposeParams(params);
    }
  },
};
