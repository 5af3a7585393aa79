/**
 * Conversion between the in-memory tfjs layout of ModelParams and PyTorch's
 * layout on disk, as pure permutations of row-major float arrays:
 *
 * - conv weight: tfjs [kh, kw, in, out]  <->  PyTorch [out, in, kh, kw]
 * - dense weight: tfjs [in, out]         <->  PyTorch [out, in]
 * - the first dense layer after a spatial layer (fc6): tfjs rows follow the
 *   flatten of an NHWC map (h, w, c); PyTorch's flatten of NCHW gives (c, h, w).
 *   So tfjs [H*W*C, out] is viewed as [H, W, C, out] and permuted to
 *   [out, C, H, W], stored as [out, C*H*W].
 * - biases: unchanged.
 *
 * Transposition only moves values, so a round trip is bit-identical.
 */
import { computeGeometry } from '../model/geometry.js';
import type { ModelConfig } from '../model/spec.js';

/** How one parameter maps between the two layouts. */
export interface ParameterLayout {
  name: string;
  /** Shape in memory (tfjs). */
  tfjsShape: number[];
  /** Shape on disk (PyTorch). */
  torchShape: number[];
  /** The tfjs data seen as this shape is permuted by `perm`... */
  tfjsView: number[];
  /** ...giving the PyTorch data (viewed as tfjsView permuted). */
  perm: number[];
}

const IDENTITY_1D = [0];

/**
 * The layout of every parameter of a config, in layer order (conv1.weight, conv1.bias, ...).
 * @throws RangeError when the config's geometry is invalid (see computeGeometry).
 */
export function parameterLayouts(config: ModelConfig): ParameterLayout[] {
  const geometry = computeGeometry(config);
  const layouts: ParameterLayout[] = [];
  let channels = config.inputChannels;
  let flatUnits = 0;
  config.layers.forEach((layer, i) => {
    if (layer.kind === 'conv') {
      const [k, out] = [layer.kernelPx, layer.filters];
      layouts.push({ name: `${layer.name}.weight`, tfjsShape: [k, k, channels, out], torchShape: [out, channels, k, k], tfjsView: [k, k, channels, out], perm: [3, 2, 0, 1] });
      layouts.push(biasLayout(layer.name, out));
      channels = out;
    } else if (layer.kind === 'dense') {
      const out = layer.units;
      if (flatUnits === 0) {
        const [h, w, c] = geometry[i - 1]!.outputShape as [number, number, number];
        flatUnits = h * w * c;
        layouts.push({ name: `${layer.name}.weight`, tfjsShape: [flatUnits, out], torchShape: [out, flatUnits], tfjsView: [h, w, c, out], perm: [3, 2, 0, 1] });
      } else {
        layouts.push({ name: `${layer.name}.weight`, tfjsShape: [flatUnits, out], torchShape: [out, flatUnits], tfjsView: [flatUnits, out], perm: [1, 0] });
      }
      layouts.push(biasLayout(layer.name, out));
      flatUnits = out;
    }
  });
  return layouts;
}

function biasLayout(layerName: string, units: number): ParameterLayout {
  return { name: `${layerName}.bias`, tfjsShape: [units], torchShape: [units], tfjsView: [units], perm: IDENTITY_1D };
}

/** tfjs-layout values -> PyTorch-layout values (a new array). */
export function convertToTorch(layout: ParameterLayout, tfjsData: Float32Array): Float32Array {
  return permuteAxes(tfjsData, layout.tfjsView, layout.perm);
}

/** PyTorch-layout values -> tfjs-layout values (a new array). */
export function convertFromTorch(layout: ParameterLayout, torchData: Float32Array): Float32Array {
  const torchView = layout.perm.map((axis) => layout.tfjsView[axis]!);
  const inverse = layout.perm.map((_, i) => layout.perm.indexOf(i));
  return permuteAxes(torchData, torchView, inverse);
}

/**
 * Permutes the axes of a row-major array: output axis i is input axis perm[i]
 * (numpy's `transpose(perm)`). Always returns a new array.
 * @throws RangeError when the data length does not match the shape or perm is not a permutation.
 */
export function permuteAxes(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const total = shape.reduce((a, b) => a * b, 1);
  if (data.length !== total) throw new RangeError(`Expected ${total} values for shape [${shape.join(', ')}] but received ${data.length}`);
  if (perm.length !== shape.length || [...perm].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new RangeError(`Expected a permutation of 0..${shape.length - 1} but received [${perm.join(', ')}]`);
  }
  const out = new Float32Array(total);
  if (total === 0) return out;
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  for (let axis = rank - 1, stride = 1; axis >= 0; axis--) {
    inStrides[axis] = stride;
    stride *= shape[axis]!;
  }
  const outShape = perm.map((axis) => shape[axis]!);
  const strideOfOutAxis = perm.map((axis) => inStrides[axis]!);
  // Walk the output in row-major order; an odometer keeps the matching input offset.
  const index = new Array<number>(rank).fill(0);
  const innerSize = outShape[rank - 1]!;
  const innerStride = strideOfOutAxis[rank - 1]!;
  let src = 0;
  for (let dst = 0; dst < total; dst += innerSize) {
    for (let j = 0, s = src; j < innerSize; j++, s += innerStride) out[dst + j] = data[s]!;
    for (let axis = rank - 2; axis >= 0; axis--) {
      index[axis]! += 1;
      src += strideOfOutAxis[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      src -= index[axis]! * strideOfOutAxis[axis]!;
      index[axis] = 0;
    }
  }
  return out;
}
