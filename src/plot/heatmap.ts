/**
 * Heat maps (occlusion sensitivity) and categorical maps (most probable
 * class) as SVG strings, with a colour bar or a legend. Pure.
 */
import { categoricalColor, cssColor, viridis } from './colormap.js';
import { formatTick, svgDocument, svgText } from './svg-text.js';

export interface HeatmapOptions {
  title: string;
  /** Row-major values, rows x cols. */
  values: ArrayLike<number>;
  rows: number;
  cols: number;
  /** Side of the square plot area in pixels; default 320. */
  sizePx?: number;
  /** Colour range; default the data's min and max. */
  min?: number;
  max?: number;
  /** Caption of the colour bar. */
  valueLabel?: string;
}

/** Colour-bar scale of a heat map: the range its colours span. */
export function heatmapRange(values: ArrayLike<number>, min?: number, max?: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  lo = min ?? lo;
  hi = max ?? hi;
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

function cells(values: ArrayLike<number>, rows: number, cols: number, sizePx: number, color: (v: number) => string): string[] {
  const cw = sizePx / cols;
  const ch = sizePx / rows;
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out.push(`<rect x="${(10 + c * cw).toFixed(2)}" y="${(30 + r * ch).toFixed(2)}" width="${(cw + 0.5).toFixed(2)}" height="${(ch + 0.5).toFixed(2)}" fill="${color(values[r * cols + c]!)}"/>`);
    }
  }
  return out;
}

/** Heat map with a vertical colour bar (viridis). */
export function heatmapSvg(options: HeatmapOptions): string {
  const sizePx = options.sizePx ?? 320;
  const [lo, hi] = heatmapRange(options.values, options.min, options.max);
  const body = cells(options.values, options.rows, options.cols, sizePx, (v) => cssColor(viridis((v - lo) / (hi - lo))));
  const barX = 10 + sizePx + 16;
  const steps = 32;
  for (let i = 0; i < steps; i++) {
    const y = 30 + (i / steps) * sizePx;
    body.push(`<rect x="${barX}" y="${y.toFixed(2)}" width="14" height="${(sizePx / steps + 0.5).toFixed(2)}" fill="${cssColor(viridis(1 - i / (steps - 1)))}"/>`);
  }
  body.push(svgText(barX + 18, 40, formatTick(hi), 11), svgText(barX + 18, 30 + sizePx, formatTick(lo), 11));
  if (options.valueLabel) body.push(svgText(barX + 18, 30 + sizePx / 2, options.valueLabel, 11));
  body.push(svgText(10, 20, options.title, 13, 'start', 'font-weight="bold"'));
  return svgDocument(sizePx + 150, sizePx + 40, body);
}

export interface CategoricalMapOptions {
  title: string;
  /** Row-major category indexes, rows x cols. */
  categories: ArrayLike<number>;
  rows: number;
  cols: number;
  /** Name of each category index that occurs. */
  names: ReadonlyMap<number, string>;
  sizePx?: number;
}

/** Map of categories (e.g. most probable class per occluder position) with a legend. */
export function categoricalMapSvg(options: CategoricalMapOptions): string {
  const sizePx = options.sizePx ?? 320;
  const present = [...new Set(Array.from(options.categories))].sort((a, b) => a - b);
  const slot = new Map(present.map((c, i) => [c, i]));
  const body = cells(options.categories, options.rows, options.cols, sizePx, (v) => cssColor(categoricalColor(slot.get(v) ?? 0)));
  present.forEach((c, i) => {
    const y = 40 + i * 16;
    body.push(`<rect x="${sizePx + 26}" y="${y - 10}" width="12" height="12" fill="${cssColor(categoricalColor(i))}"/>`);
    body.push(svgText(sizePx + 42, y, options.names.get(c) ?? `class ${c}`, 11));
  });
  body.push(svgText(10, 20, options.title, 13, 'start', 'font-weight="bold"'));
  return svgDocument(sizePx + 230, Math.max(sizePx + 40, 50 + present.length * 16), body);
}
