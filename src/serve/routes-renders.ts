/**
 * Renders on demand: the API a page polls (GET: status; POST: ask for it),
 * the HTML fragment that shows a finished render, and its files, which are
 * found through the cache table, never through a path in the request. The
 * queue runner that calls the renderer and records each result in the cache
 * lives here too.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CachedRender, RenderKind } from '../store/serve-cache.js';
import type { ServeTopEntry } from '../store/serve-queries.js';
import { folderOfLayer } from '../mosaic/mosaic-layers.js';
import { layerLabel } from './page-kit.js';
import { renderActivationsFragment, renderOcclusionFragment, type ImageActivations, type ImageOcclusion } from './pages-image.js';
import { renderPreferredFragment, renderProjectionsFragment, type PreferredRender } from './pages-unit.js';
import { renderTarget, type RenderJob, type Renderer } from './render-engine.js';
import { HttpError, parseIndex } from './request-params.js';
import { requireImage, requireLayer, requirePass, requireUnit, type ServeContext } from './serve-context.js';

/** What a page's script reads: where the render stands. */
export interface RenderStatus {
  state: 'absent' | 'queued' | 'running' | 'done' | 'failed' | 'refused';
  ahead: number;
  done: number;
  total: number;
  error: string | null;
}

type Target = Pick<RenderJob, 'kind' | 'runId' | 'layer' | 'unit' | 'imageId'>;

const queueKey = (t: Target): string => `${t.kind}|${t.runId}|${renderTarget(t)}`;

/** A cached render that finished and whose files are all still there. */
function findDone(ctx: ServeContext, t: Target): CachedRender | undefined {
  const cached = ctx.cache.get(t.kind, t.runId, renderTarget(t));
  return cached?.status === 'done' && Object.values(cached.files).every((f) => existsSync(f)) ? cached : undefined;
}

/** The fragment of a finished render, or null while there is none. */
export function renderCachedFragment(ctx: ServeContext, t: Target, entries: readonly ServeTopEntry[]): string | null {
  const cached = findDone(ctx, t);
  const run = ctx.queries.getRun(t.runId);
  if (cached === undefined || run === undefined) return null;
  if (t.kind === 'projections') return renderProjectionsFragment(t.runId, t.layer!, t.unit!, entries, (cached.result as { recomputed: number[] }).recomputed);
  if (t.kind === 'preferred') return renderPreferredFragment(t.runId, t.layer!, t.unit!, cached.result as PreferredRender);
  if (t.kind === 'occlusion') return renderOcclusionFragment(run, t.imageId!, cached.result as ImageOcclusion);
  return renderActivationsFragment(run, cached.result as ImageActivations);
}

/** Where a render stands: pending in the queue, else as cached, else absent. */
export function readRenderStatus(ctx: ServeContext, t: Target): RenderStatus {
  const pending = ctx.queue.status(queueKey(t));
  if (pending !== undefined) return { state: pending.phase, ahead: pending.ahead, done: pending.done, total: pending.total, error: null };
  const cached = ctx.cache.get(t.kind, t.runId, renderTarget(t));
  if (cached?.status === 'failed') return { state: 'failed', ahead: 0, done: 0, total: 0, error: cached.error };
  return findDone(ctx, t) === undefined ? { state: 'absent', ahead: 0, done: 0, total: 0, error: null } : { state: 'done', ahead: 0, done: 1, total: 1, error: null };
}

/** Asks for a render: nothing when it is done, the pending job when it is queued or running, else a new job (a failed one is retried). */
export function requestRender(ctx: ServeContext, t: Target): RenderStatus {
  const status = readRenderStatus(ctx, t);
  if (status.state === 'done' || status.state === 'queued' || status.state === 'running') return status;
  const run = ctx.queries.getRun(t.runId)!;
  const unitFolder = t.layer === undefined ? '' : `${folderOfLayer(layerLabel(run, t.layer))}-unit-${t.unit}`;
  const outDir = join(ctx.outRoot, 'serve', t.runId, t.kind === 'projections' ? unitFolder : t.kind === 'preferred' ? `${unitFolder}-preferred` : `image-${t.imageId}`);
  const job: RenderJob = { kind: t.kind, runId: t.runId, layer: t.layer, unit: t.unit, imageId: t.imageId, outDir };
  const queued = ctx.queue.request(queueKey(t), job);
  if (queued === null) return { state: 'refused', ahead: ctx.queue.size, done: 0, total: 0, error: `the render queue is full (${ctx.queue.size} jobs): try again shortly` };
  return { state: queued.phase, ahead: queued.ahead, done: queued.done, total: queued.total, error: null };
}

/** The first line of an error, for the cache table and the page. */
export function describeRenderError(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 500);
}

/**
 * The queue's worker: renders one job through the renderer (created on the
 * first job) and records the outcome in the cache table.
 */
