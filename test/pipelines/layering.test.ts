import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

/** The repository root (this file runs from <dist>/test/pipelines). */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Every .ts file under `dir`, its family folders included. */
function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listSources(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

test('no SQL in pipelines/: statements live in src/store (and the data index modules)', () => {
  const files = listSources(join(REPO, 'pipelines'));
  assert.ok(files.length > 30, `only ${files.length} pipeline files found`);
  const offenders = files
    .flatMap((file) => readFileSync(file, 'utf8').split('\n').map((line, i) => ({ at: `${relative(REPO, file)}:${i + 1}`, line })))
    .filter(({ line }) => /\.prepare\(|\.exec\(\s*['`"]\s*(SELECT|INSERT|UPDATE|DELETE|CREATE)/i.test(line))
    .map(({ at }) => at);
  assert.deepEqual(offenders, []);
});
