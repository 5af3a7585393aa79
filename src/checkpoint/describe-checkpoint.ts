/**
 * What `run-pipeline info` reports about a checkpoint: architecture,
 * parameter counts, per-layer output shapes and receptive fields, training
 * state. Pure: takes validated CheckpointContents, returns data and text.
 */
import { describeMean } from '../data/mean-image.js';
import { computeGeometry } from '../model/geometry.js';
import type { LayerSpec } from '../model/spec.js';
import type { CheckpointContents, TrainingState } from './checkpoint-file.js';

export interface LayerReport {
  name: string;
  kind: LayerSpec['kind'];
  /** e.g. "96 7x7 /2 pad [1,1,1,1]"; pools show their effective (ceil-mode) padding. */
  spec: string;
  /** Per image: [H, W, C] or [units]. */
  outputShape: number[];
  parameters: number;
  receptiveFieldPx: number | null;
  jumpPx: number | null;
}

export interface CheckpointReport {
  path: string;
  sizeBytes: number;
  sha256: string;
  model: string;
  inputSizePx: number;
  numClasses: number;
  classIds: string[] | null;
  parameters: number;
  layers: LayerReport[];
  trainingState: TrainingState | null;
  /** The mean image it carries (describeMean), or why there is none. */
  mean: string;
}

/** One line of numbers; `padding` is the effective one (ceil-mode extra included). */
function describeLayer(layer: LayerSpec, padding: readonly number[]): string {
  const pad = `pad [${padding.join(',')}]`;
  switch (layer.kind) {
    case 'conv':
      return `${layer.filters} ${layer.kernelPx}x${layer.kernelPx} /${layer.stride} ${pad}`;
    case 'maxpool':
      return `max ${layer.windowPx}x${layer.windowPx} /${layer.stride}${layer.ceilMode ? ' ceil' : ''} ${pad}`;
    case 'lrn':
      return `size ${layer.size} k ${layer.k} alpha ${layer.alpha} beta ${layer.beta}`;
    case 'dense':
      return `${layer.units}${layer.relu ? ' relu' : ''}${layer.dropout > 0 ? ` dropout ${layer.dropout}` : ''}`;
  }
}

/** Builds the report of a checkpoint read by readCheckpointFile. */
export function describeCheckpoint(path: string, contents: CheckpointContents): CheckpointReport {
  const { config } = contents;
  const geometry = computeGeometry(config);
  const countOf = (name: string): number => contents.tensors.get(name)?.data.length ?? 0;
  const layers = config.layers.map((layer, i): LayerReport => ({
    name: layer.name,
    kind: layer.kind,
    spec: describeLayer(layer, geometry[i]!.effectivePadding),
    outputShape: geometry[i]!.outputShape,
    parameters: countOf(`${layer.name}.weight`) + countOf(`${layer.name}.bias`),
    receptiveFieldPx: geometry[i]!.receptiveFieldPx,
    jumpPx: geometry[i]!.jumpPx,
  }));
  return {
    path,
    sizeBytes: contents.sizeBytes,
    sha256: contents.sha256,
    model: config.name,
    inputSizePx: config.inputSizePx,
    numClasses: config.numClasses,
    classIds: config.classIds,
    parameters: layers.reduce((sum, l) => sum + l.parameters, 0),
    layers,
    trainingState: contents.trainingState,
    mean: contents.mean === null ? 'none recorded (written before checkpoints carried their mean image)' : describeMean(contents.mean).replace(/^mean image: the checkpoint's /, ''),
  };
}

const formatCount = (n: number): string => n.toLocaleString('en-US');

function formatClassIds(ids: string[] | null): string {
  if (ids === null) return 'none recorded';
  const shown = ids.slice(0, 5).join(', ');
  return ids.length > 5 ? `${shown}, ... (${ids.length})` : shown;
}

function formatTraining(state: TrainingState | null): string {
  if (state === null) return 'none (fresh initialisation)';
  const { epoch, step, metrics, ...rest } = state;
  const parts: string[] = [];
  if (epoch !== undefined) parts.push(`epoch ${epoch}`);
  if (step !== undefined) parts.push(`step ${step}`);
  if (metrics !== undefined) parts.push(`metrics ${Object.entries(metrics).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (Object.keys(rest).length > 0) parts.push(JSON.stringify(rest));
  return parts.join(', ');
}

/** The human-readable table `info` prints. */
export function formatCheckpointReport(report: CheckpointReport): string {
  const lines = [
    `checkpoint  ${report.path} (${(report.sizeBytes / 1e6).toFixed(1)} MB, sha256 ${report.sha256})`,
    `model       ${report.model}: ${report.inputSizePx}x${report.inputSizePx}x3 input, ${report.numClasses} classes, ${formatCount(report.parameters)} parameters`,
    `class ids   ${formatClassIds(report.classIds)}`,
    `training    ${formatTraining(report.trainingState)}`,
    `mean image  ${report.mean}`,
    '',
    `${'layer'.padEnd(7)}${'kind'.padEnd(9)}${'spec'.padEnd(36)}${'output'.padEnd(14)}${'params'.padStart(12)}${'RF px'.padStart(8)}${'jump'.padStart(6)}`,
  ];
  for (const l of report.layers) {
    lines.push(
      `${l.name.padEnd(7)}${l.kind.padEnd(9)}${l.spec.padEnd(36)}${l.outputShape.join('x').padEnd(14)}` +
      `${(l.parameters > 0 ? formatCount(l.parameters) : '-').padStart(12)}${String(l.receptiveFieldPx ?? '-').padStart(8)}${String(l.jumpPx ?? '-').padStart(6)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
