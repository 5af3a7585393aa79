/**
 * Entry point of the explorer's render thread (started by
 * serve-worker-renderer.ts from the compiled .js beside it): it opens the
 * store read-only, starts the renderer on its own backend and renders the
 * jobs it is sent one at a time, posting progress and results back. The
 * server's thread stays free to answer pages meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendChoice } from '../../src/backend/select-backend.js';
import { openStore } from '../../src/store/open-store.js';
import type { RenderJob } from '../../src/serve/render-engine.js';
import { createModelRenderer } from './serve-renderer.js';

/** Main thread -> render thread. */
export interface RenderRequestMessage { id: number; job: RenderJob }

/** Render thread -> main thread. */
export type RenderReplyMessage =
  | { type: 'ready'; engine: string }
  | { type: 'init-failed'; error: string }
  | { type: 'progress'; id: number; done: number; total: number }
  | { type: 'done'; id: number; files: Record<string, string>; result: unknown }
  | { type: 'failed'; id: number; error: string };

export interface RenderWorkerData { dbPath: string; backend: BackendChoice }

const port = parentPort;
if (port === null) throw new Error('serve-render-worker.js must be started as a worker thread');
const post = (message: RenderReplyMessage): void => port!.postMessage(message);
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

async function start(data: RenderWorkerData): Promise<void> {
  let renderer;
  try {
    const db = openStore(data.dbPath, { mustExist: true, readonly: true });
    renderer = await createModelRenderer({ db, backend: data.backend });
    post({ type: 'ready', engine: renderer.engine });
  } catch (error) {
    post({ type: 'init-failed', error: describe(error) });
    return;
  }
  let queue = Promise.resolve();
  port!.on('message', (message: RenderRequestMessage) => {
    queue = queue.then(async () => {
      try {
        const output = await renderer.render(message.job, (done, total) => post({ type: 'progress', id: message.id, done, total }));
        post({ type: 'done', id: message.id, files: output.files, result: output.result });
      } catch (error) {
        post({ type: 'failed', id: message.id, error: describe(error) });
      }
    });
  });
}

await start(workerData as RenderWorkerData);
