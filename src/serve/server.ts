/**
 * The explorer's web application (fastify): pages, image files by indexed
 * id, and renders on demand through a bounded queue. It reads the store
 * through `queries` and writes only the cache table. Every error answers one
 * line: 400 for a bad parameter, 404 for nothing there (and for anything
 * path-like), 503 for a full queue, 500 without details (those go to `log`).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServeCache } from '../store/serve-cache.js';
import type { ServeQueries } from '../store/serve-queries.js';
import { createImageCrops } from './image-crops.js';
import type { RenderJob, Renderer } from './render-engine.js';
import { HttpError } from './request-params.js';
import { registerPageRoutes } from './routes-pages.js';
import { createRenderRunner, describeRenderError, registerRenderRoutes } from './routes-renders.js';
import type { ServeContext } from './serve-context.js';
import { createWorkQueue, type WorkQueue } from './work-queue.js';

/** Renders queued or running at most; more answer 503 until some finish. */
export const DEFAULT_QUEUE_CAPACITY = 64;

export interface ServeAppOptions {
  queries: ServeQueries;
  cache: ServeCache;
  /** Makes the renderer; called once, on the first render (so browsing alone never loads a model). */
  createRenderer: () => Promise<Renderer>;
  outRoot: string;
  queueCapacity?: number;
  /** Renders at once (1: the engine gets the machine to itself). */
  concurrency?: number;
  log?: (line: string) => void;
  now?: () => number;
}

export interface ServeApp {
  app: FastifyInstance;
  queue: WorkQueue<RenderJob>;
  /** Drops the renders still waiting, lets the running one finish, then closes the app and the renderer (if one was made). */
  close(): Promise<void>;
}

/** Builds the application (not listening yet: `app.listen` or `app.inject`). */
export function buildServeApp(options: ServeAppOptions): ServeApp {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let renderer: Promise<Renderer> | null = null;
  const getRenderer = () => (renderer ??= options.createRenderer().catch((error: unknown) => { renderer = null; throw error; }));
  const queue = createWorkQueue<RenderJob>({
    capacity: options.queueCapacity ?? DEFAULT_QUEUE_CAPACITY,
    concurrency: options.concurrency ?? 1,
    run: createRenderRunner(options, getRenderer),
    onSettled: (key, _job, error) => { if (error !== undefined) log(`serve: render ${key} failed: ${describeRenderError(error)}`); },
  });
  const ctx: ServeContext = { queries: options.queries, cache: options.cache, queue, crops: createImageCrops(), outRoot: options.outRoot, now: options.now ?? Date.now };

  // Route parameters are matched case-sensitively and never normalised into paths.
  const app = Fastify({ logger: false, routerOptions: { maxParamLength: 240 }, return503OnClosing: true });
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof HttpError) return reply.code(error.statusCode).type('text/plain; charset=utf-8').send(`${error.message}\n`);
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).type('text/plain; charset=utf-8').send(`${error.message.split('\n')[0]}\n`);
    }
    log(`serve: ${request.method} ${request.url}: ${error.stack ?? error.message}`);
    return reply.code(500).type('text/plain; charset=utf-8').send('Internal error while answering this request (the server log has the details)\n');
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).type('text/plain; charset=utf-8').send(`Not found: ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}\n`));
  registerPageRoutes(app, ctx);
  registerRenderRoutes(app, ctx);

  return {
    app, queue,
    close: async () => {
      queue.dropWaiting();
      await app.close();
      await queue.drain();
      if (renderer !== null) await (await renderer.catch(() => null))?.close();
    },
  };
}
