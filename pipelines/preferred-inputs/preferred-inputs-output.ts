/**
 * What `preferred-inputs` writes besides its store rows: per unit the image
 * as the model saw it (PNG, preprocessing undone), the centre cell's
 * receptive field of it (PNG) and the model input itself (.npy); per layer
 * sheets of each unit's preferred input beside its top-9 patches; an
 * index.html with the activation ratios.
 */
import { join, relative, sep } from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../../src/mosaic/display-scaling.js';
import type { PlacedTile } from '../../src/mosaic/draw-sheet.js';
import { makeEntryTiles } from '../../src/mosaic/entry-tiles.js';
import { renderStampMeta } from '../../src/mosaic/html-pages.js';
import type { MosaicLayer } from '../../src/mosaic/mosaic-layers.js';
import { writeRgbPng, writeSheetPng, writeTextFile } from '../../src/mosaic/render-sheet.js';
import { pageUnits } from '../../src/mosaic/sheet-layout.js';
import { escapeXml } from '../../src/plot/svg-text.js';
import type { OptimisedImage } from '../../src/preferred/optimise-batch.js';
import { cropCentreField, drawPreferredSheet, toRgbImage, type PreferredBlock } from '../../src/preferred/preferred-tiles.js';
import type { PreferredInputRow } from '../../src/store/preferred-inputs-store.js';
import type { TopRowView } from '../../src/store/top-activations-store.js';
import { encodeNpyFloat32 } from '../../src/topk/encode-npy.js';
import type { InputCache } from '../shared/run-source.js';

/** An RGB PNG read back (a unit written by an earlier, interrupted call). */
async function readRgbPng(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { widthPx: info.width, heightPx: info.height, pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export const unitBase = (unit: number): string => `unit-${String(unit).padStart(4, '0')}`;

/** The files of one unit: paths as the output folder was given (relative to the working directory, or absolute). */
export interface UnitFiles {
  png: string;
  fieldPng: string | null;
  npy: string;
}

/** Writes a unit's PNG, receptive-field PNG (centre objective) and .npy; returns their relative paths. */
export async function writeUnitFiles(outDir: string, work: MosaicLayer, image: OptimisedImage, centre: boolean): Promise<UnitFiles> {
  const base = join(outDir, work.folder, unitBase(image.unit));
  const sizePx = Math.round(Math.sqrt(image.rgb01.length / 3));
  const rgb = toRgbImage(image.rgb01, sizePx);
  const files: UnitFiles = { png: `${base}.png`, fieldPng: centre ? `${base}-field.png` : null, npy: `${base}.npy` };
  writeTextFile(files.npy, encodeNpyFloat32(image.input, [sizePx, sizePx, 3]));
  await writeRgbPng(files.png, rgb);
  if (files.fieldPng !== null) await writeRgbPng(files.fieldPng, cropCentreField(rgb, work.geometry));
  return files;
}

/** The unit's top-k image patches as placed tiles (none without a top-activations run). */
async function patchTiles(work: MosaicLayer, tops: readonly TopRowView[], inputs: InputCache | null): Promise<PlacedTile[]> {
  if (inputs === null) return [];
  const tiles: PlacedTile[] = [];
  for (const top of tops) {
    const input = await inputs.get(top.path);
    const noProjection = new Float32Array(input.sizePx * input.sizePx * 3); // only the patch tile is drawn
    tiles.push(makeEntryTiles(work.geometry, top.y, top.x, input.sizePx, noProjection, input.display, work.cellPx).patch);
  }
  return tiles;
}

/** Per layer, its paged sheets: each unit's preferred input (field crop, or the whole image for the mean objective) beside its top-9 patches. */
export async function writeLayerSheets(outDir: string, work: MosaicLayer, rows: readonly PreferredInputRow[], topRows: ReadonlyMap<number, TopRowView[]>, inputs: InputCache | null, options: { unitsPerSheet: number; columns: number; topK: number }): Promise<string[]> {
  const sheets: string[] = [];
  for (const [i, page] of pageUnits(rows.map((r) => r.unit), options.unitsPerSheet).entries()) {
    const blocks: PreferredBlock[] = [];
    for (const row of page.map((unit) => rows.find((r) => r.unit === unit)!)) {
      const ratio = row.ratio === null ? '' : ` · ${row.ratio.toFixed(2)}x top-1`;
      blocks.push({ label: `${work.layer.name} unit ${row.unit}${ratio}`, preferred: await readRgbPng(row.fieldPng ?? row.png), patches: await patchTiles(work, topRows.get(row.unit) ?? [], inputs) });
    }
    const sheet = `${work.folder}/sheet-${String(i + 1).padStart(2, '0')}.png`;
    await writeSheetPng(join(outDir, sheet), drawPreferredSheet(blocks, work.cellPx, inputs === null ? 1 : options.topK, options.columns));
    sheets.push(sheet);
  }
  return sheets;
}

const fmt = (v: number | null): string => (v === null ? '-' : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));

/** index.html: the settings, then per layer its sheets and a table of units (values, ratio, files). */
export function renderPreferredIndex(outDir: string, title: string, notes: readonly string[], layers: ReadonlyArray<{ name: string; sheets: string[]; rows: PreferredInputRow[] }>, stamp: string): string {
  const href = (path: string): string => escapeXml(relative(outDir, path).split(sep).join('/'));
  const sections = layers.map((layer) => {
    const live = layer.rows.filter((r) => r.ratio !== null);
    const reached = live.filter((r) => r.reached).length;
    const summary = live.length === 0 ? '' : `<p>${reached} of ${live.length} live units (${((100 * reached) / live.length).toFixed(1)}%) reach their top-1 dataset activation.</p>`;
    const rows = layer.rows.map((r) => `<tr><td>${r.unit}</td><td><a href="${href(r.png)}"><img src="${href(r.fieldPng ?? r.png)}" height="64" alt="unit ${r.unit}"></a></td><td>${fmt(r.startObjective)} → ${fmt(r.finalObjective)}</td><td>${fmt(r.activation)}</td><td>${fmt(r.top1Activation)}</td><td>${r.ratio === null ? '-' : r.ratio.toFixed(3)}</td><td><a href="${href(r.npy)}">npy</a></td></tr>`);
    return `<h2>${escapeXml(layer.name)}</h2>${summary}${layer.sheets.map((s) => `<p><img src="${escapeXml(s)}" alt="${escapeXml(layer.name)} sheet"></p>`).join('')}
<table><thead><tr><th>unit</th><th>preferred input</th><th>objective (start → end)</th><th>activation</th><th>top-1 activation</th><th>ratio</th><th>values</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8">${renderStampMeta(stamp)}<title>${escapeXml(title)}</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{image-rendering:pixelated}</style></head>
<body><h1>${escapeXml(title)}</h1>${notes.map((n) => `<p>${escapeXml(n)}</p>`).join('')}${sections.join('\n')}</body></html>\n`;
}
