/**
 * The project's few error types. The CLI's single handler maps them to exit
 * codes: UsageError -> one line, exit 2; DataError -> recorded and skipped by
 * the stage that met it (fatal only with --strict); anything else -> stack, exit 1.
 */

/** A wrong command line, option value, missing file or mismatched checkpoint: the user can fix it. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** One bad data item (corrupt image, unreadable file). Carries the stage and path it came from. */
export class DataError extends Error {
  override name = 'DataError';
  constructor(
    readonly stage: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${stage}: ${path}: ${reason}`);
  }
}

/**
 * A RangeError (or TypeError) for a bad option value, marked so the CLI
 * handler reports it as a usage error; a RangeError thrown by a bug elsewhere
 * still gets its stack.
 */
export function invalidParameterError(name: string, expected: string, received: unknown, type: 'range' | 'type' = 'range'): Error {
  const message = `Expected ${expected} for ${name} but received ${typeof received === 'string' ? JSON.stringify(received) : String(received)}`;
  const error = type === 'range' ? new RangeError(message) : new TypeError(message);
  return Object.assign(error, { usage: true });
}

/** True for errors the CLI reports as one line without a stack (exit 2). */
export function isUsageError(error: unknown): error is Error {
  return error instanceof UsageError || (error instanceof Error && (error as { usage?: unknown }).usage === true);
}

/**
 * Validates an integer option.
 * @throws RangeError "Expected integer between 1 and 4096 for batchSize but received 0" (a usage error).
 */
export function expectInteger(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidParameterError(name, `integer between ${min} and ${max}`, value);
  }
  return n;
}

/**
 * Validates a finite number option.
 * @throws RangeError naming the option and the received value.
 */
export function expectNumber(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    throw invalidParameterError(name, `number between ${min} and ${max}`, value);
  }
  return n;
}

/**
 * Validates a choice option.
 * @throws RangeError listing the valid choices.
 */
export function expectChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw invalidParameterError(name, `one of ${choices.join(', ')}`, value);
  }
  return value as T;
}

/**
 * Parses a layer list such as "1-5", "2,4" or "3".
 * @throws RangeError naming the value when it is malformed or outside 1..max.
 */
export function parseLayerList(name: string, value: string, max = 5): number[] {
  const layers = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (m === null) throw invalidParameterError(name, 'layers like 1-5 or 2,4', value);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > max || lo > hi) throw invalidParameterError(name, `layers between 1 and ${max}`, value);
    for (let l = lo; l <= hi; l++) layers.add(l);
  }
  return [...layers].sort((a, b) => a - b);
}
