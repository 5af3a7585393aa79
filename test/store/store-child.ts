/**
 * Child process for the concurrency tests: waits until a "go" file exists
 * (so several children start together), then opens a store, optionally with
 * a slow first schema file, and prints the schema version it found.
 *
 *   node store-child.js STORE GO_FILE [slow]
 */
import { existsSync } from 'node:fs';
import { migrateStore, readSchemaFiles } from '../../src/store/open-store.js';
import { openStore } from '../../src/store/open-store.js';

/** A statement that keeps SQLite busy for a good fraction of a second, widening any race window. */
const SLOW_SQL = 'SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1500000) SELECT x FROM c);\n';

async function main(): Promise<void> {
  const [path, goFile, mode] = process.argv.slice(2) as [string, string, string | undefined];
  process.stdout.write('ready\n');
  while (!existsSync(goFile)) await new Promise((resolve) => setTimeout(resolve, 2));
  if (mode === 'slow') {
    // Open without migrating, then migrate with the slow statement at the end of file 1 (after its CREATE TABLEs).
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path);
    db.pragma('busy_timeout = 30000');
    const files = readSchemaFiles().map((f, i) => (i === 0 ? { ...f, sql: f.sql + SLOW_SQL } : f));
    process.stdout.write(`version ${migrateStore(db, files)}\n`);
    db.close();
    return;
  }
  const db = openStore(path);
  process.stdout.write(`version ${db.pragma('user_version', { simple: true }) as number}\n`);
  db.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
