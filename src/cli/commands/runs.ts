import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { openStore, resolveDbPath, type Store } from '../../store/open-store.js';
import { getRun, listRuns, type RunRecord } from '../../store/runs.js';
import { createTrainingStore, type EpochRecord } from '../../store/training-store.js';
import type { CommandSpec } from '../command-spec.js';
import { addDbOption } from '../common-options.js';

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);

/** "epoch 12/70" for a training run, "-" for others. */
function describeProgress(run: RunRecord, last: EpochRecord | undefined): string {
  if (run.kind !== 'train') return '-';
  return `epoch ${last?.epoch ?? 0}/${String(run.options['epochs'] ?? '?')}${last?.valTop1Error != null ? ` val top-1 error ${pct(last.valTop1Error)}` : ''}`;
}

/** Formats rows as aligned columns under a header. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function printRunList(db: Store, json: boolean): void {
  const lastEpochs = createTrainingStore(db).listLastEpochs();
  const runs = listRuns(db).map((run) => ({ ...run, progress: describeProgress(run, lastEpochs.get(run.id)), lastEpoch: lastEpochs.get(run.id)?.epoch ?? null }));
  if (json) {
    process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    return;
  }
  if (runs.length === 0) {
    process.stdout.write('no runs in this store\n');
    return;
  }
  process.stdout.write(formatTable(['id', 'kind', 'status', 'model', 'backend', 'started', 'progress'],
    runs.map((r) => [r.id, r.kind, r.status, r.model ?? '-', r.backend ?? '-', r.startedAt.slice(0, 19).replace('T', ' '), r.progress])));
}

function printRunEpochs(db: Store, id: string, json: boolean): void {
  const run = getRun(db, id);
  if (run === undefined) throw new UsageError(`No run ${id} in the store (run-pipeline runs lists them)`);
  const store = createTrainingStore(db);
  const epochs = store.listEpochs(id);
  const evaluations = store.listEvaluations(id);
  if (json) {
    process.stdout.write(`${JSON.stringify({ run, epochs, evaluations }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${run.id}: ${run.kind}, ${run.status}, model ${run.model ?? '-'}, backend ${run.backend ?? '-'}, started ${run.startedAt}\n`);
  if (epochs.length > 0) {
    process.stdout.write(formatTable(['epoch', 'steps', 'loss', 'train top-1 err', 'val top-1 err', 'val top-5 err', 'lr', 'img/s', 'wall s', 'checkpoint'],
      epochs.map((e) => [String(e.epoch), String(e.steps), e.trainLoss?.toFixed(4) ?? '-', pct(e.trainTop1Error), pct(e.valTop1Error), pct(e.valTop5Error),
        e.learningRate.toPrecision(3), e.imagesPerS?.toFixed(1) ?? '-', e.wallS?.toFixed(1) ?? '-', e.checkpointKept ? (e.checkpointPath ?? '-') : '(deleted)'])));
  }
  for (const e of evaluations) {
    process.stdout.write(`evaluation ${e.id}: ${e.split}${e.tenCrop ? ' ten-crop' : ''}, ${e.images} images, top-1 error ${pct(e.top1Error)}, top-5 error ${pct(e.top5Error)}, ${e.checkpointPath}\n`);
  }
}

/** `run-pipeline runs`: the runs in the store, or one run's epochs. */
export const runsCommand: CommandSpec = {
  name: 'runs',
  summary: 'list the runs in the store (any command), or with --run ID one training run\'s epochs',
  configure(command: Command) {
    command.option('--run <id>', 'show this run\'s epochs (and evaluations)').option('--json', 'print JSON instead of a table', false);
    addDbOption(command);
  },
  async run(options) {
    const db = openStore(resolveDbPath(options['db'] as string | undefined), { mustExist: true });
    try {
      if (options['run'] === undefined) printRunList(db, options['json'] === true);
      else printRunEpochs(db, String(options['run']), options['json'] === true);
    } finally {
      db.close();
    }
  },
};
