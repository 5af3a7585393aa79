import type { Command } from 'commander';

/**
 * What the program hands every command besides its options. A command that
 * runs other commands (demo) calls back through it instead of importing the
 * program that imports it.
 */
export interface CommandContext {
  /** Parses and runs one command line (the arguments after the program name) as the CLI would. */
  runCommand(argv: readonly string[]): Promise<void>;
}

/** One CLI command: how it declares its options and the pipeline it calls. */
export interface CommandSpec {
  name: string;
  /** One line for `run-pipeline --help`. */
  summary: string;
  /** Declares arguments and options (each with its default) on the commander command. */
  configure(command: Command): void;
  /**
   * Validates the parsed options at the boundary and calls a pipeline.
   * @param context given by the program (buildProgram); a test calling a command that runs no other command may leave it out
   */
  run(options: Record<string, unknown>, command: Command, context?: CommandContext): Promise<void>;
}
