/**
 * The README's and docs/'s relative links and images point at files that
 * exist, and a link's #fragment at a heading of the page it names (GitHub's
 * anchors: lower case, punctuation dropped, spaces to hyphens). Links to
 * other sites are not fetched.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** README.md and every .md under docs/, as repository paths. */
function listPages(dir = 'docs'): string[] {
  return readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listPages(path) : entry.name.endsWith('.md') ? [path] : [];
  });
}

/** A page's text without fenced code blocks and inline code, where brackets are not links. */
const proseOf = (markdown: string): string => markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

/** The targets of a page's inline links and images, `[text](target)` and `![alt](target "title")`. */
function listLinkTargets(markdown: string): string[] {
  return [...proseOf(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/** The anchors GitHub gives a page's headings (a repeated heading gets -1, -2, ...). */
function listAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

test('the link scan reads links, images, titles and fragments, and skips code', () => {
  const page = ['See [a](docs/a.md#part) and ![b](img/b.png "B").', '`[c](not-a-link.md)`', '```', '[d](in-a-block.md)', '```', '[e](https://example.org)'].join('\n');
  assert.deepEqual(listLinkTargets(page), ['docs/a.md#part', 'img/b.png', 'https://example.org']);
  assert.deepEqual([...listAnchors('# The explorer: `run-pipeline serve`\n## Schema (db/003-top-activations.sql)\n## Speed\n## Speed')],
    ['the-explorer-run-pipeline-serve', 'schema-db003-top-activationssql', 'speed', 'speed-1']);
});

test('every relative link and image of README.md and docs/*.md resolves, fragments included', () => {
  const pages = ['README.md', ...listPages()];
  assert.ok(pages.includes('docs/architecture.md'), pages.join(', '));
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    for (const target of listLinkTargets(readFileSync(join(REPO, page), 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      checked += 1;
      const [path, fragment] = target.split('#') as [string, string | undefined];
      const file = path === '' ? page : normalize(join(dirname(page), decodeURIComponent(path)));
      if (!existsSync(join(REPO, file))) broken.push(`${page}: ${target} (no file ${file})`);
      else if (fragment !== undefined && file.endsWith('.md') && !listAnchors(readFileSync(join(REPO, file), 'utf8')).has(fragment)) broken.push(`${page}: ${target} (no heading #${fragment} in ${file})`);
    }
  }
  assert.ok(checked > 30, `only ${checked} relative links found`);
  assert.deepEqual(broken, []);
});
