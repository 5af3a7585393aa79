/**
 * Between the RGB picture being optimised (0..1) and the model's input, in
 * both directions. Every model's preprocessing after the crop is affine per
 * pixel and channel: the project's models subtract a per-pixel mean image
 * (0..255 scale), imported models divide by 255 or not, reorder the
 * channels (RGB or BGR) and subtract a mean and divide by a std per channel
 * (src/import/preprocessing.ts). So it is read off the model's own
 * normalisation once, by probing it with a black image and one image per
 * colour channel, and then applied (forward for the input, transposed for
 * the gradient, inverted for display) without asking which kind the model is.
 * Pure.
 */

export interface InputMapping {
  sizePx: number;
  /** For each model channel, the RGB channel it reads (RGB models [0, 1, 2], BGR models [2, 1, 0]). */
  source: [number, number, number];
  /** For each model channel: input = gain * (RGB value 0..255) + offset. */
  gain: [number, number, number];
  /** [S, S, 3] the input of a black image, in the model's channel order. */
  offset: Float32Array;
}

/**
 * Reads the mapping off `normalize`, which turns an [S, S, 3] RGB 0..255 crop into the model's input.
 * @throws RangeError when `normalize` is not an affine per-channel map of this form
 */
export function probeInputMapping(sizePx: number, normalize: (rgb255: Float32Array) => Float32Array): InputMapping {
  const n = sizePx * sizePx * 3;
  const offset = Float32Array.from(normalize(new Float32Array(n)));
  const source: number[] = [-1, -1, -1];
  const gain = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    const probe = new Float32Array(n);
    for (let i = k; i < n; i += 3) probe[i] = 1;
    const out = normalize(probe);
    for (let c = 0; c < 3; c++) {
      const delta = out[c]! - offset[c]!;
      if (Math.abs(delta) > 1e-9) {
        if (source[c] !== -1) throw new RangeError(`The model's preprocessing mixes colour channels (input channel ${c} reads more than one); preferred inputs need a per-channel map`);
        source[c] = k;
        gain[c] = delta;
      }
    }
  }
  if (source.includes(-1)) throw new RangeError(`The model's preprocessing ignores a colour channel (sources ${source.join(',')}); preferred inputs need every channel`);
  return { sizePx, source: source as [number, number, number], gain: gain as [number, number, number], offset };
}

/** out [S, S, 3] model input of `rgb01` [S, S, 3] (RGB, 0..1). */
export function mapToModelInput(mapping: InputMapping, rgb01: Float32Array, out: Float32Array): void {
  const { source, gain, offset } = mapping;
  for (let i = 0; i < rgb01.length; i += 3) {
    for (let c = 0; c < 3; c++) out[i + c] = gain[c]! * 255 * rgb01[i + source[c]!]! + offset[i + c]!;
  }
}

/** out [S, S, 3] gradient with respect to the RGB 0..1 values, from `inputGrad` with respect to the model input. */
export function mapGradientToRgb(mapping: InputMapping, inputGrad: Float32Array, out: Float32Array): void {
  const { source, gain } = mapping;
  for (let i = 0; i < inputGrad.length; i += 3) {
    for (let c = 0; c < 3; c++) out[i + source[c]!] = inputGrad[i + c]! * gain[c]! * 255;
  }
}

/** [S, S, 3] RGB 0..255 (unclipped) of a model input: the preprocessing undone for display. */
export function mapToRgb255(mapping: InputMapping, input: Float32Array): Float32Array {
  const { source, gain, offset } = mapping;
  const rgb = new Float32Array(input.length);
  for (let i = 0; i < input.length; i += 3) {
    for (let c = 0; c < 3; c++) rgb[i + source[c]!] = (input[i + c]! - offset[i + c]!) / gain[c]!;
  }
  return rgb;
}

/** The RGB colour (0..1) whose input is 0 on average: the mean colour the model subtracts. */
export function neutralRgb01(mapping: InputMapping): [number, number, number] {
  const sum = [0, 0, 0];
  const { source, gain, offset } = mapping;
  for (let i = 0; i < offset.length; i += 3) {
    for (let c = 0; c < 3; c++) sum[source[c]!] += -offset[i + c]! / gain[c]!;
  }
  const pixels = offset.length / 3;
  return sum.map((v) => Math.min(1, Math.max(0, v / pixels / 255))) as [number, number, number];
}
