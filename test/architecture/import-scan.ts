/**
 * The import statements of the sources, read as text: every module a file
 * names and where it lies in the checkout. What the import-rule test
 * (import-rules.test.ts) checks docs/architecture.md's tables against.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from <dist>/test/architecture). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** One import: the file that imports (repository path), what it names, and the repository path it resolves to (null: a package). */
export interface ImportEdge {
  from: string;
  specifier: string;
  to: string | null;
}

/** Every .ts file under `dir` (a repository path), as repository paths, sorted. */
export function listSources(dir: string): string[] {
  return readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listSources(path) : entry.name.endsWith('.ts') ? [path] : [];
  }).sort();
}

/**
 * Every module a source names: static imports (type-only and bare ones too),
 * re-exports (`export ... from`), and `import('...')` calls, awaited or not,
 * in code or in type positions. A specifier computed at run time
 * (`import(name)`) names no module and is not listed.
 */
export function listImportSpecifiers(source: string): string[] {
  const patterns = [
    /^\s*import(?![.(\w])[^'"();]*?['"]([^'"]+)['"]/gm,
    /^\s*export\b[^'"();=]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*(?:'([^']+)'|"([^"]+)"|`([^`$]+)`)\s*[,)]/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m.slice(1).find((s) => s !== undefined)!));
}

/**
 * The imports of every source under `dirs`. A relative specifier resolves to
 * the .ts source its .js name is compiled from.
 * @throws Error naming the file and specifier when a relative import names no source
 */
export function scanImports(dirs: readonly string[]): ImportEdge[] {
  return dirs.flatMap((dir) => listSources(dir)).flatMap((from) => listImportSpecifiers(readFileSync(join(REPO, from), 'utf8')).map((specifier) => {
    if (!specifier.startsWith('.')) return { from, specifier, to: null };
    const to = normalize(join(dirname(from), specifier)).replace(/\.js$/, '.ts');
    if (!existsSync(join(REPO, to))) throw new Error(`${from} imports ${specifier}, which is no source (${to})`);
    return { from, specifier, to };
  }));
}

/**
 * The import circles among the files: each strongly connected set of more
 * than one file (or a file importing itself), its files sorted.
 */
export function findCircles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (to === null) continue;
    next.set(from, [...(next.get(from) ?? []), to]);
    if (!next.has(to)) next.set(to, []);
  }
  // Tarjan's algorithm, iterative so deep chains cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const circles: string[][] = [];
  for (const root of next.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; child: number }> = [{ node: root, child: 0 }];
    index.set(root, index.size); low.set(root, index.get(root)!); stack.push(root); onStack.add(root);
    while (work.length > 0) {
      const frame = work.at(-1)!;
      const children = next.get(frame.node)!;
      if (frame.child < children.length) {
        const child = children[frame.child++]!;
        if (!index.has(child)) {
          index.set(child, index.size); low.set(child, index.get(child)!); stack.push(child); onStack.add(child);
          work.push({ node: child, child: 0 });
        } else if (onStack.has(child)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        continue;
      }
      work.pop();
      if (work.length > 0) low.set(work.at(-1)!.node, Math.min(low.get(work.at(-1)!.node)!, low.get(frame.node)!));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const members: string[] = [];
      for (let member = stack.pop()!; ; member = stack.pop()!) {
        onStack.delete(member); members.push(member);
        if (member === frame.node) break;
      }
      if (members.length > 1 || children.includes(frame.node)) circles.push(members.sort());
    }
  }
  return circles;
}
