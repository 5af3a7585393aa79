/**
 * The layer-2 half of `run-pipeline compare` (Fig. 6 c-e), for any chosen
 * layer (default conv2; an imported model's layer by its name or alias): per
 * model (checkpoint or imported) a top-activations pass restricted to that
 * layer over one split (a finished identical pass is reused, so reruns are
 * cheap), its top-9 mosaics drawn into the compare folder, and the first
 * sheet of each model side by side under a label in one PNG.
 */
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import type { BackendChoice } from '../../src/backend/select-backend.js';
import { UsageError } from '../../src/errors.js';
import type { UnitSelection } from '../../src/mosaic/unit-selection.js';
import { svgText } from '../../src/plot/svg-text.js';
import type { Store } from '../../src/store/open-store.js';
import { folderOfLayer } from '../../src/mosaic/mosaic-layers.js';
import type { CompareSource } from './compare-sources.js';
import { runMosaics } from '../mosaics/mosaics.js';
import { runTopActivations } from '../top-activations/top-activations.js';

/** The layer compared when none is named (the paper's layer 2). */
export const DEFAULT_COMPARE_LAYER = 'conv2';

/** The side-by-side picture of each model's first sheet of its compared layer. */
export const SIDE_BY_SIDE_FILE = 'top9-side-by-side.png';

export interface Layer2Options {
  /** The compared layer by name or alias (default conv2), one for every model or `A,B` one per model; an imported model's own name is recorded. */
  layer?: string;
  /** Dataset root; default the built-in sample dataset. */
  data?: string;
  split: string;
  units: UnitSelection;
  /** Seed of `random:N` unit draws. */
  seed: number;
  backend: BackendChoice;
  /** Forward worker threads of the passes; undefined: top-activations' default for the backend. */
  workers?: number;
}

/** One model of the comparison, and its compared layer (resolved to the model's own name for imported models). */
export interface Layer2Model {
  label: string;
  source: CompareSource;
  model: string;
  layer: string;
}

export interface Layer2Pass extends Layer2Model {
  topActivationsRunId: string;
  /** 'already-finished': an identical earlier pass was reused. */
  status: 'finished' | 'already-finished';
}

export interface Layer2Panel extends Layer2Pass {
  /** Folder of this model's mosaics of the layer (index.html, <layer>/...), relative to the compare folder. */
  mosaicsDir: string;
  /** Its first sheet of the layer, relative to the compare folder. */
  sheet: string;
}

export interface Layer2Result {
  panels: Layer2Panel[];
  /** The side-by-side PNG, relative to the compare folder. */
  sideBySide: string;
  widthPx: number;
  heightPx: number;
}

/** The top-activations options and resume command of one model's pass. */
function passOf(m: Layer2Model, options: Layer2Options): { model: { checkpoint?: string; model?: string; layers: string }; command: string } {
  const dataArgs = options.data === undefined ? '' : ` --data ${options.data}`;
  const [option, value] = 'checkpoint' in m.source ? ['--checkpoint', m.source.checkpoint] : ['--model', m.source.model];
  return {
    model: { ...('checkpoint' in m.source ? { checkpoint: value } : { model: value }), layers: m.layer },
    command: `run-pipeline top-activations ${option} ${value} --layers ${m.layer} --split ${options.split}${dataArgs}`,
  };
}

/**
 * Runs (or reuses) one top-activations pass of the compared layer per model.
 * @throws UsageError when a pass is interrupted or a model, layer, dataset or split is unusable.
 */
export async function runLayer2Passes(db: Store, models: readonly Layer2Model[], options: Layer2Options, log: (line: string) => void): Promise<Layer2Pass[]> {
  const passes: Layer2Pass[] = [];
  for (const m of models) {
    const { model, command } = passOf(m, options);
    const result = await runTopActivations({
      db, data: options.data, split: options.split, ...model, initSeed: 1, topK: 9,
      batchSize: 32, commitEvery: 20, shard: { index: 0, count: 1 }, backend: options.backend, force: false,
      decodeConcurrency: availableParallelism(), workers: options.workers, strict: false, resumeCommand: command, log,
    });
    if (result.status === 'interrupted') throw new UsageError(`The ${m.layer} pass of ${m.model} was interrupted: rerun compare to resume it`);
    log(`compare ${m.label} ${m.model}: ${m.layer} top-9 from run ${result.runId} (${result.status})`);
    passes.push({ ...m, topActivationsRunId: result.runId, status: result.status });
  }
  return passes;
}

