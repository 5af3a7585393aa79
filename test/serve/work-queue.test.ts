import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWorkQueue } from '../../src/serve/work-queue.js';

/** A job that finishes when the test says. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  return { open, opened };
}

test('the same key twice while pending runs the work once', async () => {
  const runs: string[] = [];
  const g = gate();
  const queue = createWorkQueue<string>({ capacity: 4, concurrency: 1, run: async (job) => { runs.push(job); await g.opened; } });
  const first = queue.request('a', 'job a');
  const second = queue.request('a', 'job a again');
  assert.equal(first?.phase, 'running');
  assert.deepEqual(second, first);
  assert.equal(queue.size, 1);
  g.open();
  await queue.drain();
  assert.deepEqual(runs, ['job a']);
  // Once settled, asking again is new work (the caller's cache decides whether to ask).
  queue.request('a', 'job a later');
  await queue.drain();
  assert.deepEqual(runs, ['job a', 'job a later']);
});

test('jobs wait their turn at the concurrency, report position and progress, and a full queue refuses new keys', async () => {
  const g = gate();
  const order: string[] = [];
  const queue = createWorkQueue<string>({
    capacity: 3, concurrency: 1,
    run: async (job, onProgress) => { order.push(job); onProgress(1, 4); await g.opened; },
  });
  queue.request('a', 'a');
  queue.request('b', 'b');
  const c = queue.request('c', 'c');
  assert.deepEqual(c, { key: 'c', phase: 'queued', ahead: 2, done: 0, total: 0 });
  assert.equal(queue.request('d', 'd'), null);
  await Promise.resolve();
  assert.deepEqual(queue.status('a'), { key: 'a', phase: 'running', ahead: 0, done: 1, total: 4 });
  assert.equal(queue.status('b')?.ahead, 1);
  g.open();
  await queue.drain();
  assert.deepEqual(order, ['a', 'b', 'c']);
  assert.equal(queue.status('a'), undefined);
});

test('a failing job settles with its error and the queue goes on', async () => {
  const settled: Array<[string, unknown]> = [];
  const queue = createWorkQueue<number>({
    capacity: 4, concurrency: 2,
    run: async (job) => { if (job === 1) throw new Error('bad image'); },
    onSettled: (key, _job, error) => settled.push([key, error === undefined ? 'ok' : (error as Error).message]),
  });
  queue.request('one', 1);
  queue.request('two', 2);
  await queue.drain();
  assert.deepEqual(settled.sort(), [['one', 'bad image'], ['two', 'ok']]);
});

test('dropWaiting drops queued jobs but lets the running one finish', async () => {
  const g = gate();
  const ran: string[] = [];
  const queue = createWorkQueue<string>({ capacity: 4, concurrency: 1, run: async (job) => { ran.push(job); await g.opened; } });
  queue.request('a', 'a');
  queue.request('b', 'b');
  queue.request('c', 'c');
  assert.equal(queue.dropWaiting(), 2);
  g.open();
  await queue.drain();
  assert.deepEqual(ran, ['a']);
});

test('capacity and concurrency must be positive integers', () => {
  assert.throws(() => createWorkQueue({ capacity: 0, concurrency: 1, run: async () => undefined }), { name: 'RangeError', message: 'Expected a positive integer for capacity but received 0' });
  assert.throws(() => createWorkQueue({ capacity: 2, concurrency: 1.5, run: async () => undefined }), { name: 'RangeError', message: 'Expected a positive integer for concurrency but received 1.5' });
});
