/**
 * An image's page: the crop the model saw, the units that keep it in their
 * top-k, its strongest units per layer and its occlusion map (both rendered
 * on demand). Pure.
 */
import { escapeHtml, section, sortableTable } from '../report/html.js';
import type { ImageTopEntry, ServeImage, ServeRunRow } from '../store/serve-queries.js';
import { displayRank } from '../vocabulary.js';
import { explorerPage, formatClass, formatStat, layerLabel, link, onDemandBlock, urls } from './page-kit.js';

/** What the activations render measures: per layer the strongest units of the image. */
export interface ImageActivations {
  layers: Array<{ layer: number; units: Array<{ unit: number; value: number }>; unitCount: number; firing: number }>;
  prediction: { index: number; name: string; prob: number } | null;
}

/** What the occlusion render measures. */
export interface ImageOcclusion {
  layer: number;
  unit: number;
  /** 'true-class-prob' (Fig. 7 (d)) when the label is known, else 'feature-sum' (Fig. 7 (b)). */
  map: 'true-class-prob' | 'feature-sum';
  trueClass: string | null;
  unoccludedTrueProb: number | null;
  minTrueProb: number | null;
  sizePx: number;
  stridePx: number;
}

export interface ImagePageData {
  run: ServeRunRow;
  image: ServeImage;
  inTop: ImageTopEntry[];
  neighbours: { previous: number | null; next: number | null };
  activations: string | null;
  occlusion: string | null;
}

/** The strongest units per layer, each linking to its unit page, as bars scaled to the layer's strongest. */
export function renderActivationsFragment(run: Pick<ServeRunRow, 'id' | 'layerNames'>, result: ImageActivations): string {
  const runId = run.id;
  const prediction = result.prediction === null ? '' : `<p>model's top class: <b>${escapeHtml(result.prediction.name)}</b> (p = ${formatStat(result.prediction.prob)})</p>`;
  const layers = result.layers.map((l) => {
    const top = l.units[0]?.value ?? 0;
    const rows = l.units.map((u) => `<tr><td>${link(urls.unit(runId, l.layer, u.unit), `unit ${u.unit}`)}</td><td class="num">${formatStat(u.value)}</td>`
      + `<td><span class="bar" style="width:${top > 0 ? Math.round((160 * u.value) / top) : 0}px"></span></td></tr>`).join('');
    return `<div class="cell"><h3>${escapeHtml(layerLabel(run, l.layer))}</h3><p class="note">${l.firing} of ${l.unitCount} units fire on this image</p>`
      + `<table class="activations" data-layer="${l.layer}"><thead><tr><th>unit</th><th>spatial max</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
  }).join('');
  return `${prediction}<div id="activation-layers">${layers}</div>`;
}

/** The occlusion map and what it shows. */
export function renderOcclusionFragment(run: Pick<ServeRunRow, 'id' | 'layerNames'>, imageId: number, result: ImageOcclusion): string {
  const runId = run.id;
  const what = result.map === 'true-class-prob'
    ? `p(${escapeHtml(result.trueClass ?? 'true class')}) with a square of the mean image, ${result.sizePx} px, over each position (stride ${result.stridePx} px): `
      + `${formatStat(result.unoccludedTrueProb)} unoccluded, lowest ${formatStat(result.minTrueProb)}`
    : `summed activation of ${escapeHtml(layerLabel(run, result.layer))} unit ${result.unit} with a square of ${result.sizePx} px over each position (the image has no label)`;
  return `<figure><img id="occlusion-map" src="${escapeHtml(urls.occlusionPng(runId, imageId))}" alt="occlusion map"><figcaption>${what}; `
    + `${link(urls.unit(runId, result.layer, result.unit), `${layerLabel(run, result.layer)} unit ${result.unit}`)} is the strongest feature map on the unoccluded image.</figcaption></figure>`;
}

/** The whole image page. */
export function renderImagePage(data: ImagePageData): string {
  const { run, image } = data;
  const step = (id: number | null, text: string, rel: string) => (id === null ? '' : link(urls.image(run.id, id), text, ` rel="${rel}"`));
  const nav = `<p class="pager">${step(data.neighbours.previous, '\u2190 previous image', 'prev')} ${step(data.neighbours.next, 'next image \u2192', 'next')}</p>`;
  const head = `<figure><img id="image" src="${escapeHtml(urls.imagePng(run.id, image.imageId))}" alt="image ${image.imageId}" width="224">`
    + `<figcaption>image ${image.imageId}: ${escapeHtml(image.relPath)}, ${escapeHtml(image.split)}, class ${escapeHtml(image.label === null ? 'unknown' : formatClass(image.className, image.classKey))}; `
    + 'the centre crop the model sees</figcaption></figure>';
  const inTop = data.inTop.length === 0 ? `<p class="note">No unit of this run keeps image ${image.imageId} in its top-${run.topK ?? 'k'}.</p>`
    : sortableTable('in-top', ['layer', 'unit', 'rank', 'value'].map((label) => ({ label })),
      data.inTop.map((e) => [layerLabel(run, e.layer), { text: String(e.unit), href: urls.unit(run.id, e.layer, e.unit) }, displayRank(e.rank), e.value]));
  const activations = onDemandBlock('activations', urls.imageApi(run.id, image.imageId, 'activations'), urls.imageFragment(run.id, image.imageId, 'activations'),
    data.activations, 'activations not measured yet: asking the server to run the model on this image');
  const occlusion = onDemandBlock('occlusion', urls.imageApi(run.id, image.imageId, 'occlusion'), urls.imageFragment(run.id, image.imageId, 'occlusion'),
    data.occlusion, 'occlusion map not rendered yet: asking the server to sweep the occluder');
  const body = [
    nav, head,
    section('in-top-k', `Units with this image in their top-${run.topK ?? 'k'}`, inTop),
    section('activations-section', 'Strongest units per layer', activations),
    section('occlusion-section', 'Occlusion', occlusion),
  ].join('\n');
  return explorerPage(`image ${image.imageId} in ${run.id}`, [{ href: urls.run(run.id), text: run.id }, { href: urls.image(run.id, image.imageId), text: `image ${image.imageId}` }], body);
}
