/**
 * The one interface between the explorer and whatever computes its pictures
 * on demand: a renderer takes a job (what to render, for which run) and
 * writes files under the job's folder. The server never knows which engine
 * (tfjs on wasm or native, ONNX, a worker thread) does the work; it is chosen
 * once, at the edge (pipelines/serve/serve.ts), from --backend.
 */
import type { RenderKind } from '../store/serve-cache.js';

export interface RenderJob {
  kind: RenderKind;
  runId: string;
  /** Projections: the layer and unit whose top-k to project; preferred: the unit whose preferred input to make. */
  layer?: number;
  unit?: number;
  /** Occlusion and activations: the indexed image. */
  imageId?: number;
  /** Folder the files go to (created by the renderer). */
  outDir: string;
}

export interface RenderOutput {
  /** name -> path of each file written. */
  files: Record<string, string>;
  /** What was measured, stored as JSON beside the files. */
  result: unknown;
}

export interface Renderer {
  /** Engine description recorded with each render, e.g. "tfjs wasm". */
  readonly engine: string;
  /** @throws Error with a one-line message when the job cannot be rendered (bad checkpoint, unreadable image). */
  render(job: RenderJob, onProgress: (done: number, total: number) => void): Promise<RenderOutput>;
  close(): Promise<void>;
}

/** The cache key (serve_renders.target) of a job. */
export function renderTarget(job: Pick<RenderJob, 'kind' | 'layer' | 'unit' | 'imageId'>): string {
  return job.kind === 'projections' || job.kind === 'preferred' ? `${job.layer}:${job.unit}` : String(job.imageId);
}
