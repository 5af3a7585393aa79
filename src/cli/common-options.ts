/**
 * Options shared by many commands, declared once so names, defaults and help
 * text agree everywhere.
 */
import { Option, type Command } from 'commander';
import { BACKEND_CHOICES, EXECUTION_PROVIDERS, type BackendChoice } from '../backend-choice.js';

export { BACKEND_CHOICES, type BackendChoice };

/** --db PATH (env ZFNET_DB): every command that reads or writes the store. */
export function addDbOption(command: Command): Command {
  return command.addOption(new Option('--db <path>', 'SQLite store').env('ZFNET_DB').default('db/zfnet.db'));
}

/**
 * --backend (env ZFNET_BACKEND) and --execution-provider (env
 * ZFNET_EXECUTION_PROVIDER): every command that computes. The provider is
 * validated by parseExecutionProvider (src/onnx/onnx-session.ts) when the
 * command runs, so an unknown one gets the project's one-line message.
 */
export function addBackendOption(command: Command): Command {
  return command
    .addOption(
      new Option('--backend <name>', 'engine: onnx (onnxruntime) for forward passes, tensorflow (tfjs-node[-gpu]), wasm or cpu (tfjs); auto = onnx for inference, and for training tensorflow when installed, else wasm')
        .choices(BACKEND_CHOICES)
        .env('ZFNET_BACKEND')
        .default('auto'),
    )
    .addOption(
      new Option('--execution-provider <name>', `onnxruntime execution provider of the onnx engine: ${EXECUTION_PROVIDERS.join(', ')} (cuda and tensorrt need onnxruntime's GPU binaries, see the README)`)
        .env('ZFNET_EXECUTION_PROVIDER')
        .default('cpu'),
    );
}

/** --workers N: every command that runs forward passes (top-activations, occlusion, invariance, evaluation, evolution, compare). */
export function addWorkersOption(command: Command): Command {
  return command.option('--workers <n>', 'forward passes in N worker threads, each with its own engine (default: one per core on onnx, wasm and cpu; 1 on tensorflow)');
}

/** --seed N: every command that draws random numbers. */
export function addSeedOption(command: Command, defaultSeed = 1): Command {
  return command.option('--seed <n>', 'seed of every random draw (same seed, same result)', String(defaultSeed));
}

/** --data DIR: commands that read images; without it the built-in sample dataset is used (created on first use). */
export function addDataOption(command: Command): Command {
  return command.option('--data <dir>', 'dataset root (ILSVRC2012 layout or <split>/<class>/<image>); default: the built-in sample dataset in out/sample-data');
}
