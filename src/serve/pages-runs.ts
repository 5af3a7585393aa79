/** The explorer's runs page, a run's layers page and two runs side by side. Pure. */
import { escapeHtml, section, sortableTable, type CellValue } from '../report/html.js';
import type { LayerSummary, ServeRunRow, ServeTopEntry, ServeUnitRow } from '../store/serve-queries.js';
import { explorerPage, formatPercent, formatStat, layerLabel, link, urls } from './page-kit.js';
import { parseCheckpointEpoch } from './pages-unit.js';
import { displayRank } from '../vocabulary.js';

const baseName = (path: string | null): string | null => (path === null ? null : path.replace(/^.*[\\/]/, ''));

/** What a run is computed from: its checkpoint file, or its random init. */
export function describeWeights(run: ServeRunRow): string {
  if (run.checkpointPath !== null) return baseName(run.checkpointPath)!;
  return run.weights ?? '\u2013';
}

/** Status, with progress for a run still going (images of the pass, epochs of training, heartbeat age). */
export function describeState(run: ServeRunRow, nowMs: number): string {
  const parts = [run.status];
  if (run.kind === 'top-activations' && run.imagesTotal !== null && run.position !== null && (run.status !== 'finished' || run.position < run.imagesTotal)) {
    parts.push(`${run.position} of ${run.imagesTotal} images (${formatPercent(run.imagesTotal === 0 ? 1 : run.position / run.imagesTotal)})`);
  }
  if (run.kind === 'train' && run.epochs !== null) parts.push(`${run.epochs} epochs`);
  if (run.status === 'running' && run.heartbeatAt !== null) parts.push(`heartbeat ${Math.max(0, Math.round((nowMs - Date.parse(run.heartbeatAt)) / 1000))} s ago`);
  return parts.join(', ');
}

/** Share of a top-activations pass done, in percent (null for other runs). */
function progressPercent(run: ServeRunRow): number | null {
  if (run.kind !== 'top-activations' || run.imagesTotal === null || run.position === null) return null;
  return run.imagesTotal === 0 ? 100 : Math.round((1000 * run.position) / run.imagesTotal) / 10;
}

/** Two runs worth putting side by side: the same model over the same split of the same dataset, earlier weights first. */
export interface ComparablePair { a: ServeRunRow; b: ServeRunRow }

/** When a run's weights come in training order: its checkpoint's epoch, else its start. */
const trainingOrder = (r: ServeRunRow): [number, string] => [parseCheckpointEpoch(r.checkpointPath) ?? Number.POSITIVE_INFINITY, r.startedAt];

/**
 * Per group of top-activations runs of one model over one split of one dataset
 * (two or more), its first and last weights in training order (checkpoint
 * epoch, then start time): epoch 1 beside the last epoch, the paper's Fig. 4.
 */
