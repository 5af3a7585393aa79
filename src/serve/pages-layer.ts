/**
 * A layer's unit table: sorted, filtered and paged by the server (the query
 * string is the state, so every view has a stable URL and the back button
 * returns to it). Pure.
 */
import { cellHtml, escapeHtml, type CellValue, type TableColumn } from '../report/html.js';
import type { ServeClass, ServeRunRow, ServeUnitRow } from '../store/serve-queries.js';
import type { UnitTableSort } from '../store/serve-queries.js';
import { renderStatisticsLegend } from '../report/statistics-legend.js';
import { describeUnitStatistics, type UnitStatisticKey } from '../vocabulary.js';
import { explorerPage, formatClass, layerLabel, link, urls } from './page-kit.js';
import { defaultDescending, formatUnitTableQuery, type UnitTableParams } from './request-params.js';

interface UnitColumn extends TableColumn { sort: UnitTableSort | null; cell: (u: ServeUnitRow) => CellValue; statistic?: UnitStatisticKey }

/** The unit table's columns; each statistic's header says what it means (src/vocabulary.ts) as its tooltip and in the legend below. */
function columns(runId: string, layer: number, topK: number): UnitColumn[] {
  const words = describeUnitStatistics(topK);
  const stat = (key: UnitStatisticKey, sort: UnitTableSort | null, cell: UnitColumn['cell']): UnitColumn => ({ label: words[key].label, legend: words[key].legend, sort, cell, statistic: key });
  return [
    { label: 'unit', sort: 'unit', cell: (u) => ({ text: String(u.unit), href: urls.unit(runId, layer, u.unit) }) },
    stat('firingRate', 'firing-rate', (u) => u.firingRate),
    stat('meanMax', 'mean', (u) => u.meanMax),
    stat('stdMax', null, (u) => u.stdMax),
    stat('meanActivation', null, (u) => u.meanActivation),
    stat('maxValue', 'max', (u) => u.maxValue),
    stat('dead', 'dead', (u) => (u.dead ? 'dead' : '')),
    stat('topClass', 'top-class', (u) => (u.topLabel === null ? null : formatClass(u.topClassName, u.topClassKey))),
    stat('classPurity', 'purity', (u) => u.classPurity),
  ];
}

function headerCell(runId: string, layer: number, params: UnitTableParams, column: UnitColumn): string {
  const title = column.legend === undefined ? '' : ` title="${escapeHtml(column.legend)}"`;
  if (column.sort === null) return `<th${title}>${escapeHtml(column.label)}</th>`;
  const active = params.sort === column.sort;
  // A click on the active column reverses it; on another column it starts in that column's natural direction.
  const descending = active ? !params.descending : defaultDescending(column.sort);
  const href = urls.layer(runId, layer, formatUnitTableQuery(params, { sort: column.sort, descending, page: 1 }));
  const cls = active ? ` class="${params.descending ? 'desc' : 'asc'}"` : '';
  return `<th${cls}${title} data-sort-key="${column.sort}"><a href="${escapeHtml(href)}">${escapeHtml(column.label)}</a></th>`;
}

function filterForm(runId: string, layer: number, params: UnitTableParams, classes: readonly ServeClass[]): string {
  const selected = (on: boolean) => (on ? ' selected' : '');
  const dead = `<select name="dead"><option value="any"${selected(params.dead === null)}>all units</option><option value="live"${selected(params.dead === false)}>live only</option>`
    + `<option value="dead"${selected(params.dead === true)}>dead only</option></select>`;
  const classOptions = classes.map((c) => `<option value="${c.label}"${selected(params.topLabel === c.label)}>${escapeHtml(formatClass(c.name, c.key))}</option>`).join('');
  const number = (name: string, value: number | null, label: string) =>
    `<label>${label} <input type="number" name="${name}" min="0" max="1" step="any" size="6" value="${value === null ? '' : value}"></label>`;
  return `<form class="filters" method="get" action="${escapeHtml(urls.layer(runId, layer))}">`
    + `<input type="hidden" name="sort" value="${params.sort}"><input type="hidden" name="dir" value="${params.descending ? 'desc' : 'asc'}">`
    + `<label>${dead}</label><label>top class <select name="class"><option value="">any</option>${classOptions}</select></label>`
    + number('min-rate', params.minFiringRate, 'firing rate from') + number('max-rate', params.maxFiringRate, 'to') + number('min-purity', params.minPurity, 'purity from')
    + `<label>per page <input type="number" name="per" min="1" max="1000" size="5" value="${params.perPage}"></label>`
    + `<button type="submit">filter</button> ${link(urls.layer(runId, layer), 'reset')}</form>`;
}

function pager(runId: string, layer: number, params: UnitTableParams, total: number, shown: number): string {
  const pages = Math.max(1, Math.ceil(total / params.perPage));
  const from = total === 0 ? 0 : params.offset + 1;
  const pageLink = (page: number, text: string) => link(urls.layer(runId, layer, formatUnitTableQuery(params, { page })), text, ` rel="${text}"`);
  const previous = params.page > 1 ? pageLink(params.page - 1, 'prev') : '';
  const next = params.page < pages ? pageLink(params.page + 1, 'next') : '';
  return `<p class="pager" id="pager">units ${from}\u2013${params.offset + shown} of ${total} (page ${params.page} of ${pages}) ${previous} ${next}</p>`;
}

/** The unit table page of one layer of a run. */
export function renderLayerPage(run: ServeRunRow, layer: number, params: UnitTableParams, rows: readonly ServeUnitRow[], total: number, classes: readonly ServeClass[]): string {
  const cols = columns(run.id, layer, run.topK ?? 9);
  const head = cols.map((c) => headerCell(run.id, layer, params, c)).join('');
  const body = rows.map((u) => `<tr data-unit="${u.unit}">${cols.map((c) => cellHtml(c.cell(u), c)).join('')}</tr>`).join('\n');
  const layers = run.layers.map((l) => (l === layer ? `<b>${escapeHtml(layerLabel(run, l))}</b>` : link(urls.layer(run.id, l), layerLabel(run, l)))).join(' ');
  const content = `<p>layers: ${layers}</p>${filterForm(run.id, layer, params, classes)}${pager(run.id, layer, params, total, rows.length)}`
    + `<table class="units" id="units"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`
    + (rows.length === 0 ? '<p class="note">No unit matches these filters.</p>' : '')
    + renderStatisticsLegend(run.topK ?? 9, cols.flatMap((c) => (c.statistic === undefined ? [] : [c.statistic])));
  return explorerPage(`${layerLabel(run, layer)} of ${run.id}`, [{ href: urls.run(run.id), text: run.id }, { href: urls.layer(run.id, layer), text: layerLabel(run, layer) }], content);
}
