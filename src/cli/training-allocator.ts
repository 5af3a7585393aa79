/**
 * glibc's allocator settings for training on the onnx engine. Each SGD step
 * hands onnxruntime the weights and momentum buffers and gets new ones back
 * (full zfnet: 500 MB out per step); with glibc's defaults every such buffer
 * is a fresh mmap, whose pages fault in and are zeroed on every step
 * (measured: a 500 MB in-and-out run took 1.0-1.3 s, 0.3 s with these
 * settings). The settings keep freed memory in the heap for the next step
 * instead: buffers at or above 4 GiB only are mmapped, freed memory is not
 * returned, and the heap grows 1 GiB at a time. Peak RSS is unchanged (the
 * same buffers are live at the peak); the process keeps its peak until it exits.
 *
 * glibc reads them once, when a process starts, so `train` and `demo`
 * re-execute themselves (process.execve: same pid, stdio and signals) with
 * them set, on Node versions that have it (22.15+) and where none is set
 * already. Other allocators ignore them.
 */
export const TRAINING_ALLOCATOR_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_MMAP_THRESHOLD_: String(2 ** 32),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 36),
  MALLOC_TOP_PAD_: String(2 ** 30),
});

/** The commands whose process trains. */
const TRAINING_COMMANDS: ReadonlySet<string> = new Set(['train', 'demo']);

/**
 * The environment to re-execute with, or null when this process needs no
 * re-execution (another command, settings already present, or no execve).
 */
export function trainingAllocatorEnv(argv: readonly string[], env: NodeJS.ProcessEnv, canExec: boolean): NodeJS.ProcessEnv | null {
  if (!canExec || !TRAINING_COMMANDS.has(argv[2] ?? '')) return null;
  if (Object.keys(TRAINING_ALLOCATOR_ENV).some((key) => env[key] !== undefined)) return null;
  return { ...env, ...TRAINING_ALLOCATOR_ENV };
}

/** Re-executes this process with the training allocator settings when it trains (see the file comment); returns otherwise. */
export function reexecForTraining(): void {
  const execve = (process as unknown as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  const env = trainingAllocatorEnv(process.argv, process.env, typeof execve === 'function');
  if (env === null) return;
  execve!.call(process, process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], env);
}
