/**
 * Run ownership: a run being computed belongs to one process, named by host
 * name, pid and the time of its last heartbeat (columns of `runs`, schema 6).
 * Every resumable command claims its run before writing it and beats the
 * heartbeat at each commit and on a timer; another process refuses to resume
 * or write the run while its owner is alive, naming the owner, and takes it
 * over only when the owner is gone:
 *
 *   - same host: the owner's pid no longer exists, or its heartbeat is older
 *     than the stale timeout (a reused pid, or a process that stopped beating);
 *   - other host: its heartbeat is older than the stale timeout (a pid means
 *     nothing across machines).
 *
 * A writer whose run was taken over finds out at its next beat and stops
 * writing (RunTakenOverError) instead of committing into another's run.
 */
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import type { Store } from './open-store.js';

/** A heartbeat older than this counts as a gone owner (10 minutes: far above the beat interval and any single step). */
export const RUN_STALE_AFTER_MS = 10 * 60_000;
/** How often a claimed run's heartbeat is refreshed between commits. */
export const RUN_HEARTBEAT_INTERVAL_MS = 30_000;

/** A process that writes runs. */
export interface ProcessIdentity {
  host: string;
  pid: number;
}

export interface RunOwner extends ProcessIdentity {
  /** ISO 8601 time of the last heartbeat. */
  heartbeatAt: string;
}

/** Knobs for tests and for callers that know better; defaults are this process and the wall clock. */
export interface OwnershipOptions {
  self?: ProcessIdentity;
  now?: () => Date;
  staleAfterMs?: number;
  /** Whether a pid on this host is a live process; default a signal-0 probe. */
  isPidAlive?: (pid: number) => boolean;
}

/** Raised when another live process owns the run. */
export class RunOwnedError extends UsageError {
  constructor(message: string, readonly owner: RunOwner) {
    super(message);
    this.name = 'RunOwnedError';
  }
}

/** Raised at a beat when another process has taken the run over: this process must stop writing it. */
export class RunTakenOverError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'RunTakenOverError';
  }
}

/** This process as a run owner. */
export function identifyThisProcess(): ProcessIdentity {
  return { host: hostname(), pid: process.pid };
}

/** True when `pid` names a process on this host (EPERM: it exists but belongs to another user). */
export function probePidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface OwnerRow { owner_host: string | null; owner_pid: number | null; heartbeat_at: string | null }

/**
 * The process that owns the run, or null when none does.
 * @throws RangeError when the store has no run `runId`.
 */
export function readRunOwner(db: Store, runId: string): RunOwner | null {
  const row = db.prepare('SELECT owner_host, owner_pid, heartbeat_at FROM runs WHERE id = ?').get(runId) as OwnerRow | undefined;
  if (row === undefined) throw new RangeError(`No run ${runId} in the store`);
  if (row.owner_host === null || row.owner_pid === null) return null;
  return { host: row.owner_host, pid: row.owner_pid, heartbeatAt: row.heartbeat_at ?? new Date(0).toISOString() };
}

const isSameProcess = (a: ProcessIdentity, b: ProcessIdentity): boolean => a.host === b.host && a.pid === b.pid;

/** Why the owner counts as gone, or null while it is alive. Pure apart from the pid probe. */
export function findOwnerGoneReason(owner: RunOwner, self: ProcessIdentity, nowMs: number, staleAfterMs: number, isPidAlive: (pid: number) => boolean): string | null {
  const ageMs = nowMs - Date.parse(owner.heartbeatAt);
  if (!(ageMs <= staleAfterMs)) return `its last heartbeat is ${Math.round(ageMs / 1000)} s old (over ${Math.round(staleAfterMs / 1000)} s)`;
  if (owner.host === self.host && !isPidAlive(owner.pid)) return `process ${owner.pid} no longer exists on ${owner.host}`;
  return null;
}

/** The refusal: who owns the run, since when, and when it could be taken over. */
export function describeOwnedRun(runId: string, owner: RunOwner, self: ProcessIdentity, nowMs: number, staleAfterMs: number): string {
  const ageS = Math.max(0, Math.round((nowMs - Date.parse(owner.heartbeatAt)) / 1000));
  const rule = owner.host === self.host
    ? `it is taken over once process ${owner.pid} has ended or its heartbeat is older than ${Math.round(staleAfterMs / 1000)} s`
    : `it is on another host, so it is taken over once its heartbeat is older than ${Math.round(staleAfterMs / 1000)} s`;
  return `Run ${runId} is being written by process ${owner.pid} on host ${owner.host} (last heartbeat ${owner.heartbeatAt}, ${ageS} s ago): `
    + `${rule}. Wait for it to finish, or stop that process and run this command again.`;
}

