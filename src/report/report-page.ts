/**
 * The report's index.html from collected data. Pure: paths in the data are
 * turned into links relative to the report's folder by the caller's `link`.
 */
import { lineChartSvg } from '../plot/line-chart.js';
import type { OcclusionSummary } from '../store/occlusion-summaries.js';
import { describeUnitStatistics, formatClass } from '../vocabulary.js';
import type { AnalysisPass, ExperimentRun, PassLayer, ReportData } from './collect-report.js';
import { escapeHtml, figure, htmlPage, section, sortableTable, type CellValue } from './html.js';
import { renderStatisticsLegend, UNIT_TABLE_STATISTICS } from './statistics-legend.js';

/** Maps an absolute path to a link relative to the report page. */
export type LinkFn = (absolutePath: string) => string;

function percent(v: number | null): number | null {
  return v === null ? null : Math.round(v * 10000) / 100;
}

function summarySection(data: ReportData): string {
  const r = data.run;
  const rows: CellValue[][] = [
    ['run', r.id], ['kind', r.kind], ['status', r.status], ['model', r.model], ['backend', r.backend],
    ['backend detail', r.backendInfo ? String(r.backendInfo['detail'] ?? JSON.stringify(r.backendInfo)) : null],
    ['started', r.startedAt], ['finished', r.finishedAt],
  ];
  const last = data.epochs[data.epochs.length - 1];
  if (last) rows.push(['epochs', last.epoch], ['last val top-1 error %', percent(last.valTop1Error)], ['last val top-5 error %', percent(last.valTop5Error)]);
  return section('summary', 'Run', sortableTable('summary-table', [{ label: 'field' }, { label: 'value' }], rows));
}

function trainingSection(data: ReportData): string {
  if (data.epochs.length === 0) return '';
  const points = (pick: (e: (typeof data.epochs)[number]) => number | null): Array<[number, number]> =>
    data.epochs.map((e) => [e.epoch, pick(e) ?? Number.NaN]);
  const loss = lineChartSvg({ title: 'loss per epoch', xLabel: 'epoch', yLabel: 'cross-entropy', yFromZero: true, widthPx: 560, heightPx: 320,
    series: [{ name: 'train loss', points: points((e) => e.trainLoss) }, { name: 'val loss', points: points((e) => e.valLoss) }] });
  const error = lineChartSvg({ title: 'error per epoch', xLabel: 'epoch', yLabel: 'error %', yMin: 0, yMax: 100, widthPx: 560, heightPx: 320,
    series: [
      { name: 'train top-1 error', points: points((e) => percent(e.trainTop1Error)) },
      { name: 'val top-1 error', points: points((e) => percent(e.valTop1Error)) },
      { name: 'val top-5 error', points: points((e) => percent(e.valTop5Error)) },
    ] });
  const table = sortableTable('epochs-table',
    ['epoch', 'train loss', 'train top-1 error %', 'val loss', 'val top-1 error %', 'val top-5 error %', 'lr', 'img/s', 'wall s'].map((label) => ({ label })),
    data.epochs.map((e) => [e.epoch, e.trainLoss, percent(e.trainTop1Error), e.valLoss, percent(e.valTop1Error), percent(e.valTop5Error), e.learningRate, e.imagesPerS, e.wallS]));
  return section('training', 'Training', `<div class="charts">${loss}${error}</div>\n${table}`);
}

function evaluationSection(data: ReportData): string {
  if (data.evaluations.length === 0) return '';
  const table = sortableTable('evaluations-table',
    ['checkpoint', 'split', 'ten-crop', 'images', 'top-1 error %', 'top-5 error %'].map((label) => ({ label })),
    data.evaluations.map((e) => [e.checkpointPath.replace(/^.*[\\/]/, ''), e.split, e.tenCrop ? 'yes' : 'no', e.images, percent(e.top1Error), percent(e.top5Error)]));
  return section('evaluation', 'Evaluation', table);
}

