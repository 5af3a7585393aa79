/**
 * The report's index.html from collected data. Pure: paths in the data are
 * turned into links relative to the report's folder by the caller's `link`.
 */
import { lineChartSvg } from '../plot/line-chart.js';
import type { AnalysisPass, ExperimentRun, PassLayer, ReportData } from './collect-report.js';
import { escapeHtml, figure, htmlPage, section, sortableTable, type CellValue } from './html.js';

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
      { name: 'train top-1', points: points((e) => percent(e.trainTop1Error)) },
      { name: 'val top-1', points: points((e) => percent(e.valTop1Error)) },
      { name: 'val top-5', points: points((e) => percent(e.valTop5Error)) },
    ] });
  const table = sortableTable('epochs-table',
    ['epoch', 'train loss', 'train top-1 %', 'val loss', 'val top-1 %', 'val top-5 %', 'lr', 'img/s', 'wall s'].map((label) => ({ label })),
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
  return sortableTable(`units-${pass.run.runId}-${layer.layer.number}`,
    ['unit', 'images', 'firing rate', 'mean max', 'std max', 'mean activation', 'max', 'dead', 'top class', 'class purity'].map((label) => ({ label })),
    layer.units.map((u) => [unitCell(u.unit), u.imagesSeen, u.firingRate, u.meanMax, u.stdMax, u.meanActivation, u.maxValue, u.dead ? 'dead' : '', u.topClass, u.classPurity]));
}

/** A layer's heading: its own name, with its kind, units and receptive field. */
function layerHeading(pass: AnalysisPass, layer: PassLayer): string {
  const l = layer.layer;
  const field = l.receptiveFieldPx[0] === l.receptiveFieldPx[1] ? `${l.receptiveFieldPx[0]}` : l.receptiveFieldPx.join('x');
  return `<h3 id="layer-${l.number}-${escapeHtml(pass.run.runId)}">${escapeHtml(l.name)}</h3>`
    + `<p class="note">${escapeHtml(l.kind)} layer ${l.number}, ${l.units} units, ${l.mapHeight}x${l.mapWidth} map, receptive field ${field} px</p>`;
}

function passSection(pass: AnalysisPass, link: LinkFn): string {
  const all = pass.layers.flatMap((l) => l.units);
  const dead = all.filter((u) => u.dead).length;
  const others = pass.otherMosaics.map((m) => ` <a href="${escapeHtml(link(`${m.dir}/index.html`))}">${escapeHtml(m.method)} mosaics</a>.`).join('');
  const head = `<p class="note">top-activations run ${escapeHtml(pass.run.runId)} of ${escapeHtml(pass.run.model)} over ${escapeHtml(pass.run.split)}: ${pass.run.imagesProcessed} images, `
    + `${pass.run.imagesSkipped} skipped; ${dead} of ${all.length} units never fired. `
    + (pass.mosaicsDir === null ? 'No mosaics drawn yet (run-pipeline mosaics).' : `<a href="${escapeHtml(link(`${pass.mosaicsDir}/index.html`))}">All mosaics</a>.`) + `${others}</p>`;
  const layers = pass.layers.map((layer) => {
    const sheet = pass.mosaicsDir === null || !layer.hasSheet ? ''
      : figure(link(`${pass.mosaicsDir}/${layer.mosaicFolder}/sheet-01.png`), `${layer.layer.name}: top-9 projections (left) and image patches (right), first sheet`, 900);
    return `${layerHeading(pass, layer)}${sheet}\n${unitTable(pass, layer, link)}`;
  });
  return section(`units-${pass.run.runId}`, `Units (${pass.run.runId})`, head + layers.join('\n'));
}

function experimentSection(exp: ExperimentRun, link: LinkFn): string {
  const figures = exp.pngFiles.map((f) => figure(link(`${exp.outDir}/${f}`), `${exp.run.kind}: ${f}`, 420)).join('\n');
  return section(`${exp.run.kind}-${exp.run.id}`, `${exp.run.kind[0]!.toUpperCase()}${exp.run.kind.slice(1)} (${exp.run.id})`, figures || '<p class="note">no figures</p>');
}

/** The report's index.html. */
export function renderReportPage(data: ReportData, link: LinkFn): string {
  const nav = [{ href: '#summary', text: 'run' }];
  if (data.epochs.length) nav.push({ href: '#training', text: 'training' });
  if (data.evaluations.length) nav.push({ href: '#evaluation', text: 'evaluation' });
  for (const p of data.passes) nav.push({ href: `#units-${p.run.runId}`, text: 'units & mosaics' });
  for (const e of data.experiments) nav.push({ href: `#${e.run.kind}-${e.run.id}`, text: e.run.kind });
  const body = [
    summarySection(data), trainingSection(data), evaluationSection(data),
    ...data.passes.map((p) => passSection(p, link)),
    ...data.experiments.map((e) => experimentSection(e, link)),
  ].filter((s) => s !== '').join('\n');
  return htmlPage(`zfnet-pipeline report: ${data.run.id}`, nav, body);
}
