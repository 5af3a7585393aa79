import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STOP_SIGNALS, withStopSignals } from '../src/stop-signals.js';

const counts = (): number[] => STOP_SIGNALS.map((name) => process.listenerCount(name));

test('stop signals: the first aborts the work, the second exits 130; both lines say what happens', async () => {
  const lines: string[] = [];
  const exits: number[] = [];
  const options = { stopping: 'finishing the current batch and committing', quitting: 'losing work since the last commit', log: (l: string) => lines.push(l), exit: (c: number) => exits.push(c) };
  const aborted = await withStopSignals(options, async (signal) => {
    assert.equal(signal.aborted, false);
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(signal.aborted, true);
    assert.deepEqual(exits, []);
    process.emit('SIGINT', 'SIGINT');
    return signal.aborted;
  });
  assert.equal(aborted, true);
  assert.deepEqual(exits, [130]);
  assert.deepEqual(lines, [
    'SIGTERM: finishing the current batch and committing (SIGTERM again quits at once, losing work since the last commit)',
    'SIGINT again: quitting at once, losing work since the last commit',
  ]);
});

test('stop signals: the handlers are removed when the work returns and when it throws', async () => {
  const before = counts();
  const options = { stopping: 's', quitting: 'q', log: () => {}, exit: () => {} };
  await withStopSignals(options, async () => {
    assert.deepEqual(counts(), before.map((n) => n + 1));
  });
  assert.deepEqual(counts(), before);
  await assert.rejects(withStopSignals(options, async () => { throw new Error('work failed'); }), /work failed/);
  assert.deepEqual(counts(), before);
});
