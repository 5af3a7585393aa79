/**
 * `--workers N`, declared once for every command that runs forward passes
 * (top-activations, occlusion, invariance, evaluation), so the name, help
 * and default agree everywhere.
 */
import type { Command } from 'commander';
import { expectInteger } from '../errors.js';

/** Adds --workers; without it the pipeline picks the default for its backend (resolveWorkerCount). */
export function addWorkersOption(command: Command): Command {
  return command.option('--workers <n>', 'forward passes in N worker threads, each with its own backend (default: one per core on wasm/cpu, 1 on tensorflow)');
}

/**
 * The parsed --workers value, or undefined for the backend's default.
 * @throws RangeError "Expected integer between 1 and 256 for workers but received ..." (a usage error).
 */
export function parseWorkersOption(options: Record<string, unknown>): number | undefined {
  return options['workers'] === undefined ? undefined : expectInteger('workers', options['workers'], 1, 256);
}
