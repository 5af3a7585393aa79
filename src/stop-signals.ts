/**
 * SIGINT/SIGTERM for long commands: the first signal asks the work to stop at
 * its next safe point (finish the batch or step, commit, save); a second one
 * quits at once. The handlers are process-wide state, so they are removed in
 * `finally` whatever the work does.
 */

/** The signals a long command answers. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = Object.freeze(['SIGINT', 'SIGTERM']);

export interface StopSignalOptions {
  /** What the work does on the first signal, e.g. "finishing the current batch and committing". */
  stopping: string;
  /** What quitting on a second signal loses, e.g. "losing work since the last commit". */
  quitting: string;
  /** Where the two lines go; default process.stderr. */
  log?: (line: string) => void;
  /** Called on the second signal; default process.exit(130). */
  exit?: (code: number) => void;
}

export interface StopSignalHandlers {
  /** Aborted by the first signal. */
  signal: AbortSignal;
  /** Removes the handlers (idempotent). */
  remove(): void;
}

/**
 * Installs the handlers. Prefer `withStopSignals`, which removes them.
 * Ownership: the caller calls `remove()` (in `finally`).
 */
export function installStopSignals(options: StopSignalOptions): StopSignalHandlers {
  // On a TTY the line starts on a fresh line, not after a progress bar drawn with \r.
  const log = options.log ?? ((line: string) => process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${line}\n`));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      log(`${name} again: quitting at once, ${options.quitting}`);
      exit(130);
      return;
    }
    log(`${name}: ${options.stopping} (${name} again quits at once, ${options.quitting})`);
    controller.abort();
  };
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    remove: () => { for (const name of STOP_SIGNALS) process.off(name, onSignal); },
  };
}

/**
 * Runs `work` with the stop handlers installed and removes them afterwards,
 * also when `work` throws.
 */
export async function withStopSignals<T>(options: StopSignalOptions, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const handlers = installStopSignals(options);
  try {
    return await work(handlers.signal);
  } finally {
    handlers.remove();
  }
}

/** The command line that resumes an interrupted command: the same arguments, without those in `drop` (e.g. --force), shell-quoted. */
export function formatResumeCommand(argv: readonly string[], drop: readonly string[] = ['--force']): string {
  const quote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`);
  return ['run-pipeline', ...argv.filter((arg) => !drop.includes(arg)).map(quote)].join(' ');
}
