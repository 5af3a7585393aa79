/**
 * A unit's page: its top-k image patches and (on demand) their deconvnet
 * projections, its statistics, the classes of its top-k, the same unit in
 * the other runs of the model (checkpoint epochs: the paper's Fig. 4 as you
 * browse) and links to the neighbouring units. Pure.
 */
import { escapeHtml, section, sortableTable } from '../report/html.js';
import type { SameUnitRow, ServeRunRow, ServeTopEntry, ServeUnitRow } from '../store/serve-queries.js';
import { describeFieldAgainstInput, describeUnitStatistics, displayRank, READING_PROJECTIONS, type UnitStatisticKey } from '../vocabulary.js';
import { explorerPage, formatClass, formatPercent, formatStat, layerLabel, link, onDemandBlock, urls } from './page-kit.js';

export interface UnitPageData {
  run: ServeRunRow;
  layer: number;
  stats: ServeUnitRow;
  entries: ServeTopEntry[];
  /** Units in the layer (for the neighbour links). */
  unitCount: number;
  sameUnit: SameUnitRow[];
  /** The projections fragment when they are rendered already, else null (the page asks for them). */
  projections: string | null;
  /** The preferred-input fragment when it is made already, else null (the page asks for it). */
  preferred?: string | null;
  /** The layer's receptive field and the model's input side, when the run recorded them. */
  field: { receptiveFieldPx: number; inputSizePx: number } | null;
}

/** The rendered projections: a grid in rank order, each linking to its image's page. */
export function renderProjectionsFragment(runId: string, layer: number, unit: number, entries: readonly ServeTopEntry[], recomputed: readonly number[]): string {
  const cells = entries.map((e) => `<a href="${escapeHtml(urls.image(runId, e.imageId))}" title="rank ${displayRank(e.rank)}: ${formatStat(recomputed[e.rank] ?? e.value)}">`
    + `<img class="projection" src="${escapeHtml(urls.projection(runId, layer, unit, e.rank))}" alt="projection of rank ${displayRank(e.rank)}"></a>`).join('');
  return `<div class="grid" id="projection-grid">${cells}</div>`;
}

/** What a preferred-input render measured (pipelines/serve/preferred-input-render.ts). */
export interface PreferredRender {
  activation: number;
  top1: number | null;
  ratio: number | null;
  steps: number;
  settings: string;
}

/** The made preferred input: the image (the centre cell's field, or the whole input) and its activation against the top-1 image's. */
export function renderPreferredFragment(runId: string, layer: number, unit: number, result: PreferredRender): string {
  const against = result.ratio === null ? 'no top-1 to compare with (a unit that never fired)' : `top-1 dataset image ${formatStat(result.top1)}: <b>${result.ratio.toFixed(2)}x</b> its top-1 activation`;
  return `<figure id="preferred-input"><img src="${escapeHtml(urls.preferredPng(runId, layer, unit))}" alt="preferred input of unit ${unit}" width="192">`
    + `<figcaption>activation ${formatStat(result.activation)}; ${against}. ${escapeHtml(result.settings)}.</figcaption></figure>`;
}

function patchGrid(data: UnitPageData): string {
  const { run, layer, stats } = data;
  return `<div class="grid" id="patch-grid">${data.entries.map((e) => `<a href="${escapeHtml(urls.image(run.id, e.imageId))}" title="rank ${displayRank(e.rank)}, value ${formatStat(e.value)}, image ${e.imageId}">`
    + `<img src="${escapeHtml(urls.patch(run.id, layer, stats.unit, e.rank))}" alt="patch of rank ${displayRank(e.rank)}"></a>`).join('')}</div>`;
}

