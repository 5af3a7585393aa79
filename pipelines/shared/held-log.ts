/**
 * A log that holds its lines until the command's arguments check out, so a
 * usage error comes alone: the engine, dataset and model lines written while
 * a pipeline opens them are printed, in their order, once `flush` is called,
 * and never when the pipeline throws before that.
 */
export interface HeldLog {
  /** Collects a line instead of printing it. */
  hold(line: string): void;
  /** Prints the collected lines through the real log; later calls print nothing more. */
  flush(): void;
}

export function createHeldLog(log: (line: string) => void): HeldLog {
  const held: string[] = [];
  return {
    hold: (line) => void held.push(line),
    flush: () => held.splice(0).forEach((line) => log(line)),
  };
}
