/**
 * The layers a pass can analyse: the graph's named layers whose output is a
 * map [C, H, W], each with the number it has in the store, its unit count,
 * map size and receptive field. Pure.
 *
 * Numbers (the `layer` column of unit_stats and top_activations):
 * - the project's own architectures keep conv k = k (schema 3's meaning), and
 *   only their conv layers are analysed;
 * - an imported model numbers every named layer by its 1-based position in
 *   `graph.layers` (a property of the model, so every run of it agrees), and
 *   any map layer can be analysed.
 *
 * Selection (`--layers`): comma-separated names, aliases, globs (`features.*`,
 * `layer?.1.conv2`), numbers and ranges (`1-5`); default the conv layers (the
 * output of every conv layer after its nonlinearity).
 */
import { inferGraphShapes } from './graph-shapes.js';
import type { GraphLayer, ModelGraph, Pair } from './model-graph.js';
import { computeReceptiveFields } from './receptive-fields.js';

export type LayerNumbering = 'conv-index' | 'position';

export interface AnalysedLayer {
  /** The store's layer number (see the header). */
  number: number;
  /** The model's own name (`conv1`, `features.3`, `layer3.1.conv2`). */
  name: string;
  /** The graph node whose output is examined. */
  node: string;
  kind: GraphLayer['kind'];
  aliases: string[];
  units: number;
  mapHeight: number;
  mapWidth: number;
  receptiveFieldPx: Pair;
  jumpPx: Pair;
  offsetPx: Pair;
}

/**
 * Every analysable map layer of `graph`, in forward order.
 * @throws RangeError when the graph's shapes or fields cannot be computed.
 */
export function listAnalysedLayers(graph: ModelGraph, numbering: LayerNumbering): AnalysedLayer[] {
  const shapes = inferGraphShapes(graph);
  const fields = computeReceptiveFields(graph);
  const found: AnalysedLayer[] = [];
  let convCount = 0;
  graph.layers.forEach((layer, index) => {
    if (layer.kind === 'conv') convCount += 1;
    const shape = shapes.get(layer.node)!;
    const field = fields.get(layer.node) ?? null;
    if (shape.length !== 3 || field === null) return;
    if (numbering === 'conv-index' && layer.kind !== 'conv') return;
    found.push({
      number: numbering === 'conv-index' ? convCount : index + 1,
      name: layer.name, node: layer.node, kind: layer.kind, aliases: layer.aliases,
      units: shape[0]!, mapHeight: shape[1]!, mapWidth: shape[2]!,
      receptiveFieldPx: field.receptiveFieldPx, jumpPx: field.jumpPx, offsetPx: field.offsetPx,
    });
  });
  return found;
}

/** A glob with `*` (any run of characters) and `?` (one character) as a whole-string RegExp. */
function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** What a selection reads of a layer: its number, name, aliases and kind. */
export interface SelectableLayer {
  number: number;
  name: string;
  aliases: readonly string[];
  kind: GraphLayer['kind'];
}

function matchPart<T extends SelectableLayer>(layers: readonly T[], part: string): T[] {
  const range = /^(\d+)\s*-\s*(\d+)$/.exec(part);
  if (range !== null) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    return lo <= hi ? layers.filter((l) => l.number >= lo && l.number <= hi) : [];
  }
  if (/^\d+$/.test(part)) return layers.filter((l) => l.number === Number(part));
  if (/[*?]/.test(part)) {
    const pattern = globToRegExp(part);
    return layers.filter((l) => pattern.test(l.name) || l.aliases.some((a) => pattern.test(a)));
  }
  return layers.filter((l) => l.name === part || l.aliases.includes(part));
}

/** The layers as a refusal lists them: `3:features.3 (conv2)`. */
export function listLayerChoices(layers: readonly SelectableLayer[]): string {
  return layers.map((l) => (l.aliases.length === 0 ? `${l.number}:${l.name}` : `${l.number}:${l.name} (${l.aliases.join(', ')})`)).join(', ');
}

/**
 * The layers a non-empty `spec` names (comma-separated names, aliases, globs,
 * numbers, ranges), in the order of `layers`, each once.
 * @throws RangeError naming the part that matches nothing, the option and the layers there are
 *   ("Expected layer names, globs or numbers of r18's map layers for --layers but received ...").
 */
export function matchLayers<T extends SelectableLayer>(layers: readonly T[], spec: string, what: { modelName: string; option: string; noun: string }): T[] {
  const chosen = new Set<T>();
  for (const part of spec.split(',').map((p) => p.trim())) {
    const matched = part === '' ? [] : matchPart(layers, part);
    if (matched.length === 0) {
      throw new RangeError(`Expected layer names, globs or numbers of ${what.modelName}'s ${what.noun} for ${what.option} but received ${JSON.stringify(part)}; its ${what.noun}: ${listLayerChoices(layers)}`);
    }
    for (const layer of matched) chosen.add(layer);
  }
  return layers.filter((l) => chosen.has(l));
}

/**
 * The layers `spec` names, in forward order, each once; without a spec the conv layers.
 * @throws RangeError naming the part that matches no map layer, with the layers there are.
 */
export function selectAnalysedLayers(layers: readonly AnalysedLayer[], spec: string | undefined, modelName: string): AnalysedLayer[] {
  if (spec === undefined || spec.trim() === '') {
    const convs = layers.filter((l) => l.kind === 'conv');
    if (convs.length === 0) throw new RangeError(`Model ${modelName} has no conv layers with maps; name the layers with --layers: ${listLayerChoices(layers)}`);
    return convs;
  }
  return matchLayers(layers, spec, { modelName, option: '--layers', noun: 'map layers' });
}

/**
 * The analysed layer numbered `number`.
 * @throws RangeError listing the numbers there are.
 */
export function findAnalysedLayer(layers: readonly AnalysedLayer[], number: number): AnalysedLayer {
  const found = layers.find((l) => l.number === number);
  if (found === undefined) throw new RangeError(`Expected one of the layer numbers ${layers.map((l) => l.number).join(', ')} but received ${number}`);
  return found;
}
