import type { Command } from 'commander';
import { runPreferredInputs } from '../../../pipelines/preferred-inputs/preferred-inputs.js';
import { expectChoice, expectInteger } from '../../errors.js';
import { parseUnitSelection } from '../../mosaic/unit-selection.js';
import { PARAM_KINDS } from '../../preferred/image-param.js';
import { OBJECTIVE_KINDS, PRESET_NAMES, type PreferredSettingsOptions } from '../../preferred/preferred-settings.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { parseWorkersOption } from '../../workers/workers-option.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addDbOption, addSeedOption, addWorkersOption, BACKEND_CHOICES } from '../common-options.js';

/** The optimisation options, declared so that an option not given keeps the preset's value. */
function addSettingsOptions(command: Command): void {
  command
    .option('--preset <name>', `regularisers: ${PRESET_NAMES.join(', ')} (lucid: Fourier parameterisation, decorrelated colour, jitter/scale/rotation, Adam; deepvis: pixels, L2 decay and Gaussian blur)`, 'lucid')
    .option('--objective <kind>', `${OBJECTIVE_KINDS.join(' or ')}: the unit at the centre cell of its map (default; compares like for like with an image's activation) or its spatial mean`)
    .option('--steps <n>', 'optimisation steps (default 256)')
    .option('--param <kind>', `image parameterisation: ${PARAM_KINDS.join(', ')} (preset's)`)
    .option('--decorrelate', "decorrelated colour space (Lucid's; lucid's default)")
    .option('--no-decorrelate', 'plain RGB')
    .option('--lr <x>', 'learning rate (default 0.05 with Adam, 0.01 for the deepvis pixels)')
    .option('--jitter <px>', 'largest random shift per step (default S/14: 16 px at 224; 0 with deepvis)')
    .option('--scale-rotate', "random scale 0.9-1.1 and rotation -10..10 degrees each step (lucid's default)")
    .option('--no-scale-rotate', 'no random scale or rotation')
    .option('--decay <x>', 'L2 decay towards the mean colour per step (deepvis: 1e-4)')
    .option('--blur <px>', 'Gaussian blur sigma (deepvis: 1)')
    .option('--blur-every <n>', 'blur every N steps (deepvis: 4)')
    .option('--pre-relu', "optimise the unit's value before its ReLU (default: a silent unit still gets a gradient)")
    .option('--no-pre-relu', 'optimise the value after the ReLU');
}

function parseSettings(options: Record<string, unknown>): PreferredSettingsOptions {
  return {
    preset: options['preset'], objective: options['objective'], steps: options['steps'], param: options['param'], decorrelate: options['decorrelate'],
    learningRate: options['lr'], jitterPx: options['jitter'], scaleAndRotate: options['scaleRotate'], decay: options['decay'],
    blurSigmaPx: options['blur'], blurEvery: options['blurEvery'], preRelu: options['preRelu'],
  };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** `run-pipeline preferred-inputs`: activation maximisation of chosen units, beside their top-9. */
export const preferredInputsCommand: CommandSpec = {
  name: 'preferred-inputs',
  summary: "preferred inputs: the image each unit wants, by gradient ascent on its activation (regularised), beside its top-9; measured against its top-1 dataset activation",
  configure(command: Command) {
    command
      .option('--run <id>', 'top-activations run: its model, layers and top-1 images (default: the newest finished one, unless --checkpoint or --model)')
      .option('--checkpoint <file>', "a project checkpoint instead of a run (no top-1 to compare with)")
      .option('--model <name>', 'an imported model (or an architecture, random weights) instead of a run')
      .option('--layers <list>', "layers by name, alias, glob or number: e.g. conv5, 'features.10', 2-5 (default: the last conv layer: conv5, features.10, ...)")
      .option('--units <which>', 'all, a list like 0-15 or 3,7, or random:N (drawn with --seed)', '0-15')
      .option('--batch-size <n>', 'units optimised together, one image each, per graph run', '8')
      .option('--out <dir>', 'output folder (default out/preferred-inputs/<run id>)')
      .option('--units-per-sheet <n>', 'units on one sheet PNG', '64')
      .option('--columns <n>', 'units per sheet row', '8')
      .option('--force', 'start over instead of resuming the unfinished run with the same options');
    addSettingsOptions(command);
    addSeedOption(command);
    addBackendOption(command);
    addWorkersOption(command);
    addDbOption(command);
  },
  async run(options) {
    const units = parseUnitSelection(String(options['units']));
    const seed = expectInteger('seed', options['seed'], 0, 2 ** 31 - 1);
    const backend = expectChoice('backend', options['backend'], BACKEND_CHOICES);
    const batchSize = expectInteger('batchSize', options['batchSize'], 1, 1024);
    const unitsPerSheet = expectInteger('unitsPerSheet', options['unitsPerSheet'], 1, 4096);
    const columns = expectInteger('columns', options['columns'], 1, 256);
    const db = openStore(resolveDbPath(options['db'] as string | undefined));
    try {
      const result = await runPreferredInputs({
        db, units, seed, backend, batchSize, unitsPerSheet, columns, settings: parseSettings(options), workers: parseWorkersOption(options),
        runId: text(options['run']), checkpoint: text(options['checkpoint']), model: text(options['model']), layers: text(options['layers']),
        outDir: text(options['out']), force: options['force'] === true,
      });
      const reached = result.live === null ? 'no top-activations run to compare with' : `${result.reached} of ${result.live} live units reach their top-1 dataset activation`;
      process.stdout.write(`preferred-inputs ${result.runId}: ${result.rows.length} units (${result.optimised} optimised now), ${reached}; open ${result.outDir}/index.html\n`);
    } finally {
      db.close();
    }
  },
};
