/**
 * The explorer's HTML pages and the image files that need no model (the
 * centre crop of an image, the patches of a unit's top-k), by indexed id.
 */
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isUsageError } from '../errors.js';
import { layerLabel } from './page-kit.js';
import { renderImagePage } from './pages-image.js';
import { renderLayerPage } from './pages-layer.js';
import { renderComparePage, renderRunPage, renderRunsPage, type CompareColumn } from './pages-runs.js';
import { renderUnitPage } from './pages-unit.js';
import { renderCachedFragment } from './routes-renders.js';
import { HttpError, parseComparePair, parseIndex, parseUnitTableParams } from './request-params.js';
import { readLayerField, readRunLayout, requireImage, requireLayer, requirePass, requirePassById, requireUnit, type ServeContext } from './serve-context.js';
import type { ServeRunRow } from '../store/serve-queries.js';

type Params = Record<string, string>;
type Query = Record<string, string | undefined>;

const sendHtml = (reply: FastifyReply, html: string) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);

async function sendPng(reply: FastifyReply, make: () => Promise<Buffer>, what: string): Promise<FastifyReply> {
  try {
    return reply.type('image/png').header('cache-control', 'max-age=3600').send(await make());
  } catch (error) {
    if (isUsageError(error)) throw new HttpError(404, `${what} cannot be read: ${(error as Error).message.split('\n')[0]}`);
    throw error;
  }
}

/** Registers the pages. */
export function registerPageRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get('/', async (_request, reply) => sendHtml(reply, renderRunsPage(ctx.queries.listRuns(), ctx.now())));

  app.get<{ Params: Params }>('/runs/:run', async (request, reply) => {
    const run = requirePass(ctx, request.params['run']);
    const others = ctx.queries.listRuns().filter((r) => r.kind === 'top-activations' && r.id !== run.id);
    return sendHtml(reply, renderRunPage(run, ctx.queries.listLayers(run.id), others, ctx.now()));
  });

  app.get<{ Params: Params; Querystring: Query }>('/runs/:run/layers/:layer', async (request, reply) => {
    const run = requirePass(ctx, request.params['run']);
    const { layer } = requireLayer(ctx, run, request.params['layer']);
    const params = parseUnitTableParams(request.query);
    const { rows, total } = ctx.queries.queryUnitTable(run.id, layer, params);
    return sendHtml(reply, renderLayerPage(run, layer, params, rows, total, ctx.queries.listLayerClasses(run.id, layer)));
  });

  app.get<{ Params: Params }>('/runs/:run/layers/:layer/units/:unit', async (request, reply) => {
    const run = requirePass(ctx, request.params['run']);
    const { layer, unitCount } = requireLayer(ctx, run, request.params['layer']);
    const unit = requireUnit(run, layer, unitCount, request.params['unit']);
    const stats = ctx.queries.getUnit(run.id, layer, unit)!;
    const entries = ctx.queries.listTopEntries(run.id, layer, unit);
    const sameUnit = run.model === null ? [] : ctx.queries.listSameUnit(run.model, layer, unit);
    const projections = renderCachedFragment(ctx, { kind: 'projections', runId: run.id, layer, unit }, entries);
    const preferred = renderCachedFragment(ctx, { kind: 'preferred', runId: run.id, layer, unit }, entries);
    const layout = ctx.queries.getRunLayout(run.id);
    const recorded = layout?.layers.get(layer);
    const field = layout === undefined || recorded === undefined ? null : { receptiveFieldPx: Math.max(...recorded.receptiveFieldPx), inputSizePx: layout.inputSizePx };
    return sendHtml(reply, renderUnitPage({ run, layer, stats, entries, unitCount, sameUnit, projections, preferred, field }));
  });

  app.get<{ Params: Params }>('/runs/:run/layers/:layer/units/:unit/patches/:rank.png', async (request, reply) => {
    const run = requirePass(ctx, request.params['run']);
    const { layer, unitCount } = requireLayer(ctx, run, request.params['layer']);
    const unit = requireUnit(run, layer, unitCount, request.params['unit']);
    const rank = parseIndex('rank', request.params['rank']);
    const entry = ctx.queries.listTopEntries(run.id, layer, unit).find((e) => e.rank === rank);
    if (entry === undefined) throw new HttpError(404, `${layerLabel(run, layer)} unit ${unit} of run ${run.id} has no top-k entry of rank ${rank}`);
    const path = join(run.imageRoot!, entry.relPath);
    const field = readLayerField(ctx, run, layer);
    return sendPng(reply, () => ctx.crops.renderPatch({ path, input: readRunLayout(ctx, run), field, y: entry.y, x: entry.x }), `Image ${entry.imageId}`);
  });

  app.get<{ Params: Params }>('/runs/:run/images/:image', async (request, reply) => {
    const run = requirePass(ctx, request.params['run']);
    const image = requireImage(ctx, run, request.params['image']);
    const target = { runId: run.id, imageId: image.imageId };
    return sendHtml(reply, renderImagePage({
      run, image, inTop: ctx.queries.listImageTopEntries(run.id, image.imageId),
      neighbours: ctx.queries.findImageNeighbours(run.datasetRoot!, image.split, image.imageId),
      activations: renderCachedFragment(ctx, { kind: 'activations', ...target }, []),
      occlusion: renderCachedFragment(ctx, { kind: 'occlusion', ...target }, []),
    }));
  });

  app.get<{ Params: Params }>('/runs/:run/images/:image/image.png', async (request, reply) => {
    const run = requirePass(ctx, request.params['run']);
    const image = requireImage(ctx, run, request.params['image']);
    return sendPng(reply, () => ctx.crops.renderImage(join(image.imageRoot, image.relPath), readRunLayout(ctx, run)), `Image ${image.imageId}`);
  });

  app.get<{ Querystring: Query }>('/compare', async (request, reply) => {
    const [a, b] = parseComparePair(request.query).map((id) => requirePassById(ctx, id)) as [ServeRunRow, ServeRunRow];
    const layer = request.query['layer'] === undefined || request.query['layer'] === '' ? null : parseIndex('layer', request.query['layer']);
    const from = request.query['from'] === undefined ? 0 : parseIndex('from', request.query['from']);
    const column = (run: typeof a): CompareColumn => {
      const units = layer === null || !run.layers.includes(layer) ? [] : ctx.queries.queryUnitTable(run.id, layer, {
        sort: 'unit', descending: false, dead: null, topLabel: null, minFiringRate: null, maxFiringRate: null, minPurity: null, offset: from, limit: 16,
      }).rows;
      return { run, layers: ctx.queries.listLayers(run.id), units: units.map((stats) => ({ stats, entries: ctx.queries.listTopEntries(run.id, layer!, stats.unit) })) };
    };
    if (layer !== null && !a.layers.includes(layer) && !b.layers.includes(layer)) throw new HttpError(400, `Expected a layer of run ${a.id} or ${b.id} for layer but received ${layer}`);
    return sendHtml(reply, renderComparePage(column(a), column(b), layer, from, ctx.now()));
  });
}
