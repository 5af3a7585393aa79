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

/**
 * Every module a source names: static imports (type-only and bare ones too),
 * re-exports (`export ... from`), and `import('...')` calls, awaited or not,
 * in code or in type positions. A specifier computed at run time
 * (`import(name)`) names no module and is not listed.
 */
function listImportSpecifiers(source: string): string[] {
  const patterns = [
    /^\s*import(?![.(\w])[^'"();]*?['"]([^'"]+)['"]/gm,
    /^\s*export\b[^'"();=]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*(?:'([^']+)'|"([^"]+)"|`([^`$]+)`)\s*[,)]/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m.slice(1).find((s) => s !== undefined)!));
}

test('the import scan sees static imports, re-exports and import() calls', () => {
  const source = [
    "import { a } from './one.js';",
    'import type {',
    '  B,',
    "} from '../two.js';",
    "import './three.js';",
    "export { c, type D } from './four.js';",
    "export * as e from './five.js';",
    "  const { f } = await import('./six.js');",
    'const g = import("./seven.js").then((m) => m.g);',
    "type H = import('./eight.js').H;",
    'const i = await import(`./nine.js`);',
    'const j = await import(computedName);',
    "const url = new URL('../data/', import.meta.url);",
    "export const from = 'not-a-module';",
  ].join('\n');
  assert.deepEqual(listImportSpecifiers(source).sort(), ['../two.js', './eight.js', './five.js', './four.js', './nine.js', './one.js', './seven.js', './six.js', './three.js']);
});

test('dependencies point down: nothing under src/ outside src/cli imports the CLI or commander', () => {
  const offenders: string[] = [];
  let scanned = 0;
  for (const file of listSources('src').filter((f) => !relative('src', f).startsWith('cli'))) {
    for (const target of listImportSpecifiers(readFileSync(file, 'utf8'))) {
      scanned += 1;
      if (target === 'commander' || /(^|\/)cli\//.test(target)) offenders.push(`${file} imports ${target}`);
    }
  }
  assert.ok(scanned > 500, `only ${scanned} imports found under src/`);
  assert.deepEqual(offenders, []);
});
