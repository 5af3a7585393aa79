/**
 * Options shared by many commands, declared once so names, defaults and help
 * text agree everywhere.
 */
import { Option, type Command } from 'commander';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** --db PATH (env ZFNET_DB): every command that reads or writes the store. */
export function addDbOption(command: Command): Command {
  return command.addOption(new Option('--db <path>', 'SQLite store').env('ZFNET_DB').default('db/zfnet.db'));
}

/** --backend (env ZFNET_BACKEND): every command that computes. */
export function addBackendOption(command: Command): Command {
  return command.addOption(
    new Option('--backend <name>', 'TensorFlow.js backend: auto picks tensorflow (tfjs-node[-gpu]) when installed, else wasm')
      .choices(BACKEND_CHOICES)
      .env('ZFNET_BACKEND')
      .default('auto'),
  );
}

/** --seed N: every command that draws random numbers. */
export function addSeedOption(command: Command, defaultSeed = 1): Command {
  return command.option('--seed <n>', 'seed of every random draw (same seed, same result)', String(defaultSeed));
}

/** --data DIR: commands that read images; without it the built-in sample dataset is used (created on first use). */
export function addDataOption(command: Command): Command {
  return command.option('--data <dir>', 'dataset root (ILSVRC2012 layout or <split>/<class>/<image>); default: the built-in sample dataset in out/sample-data');
}
