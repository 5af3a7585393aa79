/**
 * `npm run bench`'s runner as a user meets it: --help lists the benchmarks
 * and runs none; an unknown name is refused with the valid ones, exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const RUNNER = fileURLToPath(new URL('../../bench/main.js', import.meta.url));

test('--help lists every benchmark and runs none; an unknown name is refused with the valid ones', () => {
  const help = spawnSync(process.execPath, [RUNNER, '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: npm run bench \[-- NAME \.\.\.\]/);
  const listed = /^benchmarks: (.+)$/m.exec(help.stdout)?.[1]?.split(', ') ?? [];
  for (const name of ['throughput', 'onnx-vs-torch', 'mosaics', 'top-activations-rss', 'serve']) assert.ok(listed.includes(name), `${name} in ${listed.join(', ')}`);
  assert.doesNotMatch(help.stdout, /backend:/, 'no benchmark ran');
  const unknown = spawnSync(process.execPath, [RUNNER, 'throughput', 'nope'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr, `unknown benchmark nope; valid: ${listed.join(', ')}\n`);
});
