/**
 * The supported Node.js versions (22 and 24, the current LTS releases) and a
 * warning-free install on them: npm prints EBADENGINE for every installed
 * package whose "engines" range leaves out the running Node, so each package
 * of the lockfile that installs on this platform must accept the oldest
 * release of each supported major. CI installs and tests on both
 * (.ci/run); this test fails as soon as a dependency update narrows its range.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

interface Semver {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
}
const semver = createRequire(import.meta.url)('semver') as Semver;

interface LockEntry { engines?: { node?: string }; os?: string[]; cpu?: string[]; optional?: boolean }
const root = (file: string) => fileURLToPath(new URL(`../../${file}`, import.meta.url));
const manifest = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(root('package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

const SUPPORTED_NODE_MAJORS = [22, 24];

/** Whether npm installs a lockfile entry here: its os and cpu lists (when any) name this platform. */
function installsHere(entry: LockEntry): boolean {
  const matches = (list: string[] | undefined, value: string) => list === undefined || list.some((item) => item === value || (item.startsWith('!') ? item.slice(1) !== value : false));
  return matches(entry.os, process.platform) && matches(entry.cpu, process.arch);
}

test('engines names Node 22 and 24 only, and the lockfile records the same range', () => {
  assert.equal(manifest.engines.node, '^22 || ^24');
  assert.deepEqual(lock.packages['']?.engines, { node: '^22 || ^24' });
  for (const major of SUPPORTED_NODE_MAJORS) assert.ok(semver.satisfies(`${major}.0.0`, manifest.engines.node), `${major}.0.0`);
  for (const unsupported of ['20.19.0', '23.0.0', '25.0.0']) assert.ok(!semver.satisfies(unsupported, manifest.engines.node), unsupported);
});

test('every package installed on this platform accepts the oldest release of each supported major (no EBADENGINE)', () => {
  const refusals: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = entry.engines?.node;
    if (path === '' || range === undefined || !installsHere(entry)) continue;
    for (const major of SUPPORTED_NODE_MAJORS) {
      if (!semver.satisfies(`${major}.0.0`, range)) refusals.push(`${path.replace(/^.*node_modules\//, '')} requires node ${range}: refuses ${major}.0.0`);
    }
  }
  assert.deepEqual(refusals, []);
});
