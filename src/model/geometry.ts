/**
 * Layer geometry derived from a ModelConfig: output sizes, the effective
 * padding of ceil-mode pools, parameter shapes and receptive fields. Pure.
 */
import type { LayerSpec, ModelConfig, Padding4 } from './spec.js';

/**
 * Value that ceil-mode padding cells hold: never wins a max over real cells,
 * and stays finite so switch and mask arithmetic cannot produce NaN. Here,
 * with the padding it fills, so the graph builders read it without loading
 * tfjs (network.ts re-exports it).
 */
export const POOL_PAD_VALUE = -1e30;

export interface LayerGeometry {
  name: string;
  kind: LayerSpec['kind'];
  /** Output shape of this layer for one image: [H, W, C] for spatial layers, [C] for dense. */
  outputShape: number[];
  /** Padding actually applied, ceil-mode extra included: [top, bottom, left, right]. */
  effectivePadding: Padding4;
  /** Receptive field side in input pixels (spatial layers only). */
  receptiveFieldPx: number | null;
  /** Distance in input pixels between neighbouring output cells (spatial layers only). */
  jumpPx: number | null;
  /** Input-pixel coordinate of the first receptive-field pixel of output cell 0 (may be negative). */
  offsetPx: number | null;
}

/** Output size of a window operation along one axis. */
export function windowOutputSize(inputPx: number, windowPx: number, stride: number, padBefore: number, padAfter: number): number {
  return Math.floor((inputPx + padBefore + padAfter - windowPx) / stride) + 1;
}

/**
 * Extra bottom/right padding that turns floor-mode pooling into ceil mode
 * (PyTorch semantics: the last window must start inside the input or left padding).
 */
export function ceilModeExtraPx(inputPx: number, windowPx: number, stride: number, padBefore: number, padAfter: number): number {
  const span = inputPx + padBefore + padAfter - windowPx;
  let outputPx = Math.ceil(span / stride) + 1;
  if ((outputPx - 1) * stride >= inputPx + padBefore) outputPx -= 1;
  return Math.max(0, (outputPx - 1) * stride + windowPx - (inputPx + padBefore + padAfter));
}

/**
 * Computes every layer's geometry for the config's input size.
 * @throws RangeError when a layer would produce an empty output.
 */
export function computeGeometry(config: ModelConfig): LayerGeometry[] {
  const result: LayerGeometry[] = [];
  let sizePx = config.inputSizePx;
  let channels = config.inputChannels;
  let flat: number | null = null;
  let receptiveFieldPx = 1;
  let jumpPx = 1;
  let offsetPx = 0;
  for (const layer of config.layers) {
    if (layer.kind === 'dense') {
      flat = layer.units;
      result.push({ name: layer.name, kind: layer.kind, outputShape: [flat], effectivePadding: [0, 0, 0, 0], receptiveFieldPx: null, jumpPx: null, offsetPx: null });
      continue;
    }
    if (layer.kind === 'lrn') {
      result.push({ name: layer.name, kind: layer.kind, outputShape: [sizePx, sizePx, channels], effectivePadding: [0, 0, 0, 0], receptiveFieldPx, jumpPx, offsetPx });
      continue;
    }
    const windowPx = layer.kind === 'conv' ? layer.kernelPx : layer.windowPx;
    const pad: Padding4 = [...layer.padding];
    if (layer.kind === 'maxpool' && layer.ceilMode) {
      pad[1] += ceilModeExtraPx(sizePx, windowPx, layer.stride, pad[0], pad[1]);
      pad[3] += ceilModeExtraPx(sizePx, windowPx, layer.stride, pad[2], pad[3]);
    }
    const outPx = windowOutputSize(sizePx, windowPx, layer.stride, pad[0], pad[1]);
    if (outPx < 1) {
      throw new RangeError(`Layer ${layer.name} of ${config.name} gets a ${sizePx}px input, too small for its ${windowPx}px window: use a larger inputSizePx than ${config.inputSizePx}`);
    }
    offsetPx -= pad[0] * jumpPx;
    receptiveFieldPx += (windowPx - 1) * jumpPx;
    jumpPx *= layer.stride;
    sizePx = outPx;
    if (layer.kind === 'conv') channels = layer.filters;
    result.push({ name: layer.name, kind: layer.kind, outputShape: [sizePx, sizePx, channels], effectivePadding: pad, receptiveFieldPx, jumpPx, offsetPx });
  }
  return result;
}

/** Geometry of one named layer. @throws RangeError when the config has no such layer. */
export function layerGeometry(config: ModelConfig, name: string): LayerGeometry {
  const found = computeGeometry(config).find((g) => g.name === name);
  if (found === undefined) throw new RangeError(`Model ${config.name} has no layer ${JSON.stringify(name)}`);
  return found;
}

/** Square window of input pixels that output cell (y, x) of a layer sees, clipped to the image. */
export interface PixelBox {
  top: number;
  left: number;
  heightPx: number;
  widthPx: number;
}

/**
 * Receptive field of cell (y, x) of a spatial layer, clipped to [0, imageSizePx).
 * The unclipped box is `offsetPx + y * jumpPx` .. `+ receptiveFieldPx - 1`.
 */
export function receptiveFieldBox(geometry: LayerGeometry, y: number, x: number, imageSizePx: number): PixelBox {
  if (geometry.receptiveFieldPx === null || geometry.jumpPx === null || geometry.offsetPx === null) {
    throw new RangeError(`Layer ${geometry.name} is not spatial: it has no receptive field`);
  }
  const clip = (start: number): [number, number] => {
    const lo = Math.max(0, start);
    const hi = Math.min(imageSizePx, start + geometry.receptiveFieldPx!);
    return [lo, Math.max(0, hi - lo)];
  };
  const [top, heightPx] = clip(geometry.offsetPx + y * geometry.jumpPx);
  const [left, widthPx] = clip(geometry.offsetPx + x * geometry.jumpPx);
  return { top, left, heightPx, widthPx };
}

/** Parameter shapes in PyTorch layout (conv [out, in, kh, kw], dense [out, in]) keyed `conv1.weight` etc. */
export function parameterShapes(config: ModelConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const geometry = computeGeometry(config);
  let channels = config.inputChannels;
  let flat = 0;
  config.layers.forEach((layer, i) => {
    if (layer.kind === 'conv') {
      shapes.set(`${layer.name}.weight`, [layer.filters, channels, layer.kernelPx, layer.kernelPx]);
      shapes.set(`${layer.name}.bias`, [layer.filters]);
      channels = layer.filters;
    } else if (layer.kind === 'dense') {
      if (flat === 0) {
        const [h, w, c] = geometry[i - 1]!.outputShape as [number, number, number];
        flat = h * w * c;
      }
      shapes.set(`${layer.name}.weight`, [layer.units, flat]);
      shapes.set(`${layer.name}.bias`, [layer.units]);
      flat = layer.units;
    }
  });
  return shapes;
}

/** Total number of trainable parameters. */
export function countParameters(config: ModelConfig): number {
  let total = 0;
  for (const shape of parameterShapes(config).values()) total += shape.reduce((a, b) => a * b, 1);
  return total;
}
