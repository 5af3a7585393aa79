/**
 * Procedural images for the built-in sample dataset (pure: parameters from
 * a seeded RNG in, RGB pixels out). Each class is a visually distinct family
 * (oriented gratings, checkerboards, rings, blobs, dots, shapes on clutter,
 * textures, gradients) with random colours, scale, phase, position and
 * noise, so a small model must learn shape and orientation, not colour.
 */
import type { Rng } from './seeded-rng.js';

type Rgb = [number, number, number];

/** An RGB image being drawn: [heightPx, widthPx, 3] floats 0..255. */
export interface Canvas {
  widthPx: number;
  heightPx: number;
  data: Float32Array;
}

export interface SamplePattern {
  /** Fake but well-formed WordNet id. */
  wnid: string;
  name: string;
  draw(canvas: Canvas, rng: Rng): void;
}

const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng.next();

/** A saturated random colour and a contrasting one (hues far apart, different brightness). */
function drawColourPair(rng: Rng): [Rgb, Rgb] {
  const hue = rng.next();
  return [hsvToRgb(hue, uniform(rng, 0.5, 1), uniform(rng, 0.75, 1)), hsvToRgb((hue + uniform(rng, 0.3, 0.7)) % 1, uniform(rng, 0.2, 0.9), uniform(rng, 0.1, 0.45))];
}

/** HSV in [0, 1] to RGB in 0..255. */
export function hsvToRgb(h: number, s: number, v: number): Rgb {
  const i = Math.floor(h * 6) % 6;
  const f = h * 6 - Math.floor(h * 6);
  const p = v * (1 - s); const q = v * (1 - f * s); const t = v * (1 - (1 - f) * s);
  const table: Rgb[] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]];
  return table[i]!.map((c) => c * 255) as Rgb;
}

/** Fills every pixel with a blend of two colours by weight w(x, y) in [0, 1]. */
function fillBlend(c: Canvas, fg: Rgb, bg: Rgb, weight: (x: number, y: number) => number): void {
  for (let y = 0; y < c.heightPx; y++) {
    for (let x = 0; x < c.widthPx; x++) {
      const w = weight(x, y);
      const o = (y * c.widthPx + x) * 3;
      for (let k = 0; k < 3; k++) c.data[o + k] = fg[k]! * w + bg[k]! * (1 - w);
    }
  }
}

/** A sinusoidal grating at angle `angleRad` (direction of variation), period relative to the shorter side. */
function drawGrating(c: Canvas, rng: Rng, angleRad: number): void {
  const [fg, bg] = drawColourPair(rng);
  const periodPx = Math.min(c.widthPx, c.heightPx) * uniform(rng, 0.08, 0.2);
  const phase = uniform(rng, 0, 2 * Math.PI);
  const cos = Math.cos(angleRad); const sin = Math.sin(angleRad);
  const square = rng.next() < 0.5;
  fillBlend(c, fg, bg, (x, y) => {
    const s = Math.sin((2 * Math.PI * (x * cos + y * sin)) / periodPx + phase);
    return square ? (s > 0 ? 1 : 0) : 0.5 + 0.5 * s;
  });
}

function drawCheckerboard(c: Canvas, rng: Rng): void {
  const [fg, bg] = drawColourPair(rng);
  const cellPx = Math.min(c.widthPx, c.heightPx) * uniform(rng, 0.08, 0.2);
  const a = uniform(rng, -0.25, 0.25); const cos = Math.cos(a); const sin = Math.sin(a);
  fillBlend(c, fg, bg, (x, y) => {
    const u = Math.floor((x * cos - y * sin) / cellPx); const v = Math.floor((x * sin + y * cos) / cellPx);
    return (u + v) & 1;
  });
}

function drawRings(c: Canvas, rng: Rng): void {
  const [fg, bg] = drawColourPair(rng);
  const cx = c.widthPx * uniform(rng, 0.3, 0.7); const cy = c.heightPx * uniform(rng, 0.3, 0.7);
  const periodPx = Math.min(c.widthPx, c.heightPx) * uniform(rng, 0.08, 0.16);
  fillBlend(c, fg, bg, (x, y) => (Math.sin((2 * Math.PI * Math.hypot(x - cx, y - cy)) / periodPx) > 0 ? 1 : 0));
}

