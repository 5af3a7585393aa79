/**
 * Line charts as SVG strings (training curves, invariance measures). Pure:
 * render to PNG with src/plot/render-png.ts.
 */
import { categoricalColor, cssColor } from './colormap.js';
import { formatTick, niceTicks, svgDocument, svgText } from './svg-text.js';

export interface LineSeries {
  name: string;
  /** [x, y] points; non-finite y values break the line. */
  points: Array<[number, number]>;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  widthPx?: number;
  heightPx?: number;
  /** Fixed y range; default: the data's range (with 0 included when yFromZero). */
  yMin?: number;
  yMax?: number;
  yFromZero?: boolean;
}

interface Frame { left: number; top: number; width: number; height: number; x0: number; x1: number; y0: number; y1: number }

function dataRange(values: number[], fallback: [number, number]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return fallback;
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) { lo -= lo === 0 ? 1 : Math.abs(lo) * 0.1; hi += hi === 0 ? 1 : Math.abs(hi) * 0.1; }
  return [lo, hi];
}

function axes(frame: Frame, options: LineChartOptions): string[] {
  const sx = (x: number) => frame.left + ((x - frame.x0) / (frame.x1 - frame.x0)) * frame.width;
  const sy = (y: number) => frame.top + frame.height - ((y - frame.y0) / (frame.y1 - frame.y0)) * frame.height;
  const out = [`<rect x="${frame.left}" y="${frame.top}" width="${frame.width}" height="${frame.height}" fill="none" stroke="#888"/>`];
  for (const t of niceTicks(frame.y0, frame.y1)) {
    out.push(`<line x1="${frame.left}" x2="${frame.left + frame.width}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`);
    out.push(svgText(frame.left - 6, sy(t) + 4, formatTick(t), 11, 'end'));
  }
  for (const t of niceTicks(frame.x0, frame.x1)) {
    out.push(svgText(sx(t), frame.top + frame.height + 16, formatTick(t), 11, 'middle'));
  }
  out.push(svgText(frame.left + frame.width / 2, frame.top - 12, options.title, 14, 'middle', 'font-weight="bold"'));
  out.push(svgText(frame.left + frame.width / 2, frame.top + frame.height + 34, options.xLabel, 12, 'middle'));
  const yMid = frame.top + frame.height / 2;
  out.push(svgText(16, yMid, options.yLabel, 12, 'middle', `transform="rotate(-90 16 ${yMid})"`));
  return out;
}

function polylines(frame: Frame, series: LineSeries[]): string[] {
  const sx = (x: number) => frame.left + ((x - frame.x0) / (frame.x1 - frame.x0)) * frame.width;
  const sy = (y: number) => frame.top + frame.height - ((y - frame.y0) / (frame.y1 - frame.y0)) * frame.height;
  const out: string[] = [];
  series.forEach((s, i) => {
    const color = cssColor(categoricalColor(i));
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${run.join(' ')}"/>`);
      run = [];
    };
    for (const [x, y] of s.points) {
      if (!Number.isFinite(y)) { flush(); continue; }
      run.push(`${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
      out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    }
    flush();
  });
  return out;
}

function legend(frame: Frame, series: LineSeries[]): string[] {
  return series.flatMap((s, i) => {
    const y = frame.top + 14 + i * 16;
    const x = frame.left + frame.width + 10;
    return [`<rect x="${x}" y="${y - 9}" width="12" height="4" fill="${cssColor(categoricalColor(i))}"/>`, svgText(x + 16, y - 3, s.name, 11)];
  });
}

/** Builds a line chart with axes, ticks, title and legend. */
export function lineChartSvg(options: LineChartOptions): string {
  const widthPx = options.widthPx ?? 720;
  const heightPx = options.heightPx ?? 400;
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = options.series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = dataRange(xs, [0, 1]);
  let [y0, y1] = dataRange(ys, [0, 1]);
  if (options.yFromZero) y0 = Math.min(0, y0);
  y0 = options.yMin ?? y0;
  y1 = options.yMax ?? y1;
  const legendWidth = Math.min(220, 30 + Math.max(0, ...options.series.map((s) => s.name.length)) * 7);
  const frame: Frame = { left: 64, top: 34, width: widthPx - 64 - legendWidth - 10, height: heightPx - 34 - 48, x0, x1, y0, y1 };
  return svgDocument(widthPx, heightPx, [...axes(frame, options), ...polylines(frame, options.series), ...legend(frame, options.series)]);
}