/**
 * Draws each pass's mosaics of its compared layer into `outDir/top9-<label>-<model>-<layer>`
 * and the first sheets side by side into `outDir/top9-side-by-side.png`.
 * @throws UsageError when a run cannot be projected or draws no sheet.
 */
export async function writeLayer2Sheets(db: Store, passes: readonly Layer2Pass[], options: Layer2Options, outDir: string, log: (line: string) => void): Promise<Layer2Result> {
  const panels: Layer2Panel[] = [];
  for (const pass of passes) {
    const mosaicsDir = join(outDir, `top9-${pass.label}-${folderOfLayer(pass.model)}-${folderOfLayer(pass.layer)}`);
    const result = await runMosaics({
      db, runId: pass.topActivationsRunId, layers: pass.layer, units: options.units, seed: options.seed, backend: options.backend,
      workers: options.workers, outDir: mosaicsDir, batchSize: 16, unitsPerSheet: 64, columns: 4, log,
    });
    const first = result.sheets[0];
    if (first === undefined) throw new UsageError(`Top-activations run ${pass.topActivationsRunId} drew no ${pass.layer} sheet`);
    panels.push({ ...pass, mosaicsDir: relative(outDir, mosaicsDir), sheet: relative(outDir, join(mosaicsDir, first)) });
  }
  const size = await composeSideBySide(join(outDir, SIDE_BY_SIDE_FILE), panels.map((p) => ({
    path: join(outDir, p.sheet), label: `${p.label}: ${p.model}, ${p.layer} top-9 (${p.topActivationsRunId})`,
  })));
  return { panels, sideBySide: SIDE_BY_SIDE_FILE, ...size };
}

export interface SideBySideLayout {
  widthPx: number;
  heightPx: number;
  /** Top-left corner of each image, and the baseline start of its label. */
  placements: Array<{ left: number; top: number; labelX: number; labelY: number }>;
}

/** Images in one row, `gapPx` apart and from the border, each under a `labelPx` label band. Pure. */
export function layoutSideBySide(sizes: ReadonlyArray<{ widthPx: number; heightPx: number }>, gapPx = 16, labelPx = 24): SideBySideLayout {
  let left = gapPx;
  const placements = sizes.map((s) => {
    const placement = { left, top: gapPx + labelPx, labelX: left, labelY: gapPx + labelPx - 8 };
    left += s.widthPx + gapPx;
    return placement;
  });
  return { widthPx: left, heightPx: gapPx + labelPx + Math.max(0, ...sizes.map((s) => s.heightPx)) + gapPx, placements };
}

/** Writes the PNGs in one row on white, each under its label; returns the picture's size. */
export async function composeSideBySide(path: string, panels: ReadonlyArray<{ path: string; label: string }>): Promise<{ widthPx: number; heightPx: number }> {
  const sizes = await Promise.all(panels.map(async (p) => {
    const meta = await sharp(p.path).metadata();
    return { widthPx: meta.width!, heightPx: meta.height! };
  }));
  const layout = layoutSideBySide(sizes);
  const texts = panels.map((p, i) => svgText(layout.placements[i]!.labelX, layout.placements[i]!.labelY, p.label, 16, 'start', 'font-weight="bold"'));
  const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.widthPx}" height="${layout.heightPx}">${texts.join('')}</svg>`;
  await sharp({ create: { width: layout.widthPx, height: layout.heightPx, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([...panels.map((p, i) => ({ input: p.path, left: layout.placements[i]!.left, top: layout.placements[i]!.top })), { input: Buffer.from(overlay), left: 0, top: 0 }])
    .png()
    .toFile(path);
  return { widthPx: layout.widthPx, heightPx: layout.heightPx };
}