function unitTable(pass: AnalysisPass, layer: PassLayer, link: LinkFn): string {
  const folder = pass.mosaicsDir === null || layer.mosaicFolder === null ? null : `${pass.mosaicsDir}/${layer.mosaicFolder}`;
  const unitCell = (unit: number): CellValue => folder === null || !layer.unitPages.has(unit)
    ? unit
    : { text: String(unit), href: link(`${folder}/unit-${String(unit).padStart(4, '0')}.html`) };
  const words = describeUnitStatistics(pass.run.topK);
  const columns = [{ label: 'unit' }, ...UNIT_TABLE_STATISTICS.map((key) => ({ label: words[key].label, legend: words[key].legend }))];
  return sortableTable(`units-${pass.run.runId}-${layer.layer.number}`, columns,
    layer.units.map((u) => [unitCell(u.unit), u.imagesSeen, u.firingRate, u.meanMax, u.stdMax, u.meanActivation, u.maxValue, u.dead ? 'dead' : '',
      u.topLabel === null ? null : formatClass(u.topClassName, u.topClass), u.classPurity]));
}

/** A layer's heading: its own name, with its kind, units and receptive field. */
function layerHeading(pass: AnalysisPass, layer: PassLayer): string {
  const l = layer.layer;
  const field = l.receptiveFieldPx[0] === l.receptiveFieldPx[1] ? `${l.receptiveFieldPx[0]}` : l.receptiveFieldPx.join('x');
  return `<h3 id="layer-${l.number}-${escapeHtml(pass.run.runId)}">${escapeHtml(l.name)}</h3>`
    + `<p class="note">${escapeHtml(l.kind)} layer ${l.number}, ${l.units} units, ${l.mapHeight}x${l.mapWidth} map, receptive field ${field} px</p>`;
}

/** The preferred inputs of the layer's first units, each with its activation against its top-1 image's. */
function preferredRow(layer: PassLayer, link: LinkFn): string {
  if (layer.preferred.length === 0) return '';
  const figures = layer.preferred.map((p) => figure(link(p.fieldPng ?? p.png), `unit ${p.unit}${p.ratio === null ? '' : `: ${p.ratio.toFixed(2)}x its top-1 activation`}`, 110)).join('');
  return `<p class="note">Preferred inputs of the first units (run-pipeline preferred-inputs, run ${escapeHtml(layer.preferred[0]!.runId)}): the image each unit's activation climbs to by gradient ascent, `
    + `regularised; the ratio is its activation over the unit's top-1 dataset image's, through the same forward graph.</p><div class="panels">${figures}</div>`;
}

function passSection(pass: AnalysisPass, link: LinkFn): string {
  const all = pass.layers.flatMap((l) => l.units);
  const dead = all.filter((u) => u.dead).length;
  const others = pass.otherMosaics.map((m) => ` <a href="${escapeHtml(link(`${m.dir}/index.html`))}">${escapeHtml(m.method)} mosaics</a>.`).join('');
  const head = `<p class="note">top-activations run ${escapeHtml(pass.run.runId)} of ${escapeHtml(pass.run.model)} over ${escapeHtml(pass.run.split)}: ${pass.run.imagesProcessed} images, `
    + `${pass.run.imagesSkipped} skipped; ${dead} of ${all.length} units never fired. `
    + (pass.mosaicsDir === null ? 'No mosaics drawn yet (run-pipeline mosaics).' : `<a href="${escapeHtml(link(`${pass.mosaicsDir}/index.html`))}">All mosaics</a>.`) + `${others}</p>`;
  const layers = pass.layers.map((layer) => {
    const folder = `${pass.mosaicsDir}/${layer.mosaicFolder}`;
    const filters = pass.mosaicsDir === null || !layer.hasFilters ? ''
      : figure(link(`${folder}/filters.png`), `${layer.layer.name} filters: the first layer's weights, each stretched on its own (grey is 0)`, 420);
    const sheet = pass.mosaicsDir === null || !layer.hasSheet ? ''
      : figure(link(`${folder}/sheet-01.png`), `${layer.layer.name}: top-9 projections (left) and image patches (right), first sheet`, 900);
    return `${layerHeading(pass, layer)}${filters}${sheet}${preferredRow(layer, link)}\n${unitTable(pass, layer, link)}`;
  });
  const legend = `<p class="note">What the columns mean:</p>${renderStatisticsLegend(pass.run.topK)}`;
  const weights = pass.run.checkpointPath === null ? '' : `, ${pass.run.checkpointPath.replace(/^.*[\\/]/, '')}`;
  return section(`units-${pass.run.runId}`, `Units (${pass.run.runId}${weights})`, head + legend + layers.join('\n'));
}

