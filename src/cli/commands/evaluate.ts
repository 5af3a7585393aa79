import type { Command } from 'commander';
import { expectChoice, expectInteger, UsageError } from '../../errors.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import { runEvaluatePipeline } from '../../../pipelines/train/evaluate.js';
import type { CommandSpec } from '../command-spec.js';
import { addBackendOption, addWorkersOption, addDataOption, addDbOption, BACKEND_CHOICES } from '../common-options.js';
import { addDecodeOptions, addTenCropOption, parseInputOptions } from '../input-options.js';
import { parseWorkersOption } from '../../workers/workers-option.js';

/**
 * `run-pipeline evaluate`: top-1/top-5 error of a checkpoint on a split,
 * stored as an evaluation row (with per-class errors).
 */
export const evaluateCommand: CommandSpec = {
  name: 'evaluate',
  summary: 'top-1/top-5 error of a checkpoint on a split (centre crop or --ten-crop), stored; --per-class writes a CSV',
  configure(command: Command) {
    command
      .requiredOption('--checkpoint <file>', 'checkpoint (.safetensors) to evaluate')
      .option('--split <name>', 'labelled split to evaluate on', 'val')
      .option('--batch-size <n>', 'images per forward pass (ten-crop: 10 rows each)', '32')
      .option('--limit <n>', 'evaluate at most N images (in id order)')
      .option('--per-class <file>', 'write the per-class error table as CSV');
    addTenCropOption(command);
    addDataOption(command);
    addDbOption(command);
    addBackendOption(command);
    addDecodeOptions(command);
    addWorkersOption(command);
  },
  async run(options) {
    const input = parseInputOptions(options);
    const checkpoint = String(options['checkpoint']);
    if (checkpoint.trim() === '') throw new UsageError('Expected a file path for --checkpoint');
    const db = openStore(resolveDbPath(options['db'] as string | undefined));
    try {
      const { evaluation } = await runEvaluatePipeline({
        db, backend: expectChoice('backend', options['backend'], BACKEND_CHOICES), checkpoint, split: String(options['split']),
        tenCrop: input.crop === 'ten', data: options['data'] as string | undefined, batchSize: expectInteger('batchSize', options['batchSize'], 1, 4096),
        limit: options['limit'] === undefined ? undefined : expectInteger('limit', options['limit'], 1, Number.MAX_SAFE_INTEGER),
        perClassCsv: options['perClass'] as string | undefined, decodeConcurrency: input.decodeConcurrency, strict: input.strict,
        workers: parseWorkersOption(options),
      });
      const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
      process.stdout.write(`${evaluation.split}${evaluation.tenCrop ? ' ten-crop' : ' centre crop'}: ${evaluation.images} images, top-1 error ${pct(evaluation.top1Error)}, top-5 error ${pct(evaluation.top5Error)}, loss ${evaluation.loss?.toFixed(4) ?? 'n/a'} (evaluation ${evaluation.id}, run ${evaluation.runId})\n`);
      if (options['perClass'] !== undefined) process.stdout.write(`per-class table: ${String(options['perClass'])}\n`);
    } finally {
      db.close();
    }
  },
};
