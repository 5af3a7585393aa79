import type { Command } from 'commander';
import { expectChoice, expectInteger, UsageError } from '../../errors.js';
import type { AnalysedLayer } from '../../graph/analysed-layers.js';
import { openStore, resolveDbPath, type Store } from '../../store/open-store.js';
import {
  getTopActivationRun, listTopActivationRuns, queryUnitRows, UNIT_SORT_KEYS, type TopActivationRun,
} from '../../store/top-activations-store.js';
import { formatClass } from '../../vocabulary.js';
import type { CommandSpec } from '../command-spec.js';
import { addDbOption } from '../common-options.js';

/**
 * The run `--run` names, or the newest finished top-activations run of the store.
 * @throws UsageError naming the store when there is none or the id is unknown.
 */
export function resolveTopActivationRun(db: Store, dbPath: string, runId: unknown): TopActivationRun {
  if (typeof runId === 'string') {
    const run = getTopActivationRun(db, runId);
    if (run === undefined) throw new UsageError(`No top-activations run ${runId} in ${dbPath}`);
    return run;
  }
  const newest = listTopActivationRuns(db).filter((r) => r.run.status === 'finished').at(-1);
  if (newest === undefined) throw new UsageError(`No finished top-activations run in ${dbPath}; run \`run-pipeline top-activations\` first`);
  return newest;
}

/**
 * Validates --layer against the run's analysed layers: a name, an alias (`conv5` of an imported AlexNet) or a number.
 * @throws UsageError naming the run and its layers.
 */
export function expectRunLayer(run: TopActivationRun, value: unknown): AnalysedLayer {
  const text = String(value).trim();
  const found = run.analysedLayers.find((l) => l.name === text || String(l.number) === text) ?? run.analysedLayers.find((l) => l.aliases.includes(text));
  if (found === undefined) {
    const listed = run.analysedLayers.map((l) => `${l.name} (${[l.number, ...l.aliases].join(', ')})`).join(', ');
    throw new UsageError(`Run ${run.runId} analysed ${listed}; expected one of these names or numbers for --layer but received ${JSON.stringify(value)}`);
  }
  return found;
}

/** Pads cells into aligned columns; `right` marks the right-aligned (numeric) columns. */
export function formatTable(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** A class for a table cell: its name with its key (src/vocabulary.ts), the bare label without an index entry, '-' for none. */
export function describeClass(name: string | null, key: string | null, label: number | null): string {
  if (name === null && key === null) return label === null || label < 0 ? '-' : `label ${label}`;
  return formatClass(name, key);
}

/** A number for a table cell: fixed digits, '-' for null. */
export function formatNumber(value: number | null, digits: number): string {
  return value === null ? '-' : value.toFixed(digits);
}

/** `run-pipeline units`: the statistics of every unit of one layer of a top-activations run. */
export const unitsCommand: CommandSpec = {
  name: 'units',
  summary: 'per-unit statistics of one layer of a top-activations run (firing rate, mean/max activation, dead units, class purity)',
  configure(command: Command) {
    command
      .option('--run <id>', 'top-activations run (default: the newest finished one)')
      .requiredOption('--layer <name>', 'an analysed layer of the run, by name (conv2, features.3, layer3.1), alias or number (2)')
      .option('--sort <key>', `order: ${UNIT_SORT_KEYS.join(', ')} (all but unit: highest first)`, 'unit')
      .option('--dead', 'only dead units (never fired)', false)
      .option('--limit <n>', 'at most this many units')
      .option('--json', 'print JSON instead of a table', false);
    addDbOption(command);
  },
  async run(options) {
    const sort = expectChoice('sort', options['sort'], UNIT_SORT_KEYS);
    const limit = options['limit'] === undefined ? null : expectInteger('limit', options['limit'], 1, 1_000_000);
    const dbPath = resolveDbPath(options['db'] as string | undefined);
    const db = openStore(dbPath, { mustExist: true });
    try {
      const run = resolveTopActivationRun(db, dbPath, options['run']);
      const layer = expectRunLayer(run, options['layer']);
      const rows = queryUnitRows(db, run.runId, layer.number, { sort, deadOnly: options['dead'] === true, limit });
      if (options['json'] === true) {
        process.stdout.write(`${JSON.stringify({ runId: run.runId, layer: layer.number, layerName: layer.name, units: rows }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`run ${run.runId} ${layer.name}: ${rows.length} units, ${run.imagesProcessed} images\n`);
      const header = ['unit', 'fire%', 'mean_max', 'std_max', 'mean_act', 'max', 'dead', 'top_class', 'purity'];
      const cells = rows.map((r) => [
        String(r.unit), formatNumber(r.firingRate === null ? null : r.firingRate * 100, 1), formatNumber(r.meanMax, 4), formatNumber(r.stdMax, 4),
        formatNumber(r.meanActivation, 4), formatNumber(r.maxValue, 4), r.dead ? 'dead' : '', describeClass(r.topClassName, r.topClass, r.topLabel),
        formatNumber(r.classPurity, 2),
      ]);
      process.stdout.write(`${formatTable(header, cells, [true, true, true, true, true, true, false, false, true])}\n`);
    } finally {
      db.close();
    }
  },
};
