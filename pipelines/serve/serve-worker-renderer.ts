/**
 * The explorer's renderer in a worker thread: the same model renderer
 * (serve-renderer.ts), run off the server's event loop so that pages keep
 * answering while a projection or an occlusion sweep computes.
 */
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from '../../src/backend/select-backend.js';
import type { RenderJob, RenderOutput, Renderer } from '../../src/serve/render-engine.js';
import type { RenderReplyMessage, RenderRequestMessage, RenderWorkerData } from './serve-render-worker.js';

interface Pending { resolve: (output: RenderOutput) => void; reject: (error: Error) => void; onProgress: (done: number, total: number) => void }

/**
 * Starts the render thread and waits until its backend is up.
 * @throws Error with the thread's reason when it cannot start (bad backend, unreadable store)
 */
export async function createWorkerRenderer(options: { dbPath: string; backend: BackendChoice }): Promise<Renderer> {
  const data: RenderWorkerData = { dbPath: options.dbPath, backend: options.backend };
  const worker = new Worker(new URL('./serve-render-worker.js', import.meta.url), { workerData: data });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  const failAll = (error: Error) => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  const engine = await new Promise<string>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (message: RenderReplyMessage) => {
      if (message.type === 'ready') resolve(message.engine);
      else if (message.type === 'init-failed') reject(new Error(`The render thread could not start: ${message.error}`));
      else if (message.type === 'progress') pending.get(message.id)?.onProgress(message.done, message.total);
      else {
        const p = pending.get(message.id);
        pending.delete(message.id);
        if (message.type === 'done') p?.resolve({ files: message.files, result: message.result });
        else p?.reject(new Error(message.error));
      }
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  worker.on('error', (error) => failAll(new Error(`The render thread stopped: ${error.message}`)));
  worker.on('exit', (code) => failAll(new Error(`The render thread exited (code ${code})`)));
  return {
    engine,
    render: (job: RenderJob, onProgress) => new Promise<RenderOutput>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject, onProgress });
      worker.postMessage({ id, job } satisfies RenderRequestMessage);
    }),
    close: async () => { await worker.terminate(); },
  };
}