/** What each panel of an occlusion figure (Fig. 7) shows, by its letter. */
const OCCLUSION_PANELS: Readonly<Record<string, string>> = Object.freeze({
  a: '(a) the input', b: '(b) the strongest feature map\'s summed activation, by occluder position', c: '(c) the projection of its strongest activation',
  d: '(d) p(true class), by occluder position', e: '(e) the most probable class, by occluder position',
});

/** One labelled row per occluded image: what it is and how far occlusion lowers p(true class), then panels (a)-(e) side by side. */
function occlusionRows(exp: ExperimentRun, link: LinkFn): string {
  const panels = new Map<string, Array<{ letter: string; file: string }>>();
  for (const file of exp.pngFiles) {
    const m = /^(.*)-([a-e])-[^/]*\.png$/.exec(file);
    if (m !== null) panels.set(m[1]!, [...(panels.get(m[1]!) ?? []), { letter: m[2]!, file }]);
  }
  const summaries = exp.occlusion ?? [];
  return [...panels].map(([stem, files]) => {
    const summary = summaries.find((o) => o.imageKey === stem || o.path.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') === stem);
    const figures = files.sort((x, y) => x.letter.localeCompare(y.letter)).map((f) => figure(link(`${exp.outDir}/${f.file}`), OCCLUSION_PANELS[f.letter]!, 200)).join('');
    return `<div class="occlusion-row"><p class="occlusion-label">${escapeHtml(describeOcclusionImage(stem, summary))}</p><div class="panels">${figures}</div></div>`;
  }).join('\n');
}

/** "image 200000003, class vertical stripes (n90000002): p(true class) 0.93 unoccluded, 0.12 at the most damaging occluder position; strongest: conv5 unit 12". */
export function describeOcclusionImage(stem: string, summary: OcclusionSummary | undefined): string {
  if (summary === undefined) return `image ${stem}`;
  const what = summary.imageId === null ? summary.path.replace(/^.*[\\/]/, '') : `image ${summary.imageId}`;
  const cls = summary.className === null && summary.classKey === null ? (summary.label === null ? 'class unknown' : `class ${summary.label}`) : `class ${formatClass(summary.className, summary.classKey)}`;
  const p = (v: number | null) => (v === null ? '\u2013' : v.toFixed(2));
  const probs = summary.trueProb === null ? 'p(true class) unknown' : `p(true class) ${p(summary.trueProb)} unoccluded, ${p(summary.minTrueProb)} at the most damaging occluder position`;
  return `${what}, ${cls}: ${probs}; strongest feature map: ${summary.layer} unit ${summary.unit}`;
}

function experimentSection(exp: ExperimentRun, link: LinkFn): string {
  const figures = exp.occlusion !== null ? occlusionRows(exp, link) : exp.pngFiles.map((f) => figure(link(`${exp.outDir}/${f}`), `${exp.run.kind}: ${f}`, 420)).join('\n');
  return section(`${exp.run.kind}-${exp.run.id}`, `${exp.run.kind[0]!.toUpperCase()}${exp.run.kind.slice(1)} (${exp.run.id})`, figures || '<p class="note">no figures</p>');
}

/** The report's index.html; `explorerCommand` (run-pipeline serve --db ...) is named at the top as the way to browse the same store. */
export function renderReportPage(data: ReportData, link: LinkFn, explorerCommand?: string): string {
  const nav = [{ href: '#summary', text: 'run' }];
  if (data.epochs.length) nav.push({ href: '#training', text: 'training' });
  if (data.evaluations.length) nav.push({ href: '#evaluation', text: 'evaluation' });
  for (const p of data.passes) nav.push({ href: `#units-${p.run.runId}`, text: 'units & mosaics' });
  for (const e of data.experiments) nav.push({ href: `#${e.run.kind}-${e.run.id}`, text: e.run.kind });
  const explorer = explorerCommand === undefined ? '' : `<p class="note" id="explorer"><code>${escapeHtml(explorerCommand)}</code> opens the explorer on this store `
    + '(http://127.0.0.1:8080/; <code>./run-pipeline</code> in the checkout): every unit\'s page with its projections, the same unit in every run of the model, two runs side by side.</p>';
  const body = [
    explorer, summarySection(data), trainingSection(data), evaluationSection(data),
    ...data.passes.map((p) => passSection(p, link)),
    ...data.experiments.map((e) => experimentSection(e, link)),
  ].filter((s) => s !== '').join('\n');
  return htmlPage(`zfnet-pipeline report: ${data.run.id}`, nav, body);
}