/** The unit's statistics, each row with what it means beside it (the words of src/vocabulary.ts). */
function statsTable(s: ServeUnitRow, topK: number): string {
  const words = describeUnitStatistics(topK);
  const values: Array<[UnitStatisticKey, string]> = [
    ['imagesSeen', formatStat(s.imagesSeen)], ['firingRate', formatPercent(s.firingRate)], ['meanMax', formatStat(s.meanMax)], ['stdMax', formatStat(s.stdMax)],
    ['meanActivation', formatStat(s.meanActivation)], ['maxValue', formatStat(s.maxValue)], ['dead', s.dead ? 'yes' : 'no'],
    ['topClass', s.topLabel === null ? '\u2013' : formatClass(s.topClassName, s.topClassKey)], ['classPurity', formatStat(s.classPurity)],
  ];
  const rows = values.map(([key, value]) => `<tr data-statistic="${key}"><th scope="row" title="${escapeHtml(words[key].legend)}">${escapeHtml(words[key].label)}</th>`
    + `<td${key === 'topClass' || key === 'dead' ? '' : ' class="num"'}>${escapeHtml(value)}</td><td class="legend">${escapeHtml(words[key].legend)}</td></tr>`).join('');
  return `<table id="unit-stats"><thead><tr><th>statistic</th><th>value</th><th>what it means</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Counts of the top-k's classes, largest first, as bars. */
export function countClasses(entries: readonly ServeTopEntry[]): Array<{ label: string; count: number }> {
  const counts = new Map<string, number>();
  for (const e of entries) {
    const label = e.label < 0 ? 'unlabelled' : formatClass(e.className, e.classKey ?? `label ${e.label}`);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
}

function classHistogram(entries: readonly ServeTopEntry[]): string {
  const counts = countClasses(entries);
  const rows = counts.map((c) => `<tr><td>${escapeHtml(c.label)}</td><td class="num">${c.count}</td><td><span class="bar" style="width:${Math.round((120 * c.count) / entries.length)}px"></span></td></tr>`);
  return `<table id="class-histogram"><thead><tr><th>class</th><th>top-k images</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function entriesTable(run: ServeRunRow, entries: readonly ServeTopEntry[]): string {
  return sortableTable('top-entries', ['rank', 'value', 'image', 'class', 'cell y,x', 'file'].map((label) => ({ label })),
    entries.map((e) => [displayRank(e.rank), e.value, { text: String(e.imageId), href: urls.image(run.id, e.imageId) }, formatClass(e.className, e.classKey), `${e.y},${e.x}`, e.relPath]));
}

/** The epoch a checkpoint file is of (epoch-0005.safetensors), when its name says. */
export function parseCheckpointEpoch(path: string | null): number | null {
  const m = path === null ? null : /epoch-(\d+)\.[^/\\]*$/.exec(path);
  return m === null ? null : Number(m[1]);
}

function sameUnitSection(data: UnitPageData): string {
  const { layer, stats } = data;
  const others = data.sameUnit;
  if (others.length <= 1) return section('other-runs', `${layerLabel(data.run, layer)} unit ${stats.unit} in other runs`, `<p class="note">No other top-activations run of ${escapeHtml(data.run.model ?? 'this model')} in the store.</p>`);
  const rows = others.map((o) => {
    const here = o.runId === data.run.id;
    const thumb = o.topImageId === null ? '' : `<img class="thumb" src="${escapeHtml(urls.patch(o.runId, layer, stats.unit, 0))}" alt="strongest patch" loading="lazy">`;
    const epoch = parseCheckpointEpoch(o.checkpointPath);
    return `<tr${here ? ' class="here"' : ''}><td>${here ? `<b>${escapeHtml(o.runId)}</b>` : link(urls.unit(o.runId, layer, stats.unit), o.runId)}</td>`
      + `<td>${escapeHtml(o.checkpointPath === null ? o.weights : o.checkpointPath.replace(/^.*[\\/]/, ''))}</td><td class="num">${epoch ?? '\u2013'}</td><td>${escapeHtml(o.split)}</td>`
      + `<td class="num">${formatPercent(o.stats?.firingRate)}</td><td class="num">${formatStat(o.stats?.meanMax)}</td><td class="num">${formatStat(o.stats?.maxValue)}</td>`
      + `<td>${escapeHtml(o.stats === null ? '\u2013' : formatClass(o.stats.topClassName, o.stats.topClassKey))}</td><td>${thumb}</td></tr>`;
  });
  const head = ['run', 'checkpoint', 'epoch', 'split', 'firing rate', 'mean max', 'max', 'top class', 'strongest patch'].map((h) => `<th>${h}</th>`).join('');
  return section('other-runs', `${layerLabel(data.run, layer)} unit ${stats.unit} in every run of ${escapeHtml(data.run.model ?? '')}`,
    `<table id="same-unit"><thead><tr>${head}</tr></thead><tbody>${rows.join('\n')}</tbody></table>`);
}

function neighbours(data: UnitPageData): string {
  const { run, layer, stats, unitCount } = data;
  const to = (unit: number, text: string, rel: string) => (unit < 0 || unit >= unitCount ? '' : link(urls.unit(run.id, layer, unit), text, ` rel="${rel}" id="${rel}-unit"`));
  return `<p class="pager">${to(stats.unit - 1, `\u2190 unit ${stats.unit - 1}`, 'prev')} ${link(urls.layer(run.id, layer), `all ${unitCount} units of ${layerLabel(data.run, layer)}`)} ${to(stats.unit + 1, `unit ${stats.unit + 1} \u2192`, 'next')}</p>`;
}

/** The whole unit page. */
export function renderUnitPage(data: UnitPageData): string {
  const { run, layer, stats } = data;
  const projections = onDemandBlock('projections', urls.projectionsApi(run.id, layer, stats.unit), urls.projectionsFragment(run.id, layer, stats.unit),
    data.projections, 'projections not rendered yet: asking the server to render them');
  // The paper's layout (Fig. 2, and the mosaics): projections left, image patches right, ranks 1-9 in reading order.
  const top = `<div class="cell" id="projections-column"><h3>deconvnet projections</h3>${projections}</div><div class="cell" id="patches-column"><h3>image patches</h3>${patchGrid(data)}</div>`;
  const fieldNote = data.field === null ? null : describeFieldAgainstInput(layerLabel(run, layer), data.field.receptiveFieldPx, data.field.inputSizePx);
  const reading = `<p class="note" id="reading-projections">${escapeHtml(READING_PROJECTIONS)}${fieldNote === null ? '' : ` ${escapeHtml(fieldNote)}`}</p>`;
  const body = [
    neighbours(data),
    reading,
    section('top', `Top-${data.entries.length} activations`, top + entriesTable(run, data.entries)),
    section('preferred', 'Preferred input', `<p class="note">The image this unit's activation climbs to by gradient ascent from noise (regularised: Fourier parameterisation, decorrelated colour, jitter, scale and rotation), made on demand and kept; the ratio compares its activation with the unit's strongest dataset image's, through the same forward graph.</p>`
      + onDemandBlock('preferred', urls.preferredApi(run.id, layer, stats.unit), urls.preferredFragment(run.id, layer, stats.unit), data.preferred ?? null, 'preferred input not made yet: asking the server to optimise it')),
    section('statistics', 'Statistics', `<div class="cell">${statsTable(stats, run.topK ?? data.entries.length)}</div><div class="cell"><h3>classes of the top-${data.entries.length}</h3>${classHistogram(data.entries)}</div>`),
    sameUnitSection(data),
  ].join('\n');
  return explorerPage(`${layerLabel(data.run, layer)} unit ${stats.unit} of ${run.id}`,
    [{ href: urls.run(run.id), text: run.id }, { href: urls.layer(run.id, layer), text: layerLabel(data.run, layer) }, { href: urls.unit(run.id, layer, stats.unit), text: `unit ${stats.unit}` }], body);
}