export interface ClaimResult {
  /** The previous owner when it was gone and this process took the run over. */
  tookOverFrom: (RunOwner & { reason: string }) | null;
}

/**
 * Makes this process the owner of run `runId` and marks it running, in one
 * immediate transaction, unless another live process owns it.
 * @throws RunOwnedError naming the owner (host, pid, last heartbeat) while it is alive; RangeError for an unknown run.
 */
export function claimRun(db: Store, runId: string, options: OwnershipOptions = {}): ClaimResult {
  const self = options.self ?? identifyThisProcess();
  const now = (options.now ?? (() => new Date()))();
  const staleAfterMs = options.staleAfterMs ?? RUN_STALE_AFTER_MS;
  return db.transaction((): ClaimResult => {
    const owner = readRunOwner(db, runId);
    let tookOverFrom: ClaimResult['tookOverFrom'] = null;
    if (owner !== null && !isSameProcess(owner, self)) {
      const reason = findOwnerGoneReason(owner, self, now.getTime(), staleAfterMs, options.isPidAlive ?? probePidAlive);
      if (reason === null) throw new RunOwnedError(describeOwnedRun(runId, owner, self, now.getTime(), staleAfterMs), owner);
      tookOverFrom = { ...owner, reason };
    }
    db.prepare("UPDATE runs SET status = 'running', owner_host = ?, owner_pid = ?, heartbeat_at = ?, updated_at = ? WHERE id = ?")
      .run(self.host, self.pid, now.toISOString(), now.toISOString(), runId);
    return { tookOverFrom };
  }).immediate();
}

/**
 * Refreshes the heartbeat of a run this process owns.
 * @throws RunTakenOverError when another process owns the run now (or nobody does): stop writing it.
 */
export function beatRun(db: Store, runId: string, options: OwnershipOptions = {}): void {
  const self = options.self ?? identifyThisProcess();
  const nowIso = (options.now ?? (() => new Date()))().toISOString();
  const changed = db.prepare('UPDATE runs SET heartbeat_at = ? WHERE id = ? AND owner_host = ? AND owner_pid = ?').run(nowIso, runId, self.host, self.pid).changes;
  if (changed === 1) return;
  const owner = readRunOwner(db, runId);
  const who = owner === null ? 'no process owns it any more' : `process ${owner.pid} on host ${owner.host} owns it now`;
  throw new RunTakenOverError(`Run ${runId} was taken over while process ${self.pid} on ${self.host} was writing it (${who}): stopping without writing more`);
}

/** Clears the owner when it is this process (a run that stops running is nobody's). */
export function releaseRun(db: Store, runId: string, self: ProcessIdentity = identifyThisProcess()): void {
  db.prepare('UPDATE runs SET owner_host = NULL, owner_pid = NULL, heartbeat_at = NULL WHERE id = ? AND owner_host = ? AND owner_pid = ?').run(runId, self.host, self.pid);
}

/** A claimed run: beat at each commit; `stop` ends the timer (the status change releases the owner). */
export interface RunHeartbeat {
  /** @throws RunTakenOverError when another process took the run over. */
  beat(): void;
  stop(): void;
}

/**
 * Beats the heartbeat of a claimed run every `intervalMs` (an unref'd timer,
 * so it never keeps the process alive). A failed timer beat is kept and
 * thrown by the next `beat()`, where the caller can stop cleanly.
 */
export function startRunHeartbeat(db: Store, runId: string, options: OwnershipOptions & { intervalMs?: number } = {}): RunHeartbeat {
  let lost: Error | null = null;
  const beat = (): void => {
    if (lost !== null) throw lost;
    beatRun(db, runId, options);
  };
  const timer = setInterval(() => {
    try { if (lost === null && db.open) beatRun(db, runId, options); } catch (error) { lost = error as Error; }
  }, options.intervalMs ?? RUN_HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return { beat, stop: () => clearInterval(timer) };
}
