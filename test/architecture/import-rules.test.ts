/**
 * The import rules of docs/architecture.md, checked over every import of
 * src/, pipelines/ and bench/ (static, `export ... from` and `import()`,
 * type-only ones included): the order of src/'s rooms, the families of
 * pipelines/ and what each may import, the graph rooms' entry modules, and
 * no import circles. The rules are read from the page's tables, so the page
 * and the test cannot drift apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCircles, listImportSpecifiers, REPO, scanImports, type ImportEdge } from './import-scan.js';

const ARCHITECTURE = readFileSync(join(REPO, 'docs/architecture.md'), 'utf8');
const EDGES = scanImports(['src', 'pipelines', 'bench']);

/** The rows of the first table after the heading that starts with `heading`, as cells (header and rule rows dropped). */
function tableRows(heading: string): string[][] {
  const start = ARCHITECTURE.indexOf(`\n## ${heading}`);
  assert.ok(start >= 0, `docs/architecture.md has a section "## ${heading}"`);
  const lines = ARCHITECTURE.slice(start).split('\n').slice(1);
  const first = lines.findIndex((line) => line.startsWith('|'));
  const table = lines.slice(first, lines.findIndex((line, i) => i > first && !line.startsWith('|')));
  return table.slice(2).map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

/** The backticked paths of a cell. */
const pathsIn = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** The room of a source: `src/*.ts` for the files directly in src/, else its first two path parts (`src/store`, `pipelines/serve`); `bench`, `test`. */
function roomOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'src' && parts.length === 2) return 'src/*.ts';
  return parts[0] === 'src' || parts[0] === 'pipelines' ? parts.slice(0, 2).join('/') : parts[0]!;
}

const SRC_ORDER = tableRows('src/').map((cells) => pathsIn(cells[1]!)[0]!);
const FAMILIES = new Map(tableRows('pipelines/').map((cells) => [pathsIn(cells[0]!)[0]!, pathsIn(cells[2]!)]));
const GRAPH_DOORS = tableRows('Graphs').flatMap((cells) => pathsIn(cells[1]!));

/** What an import breaks, in words; null when the rules allow it. */
function breach({ from, specifier, to }: ImportEdge): string | null {
  const source = roomOf(from);
  if (to === null) return source.startsWith('src/') && source !== 'src/cli' && specifier === 'commander' ? 'only src/cli uses commander' : null;
  const target = roomOf(to);
  if (source === target) return null;
  if (source.startsWith('src/')) {
    if (source === 'src/cli') return target.startsWith('src/') || target.startsWith('pipelines/') ? null : 'src/cli imports src/ and pipelines/ only';
    if (!target.startsWith('src/')) return `src/ imports src/ only, not ${target}`;
    if (target === 'src/cli') return 'nothing under src/ imports src/cli';
    if (SRC_ORDER.indexOf(target) > SRC_ORDER.indexOf(source)) return `${target} is below ${source} in the order of src/'s rooms`;
  } else if (source.startsWith('pipelines/')) {
    if (target === 'src/cli' || !(target.startsWith('src/') || target.startsWith('pipelines/'))) return `a pipeline imports src/ (not src/cli) and pipelines/ only, not ${target}`;
    if (target.startsWith('pipelines/') && target !== 'pipelines/shared' && !FAMILIES.get(source)!.includes(target)) return `${source} may not import ${target}`;
    if (source === 'pipelines/shared' && target.startsWith('pipelines/')) return 'pipelines/shared imports src/ only';
  } else if (source === 'bench') {
    const fixture = target === 'test' && /-fixture\.ts$/.test(to);
    if (!(fixture || target.startsWith('src/') && target !== 'src/cli' || target.startsWith('pipelines/'))) return `bench imports src/, pipelines/ and test fixtures only, not ${to}`;
  }
  const graphRoom = ['src/onnx', 'src/train-graph'].includes(target);
  return graphRoom && !GRAPH_DOORS.includes(to) ? `outside ${target}, import it through ${GRAPH_DOORS.filter((door) => door.startsWith(`${target}/`)).join(' or ')}` : null;
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

test('docs/architecture.md names every room there is, and the rules read from it are whole', () => {
  const sources = new Set(EDGES.map((edge) => roomOf(edge.from)));
  assert.deepEqual([...sources].filter((room) => room.startsWith('src/')).sort(), [...SRC_ORDER].sort());
  assert.deepEqual([...sources].filter((room) => room.startsWith('pipelines/')).sort(), [...FAMILIES.keys()].sort());
  for (const [family, allowed] of FAMILIES) for (const other of allowed) assert.ok(FAMILIES.has(other), `${family} may import ${other}, which is no family`);
  assert.ok(GRAPH_DOORS.includes('src/train-graph/train-graphs.ts') && GRAPH_DOORS.includes('src/onnx/onnx-format.ts'), GRAPH_DOORS.join(', '));
  assert.ok(EDGES.length > 1500, `only ${EDGES.length} imports found`);
});

test('every import of src/, pipelines/ and bench/ keeps the rules of docs/architecture.md', () => {
  const breaches = EDGES.flatMap((edge) => {
    const why = breach(edge);
    return why === null ? [] : [`${edge.from} imports ${edge.specifier}: ${why}`];
  });
  assert.deepEqual(breaches, []);
});

test('no import circles among the files of src/, pipelines/ and bench/', () => {
  assert.deepEqual(findCircles(EDGES).map((circle) => `a circle among ${circle.join(', ')}`), []);
});
