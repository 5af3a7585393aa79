/**
 * Layer-1 filter statistics for the architecture comparison (Fig. 6): the
 * energy of each filter in low, mid and high spatial-frequency bands of its
 * 2-D DFT, and dead (near-zero) filters. Pure. Filters are at most 11 x 11,
 * so a direct DFT (O(k^4) per channel) costs nothing.
 *
 * Weights come in tfjs layout [kh, kw, in, out] (ModelParams `conv1.weight`).
 */

/** Band edges in cycles per input pixel of the radial frequency sqrt(fx^2 + fy^2); Nyquist is 0.5. */
export interface FrequencyBands {
  /** Upper edge of the low band (DC included), default 1/6: the lower third of Nyquist. */
  lowMax: number;
  /** Upper edge of the mid band, default 1/3; above it (up to the corner, 0.71) is high. */
  midMax: number;
}

export const DEFAULT_FREQUENCY_BANDS: FrequencyBands = Object.freeze({ lowMax: 1 / 6, midMax: 1 / 3 });

/** Frequency in cycles per pixel of DFT index k of an n-point transform, in [-0.5, 0.5). */
export function frequencyOfIndex(k: number, n: number): number {
  return (k < Math.ceil(n / 2) ? k : k - n) / n;
}

/**
 * Power spectrum |F(u, v)|^2 of a real h x w array (row-major), by the direct DFT.
 * @returns [h, w] row-major, index (u, v) = vertical, horizontal frequency index.
 */
export function computePowerSpectrum(values: ArrayLike<number>, h: number, w: number): Float64Array {
  const power = new Float64Array(h * w);
  for (let u = 0; u < h; u++) {
    for (let v = 0; v < w; v++) {
      let re = 0;
      let im = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const angle = -2 * Math.PI * ((u * y) / h + (v * x) / w);
          const value = values[y * w + x]!;
          re += value * Math.cos(angle);
          im += value * Math.sin(angle);
        }
      }
      power[u * w + v] = re * re + im * im;
    }
  }
  return power;
}

/** Fractions of one filter's energy in each band (they sum to 1; all 0 for a zero filter). */
export interface BandEnergy {
  low: number;
  mid: number;
  high: number;
}

/** One filter as [channel][kh * kw] arrays, from tfjs layout [kh, kw, in, out]. */
export function extractFilterChannels(weights: ArrayLike<number>, shape: readonly number[], filter: number): Float64Array[] {
  const [kh, kw, inC, outC] = shape as [number, number, number, number];
  return Array.from({ length: inC }, (_, c) => {
    const plane = new Float64Array(kh * kw);
    for (let i = 0; i < kh * kw; i++) plane[i] = weights[(i * inC + c) * outC + filter]!;
    return plane;
  });
}

/**
 * Band energy of every filter: the power spectra of its input channels are
 * summed (Parseval: total = kh * kw * sum of squared weights), then split by
 * radial frequency.
 * @param shape [kh, kw, in, out]
 */
export function computeBandEnergies(weights: ArrayLike<number>, shape: readonly number[], bands: FrequencyBands = DEFAULT_FREQUENCY_BANDS): BandEnergy[] {
  const [kh, kw, , outC] = shape as [number, number, number, number];
  const bandOf = new Uint8Array(kh * kw);
  for (let u = 0; u < kh; u++) {
    for (let v = 0; v < kw; v++) {
      const r = Math.hypot(frequencyOfIndex(u, kh), frequencyOfIndex(v, kw));
      bandOf[u * kw + v] = r <= bands.lowMax ? 0 : r <= bands.midMax ? 1 : 2;
    }
  }
  return Array.from({ length: outC }, (_, f) => {
    const sums = [0, 0, 0];
    for (const plane of extractFilterChannels(weights, shape, f)) {
      const power = computePowerSpectrum(plane, kh, kw);
      for (let i = 0; i < power.length; i++) sums[bandOf[i]!]! += power[i]!;
    }
    const total = sums[0]! + sums[1]! + sums[2]!;
    return total === 0 ? { low: 0, mid: 0, high: 0 } : { low: sums[0]! / total, mid: sums[1]! / total, high: sums[2]! / total };
  });
}

/** Root mean square of each filter's weights (all channels). @param shape [kh, kw, in, out] */
export function computeFilterRms(weights: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const outC = shape[3]!;
  const perFilter = weights.length / outC;
  const sums = new Float64Array(outC);
  for (let i = 0; i < weights.length; i++) sums[i % outC]! += weights[i]! * weights[i]!;
  return sums.map((s) => Math.sqrt(s / perFilter));
}

/**
 * Dead filters: RMS below `ratio` times the median filter RMS of the layer
 * (project choice: relative to the median, so the test does not depend on
 * the weight scale a training run settled at). Default ratio 0.1.
 */
export function detectDeadFilters(rms: ArrayLike<number>, ratio = 0.1): boolean[] {
  const sorted = Array.from(rms).sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return Array.from(rms, (v) => v < ratio * median);
}

/**
 * Every filter as an 8-bit RGB [kh, kw, 3] image on one common scale: 0 is
 * mid-grey and the largest |weight| of the whole layer is black or white.
 * Project choice for the comparison: a common scale keeps dead filters flat
 * grey (a per-filter stretch would blow their noise up to full contrast).
 * @param shape [kh, kw, 3, out]
 */
export function extractFilterImages(weights: ArrayLike<number>, shape: readonly number[]): Array<{ widthPx: number; heightPx: number; pixels: Uint8Array }> {
  const [kh, kw, inC, outC] = shape as [number, number, number, number];
  let peak = 0;
  for (let i = 0; i < weights.length; i++) peak = Math.max(peak, Math.abs(weights[i]!));
  return Array.from({ length: outC }, (_, f) => {
    const pixels = new Uint8Array(kh * kw * inC);
    for (let i = 0; i < kh * kw * inC; i++) pixels[i] = Math.round(128 + (peak === 0 ? 0 : (127 * weights[i * outC + f]!) / peak));
    return { widthPx: kw, heightPx: kh, pixels };
  });
}
