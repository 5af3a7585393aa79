import type { Command } from 'commander';
import { runProject } from '../../../pipelines/mosaics/project.js';
import { runProjectImported } from '../../../pipelines/mosaics/project-imported.js';
import { expectChoice, expectInteger, invalidParameterError, UsageError } from '../../errors.js';
import { ARCHITECTURE_NAMES } from '../../model/architectures.js';
import { DECONV_METHODS } from '../../onnx/deconv-graphs.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import type { CommandSpec } from '../command-spec.js';
import { addModelSourceOptions, parseImageSelection, parseModelSourceOptions } from '../experiment-options.js';

/** Parses --at y,x. @throws RangeError (a usage error) naming the value */
export function parseCell(value: unknown): [number, number] {
  const m = typeof value === 'string' ? /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value) : null;
  if (m === null) throw invalidParameterError('at', 'a cell like 5,7 (row,column on the layer grid)', value);
  return [Number(m[1]), Number(m[2])];
}

/** `run-pipeline project`: one deconvnet projection of one activation, as PNG and .npy beside its image patch. */
export const projectCommand: CommandSpec = {
  name: 'project',
  summary: 'deconvnet projection of one activation (layer, unit, cell) of one image to pixel space: PNG + .npy beside the image patch',
  configure(command: Command) {
    addModelSourceOptions(command);
    command
      .option('--image <path>', 'image file')
      .option('--image-id <n>', 'indexed image by its stable id')
      .requiredOption('--layer <n>', 'conv layer 1-5 (of an imported model: a layer name or alias, e.g. features.10, layer4.1)')
      .option('--method <name>', `projection method: ${DECONV_METHODS.join(', ')} (guided and gradient: imported models, see docs/readme/own-models.md)`, 'deconvnet')
      .requiredOption('--unit <n>', 'unit (feature map) of that layer, from 0')
      .option('--at <y,x>', "cell on the layer's grid (default: the unit's strongest cell in the image)")
      .option('--out <dir>', 'output folder (default out/project/<run id>)');
  },
  async run(options) {
    const method = expectChoice('method', options['method'], DECONV_METHODS);
    if (typeof options['model'] === 'string' && !ARCHITECTURE_NAMES.includes(options['model'])) {
      await runImported(options, method);
      return;
    }
    if (method !== 'deconvnet') throw new UsageError(`--method ${method} works on imported models (run-pipeline import); the project's checkpoints use the deconvnet here`);
    const source = parseModelSourceOptions(options);
    if ((options['image'] === undefined) === (options['imageId'] === undefined)) throw new UsageError('Expected exactly one of --image PATH or --image-id N');
    const image = parseImageSelection({ image: options['image'] === undefined ? undefined : [options['image']], imageId: options['imageId'] === undefined ? undefined : [options['imageId']] });
    const layer = expectInteger('layer', options['layer'], 1, 5);
    const unit = expectInteger('unit', options['unit'], 0, 100_000);
    const at = options['at'] === undefined ? undefined : parseCell(options['at']);
    const db = openStore(resolveDbPath(source.dbPath));
    try {
      const result = await runProject({ db, ...source, image, layer, unit, at, outDir: typeof options['out'] === 'string' ? options['out'] : undefined });
      process.stdout.write(`project ${result.runId}: conv${layer} unit ${unit} at ${result.at.join(',')} = ${result.activation.toPrecision(6)}\n${result.files.map((f) => `  ${f}`).join('\n')}\n`);
    } finally {
      db.close();
    }
  },
};

/** project --model NAME of an imported model (run-pipeline import): layers by name, any method. */
async function runImported(options: Record<string, unknown>, method: (typeof DECONV_METHODS)[number]): Promise<void> {
  if (typeof options['image'] !== 'string') throw new UsageError('Expected --image PATH for an imported model');
  const unit = expectInteger('unit', options['unit'], 0, 100_000);
  const at = options['at'] === undefined ? undefined : parseCell(options['at']);
  const db = openStore(resolveDbPath(typeof options['db'] === 'string' ? options['db'] : undefined));
  try {
    const result = await runProjectImported({
      db, model: options['model'] as string, image: options['image'], layer: String(options['layer']), unit, at, method,
      outDir: typeof options['out'] === 'string' ? options['out'] : undefined,
    });
    process.stdout.write(`project ${options['model']}: ${String(options['layer'])} unit ${unit} at ${result.at.join(',')} = ${result.activation.toPrecision(6)} (${method})\n${result.files.map((f) => `  ${f}`).join('\n')}\n`);
  } finally {
    db.close();
  }
}
