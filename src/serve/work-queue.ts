/**
 * A bounded work queue with de-duplication by key: the explorer's renders
 * (projections, occlusion maps) wait here and run `concurrency` at a time.
 * Asking for a key that is already queued or running returns that job
 * instead of adding a second one, so the same request twice does the work
 * once. A full queue refuses new keys (the server answers 503) rather than
 * growing without bound. No IO: `run` does the work.
 */
import { invalidParameterError } from '../errors.js';

export type JobPhase = 'queued' | 'running';

export interface JobStatus {
  key: string;
  phase: JobPhase;
  /** Jobs running or waiting before this one while it is queued (0 when running). */
  ahead: number;
  done: number;
  total: number;
}

export interface WorkQueueOptions<J> {
  /** Jobs queued or running at most. */
  capacity: number;
  concurrency: number;
  /** Does one job; reports progress as (done, total). Its rejection is kept for `onSettled`. */
  run: (job: J, onProgress: (done: number, total: number) => void) => Promise<void>;
  /** Called once per job after `run` settles (error undefined on success). */
  onSettled?: (key: string, job: J, error: unknown) => void;
}

interface Entry<J> { key: string; job: J; phase: JobPhase; done: number; total: number; settled: Promise<void> }

export interface WorkQueue<J> {
  /** Queues `job` under `key` unless that key is pending; null when the queue is full. */
  request(key: string, job: J): JobStatus | null;
  status(key: string): JobStatus | undefined;
  /** The promise of a pending key (resolves when it settles, never rejects). */
  whenSettled(key: string): Promise<void> | undefined;
  readonly size: number;
  /** Resolves once nothing is queued or running. */
  drain(): Promise<void>;
  /** Drops the jobs still waiting (not the running ones); returns how many. */
  dropWaiting(): number;
}

/**
 * @throws RangeError naming capacity or concurrency when not a positive integer
 */
export function createWorkQueue<J>(options: WorkQueueOptions<J>): WorkQueue<J> {
  for (const [name, value] of Object.entries({ capacity: options.capacity, concurrency: options.concurrency })) {
    if (!Number.isInteger(value) || value < 1) throw invalidParameterError(name, 'a positive integer', value);
  }
  const entries = new Map<string, Entry<J>>();
  const waiting: Entry<J>[] = [];
  let running = 0;
  const resolvers = new Map<string, () => void>();

  const toStatus = (e: Entry<J>): JobStatus => ({
    key: e.key, phase: e.phase, ahead: e.phase === 'queued' ? running + waiting.indexOf(e) : 0, done: e.done, total: e.total,
  });

  const startNext = (): void => {
    while (running < options.concurrency && waiting.length > 0) {
      const entry = waiting.shift()!;
      entry.phase = 'running';
      running++;
      const finish = (error: unknown) => {
        running--;
        entries.delete(entry.key);
        try { options.onSettled?.(entry.key, entry.job, error); } finally {
          resolvers.get(entry.key)?.();
          resolvers.delete(entry.key);
          startNext();
        }
      };
      // A synchronous throw from run counts as a rejection.
      Promise.resolve()
        .then(() => options.run(entry.job, (done, total) => { entry.done = done; entry.total = total; }))
        .then(() => finish(undefined), (error: unknown) => finish(error ?? new Error('render failed')));
    }
  };

  return {
    request(key, job) {
      const existing = entries.get(key);
      if (existing !== undefined) return toStatus(existing);
      if (entries.size >= options.capacity) return null;
      let resolve!: () => void;
      const settled = new Promise<void>((r) => { resolve = r; });
      const entry: Entry<J> = { key, job, phase: 'queued', done: 0, total: 0, settled };
      resolvers.set(key, resolve);
      entries.set(key, entry);
      waiting.push(entry);
      startNext();
      return toStatus(entry);
    },
    status: (key) => { const e = entries.get(key); return e === undefined ? undefined : toStatus(e); },
    whenSettled: (key) => entries.get(key)?.settled,
    get size() { return entries.size; },
    drain: async () => { while (entries.size > 0) await Promise.all([...entries.values()].map((e) => e.settled)); },
    dropWaiting: () => {
      const dropped = waiting.splice(0);
      for (const e of dropped) {
        entries.delete(e.key);
        resolvers.get(e.key)?.();
        resolvers.delete(e.key);
      }
      return dropped.length;
    },
  };
}