function drawBlobs(c: Canvas, rng: Rng): void {
  const [, bg] = drawColourPair(rng);
  fillBlend(c, bg, bg, () => 1);
  const count = 3 + rng.nextInt(4);
  for (let b = 0; b < count; b++) {
    const colour = hsvToRgb(rng.next(), uniform(rng, 0.6, 1), uniform(rng, 0.7, 1));
    const cx = c.widthPx * rng.next(); const cy = c.heightPx * rng.next();
    const sigma = Math.min(c.widthPx, c.heightPx) * uniform(rng, 0.08, 0.18);
    paint(c, colour, (x, y) => Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma)), [cx - 3 * sigma, cx + 3 * sigma, cy - 3 * sigma, cy + 3 * sigma]);
  }
}

function drawDots(c: Canvas, rng: Rng): void {
  const [fg, bg] = drawColourPair(rng);
  const periodPx = Math.min(c.widthPx, c.heightPx) * uniform(rng, 0.12, 0.25);
  const radiusPx = periodPx * uniform(rng, 0.2, 0.35);
  const ox = rng.next() * periodPx; const oy = rng.next() * periodPx;
  fillBlend(c, fg, bg, (x, y) => {
    const dx = ((x + ox) % periodPx) - periodPx / 2; const dy = ((y + oy) % periodPx) - periodPx / 2;
    return dx * dx + dy * dy < radiusPx * radiusPx ? 1 : 0;
  });
}

/** Blends `colour` over the canvas (or the box [x0, x1) x [y0, y1) of it) with weight w(x, y). */
function paint(c: Canvas, colour: Rgb, weight: (x: number, y: number) => number, box = [0, c.widthPx, 0, c.heightPx]): void {
  const [x0, x1, y0, y1] = box.map((v, i) => Math.max(0, Math.min(i < 2 ? c.widthPx : c.heightPx, Math.round(v!))));
  for (let y = y0!; y < y1!; y++) {
    for (let x = x0!; x < x1!; x++) {
      const w = weight(x, y);
      if (w <= 0) continue;
      const o = (y * c.widthPx + x) * 3;
      for (let k = 0; k < 3; k++) c.data[o + k] = colour[k]! * w + c.data[o + k]! * (1 - w);
    }
  }
}

/** Random small rectangles in muted colours: the clutter the shapes sit on. */
function drawClutter(c: Canvas, rng: Rng): void {
  fillBlend(c, hsvToRgb(rng.next(), 0.2, 0.5), [0, 0, 0], () => 1);
  for (let i = 0; i < 40; i++) {
    const colour = hsvToRgb(rng.next(), uniform(rng, 0, 0.4), uniform(rng, 0.2, 0.7));
    const x0 = rng.next() * c.widthPx; const y0 = rng.next() * c.heightPx;
    const w = c.widthPx * uniform(rng, 0.03, 0.15); const h = c.heightPx * uniform(rng, 0.03, 0.15);
    paint(c, colour, () => 1, [x0, x0 + w, y0, y0 + h]);
  }
}

/** A bright shape (inside(x, y) in a unit frame centred on the shape) over clutter. */
function drawShapeOnClutter(c: Canvas, rng: Rng, inside: (u: number, v: number) => boolean): void {
  drawClutter(c, rng);
  const colour = hsvToRgb(rng.next(), uniform(rng, 0.7, 1), uniform(rng, 0.85, 1));
  const sizePx = Math.min(c.widthPx, c.heightPx) * uniform(rng, 0.25, 0.4);
  const cx = c.widthPx * uniform(rng, 0.35, 0.65); const cy = c.heightPx * uniform(rng, 0.35, 0.65);
  const a = uniform(rng, -0.3, 0.3); const cos = Math.cos(a); const sin = Math.sin(a);
  const reachPx = 1.5 * sizePx;
  paint(c, colour, (x, y) => {
    const u = ((x - cx) * cos + (y - cy) * sin) / sizePx; const v = (-(x - cx) * sin + (y - cy) * cos) / sizePx;
    return inside(u, v) ? 1 : 0;
  }, [cx - reachPx, cx + reachPx, cy - reachPx, cy + reachPx]);
}

