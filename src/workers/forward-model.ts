/**
 * What the executors need to know of a model to check and route a request:
 * which layer numbers a top-activations request may name (and which graph
 * layer each number is), and which taps exist. One description for the
 * project's architectures and for imported graphs, so requests cross threads
 * as plain numbers and names and are checked the same way on every engine.
 */
import { listAnalysedLayers } from '../graph/analysed-layers.js';
import type { ModelGraph } from '../graph/model-graph.js';
import { TAP_NAMES, type ModelConfig } from '../model/spec.js';

export interface ForwardModel {
  name: string;
  /** Store layer number -> the graph layer name a top-activations request reduces. */
  topLayers: ReadonlyMap<number, string>;
  /** Every name a taps request may ask for. */
  tapNames: readonly string[];
}

/** The project's architectures: conv k is layer k, taps are the project's tap names. */
export function describeConfigForward(config: ModelConfig): ForwardModel {
  const convs = config.layers.filter((layer) => layer.kind === 'conv');
  return { name: config.name, topLayers: new Map(convs.map((layer, i) => [i + 1, layer.name])), tapNames: TAP_NAMES };
}

/** An imported graph: map layers numbered by position (src/graph/analysed-layers.ts), taps by every layer name and alias. */
export function describeGraphForward(graph: ModelGraph): ForwardModel {
  return {
    name: graph.name,
    topLayers: new Map(listAnalysedLayers(graph, 'position').map((layer) => [layer.number, layer.name])),
    tapNames: graph.layers.flatMap((layer) => [layer.name, ...layer.aliases]),
  };
}
