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
import { computeGeometry } from './geometry.js';
import type { ModelConfig } from './spec.js';

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
 *
 * Axes that stay neighbours in the same order are merged first (fc6's h and w
 * become one axis). When the input's contiguous axis is not the output's last
 * one, the copy runs in square tiles of those two axes, so reads and writes
 * both stay within a few cache lines (fc6 of zfnet, 37.7 M floats, went from
 * about 1.5 s to a fraction of that).
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
  const merged = mergeAxes(shape, perm);
  copyPermuted(data, out, merged.shape, merged.perm);
  return out;
}

/**
 * The same permutation over fewer axes: size-1 axes dropped, and input axes
 * a, a+1 that are also consecutive in the output joined into one.
 */
function mergeAxes(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = perm.filter((axis) => shape[axis] !== 1);
  if (kept.length === 0) return { shape: [1], perm: [0] };
  // Runs of the output order whose input axes are consecutive: each becomes one axis.
  const runs: number[][] = [];
  for (const axis of kept) {
    const last = runs.at(-1);
    if (last !== undefined && axis === last.at(-1)! + 1) last.push(axis);
    else runs.push([axis]);
  }
  const byInput = runs.slice().sort((a, b) => a[0]! - b[0]!);
  return {
    shape: byInput.map((run) => run.reduce((size, axis) => size * shape[axis]!, 1)),
    perm: runs.map((run) => byInput.indexOf(run)),
  };
}

const TILE = 32;

/** The copy itself, over merged axes (see permuteAxes). */
function copyPermuted(data: Float32Array, out: Float32Array, shape: readonly number[], perm: readonly number[]): void {
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  for (let axis = rank - 1, stride = 1; axis >= 0; axis--) {
    inStrides[axis] = stride;
    stride *= shape[axis]!;
  }
  const outShape = perm.map((axis) => shape[axis]!);
  const outStrides = new Array<number>(rank);
  for (let axis = rank - 1, stride = 1; axis >= 0; axis--) {
    outStrides[axis] = stride;
    stride *= outShape[axis]!;
  }
  const last = rank - 1;
  const across = perm.indexOf(last); // the output axis that walks the input's contiguous axis
  const contiguous = across === last; // rows of `cols` values copy as they are
  const [rows, cols] = [contiguous ? 1 : outShape[across]!, outShape[last]!];
  const colStride = inStrides[perm[last]!]!;
  const rowOutStride = outStrides[across]!;
  // Every other output axis is walked by an odometer that keeps both base offsets.
  const outer = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== across && i !== last);
  const index = new Array<number>(rank).fill(0);
  let [inBase, outBase] = [0, 0];
  for (;;) {
    if (contiguous) out.set(data.subarray(inBase, inBase + cols), outBase);
    else for (let r0 = 0; r0 < rows; r0 += TILE) {
      const r1 = Math.min(rows, r0 + TILE);
      for (let c0 = 0; c0 < cols; c0 += TILE) {
        const c1 = Math.min(cols, c0 + TILE);
        for (let r = r0; r < r1; r++) {
          const o = outBase + r * rowOutStride;
          for (let c = c0, i = inBase + r + c0 * colStride; c < c1; c++, i += colStride) out[o + c] = data[i]!;
        }
      }
    }
    let k = outer.length - 1;
    for (; k >= 0; k--) {
      const axis = outer[k]!;
      index[axis]! += 1;
      inBase += inStrides[perm[axis]!]!;
      outBase += outStrides[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      inBase -= index[axis]! * inStrides[perm[axis]!]!;
      outBase -= index[axis]! * outStrides[axis]!;
      index[axis] = 0;
    }
    if (k < 0) return;
  }
}