export function createRenderRunner(ctx: Pick<ServeContext, 'cache'>, getRenderer: () => Promise<Renderer>) {
  return async (job: RenderJob, onProgress: (done: number, total: number) => void): Promise<void> => {
    const started = performance.now();
    const base = { kind: job.kind, runId: job.runId, target: renderTarget(job) };
    let engine = 'unavailable';
    try {
      const renderer = await getRenderer();
      engine = renderer.engine;
      const output = await renderer.render(job, onProgress);
      ctx.cache.save({ ...base, engine, status: 'done', files: output.files, result: output.result, error: null, elapsedMs: performance.now() - started });
    } catch (error) {
      ctx.cache.save({ ...base, engine, status: 'failed', files: {}, result: null, error: describeRenderError(error), elapsedMs: performance.now() - started });
      throw error;
    }
  };
}

type Params = Record<string, string>;

function projectionTarget(ctx: ServeContext, params: Params, kind: Extract<RenderKind, 'projections' | 'preferred'> = 'projections'): Target & { entries: () => ServeTopEntry[]; label: string } {
  const run = requirePass(ctx, params['run']);
  const { layer, unitCount } = requireLayer(ctx, run, params['layer']);
  const unit = requireUnit(run, layer, unitCount, params['unit']);
  return { kind, runId: run.id, layer, unit, entries: () => ctx.queries.listTopEntries(run.id, layer, unit), label: layerLabel(run, layer) };
}

function imageTarget(ctx: ServeContext, params: Params, kind: Extract<RenderKind, 'occlusion' | 'activations'>): Target {
  const run = requirePass(ctx, params['run']);
  return { kind, runId: run.id, imageId: requireImage(ctx, run, params['image']).imageId };
}

function sendStatus(reply: FastifyReply, status: RenderStatus): FastifyReply {
  const code = status.state === 'refused' ? 503 : status.state === 'queued' || status.state === 'running' ? 202 : 200;
  return reply.code(code).header('cache-control', 'no-store').send(status);
}

async function sendRenderedFile(ctx: ServeContext, reply: FastifyReply, t: Target, name: string): Promise<FastifyReply> {
  const file = findDone(ctx, t)?.files[name];
  if (file === undefined) throw new HttpError(404, `Not rendered yet: ${name} of ${t.kind} ${renderTarget(t)} of run ${t.runId}`);
  return reply.type('image/png').header('cache-control', 'no-cache').send(await readFile(file));
}

/** Registers the on-demand API, fragments and rendered files. */
export function registerRenderRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const projections = '/runs/:run/layers/:layer/units/:unit/projections';
  app.get<{ Params: Params }>(`/api${projections}`, async (request, reply) => sendStatus(reply, readRenderStatus(ctx, projectionTarget(ctx, request.params))));
  app.post<{ Params: Params }>(`/api${projections}`, async (request, reply) => sendStatus(reply, requestRender(ctx, projectionTarget(ctx, request.params))));
  app.get<{ Params: Params }>(`${projections}.html`, async (request, reply) => {
    const t = projectionTarget(ctx, request.params);
    const html = renderCachedFragment(ctx, t, t.entries());
    if (html === null) throw new HttpError(404, `Not rendered yet: projections of ${t.label} unit ${t.unit} of run ${t.runId}`);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  });
  app.get<{ Params: Params }>(`${projections}/:rank.png`, async (request, reply) =>
    sendRenderedFile(ctx, reply, projectionTarget(ctx, request.params), `projection-${parseIndex('rank', request.params['rank'])}`));

  const preferred = '/runs/:run/layers/:layer/units/:unit/preferred';
  app.get<{ Params: Params }>(`/api${preferred}`, async (request, reply) => sendStatus(reply, readRenderStatus(ctx, projectionTarget(ctx, request.params, 'preferred'))));
  app.post<{ Params: Params }>(`/api${preferred}`, async (request, reply) => sendStatus(reply, requestRender(ctx, projectionTarget(ctx, request.params, 'preferred'))));
  app.get<{ Params: Params }>(`${preferred}.html`, async (request, reply) => {
    const t = projectionTarget(ctx, request.params, 'preferred');
    const html = renderCachedFragment(ctx, t, []);
    if (html === null) throw new HttpError(404, `Not made yet: the preferred input of ${t.label} unit ${t.unit} of run ${t.runId}`);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  });
  app.get<{ Params: Params }>(`${preferred}.png`, async (request, reply) => sendRenderedFile(ctx, reply, projectionTarget(ctx, request.params, 'preferred'), 'preferred'));

  for (const kind of ['occlusion', 'activations'] as const) {
    const path = `/runs/:run/images/:image/${kind}`;
    app.get<{ Params: Params }>(`/api${path}`, async (request, reply) => sendStatus(reply, readRenderStatus(ctx, imageTarget(ctx, request.params, kind))));
    app.post<{ Params: Params }>(`/api${path}`, async (request, reply) => sendStatus(reply, requestRender(ctx, imageTarget(ctx, request.params, kind))));
    app.get<{ Params: Params }>(`${path}.html`, async (request, reply) => {
      const t = imageTarget(ctx, request.params, kind);
      const html = renderCachedFragment(ctx, t, []);
      if (html === null) throw new HttpError(404, `Not rendered yet: ${kind} of image ${t.imageId} of run ${t.runId}`);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
    });
  }
  app.get<{ Params: Params }>('/runs/:run/images/:image/occlusion.png', async (request, reply) =>
    sendRenderedFile(ctx, reply, imageTarget(ctx, request.params, 'occlusion'), 'occlusion'));
}