function drawSpeckle(c: Canvas, rng: Rng): void {
  const [fg, bg] = drawColourPair(rng);
  const cellPx = 1 + rng.nextInt(3);
  const cols = Math.ceil(c.widthPx / cellPx) + 1;
  const cells = new Float32Array(cols * (Math.ceil(c.heightPx / cellPx) + 1)).map(() => rng.next());
  fillBlend(c, fg, bg, (x, y) => cells[Math.floor(y / cellPx) * cols + Math.floor(x / cellPx)]!);
}

function drawGradient(c: Canvas, rng: Rng): void {
  const [fg, bg] = drawColourPair(rng);
  const a = rng.next() * 2 * Math.PI; const cos = Math.cos(a); const sin = Math.sin(a);
  const span = Math.abs(c.widthPx * cos) + Math.abs(c.heightPx * sin);
  const x0 = cos < 0 ? c.widthPx : 0; const y0 = sin < 0 ? c.heightPx : 0;
  fillBlend(c, fg, bg, (x, y) => ((x - x0) * cos + (y - y0) * sin) / span);
}

/** Adds uniform noise of +-amplitude and clamps to 0..255. */
export function addNoise(c: Canvas, rng: Rng, amplitude: number): void {
  for (let i = 0; i < c.data.length; i++) c.data[i] = Math.max(0, Math.min(255, c.data[i]! + (rng.next() * 2 - 1) * amplitude));
}

const jitter = (rng: Rng, rad: number): number => uniform(rng, -rad, rad);

/** The sample classes, in wnid order. */
export const SAMPLE_PATTERNS: readonly SamplePattern[] = [
  { wnid: 'n90000001', name: 'horizontal stripes', draw: (c, r) => drawGrating(c, r, Math.PI / 2 + jitter(r, 0.2)) },
  { wnid: 'n90000002', name: 'vertical stripes', draw: (c, r) => drawGrating(c, r, jitter(r, 0.2)) },
  { wnid: 'n90000003', name: 'diagonal stripes', draw: (c, r) => drawGrating(c, r, (r.next() < 0.5 ? 1 : 3) * Math.PI / 4 + jitter(r, 0.15)) },
  { wnid: 'n90000004', name: 'checkerboard', draw: drawCheckerboard },
  { wnid: 'n90000005', name: 'concentric rings', draw: drawRings },
  { wnid: 'n90000006', name: 'colour blobs', draw: drawBlobs },
  { wnid: 'n90000007', name: 'polka dots', draw: drawDots },
  { wnid: 'n90000008', name: 'disc on clutter', draw: (c, r) => drawShapeOnClutter(c, r, (u, v) => u * u + v * v < 1) },
  { wnid: 'n90000009', name: 'triangle on clutter', draw: (c, r) => drawShapeOnClutter(c, r, (u, v) => v < 0.8 && v > 1.6 * Math.abs(u) - 0.9) },
  { wnid: 'n90000010', name: 'cross on clutter', draw: (c, r) => drawShapeOnClutter(c, r, (u, v) => (Math.abs(u) < 0.25 && Math.abs(v) < 1) || (Math.abs(v) < 0.25 && Math.abs(u) < 1)) },
  { wnid: 'n90000011', name: 'speckle texture', draw: drawSpeckle },
  { wnid: 'n90000012', name: 'smooth gradient', draw: drawGradient },
];

/** Draws one sample image of `pattern` at the given size. */
export function renderSampleImage(pattern: SamplePattern, widthPx: number, heightPx: number, rng: Rng): Canvas {
  const canvas: Canvas = { widthPx, heightPx, data: new Float32Array(widthPx * heightPx * 3) };
  pattern.draw(canvas, rng);
  addNoise(canvas, rng, uniform(rng, 4, 16));
  return canvas;
}

/** A random image size: the shorter side 96..256 px, aspect ratio 0.6..1.7. */
export function drawSampleSize(rng: Rng): { widthPx: number; heightPx: number } {
  const basePx = uniform(rng, 110, 240);
  const aspect = Math.exp(uniform(rng, Math.log(0.6), Math.log(1.7)));
  return { widthPx: Math.round(basePx * Math.sqrt(aspect)), heightPx: Math.round(basePx / Math.sqrt(aspect)) };
}
