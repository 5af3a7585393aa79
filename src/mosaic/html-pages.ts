/** The static HTML of the mosaics folder: index.html and one page per unit (relative links, no external assets). Pure. */
import { escapeXml } from '../plot/svg-text.js';
import type { PixelBox } from '../model/geometry.js';
import { displayRank, READING_PROJECTIONS } from '../vocabulary.js';

export interface UnitPageEntry {
  rank: number;
  value: number;
  recomputed: number;
  imageId: number;
  path: string;
  className: string | null;
  y: number;
  x: number;
  box: PixelBox;
  /** Relative path of the entry's projection .npy. */
  npy: string;
}

export interface UnitPageOptions {
  runId: string;
  layer: string;
  unit: number;
  /** The projection method (deconvnet, guided, gradient). */
  method: string;
  /** Relative path of the unit's PNG. */
  image: string;
  entries: UnitPageEntry[];
  notes: string[];
  /** The layer's receptive field against the model's input, when it covers most of it (describeFieldAgainstInput). */
  fieldNote: string | null;
  /** What the page was drawn from (run, weights), kept in a meta tag so a rerun can tell. */
  stamp: string;
  /** The unit's preferred input (run-pipeline preferred-inputs), when one was made before the page. */
  preferred?: PreferredTileLink | null;
}

/** A unit's preferred input as the pages show it. */
export interface PreferredTileLink {
  unit: number;
  /** Relative path of its picture (the centre cell's field, or the whole image). */
  image: string;
  activation: number;
  top1: number | null;
  ratio: number | null;
  runId: string;
}

/** The preferred input with its activation against the top-1 image's. */
function renderPreferredFigure(p: PreferredTileLink): string {
  const against = p.ratio === null ? '' : `, top-1 ${p.top1!.toPrecision(4)}, ratio ${p.ratio.toFixed(2)}`;
  return `<figure><img src="${escapeXml(p.image)}" height="160" alt="preferred input of unit ${p.unit}"><figcaption>preferred input (${escapeXml(p.runId)}): activation ${p.activation.toPrecision(4)}${against}</figcaption></figure>`;
}

/** The meta tag carrying a page's stamp. */
export function renderStampMeta(stamp: string): string {
  return `<meta name="zfnet-mosaic" content="${escapeXml(stamp)}">`;
}

const STYLE = '<style>body{font-family:sans-serif;margin:16px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}img{image-rendering:pixelated}'
  + '.reading{max-width:900px;color:#444;font-size:14px}</style>';

function page(title: string, body: string, head = ''): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8">${head}<title>${escapeXml(title)}</title>${STYLE}</head><body>${body}</body></html>\n`;
}

/** The paragraph on reading projections at the top of a page, with `extra` sentences (the layer's field against the input). */
function readingParagraph(extra: readonly string[]): string {
  return `<p class="reading" id="reading-projections">${escapeXml([READING_PROJECTIONS, ...extra].join(' '))}</p>`;
}

/** A unit's page: its 3x3 projections and patches, then a table of values, images and classes (ranks 1-9). */
export function renderUnitPage(options: UnitPageOptions): string {
  const rows = options.entries.map((e) => `<tr><td>${displayRank(e.rank)}</td><td>${e.value.toPrecision(6)}</td><td>${e.recomputed.toPrecision(6)}</td><td>${e.imageId}</td>`
    + `<td>${escapeXml(e.path)}</td><td>${escapeXml(e.className ?? '')}</td><td>${e.y},${e.x}</td>`
    + `<td>${e.box.top},${e.box.left} ${e.box.heightPx}x${e.box.widthPx}</td><td><a href="${escapeXml(e.npy)}">npy</a></td></tr>`).join('\n');
  const notes = options.notes.map((n) => `<p>${escapeXml(n)}</p>`).join('');
  return page(`${options.layer} unit ${options.unit} (${options.method})`, `<p><a href="../index.html">index</a></p><h1>${escapeXml(options.layer)} unit ${options.unit}</h1>`
    + `<p>run ${escapeXml(options.runId)}; projections: ${escapeXml(options.method)}</p>${readingParagraph(options.fieldNote === null ? [] : [options.fieldNote])}`
    + `<img src="${escapeXml(options.image)}" alt="projections (left) and image patches (right), ranks 1-9 in reading order">`
    + (options.preferred === undefined || options.preferred === null ? '' : renderPreferredFigure(options.preferred))
    + `<table><tr><th>rank</th><th>stored value</th><th>recomputed</th><th>image id</th><th>image</th><th>class</th><th>cell y,x</th><th>patch top,left h x w</th><th>values</th></tr>\n${rows}</table>${notes}`,
    renderStampMeta(options.stamp));
}

export interface IndexLayer {
  layer: string;
  /** The layer's receptive field against the model's input, when it covers most of it. */
  fieldNote: string | null;
  sheets: string[];
  filters: string | null;
  units: Array<{ unit: number; page: string }>;
  /** The preferred inputs of the layer's units made so far (a row of thumbnails). */
  preferred?: PreferredTileLink[];
}

/** index.html: per layer its filter sheet, its paged sheets and links to every unit page; `method` names the projections. */
export function renderIndexPage(runId: string, layers: readonly IndexLayer[], notes: readonly string[], method = 'deconvnet'): string {
  const sections = layers.map((l) => {
    const filters = l.filters === null ? ''
      : `<figure><a href="${escapeXml(l.filters)}"><img src="${escapeXml(l.filters)}" alt="${escapeXml(l.layer)} filters"></a><figcaption>${escapeXml(l.layer)} filters, each stretched on its own (grey is 0)</figcaption></figure>`;
    const sheets = l.sheets.map((s, i) => `<a href="${escapeXml(s)}">sheet ${i + 1}</a>`).join(' ');
    const units = l.units.map((u) => `<a href="${escapeXml(u.page)}">${u.unit}</a>`).join(' ');
    const preferred = (l.preferred ?? []).map((p) => `<a href="${escapeXml(p.image)}"><img src="${escapeXml(p.image)}" height="48" title="unit ${p.unit}${p.ratio === null ? '' : `, ${p.ratio.toFixed(2)}x its top-1 activation`}" alt="unit ${p.unit}"></a>`).join(' ');
    return `<h2 id="${escapeXml(l.layer)}">${escapeXml(l.layer)}</h2>${filters}<p>${sheets}</p><p>units: ${units}</p>${preferred === '' ? '' : `<p>preferred inputs: ${preferred}</p>`}`;
  }).join('\n');
  const toc = layers.map((l) => `<a href="#${escapeXml(l.layer)}">${escapeXml(l.layer)}</a>`).join(' ');
  const title = `${method.charAt(0).toUpperCase()}${method.slice(1)} mosaics of run ${runId}`;
  const fields = layers.flatMap((l) => (l.fieldNote === null ? [] : [l.fieldNote]));
  return page(title, `<h1>${escapeXml(title)}</h1><p>${toc}</p>${readingParagraph(fields)}${notes.map((n) => `<p>${escapeXml(n)}</p>`).join('')}${sections}`);
}
