/**
 * Run records shared by every command that computes: one row in `runs` per
 * run, plus the bad data items it skipped.
 */
import type { Store } from './open-store.js';
import { identifyThisProcess, RunTakenOverError } from './run-owner.js';

export type RunStatus = 'running' | 'interrupted' | 'finished' | 'failed';

export interface RunRecord {
  id: string;
  kind: string;
  status: RunStatus;
  model: string | null;
  backend: string | null;
  backendInfo: Record<string, unknown> | null;
  options: Record<string, unknown>;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface CreateRunOptions {
  id: string;
  kind: string;
  model?: string | null;
  backend?: string | null;
  backendInfo?: Record<string, unknown> | null;
  options?: Record<string, unknown>;
}

/** A run id that sorts by time: `<kind>-YYYYMMDD-HHMMSS[-suffix]`. */
export function makeRunId(kind: string, date = new Date(), suffix?: string): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return suffix ? `${kind}-${stamp}-${suffix}` : `${kind}-${stamp}`;
}

/** `id`, or `id-2`, `id-3`, ... when the store already has a run of that id (two runs started in the same second). */
export function uniqueRunId(db: Store, id: string): string {
  const exists = db.prepare('SELECT 1 FROM runs WHERE id = ?').pluck();
  let candidate = id;
  for (let n = 2; exists.get(candidate) !== undefined; n++) candidate = `${id}-${n}`;
  return candidate;
}

/** Inserts a run row with status `running`, owned by this process (see run-owner.ts). */
export function createRun(db: Store, run: CreateRunOptions): RunRecord {
  const nowIso = new Date().toISOString();
  const self = identifyThisProcess();
  db.prepare(
    `INSERT INTO runs (id, kind, status, model, backend, backend_info, options_json, started_at, updated_at, owner_host, owner_pid, heartbeat_at)
     VALUES (@id, @kind, 'running', @model, @backend, @backendInfo, @options, @now, @now, @host, @pid, @now)`,
  ).run({
    host: self.host,
    pid: self.pid,
    id: run.id,
    kind: run.kind,
    model: run.model ?? null,
    backend: run.backend ?? null,
    backendInfo: run.backendInfo ? JSON.stringify(run.backendInfo) : null,
    options: JSON.stringify(run.options ?? {}),
    now: nowIso,
  });
  return getRun(db, run.id)!;
}

interface RunRow {
  id: string; kind: string; status: RunStatus; model: string | null; backend: string | null;
  backend_info: string | null; options_json: string; started_at: string; updated_at: string; finished_at: string | null;
}

/** The run with this id, or undefined. */
export function getRun(db: Store, id: string): RunRecord | undefined {
  const row = db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  if (row === undefined) return undefined;
  return {
    id: row.id, kind: row.kind, status: row.status, model: row.model, backend: row.backend,
    backendInfo: row.backend_info ? (JSON.parse(row.backend_info) as Record<string, unknown>) : null,
    options: JSON.parse(row.options_json) as Record<string, unknown>,
    startedAt: row.started_at, updatedAt: row.updated_at, finishedAt: row.finished_at,
  };
}

/** Runs of one kind (or all), newest first. */
export function listRuns(db: Store, kind?: string): RunRecord[] {
  const ids = (kind === undefined
    ? db.prepare('SELECT id FROM runs ORDER BY started_at DESC').pluck().all()
    : db.prepare('SELECT id FROM runs WHERE kind = ? ORDER BY started_at DESC').pluck().all(kind)) as string[];
  return ids.map((id) => getRun(db, id)!);
}

/**
 * Sets a run's status; `finished` also stamps finished_at. Any status but
 * `running` releases the run's owner (resuming goes through claimRun).
 */
export function setRunStatus(db: Store, id: string, status: RunStatus): void {
  const nowIso = new Date().toISOString();
  db.prepare(`UPDATE runs SET status = @status, updated_at = @now, finished_at = CASE WHEN @status = 'finished' THEN @now ELSE finished_at END,
      owner_host = CASE WHEN @status = 'running' THEN owner_host END, owner_pid = CASE WHEN @status = 'running' THEN owner_pid END,
      heartbeat_at = CASE WHEN @status = 'running' THEN heartbeat_at END WHERE id = @id`)
    .run({ status, now: nowIso, id });
}

/**
 * Marks a run failed after `error`, unless the error says another process
 * took the run over (then the run is that process's and stays as it is).
 */
export function markRunFailed(db: Store, id: string, error: unknown): void {
  if (!(error instanceof RunTakenOverError)) setRunStatus(db, id, 'failed');
}

/** Records the sha256 of the mean image a run subtracts from its inputs. */
export function recordRunMean(db: Store, id: string, meanSha256: string): void {
  db.prepare('UPDATE runs SET mean_sha256 = ? WHERE id = ?').run(meanSha256, id);
}

/** The sha256 of the mean image recorded with a run (null: none recorded). */
export function readRunMean(db: Store, id: string): string | null {
  return (db.prepare('SELECT mean_sha256 FROM runs WHERE id = ?').pluck().get(id) as string | null | undefined) ?? null;
}

/**
 * Runs `work` for a run already recorded as running, then marks it finished,
 * or failed when `work` throws (the error is rethrown).
 */
export async function trackRunStatus<T>(db: Store, runId: string, work: () => Promise<T>): Promise<T> {
  try {
    const result = await work();
    setRunStatus(db, runId, 'finished');
    return result;
  } catch (error) {
    markRunFailed(db, runId, error);
    throw error;
  }
}

/** Records one skipped bad data item. */
export function recordSkippedItem(db: Store, runId: string | null, item: { path: string; stage: string; reason: string }): void {
  db.prepare('INSERT INTO skipped_items (run_id, path, stage, reason, recorded_at) VALUES (?, ?, ?, ?, ?)')
    .run(runId, item.path, item.stage, item.reason, new Date().toISOString());
}

/** Replaces what a run was started with (a resumed training run with its resolved recipe and this process's backend). */
export function updateRunRecord(db: Store, id: string, record: { options: Record<string, unknown>; backend: string | null; backendInfo: Record<string, unknown> | null }): void {
  db.prepare('UPDATE runs SET options_json = ?, backend = ?, backend_info = ? WHERE id = ?')
    .run(JSON.stringify(record.options), record.backend, record.backendInfo === null ? null : JSON.stringify(record.backendInfo), id);
}

/** The skipped items recorded for a run, in the order they were recorded. */
export function listSkippedItems(db: Store, runId: string): Array<{ path: string; stage: string; reason: string }> {
  return db.prepare('SELECT path, stage, reason FROM skipped_items WHERE run_id = ? ORDER BY id').all(runId) as Array<{ path: string; stage: string; reason: string }>;
}
