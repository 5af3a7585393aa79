/**
 * The parsed `--workers` value (declared by src/cli/common-options.ts
 * addWorkersOption), shared by every command that runs forward passes so the
 * bounds and message agree everywhere. No commander here: dependencies point
 * from the CLI down to the workers, never back.
 */
import { expectInteger } from '../errors.js';

/**
 * The parsed --workers value, or undefined for the backend's default.
 * @throws RangeError "Expected integer between 1 and 256 for workers but received ..." (a usage error).
 */
export function parseWorkersOption(options: Record<string, unknown>): number | undefined {
  return options['workers'] === undefined ? undefined : expectInteger('workers', options['workers'], 1, 256);
}
