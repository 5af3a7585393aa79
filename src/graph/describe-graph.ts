/**
 * What `info` shows about a graph model: every analysable layer with its
 * kind, output shape, unit count and receptive field (the centre cell's,
 * clipped at the image border). Pure: data in, data and text out.
 */
import { inferGraphShapes } from './graph-shapes.js';
import { findNode, type GraphLayer, type ModelGraph } from './model-graph.js';
import { computeReceptiveFields, receptiveFieldBoxAt } from './receptive-fields.js';

export interface GraphLayerReport {
  /** 1-based position in the graph's layers: an imported model's layer number in the store and in `--layer N`, `--layers 3-7`. */
  number: number;
  name: string;
  aliases: string[];
  kind: GraphLayer['kind'];
  /** The node whose output is examined, and its op. */
  node: string;
  op: string;
  /** N-less output shape: [C, H, W] or [F]. */
  outputShape: number[];
  /** Channels of a map, features of a flat output. */
  units: number;
  /** Side of one cell's field (square fields) as [rows, cols]; null for flat outputs. */
  receptiveFieldPx: [number, number] | null;
  /** The centre cell's field clipped to the image, [rows, cols]. */
  clippedFieldPx: [number, number] | null;
  jumpPx: [number, number] | null;
}

export interface GraphReport {
  name: string;
  inputSizePx: number;
  inputChannels: number;
  parameters: number;
  layers: GraphLayerReport[];
}

/** @throws RangeError when the graph's shapes or fields cannot be computed. */
export function describeGraph(graph: ModelGraph): GraphReport {
  const shapes = inferGraphShapes(graph);
  const fields = computeReceptiveFields(graph);
  const size = graph.input.sizePx;
  const layers = graph.layers.map((layer, index): GraphLayerReport => {
    const shape = shapes.get(layer.node)!;
    const field = fields.get(layer.node) ?? null;
    const box = field === null ? null : receptiveFieldBoxAt(field, Math.floor((shape[1]! - 1) / 2), Math.floor((shape[2]! - 1) / 2), size);
    return {
      number: index + 1, name: layer.name, aliases: layer.aliases, kind: layer.kind, node: layer.node, op: findNode(graph, layer.node).op.op,
      outputShape: shape, units: shape[0]!,
      receptiveFieldPx: field?.receptiveFieldPx ?? null, clippedFieldPx: box === null ? null : [box.heightPx, box.widthPx], jumpPx: field?.jumpPx ?? null,
    };
  });
  const parameters = Object.entries(graph.weightShapes)
    .filter(([name]) => !/running_(mean|var)$/.test(name))
    .reduce((sum, [, s]) => sum + s.reduce((a, b) => a * b, 1), 0);
  return { name: graph.name, inputSizePx: size, inputChannels: graph.input.channels, parameters, layers };
}

const side = (pair: [number, number] | null): string => (pair === null ? '-' : pair[0] === pair[1] ? String(pair[0]) : pair.join('x'));

/** The table `info` prints. */
export function formatGraphReport(report: GraphReport): string {
  const width = Math.max(8, ...report.layers.map((l) => l.name.length + 2));
  const numberWidth = Math.max(2, String(report.layers.length).length) + 2;
  const lines = [
    `model       ${report.name}: ${report.inputSizePx}x${report.inputSizePx}x${report.inputChannels} input, ${report.parameters.toLocaleString('en-US')} parameters, ${report.layers.length} layers`,
    '',
    `${'#'.padStart(numberWidth - 2).padEnd(numberWidth)}${'layer'.padEnd(width)}${'kind'.padEnd(8)}${'op'.padEnd(15)}${'output'.padEnd(14)}${'units'.padStart(7)}${'RF px'.padStart(8)}${'in img'.padStart(8)}${'jump'.padStart(6)}  aliases`,
  ];
  for (const l of report.layers) {
    lines.push(`${String(l.number).padStart(numberWidth - 2).padEnd(numberWidth)}${l.name.padEnd(width)}${l.kind.padEnd(8)}${l.op.padEnd(15)}${l.outputShape.join('x').padEnd(14)}${String(l.units).padStart(7)}` +
      `${side(l.receptiveFieldPx).padStart(8)}${side(l.clippedFieldPx).padStart(8)}${side(l.jumpPx).padStart(6)}  ${l.aliases.join(', ')}`.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}
