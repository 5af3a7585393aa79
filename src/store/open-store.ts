/**
 * The one SQLite store (default db/zfnet.db). Opening it applies the numbered
 * schema files under db/ that it has not seen yet, each in its own transaction.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { UsageError } from '../errors.js';

export type Store = Database.Database;

/** Folder holding the versioned schema files (`db/NNN-name.sql`) of the package. */
export const SCHEMA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../db');

export const DEFAULT_DB_PATH = 'db/zfnet.db';

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY. */
export const STORE_BUSY_TIMEOUT_MS = 30_000;

/** The store path from --db, else ZFNET_DB, else db/zfnet.db (relative to the working directory). */
export function resolveDbPath(option: string | undefined): string {
  return resolve(option ?? process.env['ZFNET_DB'] ?? DEFAULT_DB_PATH);
}

export interface SchemaFile {
  version: number;
  name: string;
  sql: string;
}

/** Schema files in version order. */
export function readSchemaFiles(dir = SCHEMA_DIR): SchemaFile[] {
  return readdirSync(dir)
    .map((name) => ({ name, m: /^(\d+)-[\w-]+\.sql$/.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
    .map(({ name, m }) => ({ version: Number(m[1]), name, sql: readFileSync(join(dir, name), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/**
 * Applies the schema files the store has not recorded yet; returns the store's version after.
 * Several processes may open one fresh store at once: the versions are read
 * inside the same `BEGIN IMMEDIATE` transaction that applies the missing
 * files, so the second process waits for the first (busy timeout) and then
 * finds every file applied.
 */
export function migrateStore(db: Store, files: SchemaFile[] = readSchemaFiles()): number {
  const apply = db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const file of files) {
      if (applied.has(file.version)) continue;
      db.exec(file.sql);
      record.run(file.version, file.name, new Date().toISOString());
    }
    return (db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
  });
  const version = apply.immediate();
  if (db.pragma('user_version', { simple: true }) !== version) db.pragma(`user_version = ${version}`);
  return version;
}

/**
 * Runs `work`, again after a short pause while SQLite answers SQLITE_BUSY, for
 * up to the busy timeout. Needed where SQLite gives up at once instead of
 * waiting: two processes switching one fresh file to WAL each hold a shared
 * lock and want the exclusive one, and SQLite fails one of them rather than
 * let both wait (its deadlock rule), whatever the busy timeout says.
 */
export function retryWhileBusy<T>(work: () => T, timeoutMs = STORE_BUSY_TIMEOUT_MS): T {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return work();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(50, 1 + attempt * 5)); // a synchronous pause
    }
  }
}

export interface OpenStoreOptions {
  /** Open an existing store only (for commands that read); default false. */
  mustExist?: boolean;
  readonly?: boolean;
}

/**
 * Opens (creating if needed) the store at `path`, in WAL mode with foreign keys on, schema up to date.
 * @throws UsageError naming the path when it must exist and does not, or cannot be opened.
 */
export function openStore(path: string, options: OpenStoreOptions = {}): Store {
  if (!options.mustExist) mkdirSync(dirname(path), { recursive: true });
  let db: Store;
  try {
    db = new Database(path, { fileMustExist: options.mustExist === true, readonly: options.readonly === true });
  } catch (error) {
    throw new UsageError(`Cannot open store ${path}: ${(error as Error).message}`);
  }
  // The busy timeout first: switching a fresh file to WAL and migrating both wait for another opener.
  db.pragma(`busy_timeout = ${STORE_BUSY_TIMEOUT_MS}`);
  if (!options.readonly) {
    retryWhileBusy(() => db.pragma('journal_mode = WAL'));
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  if (!options.readonly) retryWhileBusy(() => migrateStore(db)); // idempotent: a retry reads the applied versions again
  return db;
}
