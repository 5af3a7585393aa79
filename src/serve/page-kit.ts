/**
 * What every explorer page shares: its stable URLs, layer labels, number
 * formats, the page frame (the static report's htmlPage, with a few extra
 * styles) and the on-demand block that asks the server for a render, shows
 * its progress and swaps in the result. Pure.
 */
import { escapeHtml, formatNumber, htmlPage } from '../report/html.js';
import type { ServeRunRow } from '../store/serve-queries.js';

/**
 * The label of a stored layer number of a run: the layer's own name as the
 * run recorded it (`conv2`, an imported model's `features.3` or `layer3.1`).
 * Runs from before layers had names analysed the project's conv layers, conv k
 * as layer k; this is the one place that says so.
 */
export function layerLabel(run: Pick<ServeRunRow, 'layerNames'>, layer: number): string {
  return run.layerNames.get(layer) ?? `conv${layer}`;
}

const enc = encodeURIComponent;

/** Stable URLs of every page, file and API of the explorer. */
export const urls = Object.freeze({
  runs: () => '/',
  run: (run: string) => `/runs/${enc(run)}`,
  layer: (run: string, layer: number, query = '') => `/runs/${enc(run)}/layers/${layer}${query}`,
  unit: (run: string, layer: number, unit: number) => `/runs/${enc(run)}/layers/${layer}/units/${unit}`,
  patch: (run: string, layer: number, unit: number, rank: number) => `/runs/${enc(run)}/layers/${layer}/units/${unit}/patches/${rank}.png`,
  projection: (run: string, layer: number, unit: number, rank: number) => `/runs/${enc(run)}/layers/${layer}/units/${unit}/projections/${rank}.png`,
  projectionsFragment: (run: string, layer: number, unit: number) => `/runs/${enc(run)}/layers/${layer}/units/${unit}/projections.html`,
  projectionsApi: (run: string, layer: number, unit: number) => `/api/runs/${enc(run)}/layers/${layer}/units/${unit}/projections`,
  preferredPng: (run: string, layer: number, unit: number) => `/runs/${enc(run)}/layers/${layer}/units/${unit}/preferred.png`,
  preferredFragment: (run: string, layer: number, unit: number) => `/runs/${enc(run)}/layers/${layer}/units/${unit}/preferred.html`,
  preferredApi: (run: string, layer: number, unit: number) => `/api/runs/${enc(run)}/layers/${layer}/units/${unit}/preferred`,
  image: (run: string, image: number) => `/runs/${enc(run)}/images/${image}`,
  imagePng: (run: string, image: number) => `/runs/${enc(run)}/images/${image}/image.png`,
  occlusionPng: (run: string, image: number) => `/runs/${enc(run)}/images/${image}/occlusion.png`,
  imageFragment: (run: string, image: number, kind: 'occlusion' | 'activations') => `/runs/${enc(run)}/images/${image}/${kind}.html`,
  imageApi: (run: string, image: number, kind: 'occlusion' | 'activations') => `/api/runs/${enc(run)}/images/${image}/${kind}`,
  compare: (a: string, b: string, layer?: number) => `/compare?a=${enc(a)}&b=${enc(b)}${layer === undefined ? '' : `&layer=${layer}`}`,
});

/** A number for a table cell or a stat line (an en dash when absent). */
export function formatStat(value: number | null | undefined, digits?: number): string {
  return value === null || value === undefined ? '\u2013' : formatNumber(value, digits);
}

/** A fraction 0..1 as a percentage with one decimal. */
export function formatPercent(value: number | null | undefined): string {
  return value === null || value === undefined ? '\u2013' : `${(value * 100).toFixed(1)}%`;
}

/** Class names as every view writes them (src/vocabulary.ts). */
export { formatClass } from '../vocabulary.js';

export function link(href: string, text: string, attributes = ''): string {
  return `<a href="${escapeHtml(href)}"${attributes}>${escapeHtml(text)}</a>`;
}

const EXTRA_STYLE = `<style>.grid{display:grid;grid-template-columns:repeat(3,auto);gap:3px;justify-content:start}
.grid img,.thumb{width:96px;height:96px;image-rendering:pixelated;object-fit:contain;background:#333}
.cell{display:inline-block;vertical-align:top;margin:0 24px 12px 0}.cell figcaption{max-width:300px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:24px}.bar{background:#4a7ab5;height:12px;display:inline-block}
.progress{color:#555;font-style:italic}form.filters label{margin-right:12px}.pager a{margin:0 6px}
.ondemand{min-height:40px}table.units th a{color:inherit;text-decoration:none}</style>`;

/**
 * Asks for each on-demand block's render (POST), polls its status (GET)
 * while it is queued or running, and swaps in the rendered fragment; a failed
 * render shows its reason and a retry button. Plain script, no network but this server.
 */
export const ON_DEMAND_SCRIPT = `document.querySelectorAll('[data-render]').forEach(function (box) {
  if (box.dataset.state === 'done') return;
  var note = box.querySelector('.progress');
  function say(text) { note.textContent = text; }
  function ask(method) {
    fetch(box.dataset.render, { method: method }).then(function (r) { return r.json(); }).then(function (s) {
      box.dataset.state = s.state;
      if (s.state === 'done') {
        return fetch(box.dataset.fragment).then(function (r) { return r.text(); }).then(function (html) { box.innerHTML = html; box.dataset.state = 'done'; });
      }
      if (s.state === 'failed' || s.state === 'refused') {
        say((s.state === 'failed' ? 'rendering failed: ' : 'not queued: ') + s.error + ' ');
        var again = document.createElement('button'); again.textContent = 'try again';
        again.onclick = function () { again.remove(); say('asking again'); ask('POST'); };
        note.appendChild(again); return;
      }
      if (s.state === 'absent') return ask('POST');
      say(s.state === 'queued' ? 'queued (' + s.ahead + ' ahead)' : s.total === 0 ? 'rendering: loading the model' : 'rendering: ' + s.done + ' of ' + s.total + ' done');
      setTimeout(function () { ask('GET'); }, 300);
    }).catch(function (e) { say('cannot reach the server: ' + e); });
  }
  ask('POST');
});`;

/**
 * A block whose content is rendered on demand: `content` when it is cached,
 * else a progress line that the page's script fills while it waits.
 */
export function onDemandBlock(id: string, apiUrl: string, fragmentUrl: string, content: string | null, waitingText: string): string {
  const state = content === null ? 'pending' : 'done';
  const inner = content ?? `<p class="progress">${escapeHtml(waitingText)}</p>`;
  return `<div class="ondemand" id="${escapeHtml(id)}" data-state="${state}" data-render="${escapeHtml(apiUrl)}" data-fragment="${escapeHtml(fragmentUrl)}">${inner}</div>`;
}

/** A complete explorer page: the report's frame, a breadcrumb trail, the extra styles and the on-demand script. */
export function explorerPage(title: string, trail: Array<{ href: string; text: string }>, body: string): string {
  return htmlPage(title, [{ href: urls.runs(), text: 'runs' }, ...trail], `${EXTRA_STYLE}\n${body}\n<script>${ON_DEMAND_SCRIPT}</script>`);
}
