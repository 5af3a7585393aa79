/**
 * Runs every compiled test file under dist/test with node's test runner.
 *
 * Why a script: `node --test DIR` searched a directory on Node 20, but since
 * Node 21 a directory argument is taken as a file, and globs in `--test` are
 * not understood by Node 20. Listing the files here works on 20, 22 and 24.
 * Extra arguments are passed to the runner (for example
 * `--test-name-pattern=mosaics`); arguments ending in `.test.js` pick files.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const testRoot = dirname(fileURLToPath(import.meta.url));

/** Every `*.test.js` below `dir`, sorted so the order is the same on every machine. */
export function listTestFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listTestFiles(path));
    else if (entry.name.endsWith('.test.js')) found.push(path);
  }
  return found.sort();
}

function main(): number {
  const args = process.argv.slice(2);
  const picked = args.filter((arg) => arg.endsWith('.test.js'));
  const runnerArgs = args.filter((arg) => !arg.endsWith('.test.js'));
  const files = picked.length > 0 ? picked : listTestFiles(testRoot).map((file) => relative(process.cwd(), file));
  if (files.length === 0) {
    console.error(`no *.test.js files under ${testRoot}: run tsc first`);
    return 1;
  }
  const reporter = runnerArgs.some((arg) => arg.startsWith('--test-reporter')) ? [] : ['--test-reporter=spec'];
  const result = spawnSync(process.execPath, ['--test', ...reporter, ...runnerArgs, ...files], { stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
