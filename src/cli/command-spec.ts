import type { Command } from 'commander';

/** One CLI command: how it declares its options and the pipeline it calls. */
export interface CommandSpec {
  name: string;
  /** One line for `run-pipeline --help`. */
  summary: string;
  /** Declares arguments and options (each with its default) on the commander command. */
  configure(command: Command): void;
  /** Validates the parsed options at the boundary and calls a pipeline. */
  run(options: Record<string, unknown>, command: Command): Promise<void>;
}
