/**
 * The commander program built from the command table, and the one error
 * handler that maps errors to exit codes: usage errors print one line and
 * exit 2, anything else prints its stack and exits 1. Bad data items never
 * reach here: stages record and skip them (unless --strict, which turns them
 * into a DataError, exit 2).
 */
import { Command, CommanderError } from 'commander';
import { parseExecutionProvider } from '../backend-choice.js';
import { setExecutionProvider } from '../backend/select-backend.js';
import { DataError, isUsageError } from '../errors.js';
import type { CommandContext, CommandSpec } from './command-spec.js';
import { COMMAND_LOADERS, COMMAND_NAMES } from './command-table.js';

/**
 * The commands a command line needs: the one it names, or all of them (for
 * `--help`, `help`, a misspelt name).
 * @param userArgs the arguments after the program name
 */
export function commandsFor(userArgs: readonly string[]): readonly string[] {
  const named = userArgs.find((arg) => !arg.startsWith('-'));
  return named !== undefined && Object.hasOwn(COMMAND_LOADERS, named) ? [named] : COMMAND_NAMES;
}

/**
 * Builds the commander program with the commands `argv` needs (commandsFor).
 * @param from how commander reads argv: 'node' (process.argv) or 'user' (the arguments alone)
 */
export async function buildProgram(argv: readonly string[] = process.argv, from: 'node' | 'user' = 'node'): Promise<Command> {
  const program = new Command('run-pipeline')
    .description('ZFNet (Zeiler & Fergus 2013) at dataset scale: train, top-9 activations in SQLite, deconvnet mosaics, the paper\'s experiments')
    .showSuggestionAfterError(true)
    .exitOverride();
  const specs = await Promise.all(commandsFor(from === 'node' ? argv.slice(2) : argv).map((name) => COMMAND_LOADERS[name]!()));
  for (const spec of specs) addCommand(program, spec);
  return program;
}

function addCommand(program: Command, spec: CommandSpec): void {
  const command = program.command(spec.name).description(spec.summary).exitOverride();
  spec.configure(command);
  command.action(async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const options = cmd.opts();
    // Chosen once, here at the edge; every onnx pass of the command reads it (and records it).
    if (options['executionProvider'] !== undefined) setExecutionProvider(parseExecutionProvider(options['executionProvider']));
    await spec.run(options, cmd, COMMAND_CONTEXT);
  });
}

/** How a command runs another: a fresh program for the line, parsed as the CLI parses its own. */
const COMMAND_CONTEXT: CommandContext = Object.freeze({
  runCommand: async (argv: readonly string[]) => { await (await buildProgram(argv, 'user')).parseAsync(argv, { from: 'user' }); },
});

/** Prints an error the way the CLI promises and returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    if (error.code === 'commander.unknownCommand') {
      process.stderr.write(`valid commands: ${COMMAND_NAMES.join(', ')}\n`);
    }
    return 2;
  }
  if (isUsageError(error) || error instanceof DataError) {
    process.stderr.write(`run-pipeline: ${error.message}\n`);
    return 2;
  }
  process.stderr.write(`run-pipeline: unexpected error (a bug; please report it with this trace)\n${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}
