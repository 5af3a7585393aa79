/** Test helper: runs the built CLI (this build's dist folder) as a child process. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { fileURLToPath } from 'node:url';

/** The CLI entry of the build this compiled test belongs to (dist or dist-NAME). */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `run-pipeline ...args` with the given extra environment (in `cwd`, default this process's); never throws on a non-zero exit. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): CliResult {
  const result = spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000, ...(cwd === undefined ? {} : { cwd }) });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Highest commit count of the top-activations runs in the store at `dbPath` (0 while the store or its schema is not there yet). */
export function readTopActivationCommits(dbPath: string): number {
  if (!existsSync(dbPath)) return 0;
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT MAX(commits) FROM top_activation_runs').pluck().get() as number | null) ?? 0;
    } finally {
      db.close();
    }
  } catch {
    return 0; // schema not there yet
  }
}
