import type { Command } from 'commander';
import { closeSync, openSync, readSync } from 'node:fs';
import { readCheckpointFile } from '../../checkpoint/checkpoint-file.js';
import { describeCheckpoint, formatCheckpointReport } from '../../checkpoint/describe-checkpoint.js';
import { UsageError } from '../../errors.js';
import { describeGraph, formatGraphReport } from '../../graph/describe-graph.js';
import { IMPORT_METADATA_KEY, loadImportedModel, type LoadedImportedModel } from '../../import/imported-model-file.js';
import { openImportedModel } from '../../import/open-imported-model.js';
import { openStore, resolveDbPath } from '../../store/open-store.js';
import type { CommandSpec } from '../command-spec.js';

/** True when the file's safetensors header carries an imported model's metadata (reads the header only). */
function isImportedModelFile(path: string): boolean {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const prefix = Buffer.alloc(8);
    if (readSync(fd, prefix, 0, 8, 0) !== 8) return false;
    const length = Math.min(Number(prefix.readBigUInt64LE(0)), 100_000_000);
    const header = Buffer.alloc(length);
    readSync(fd, header, 0, length, 8);
    return header.toString().includes(`"${IMPORT_METADATA_KEY}"`);
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** The report of an imported model file: its origin, preprocessing and every analysable layer. */
function describeImported(model: LoadedImportedModel, json: boolean): string {
  const path = model.path;
  const report = describeGraph(model.graph);
  if (json) return `${JSON.stringify({ path, sha256: model.sha256, origin: model.origin, preprocessing: model.preprocessing, ...report }, null, 2)}\n`;
  const origin = model.origin;
  return `file        ${path} (${(model.sizeBytes / 1e6).toFixed(1)} MB, sha256 ${model.sha256})\n` +
    `imported    ${origin.format}${origin.architecture === null ? '' : ` ${origin.architecture}`} from ${origin.sourcePath} (sha256 ${origin.sourceSha256}, ${origin.inputLayout.toUpperCase()} input, ${origin.producer})\n` +
    `preprocess  ${JSON.stringify(model.preprocessing)}\n${formatGraphReport(report)}`;
}

/**
 * `run-pipeline info`: architecture, parameter count, per-layer output shapes
 * and receptive fields, and training state of a checkpoint; for an imported
 * model (--model NAME, or its file) every analysable layer with its units and
 * receptive field. Reads and validates the file without starting an engine.
 */
export const infoCommand: CommandSpec = {
  name: 'info',
  summary: 'describe a checkpoint or an imported model: layers, parameters, output shapes, units and receptive fields, training state',
  configure(command: Command) {
    command
      .option('--checkpoint <file>', 'safetensors checkpoint written by init or train (or an imported model file)')
      .option('--model <name>', 'an imported model (run-pipeline import)')
      .option('--db <path>', 'SQLite store (for --model)')
      .option('--json', 'print JSON instead of a table', false);
  },
  async run(options) {
    const json = options['json'] === true;
    if (typeof options['model'] === 'string') {
      const db = openStore(resolveDbPath(options['db'] as string | undefined));
      try {
        // Opened as the analysis commands open it: a file missing or changed since the import is refused the same way.
        process.stdout.write(describeImported(openImportedModel(db, options['model']).model, json));
      } finally {
        db.close();
      }
      return;
    }
    const path = options['checkpoint'];
    if (typeof path !== 'string' || path.trim() === '') throw new UsageError('Expected a file path for --checkpoint (or --model NAME of an imported model)');
    if (isImportedModelFile(path)) {
      process.stdout.write(describeImported(loadImportedModel(path), json));
      return;
    }
    const report = describeCheckpoint(path, readCheckpointFile(path));
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckpointReport(report));
  },
};
