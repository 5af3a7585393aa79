import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProgress } from '../src/progress.js';

/** A non-TTY stream that keeps what is written. */
function logStream(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  let text = '';
  const stream = { isTTY: false, write: (chunk: string) => { text += chunk; return true; } } as unknown as NodeJS.WriteStream;
  return { stream, lines: () => text.split('\n').filter((l) => l !== '') };
}

test('in a log the line of the finished pass is written once, whether or not the last tick wrote it', () => {
  // A wall clock: the first tick of a pass is long after 0, so it always writes a line.
  let clock = 1_000_000;
  const quick = logStream();
  // One tick covering the whole pass: the first tick always writes its line, done() must not repeat it.
  const first = createProgress({ label: 'val epoch 1', total: 10, stream: quick.stream, now: () => clock });
  clock += 1000;
  first.tick(10);
  first.done();
  assert.deepEqual(quick.lines(), ['val epoch 1 10/10 100.0% 10.0 img/s ETA 0:00']);

  const slow = logStream();
  const second = createProgress({ label: 'train epoch 1/8', total: 10, stream: slow.stream, now: () => clock, plainIntervalMs: 5000 });
  clock += 1000;
  second.tick(4);
  clock += 1000;
  second.tick(6);
  second.done('saved');
  // The second tick came too soon for a line of its own: done() writes the 100% line.
  assert.deepEqual(slow.lines(), ['train epoch 1/8 4/10 40.0% 4.0 img/s ETA 0:02', 'train epoch 1/8 10/10 100.0% 5.0 img/s ETA 0:00', 'saved']);
});
