/**
 * Which layers the image experiments read, on any graph, by the layers' own
 * names (`conv5`, `features.10`, `layer4.1`). The defaults stand for the
 * paper's choices on every model:
 *
 * - the last conv layer: the paper's layer 5 (occlusion's feature map,
 *   correspondence's first layer); conv5 on the project's architectures;
 * - the first conv layer: the paper's layer 1 (invariance); conv1;
 * - the layer before the logits: the paper's layer 7 (invariance,
 *   correspondence); fc7 on the project's architectures, `avgpool` on a
 *   ResNet, `classifier.4` on torchvision's AlexNet.
 *
 * Options name layers by name, alias or the number `info` shows. Pure.
 */
import { inferGraphShapes } from '../graph/graph-shapes.js';
import { matchLayers, type SelectableLayer } from '../graph/analysed-layers.js';
import type { GraphLayer, ModelGraph } from '../graph/model-graph.js';
import { UsageError } from '../errors.js';

export type DefaultLayer = 'first-conv' | 'last-conv' | 'before-logits';

/** Every layer of the graph, numbered by position (as `info --model` lists them). */
function numberLayers(graph: ModelGraph): Array<GraphLayer & SelectableLayer> {
  return graph.layers.map((layer, i) => ({ ...layer, number: i + 1 }));
}

/**
 * The name of the default layer `which` of `graph`.
 * @throws UsageError when the graph has no such layer (no conv layer, nothing before its logits).
 */
export function findDefaultLayer(graph: ModelGraph, which: DefaultLayer): string {
  const layers = graph.layers;
  const logits = layers.findIndex((l) => l.kind === 'logits');
  const found = which === 'first-conv' ? layers.find((l) => l.kind === 'conv')
    : which === 'last-conv' ? layers.findLast((l) => l.kind === 'conv')
      : layers.slice(0, logits < 0 ? layers.length : logits).findLast((l) => l.kind !== 'probs');
  if (found === undefined) throw new UsageError(`Model ${graph.name} has no ${which === 'before-logits' ? 'layer before its logits' : 'conv layer'}; name the layers to use`);
  return found.name;
}

/**
 * The layers `spec` names (names, aliases, numbers; comma-separated), in the
 * order given, or the defaults when spec is undefined. `count` layers exactly
 * when given; `maps` demands [C, H, W] layers.
 * @throws UsageError naming the option and the part that matches no layer (listing the layers), a wrong count, or a layer that is not a map.
 */
export function resolveExperimentLayers(graph: ModelGraph, spec: string | undefined, defaults: readonly DefaultLayer[], what: { option: string; count?: number; maps?: boolean }): string[] {
  if (spec === undefined) return defaults.map((which) => findDefaultLayer(graph, which));
  const numbered = numberLayers(graph);
  const parts = spec.split(',').map((p) => p.trim());
  let names: string[];
  try {
    names = parts.map((part) => {
      const [layer, ...more] = matchLayers(numbered, part, { modelName: graph.name, option: what.option, noun: 'layers' });
      if (more.length > 0) throw new RangeError(`Expected one layer per name for ${what.option} but ${JSON.stringify(part)} names ${[layer!, ...more].map((l) => l.name).join(', ')}`);
      return layer!.name;
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (what.count !== undefined && names.length !== what.count) throw new UsageError(`Expected ${what.count} layers for ${what.option} but received ${names.length} (${JSON.stringify(spec)})`);
  if (what.maps === true) {
    const shapes = inferGraphShapes(graph);
    for (const name of names) {
      const shape = shapes.get(graph.layers.find((l) => l.name === name)!.node)!;
      if (shape.length !== 3) throw new UsageError(`Expected a layer with [C, H, W] maps for ${what.option} but received ${name} of shape [${shape.join(', ')}]`);
    }
  }
  return names;
}
