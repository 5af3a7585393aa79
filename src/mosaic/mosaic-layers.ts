/**
 * The layers a mosaics run draws: chosen among a top-activations run's
 * analysed layers (--layers: names, aliases, globs, numbers, ranges; default
 * all of them), each with a folder named after the layer, the geometry its
 * patches are cut with (the receptive field the run recorded) and the cell
 * size of its sheets. Pure.
 */
import { selectAnalysedLayers, type AnalysedLayer } from '../graph/analysed-layers.js';
import type { LayerGeometry } from '../model/geometry.js';
import { chooseCellPx } from './sheet-layout.js';

export interface MosaicLayer {
  layer: AnalysedLayer;
  /** The layer's own name, made safe as a folder name (`conv2`, `layer3.1`, `features.10`). */
  folder: string;
  geometry: LayerGeometry;
  cellPx: number;
}

/** A layer name as a folder name: characters other than letters, digits, `.`, `_` and `-` become `_`. */
export function folderOfLayer(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe === '' ? '_' : safe;
}

/**
 * The geometry of an analysed layer in the form the patch boxes use (one side for both axes).
 * @throws RangeError naming the layer when its receptive field is not square
 */
export function geometryOfLayer(layer: AnalysedLayer): LayerGeometry {
  const [rf, jump, offset] = [layer.receptiveFieldPx, layer.jumpPx, layer.offsetPx];
  if (rf[0] !== rf[1] || jump[0] !== jump[1] || offset[0] !== offset[1]) {
    throw new RangeError(`Layer ${layer.name} has a receptive field of ${rf[0]}x${rf[1]} px (jump ${jump.join('x')}, offset ${offset.join(',')}); mosaics draws square fields only`);
  }
  return {
    name: layer.name, kind: 'conv', outputShape: [layer.mapHeight, layer.mapWidth, layer.units], effectivePadding: [0, 0, 0, 0],
    receptiveFieldPx: rf[0], jumpPx: jump[0], offsetPx: offset[0],
  };
}

/**
 * The layers `spec` names among a run's layers (default: all of them), in forward order,
 * with distinct folders (a layer number is appended when two names map to one folder).
 * @param owner whose layers they are, for the message (`run <id>`)
 * @throws RangeError naming the part of `spec` that matches no layer of the run, with the layers there are
 */
export function planMosaicLayers(runLayers: readonly AnalysedLayer[], spec: string | undefined, owner: string, inputSizePx: number): MosaicLayer[] {
  const chosen = spec === undefined || spec.trim() === '' ? [...runLayers] : selectAnalysedLayers(runLayers, spec, owner);
  const folders = chosen.map((l) => folderOfLayer(l.name));
  return chosen.map((layer, i) => {
    const geometry = geometryOfLayer(layer);
    const clash = folders.indexOf(folders[i]!) !== i || folders.lastIndexOf(folders[i]!) !== i;
    return { layer, folder: clash ? `${folders[i]}-${layer.number}` : folders[i]!, geometry, cellPx: chooseCellPx(geometry.receptiveFieldPx!, inputSizePx) };
  });
}
