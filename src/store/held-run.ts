/**
 * A run row held by this process for the length of a command whose output
 * lives outside the store (mosaics: pages in an output folder): created, or
 * claimed when it exists (refused while another live process holds it), with
 * a heartbeat until `finish`.
 */
import type { Store } from './open-store.js';
import { claimRun, startRunHeartbeat } from './run-owner.js';
import { createRun, getRun, markRunFailed, setRunStatus, type CreateRunOptions } from './runs.js';

export interface HeldRun {
  runId: string;
  /** @throws RunTakenOverError when another process took the run over. */
  beat(): void;
  /** Ends the heartbeat and sets the status (which releases the run); `failed` keeps a taken-over run as it is. */
  finish(status: 'finished' | 'interrupted' | 'failed', error?: unknown): void;
}

/**
 * Creates run `spec.id`, or claims it when it exists.
 * @throws RunOwnedError naming the owner while another live process holds it.
 */
export function holdRun(db: Store, spec: CreateRunOptions, log: (line: string) => void): HeldRun {
  if (getRun(db, spec.id) === undefined) {
    createRun(db, spec);
  } else {
    const { tookOverFrom } = claimRun(db, spec.id);
    if (tookOverFrom !== null) log(`taking over run ${spec.id} from process ${tookOverFrom.pid} on host ${tookOverFrom.host}: ${tookOverFrom.reason}`);
  }
  const heartbeat = startRunHeartbeat(db, spec.id);
  return {
    runId: spec.id,
    beat: heartbeat.beat,
    finish(status, error) {
      heartbeat.stop();
      if (status === 'failed') markRunFailed(db, spec.id, error);
      else setRunStatus(db, spec.id, status);
    },
  };
}
