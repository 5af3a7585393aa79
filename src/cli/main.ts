#!/usr/bin/env node
/** run-pipeline: parses options and calls a pipeline (see program.ts for the error contract). */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildProgram, reportError } from './program.js';
import { reexecForTraining } from './training-allocator.js';

export { buildProgram, reportError };

/** Entry point: parse argv and run; sets process.exitCode. */
export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return 0;
  } catch (error) {
    return reportError(error);
  }
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  reexecForTraining();
  process.exitCode = await main();
}
