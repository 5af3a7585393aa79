/**
 * The explorer's cache table (db/007-serve-cache.sql): what `serve` rendered
 * on demand. The only table the server writes; statements prepared once.
 */
import type { Store } from './open-store.js';

export const RENDER_KINDS = ['projections', 'occlusion', 'activations', 'preferred'] as const;
export type RenderKind = (typeof RENDER_KINDS)[number];

export interface CachedRender {
  kind: RenderKind;
  runId: string;
  target: string;
  engine: string;
  status: 'done' | 'failed';
  /** name -> path of each file written. */
  files: Record<string, string>;
  result: unknown;
  error: string | null;
  elapsedMs: number;
  renderedAt: string;
}

interface CacheRow {
  kind: RenderKind; run_id: string; target: string; engine: string; status: 'done' | 'failed';
  files_json: string; result_json: string | null; error: string | null; elapsed_ms: number; rendered_at: string;
}

/** Binds the cache table of a writable store handle. */
export function createServeCache(db: Store) {
  const select = db.prepare('SELECT * FROM serve_renders WHERE kind = ? AND run_id = ? AND target = ?');
  const upsert = db.prepare(`INSERT OR REPLACE INTO serve_renders (kind, run_id, target, engine, status, files_json, result_json, error, elapsed_ms, rendered_at)
    VALUES (@kind, @runId, @target, @engine, @status, @files, @result, @error, @elapsedMs, @renderedAt)`);
  return {
    get(kind: RenderKind, runId: string, target: string): CachedRender | undefined {
      const row = select.get(kind, runId, target) as CacheRow | undefined;
      if (row === undefined) return undefined;
      return {
        kind: row.kind, runId: row.run_id, target: row.target, engine: row.engine, status: row.status,
        files: JSON.parse(row.files_json) as Record<string, string>, result: row.result_json === null ? null : JSON.parse(row.result_json),
        error: row.error, elapsedMs: row.elapsed_ms, renderedAt: row.rendered_at,
      };
    },
    save(render: Omit<CachedRender, 'renderedAt'>): void {
      upsert.run({
        kind: render.kind, runId: render.runId, target: render.target, engine: render.engine, status: render.status,
        files: JSON.stringify(render.files), result: render.result === null || render.result === undefined ? null : JSON.stringify(render.result),
        error: render.error, elapsedMs: render.elapsedMs, renderedAt: new Date().toISOString(),
      });
    },
  };
}

export type ServeCache = ReturnType<typeof createServeCache>;
