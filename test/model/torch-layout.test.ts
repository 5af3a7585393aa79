import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertFromTorch, convertToTorch, parameterLayouts, permuteAxes } from '../../src/model/torch-layout.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { parameterShapes } from '../../src/model/geometry.js';
import { tfjsParameterShapes } from '../../src/model/params.js';

function ramp(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => i);
}

/** Reference transpose by explicit index arithmetic, one element at a time. */
function referencePermute(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((a) => shape[a]!);
  const out = new Float32Array(data.length);
  const strides = shape.map((_, a) => shape.slice(a + 1).reduce((x, y) => x * y, 1));
  for (let flat = 0; flat < data.length; flat++) {
    let rest = flat;
    let src = 0;
    for (let axis = outShape.length - 1; axis >= 0; axis--) {
      const coord = rest % outShape[axis]!;
      rest = Math.floor(rest / outShape[axis]!);
      src += coord * strides[perm[axis]!]!;
    }
    out[flat] = data[src]!;
  }
  return out;
}

describe('torch layout', () => {
  it('permuteAxes equals index arithmetic for several ranks and permutations', () => {
    const cases: [number[], number[]][] = [[[5], [0]], [[3, 4], [1, 0]], [[2, 3, 4, 5], [3, 2, 0, 1]], [[2, 3, 4, 5], [2, 3, 1, 0]], [[3, 1, 2], [2, 0, 1]],
      // contiguous last axis kept; merged neighbours; size-1 axes; tiles with ragged edges (fc6's [out, C, H, W] -> [H, W, C, out])
      [[2, 3, 4], [1, 0, 2]], [[3, 4, 5, 2], [2, 0, 1, 3]], [[1, 5, 1, 3], [3, 1, 2, 0]], [[70, 5, 3, 3], [2, 3, 1, 0]], [[33, 40], [1, 0]], [[4, 1], [1, 0]], [[2, 3], [0, 1]], [[1, 1], [1, 0]]];
    for (const [shape, perm] of cases) {
      const data = ramp(shape.reduce((a, b) => a * b, 1));
      assert.deepEqual(permuteAxes(data, shape, perm), referencePermute(data, shape, perm), `shape ${shape} perm ${perm}`);
    }
    assert.throws(() => permuteAxes(ramp(5), [2, 3], [1, 0]), { message: 'Expected 6 values for shape [2, 3] but received 5' });
    assert.throws(() => permuteAxes(ramp(6), [2, 3], [1, 1]), { message: 'Expected a permutation of 0..1 but received [1, 1]' });
  });

  it('gives the PyTorch shapes of geometry and the tfjs shapes of params for zfnet and alexnet', () => {
    for (const name of ['zfnet', 'alexnet', 'zfnet-tiny']) {
      const config = buildModelConfig(name);
      const layouts = parameterLayouts(config);
      assert.deepEqual(new Map(layouts.map((l) => [l.name, l.torchShape])), parameterShapes(config));
      assert.deepEqual(new Map(layouts.map((l) => [l.name, l.tfjsShape])), tfjsParameterShapes(config));
    }
  });

  it('maps a conv weight [kh, kw, in, out] to [out, in, kh, kw]', () => {
    const layout = parameterLayouts(buildModelConfig('zfnet-tiny')).find((l) => l.name === 'conv2.weight')!;
    const [kh, kw, cin, cout] = layout.tfjsShape as [number, number, number, number];
    const tfjs = ramp(kh * kw * cin * cout);
    const torch = convertToTorch(layout, tfjs);
    for (const [o, i, y, x] of [[0, 0, 0, 0], [cout - 1, cin - 1, kh - 1, kw - 1], [3, 5, 1, 4]] as const) {
      assert.equal(torch[((o * cin + i) * kh + y) * kw + x], tfjs[((y * kw + x) * cin + i) * cout + o]);
    }
    assert.deepEqual(convertFromTorch(layout, torch), tfjs);
  });

  it("orders fc6's inputs as PyTorch's flatten of NCHW pool5: same outputs as the NHWC model", () => {
    const config = buildModelConfig('zfnet-tiny', { inputSizePx: 112 });
    const layout = parameterLayouts(config).find((l) => l.name === 'fc6.weight')!;
    const [h, w, c, units] = layout.tfjsView as [number, number, number, number];
    assert.ok(h > 1 && w > 1 && c > 1, `pool5 must be spatial for this test, got ${h}x${w}x${c}`);
    const weightTfjs = Float32Array.from({ length: h * w * c * units }, (_, i) => Math.sin(i * 0.37));
    const pool5Nhwc = Float32Array.from({ length: h * w * c }, (_, i) => Math.cos(i * 0.11));
    const weightTorch = convertToTorch(layout, weightTfjs);
    const pool5Nchw = permuteAxes(pool5Nhwc, [h, w, c], [2, 0, 1]);
    for (let u = 0; u < units; u++) {
      let tfjsOut = 0;
      let torchOut = 0;
      for (let k = 0; k < h * w * c; k++) {
        tfjsOut += pool5Nhwc[k]! * weightTfjs[k * units + u]!; // x @ W, W [in, out]
        torchOut += pool5Nchw[k]! * weightTorch[u * h * w * c + k]!; // W x, W [out, in]
      }
      assert.ok(Math.abs(tfjsOut - torchOut) < 1e-9, `unit ${u}: ${tfjsOut} vs ${torchOut}`);
    }
    assert.deepEqual(convertFromTorch(layout, weightTorch), weightTfjs);
  });
});