export function findComparablePairs(runs: readonly ServeRunRow[]): ComparablePair[] {
  const groups = new Map<string, ServeRunRow[]>();
  for (const r of runs.filter((run) => run.kind === 'top-activations' && run.model !== null && run.layers.length > 0)) {
    const key = JSON.stringify([r.model, r.datasetRoot, r.split]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].filter((g) => g.length >= 2).map((g) => {
    const sorted = [...g].sort((x, y) => { const [ex, sx] = trainingOrder(x); const [ey, sy] = trainingOrder(y); return ex - ey || sx.localeCompare(sy); });
    return { a: sorted[0]!, b: sorted.at(-1)! };
  });
}

/** The side-by-side section of the runs page: a link per comparable pair, and a form for any two runs. */
function compareSection(passes: readonly ServeRunRow[]): string {
  if (passes.length < 2) return '';
  const pairs = findComparablePairs(passes);
  // Straight to the first layer both analysed: the page opens on the units' patches.
  const firstShared = (p: ComparablePair) => p.a.layers.find((l) => p.b.layers.includes(l));
  const links = pairs.map((p) => `<li>${link(urls.compare(p.a.id, p.b.id, firstShared(p)), `${describeWeights(p.a)} beside ${describeWeights(p.b)}`)} `
    + `(${escapeHtml(p.a.model ?? '')} on ${escapeHtml(p.a.split ?? '')}: how its units changed; each unit page also lists the unit in every run)</li>`).join('');
  const [left, right] = pairs.length > 0 ? [pairs[0]!.a.id, pairs[0]!.b.id] : [passes[0]!.id, passes[1]!.id];
  const options = (selected: string) => passes.map((r) => `<option value="${escapeHtml(r.id)}"${r.id === selected ? ' selected' : ''}>${escapeHtml(r.id)}</option>`).join('');
  const form = `<form method="get" action="/compare" class="filters"><label>left <select name="a">${options(left)}</select></label>`
    + `<label>right <select name="b">${options(right)}</select></label><button type="submit">side by side</button></form>`;
  return section('compare', 'Two runs side by side', `${links === '' ? '' : `<ul id="compare-links">${links}</ul>`}${form}`);
}

/** The runs page: every run of the store, newest first; top-activations runs link to their layers. */
export function renderRunsPage(runs: readonly ServeRunRow[], nowMs: number): string {
  const passes = runs.filter((r) => r.kind === 'top-activations');
  const rows: CellValue[][] = passes.map((r) => [
    { text: r.id, href: urls.run(r.id) }, r.model, describeWeights(r), baseName(r.datasetRoot), r.split, r.shard ?? '', describeState(r, nowMs),
    progressPercent(r), r.startedAt,
  ]);
  const table = sortableTable('runs', ['run', 'model', 'checkpoint', 'dataset', 'split', 'shard', 'state', 'done %', 'started'].map((label) => ({ label })), rows);
  const others = runs.filter((r) => r.kind !== 'top-activations');
  const otherTable = sortableTable('other-runs', ['run', 'kind', 'model', 'state', 'started'].map((label) => ({ label })),
    others.map((r) => [r.id, r.kind, r.model, describeState(r, nowMs), r.startedAt]));
  const refresh = runs.some((r) => r.status === 'running') ? '<meta http-equiv="refresh" content="10">' : '';
  const body = [
    refresh,
    section('passes', 'Top-activations runs', passes.length === 0 ? '<p class="note">No top-activations run in this store yet: run-pipeline top-activations makes one.</p>' : table),
    compareSection(passes),
    others.length === 0 ? '' : section('others', 'Other runs', otherTable),
  ].join('\n');
  return explorerPage('zfnet-pipeline explorer', [], body);
}

/** The fields of one run, for its page and the side-by-side page. */
function runFacts(run: ServeRunRow, nowMs: number): string {
  const rows: CellValue[][] = [
    ['model', run.model], ['checkpoint', run.checkpointPath ?? run.weights], ['dataset', run.datasetRoot], ['split', run.split],
    ['images', run.imagesTotal], ['skipped', run.imagesSkipped], ['top-k', run.topK], ['backend', run.backend],
    ['state', describeState(run, nowMs)], ['started', run.startedAt], ['finished', run.finishedAt],
  ];
  return sortableTable(`facts-${run.id}`, [{ label: 'field' }, { label: 'value' }], rows);
}

function layersTable(run: ServeRunRow, layers: readonly LayerSummary[], id: string): string {
  return sortableTable(id, ['layer', 'units', 'dead', 'mean firing rate', 'mean class purity', 'max activation'].map((label) => ({ label })),
    layers.map((l) => [{ text: layerLabel(run, l.layer), href: urls.layer(run.id, l.layer) }, l.units, l.dead, l.meanFiringRate, l.meanPurity, l.maxValue]));
}

/** A run's page: what it was computed from, its state and its layers. */
export function renderRunPage(run: ServeRunRow, layers: readonly LayerSummary[], others: readonly ServeRunRow[], nowMs: number): string {
  const compare = others.length === 0 ? '' : section('compare', 'Side by side with',
    `<ul>${others.map((o) => `<li>${link(urls.compare(run.id, o.id), o.id)} (${escapeHtml(o.model ?? '')}, ${escapeHtml(describeWeights(o))})</li>`).join('')}</ul>`);
  const empty = layers.length === 0 ? '<p class="note">No unit statistics committed yet.</p>' : '';
  const body = [section('run', 'Run', runFacts(run, nowMs)), section('layers', 'Layers', empty + layersTable(run, layers, 'layers-table')), compare].join('\n');
  return explorerPage(`run ${run.id}`, [{ href: urls.run(run.id), text: run.id }], body);
}

/** One run's column of the side-by-side layer view: per unit its top-k patches. */
export interface CompareColumn {
  run: ServeRunRow;
  layers: LayerSummary[];
  units: Array<{ stats: ServeUnitRow; entries: ServeTopEntry[] }>;
}

function unitStrip(run: ServeRunRow, layer: number, u: { stats: ServeUnitRow; entries: ServeTopEntry[] }): string {
  const patches = u.entries.map((e) => `<img class="thumb" src="${escapeHtml(urls.patch(run.id, layer, u.stats.unit, e.rank))}" alt="rank ${displayRank(e.rank)}" title="rank ${displayRank(e.rank)}, value ${formatStat(e.value)}" loading="lazy">`).join('');
  return `<div class="cell">${link(urls.unit(run.id, layer, u.stats.unit), `unit ${u.stats.unit}`)} firing ${formatPercent(u.stats.firingRate)}, max ${formatStat(u.stats.maxValue)}`
    + `<div class="grid">${patches}</div></div>`;
}

/** A layer number of two runs: its name in the runs that analysed it, both names where they call it differently. */
function compareLabel(a: ServeRunRow, b: ServeRunRow, layer: number): string {
  const names = [a, b].filter((run) => run.layers.includes(layer)).map((run) => layerLabel(run, layer));
  return [...new Set(names.length === 0 ? [layerLabel(a, layer)] : names)].join(' | ');
}

/**
 * Two runs side by side: facts and layers, and with `layer` the first units
 * of that layer (from `firstUnit`) with their top-k patches, row by row.
 */
export function renderComparePage(a: CompareColumn, b: CompareColumn, layer: number | null, firstUnit: number, nowMs: number): string {
  const column = (c: CompareColumn, side: string) => `<div><h3>${link(urls.run(c.run.id), c.run.id)}</h3>${runFacts(c.run, nowMs)}`
    + `${layersTable(c.run, c.layers, `layers-${side}`)}</div>`;
  const layerLinks = [...new Set([...a.layers, ...b.layers].map((l) => l.layer))].sort((x, y) => x - y)
    .map((l) => link(urls.compare(a.run.id, b.run.id, l), compareLabel(a.run, b.run, l))).join(' ');
  let units = '';
  if (layer !== null) {
    const count = Math.max(a.units.length, b.units.length);
    const rows = Array.from({ length: count }, (_, i) => `<div class="pair"><div>${a.units[i] ? unitStrip(a.run, layer, a.units[i]!) : ''}</div>`
      + `<div>${b.units[i] ? unitStrip(b.run, layer, b.units[i]!) : ''}</div></div>`).join('\n');
    const more = `${urls.compare(a.run.id, b.run.id, layer)}&from=${firstUnit + count}`;
    units = section('units', `${compareLabel(a.run, b.run, layer)} units ${firstUnit}\u2013${firstUnit + count - 1}`, `${rows}<p class="pager">${count > 0 ? link(more, 'next units') : 'no more units'}</p>`);
  }
  const body = `<div class="pair">${column(a, 'a')}${column(b, 'b')}</div>\n<p>Top-k patches per unit of layer: ${layerLinks}</p>\n${units}`;
  return explorerPage(`${a.run.id} vs ${b.run.id}`, [{ href: urls.compare(a.run.id, b.run.id), text: 'side by side' }], body);
}
