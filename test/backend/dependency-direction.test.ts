import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every .ts file under `dir` (the sources, read from the checkout the tests run in). */
function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listSources(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

test('dependencies point down: nothing under src/ outside src/cli imports the CLI or commander', () => {
  const offenders: string[] = [];
  for (const file of listSources('src').filter((f) => !relative('src', f).startsWith('cli'))) {
    for (const [, target] of readFileSync(file, 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)) {
      if (target === 'commander' || /(^|\/)cli\//.test(target!)) offenders.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(offenders, []);
});
