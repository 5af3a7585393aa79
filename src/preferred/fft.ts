/**
 * Fourier transforms for the preferred-input image parameterisation
 * (src/preferred/fourier-image.ts). Pure, float64 throughout.
 *
 * - A mixed-radix complex FFT of any length (Stockham autosort, decimation in
 *   frequency: no bit reversal, one ping-pong buffer): radix 4 and 2
 *   butterflies written out, any other prime factor as a small direct DFT.
 *   Canvas sides are chosen with small prime factors (`nextFftSize`), so
 *   the direct DFTs stay 3- or 5-point.
 * - The real 2-D inverse transform of a half spectrum, `irfft2` (numpy's
 *   `irfftn(s=(h, w), norm='ortho')`: after the transform along y, the
 *   columns kx = 0 and kx = w/2 keep their real parts only, as the image is
 *   real), and its exact adjoint `irfft2Adjoint`, the gradient step of the
 *   same linear map.
 *
 * Conventions: a complex array is two Float64Arrays (re, im); a half
 * spectrum of an h x w image is [h, w/2 + 1], row-major, w even.
 */

export interface FftPlan {
  readonly n: number;
  /** Radices in the order the stages apply them. */
  readonly factors: readonly number[];
  /** cos and sin of 2 pi j / n, j = 0 .. n-1. */
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  /** Scratch buffers of length n (a plan is used by one caller at a time). */
  readonly scratchRe: Float64Array;
  readonly scratchIm: Float64Array;
}

/** Prime factors of n with the 2s paired into 4s first. */
function factorise(n: number): number[] {
  const factors: number[] = [];
  let rest = n;
  while (rest % 4 === 0) { factors.push(4); rest /= 4; }
  while (rest % 2 === 0) { factors.push(2); rest /= 2; }
  for (let p = 3; p * p <= rest; p += 2) while (rest % p === 0) { factors.push(p); rest /= p; }
  if (rest > 1) factors.push(rest);
  return factors;
}

/**
 * A plan for transforms of length n.
 * @throws RangeError for a length that is not a positive integer
 */
export function createFftPlan(n: number): FftPlan {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Expected a positive integer FFT length but received ${n}`);
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    cos[j] = Math.cos((2 * Math.PI * j) / n);
    sin[j] = Math.sin((2 * Math.PI * j) / n);
  }
  return { n, factors: factorise(n), cos, sin, scratchRe: new Float64Array(n), scratchIm: new Float64Array(n) };
}

/** The smallest even n >= minimum whose prime factors are 2, 3 and 5. */
export function nextFftSize(minimum: number): number {
  for (let n = Math.max(2, Math.ceil(minimum)); ; n++) {
    if (n % 2 !== 0) continue;
    let rest = n;
    for (const p of [2, 3, 5]) while (rest % p === 0) rest /= p;
    if (rest === 1) return n;
  }
}

/**
 * In place: X[k] = sum_j x[j] exp(-+2 pi i j k / n) (minus for the forward
 * transform, plus for `inverse`); unnormalised both ways.
 */
export function fftInPlace(plan: FftPlan, re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = plan.n;
  const sign = inverse ? 1 : -1;
  let xr = re, xi = im, yr = plan.scratchRe, yi = plan.scratchIm;
  let length = n;
  let stride = 1;
  for (const p of plan.factors) {
    const m = length / p;
    const step = n / length; // W_length^e = W_n^(e * step)
    if (p === 4) radix4Stage(plan, xr, xi, yr, yi, m, stride, step, sign);
    else if (p === 2) radix2Stage(plan, xr, xi, yr, yi, m, stride, step, sign);
    else genericStage(plan, xr, xi, yr, yi, p, m, stride, step, sign);
    [xr, yr] = [yr, xr];
    [xi, yi] = [yi, xi];
    length = m;
    stride *= p;
  }
  if (xr !== re) {
    re.set(xr);
    im.set(xi);
  }
}

function radix2Stage(plan: FftPlan, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, m: number, s: number, step: number, sign: number): void {
  const { cos, sin } = plan;
  for (let p = 0; p < m; p++) {
    const wr = cos[p * step]!, wi = sign * sin[p * step]!;
    for (let q = 0; q < s; q++) {
      const a = q + s * p, b = a + s * m;
      const ar = xr[a]!, ai = xi[a]!, br = xr[b]!, bi = xi[b]!;
      const o = q + s * 2 * p;
      yr[o] = ar + br;
      yi[o] = ai + bi;
      const dr = ar - br, di = ai - bi;
      yr[o + s] = dr * wr - di * wi;
      yi[o + s] = dr * wi + di * wr;
    }
  }
}

function radix4Stage(plan: FftPlan, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, m: number, s: number, step: number, sign: number): void {
  const { cos, sin, n } = plan;
  for (let p = 0; p < m; p++) {
    const e1 = p * step, e2 = (2 * p * step) % n, e3 = (3 * p * step) % n;
    const w1r = cos[e1]!, w1i = sign * sin[e1]!, w2r = cos[e2]!, w2i = sign * sin[e2]!, w3r = cos[e3]!, w3i = sign * sin[e3]!;
    for (let q = 0; q < s; q++) {
      const i0 = q + s * p, i1 = i0 + s * m, i2 = i1 + s * m, i3 = i2 + s * m;
      const ar = xr[i0]!, ai = xi[i0]!, br = xr[i1]!, bi = xi[i1]!, cr = xr[i2]!, ci = xi[i2]!, dr = xr[i3]!, di = xi[i3]!;
      const t0r = ar + cr, t0i = ai + ci, t1r = ar - cr, t1i = ai - ci;
      const t2r = br + dr, t2i = bi + di, t3r = br - dr, t3i = bi - di;
      // multiply t3 by sign * i: W_4^1 = exp(sign * i pi / 2)
      const u3r = -sign * t3i, u3i = sign * t3r;
      const o = q + s * 4 * p;
      yr[o] = t0r + t2r;
      yi[o] = t0i + t2i;
      const b1r = t1r + u3r, b1i = t1i + u3i;
      yr[o + s] = b1r * w1r - b1i * w1i;
      yi[o + s] = b1r * w1i + b1i * w1r;
      const b2r = t0r - t2r, b2i = t0i - t2i;
      yr[o + 2 * s] = b2r * w2r - b2i * w2i;
      yi[o + 2 * s] = b2r * w2i + b2i * w2r;
      const b3r = t1r - u3r, b3i = t1i - u3i;
      yr[o + 3 * s] = b3r * w3r - b3i * w3i;
      yi[o + 3 * s] = b3r * w3i + b3i * w3r;
    }
  }
}

function genericStage(plan: FftPlan, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, radix: number, m: number, s: number, step: number, sign: number): void {
  const { cos, sin, n } = plan;
  const ar = new Float64Array(radix), ai = new Float64Array(radix);
  const dftStep = n / radix; // W_radix^e = W_n^(e * dftStep)
  for (let p = 0; p < m; p++) {
    for (let q = 0; q < s; q++) {
      for (let r = 0; r < radix; r++) {
        ar[r] = xr[q + s * (p + r * m)]!;
        ai[r] = xi[q + s * (p + r * m)]!;
      }
      for (let t = 0; t < radix; t++) {
        let br = 0, bi = 0;
        for (let r = 0; r < radix; r++) {
          const e = ((r * t) % radix) * dftStep;
          const wr = cos[e]!, wi = sign * sin[e]!;
          br += ar[r]! * wr - ai[r]! * wi;
          bi += ar[r]! * wi + ai[r]! * wr;
        }
        const e = (p * t * step) % n;
        const wr = cos[e]!, wi = sign * sin[e]!;
        const o = q + s * (radix * p + t);
        yr[o] = br * wr - bi * wi;
        yi[o] = br * wi + bi * wr;
      }
    }
  }
}

/** Plans for an h x w image (one per side; shared when h = w). */
export interface Fft2Plans {
  rows: FftPlan;
  cols: FftPlan;
  /** Complex working rows of length max(h, w). */
  workRe: Float64Array;
  workIm: Float64Array;
  /** The column-transformed half spectrum [h, w/2 + 1]. */
  halfRe: Float64Array;
  halfIm: Float64Array;
}

/** @throws RangeError when w is odd */
export function createFft2Plans(h: number, w: number): Fft2Plans {
  if (w % 2 !== 0) throw new RangeError(`Expected an even image width for the real 2-D transforms but received ${w}`);
  const rows = createFftPlan(w);
  const cols = h === w ? rows : createFftPlan(h);
  const longest = Math.max(h, w);
  const halfSize = h * (w / 2 + 1);
  return { rows, cols, workRe: new Float64Array(longest), workIm: new Float64Array(longest), halfRe: new Float64Array(halfSize), halfIm: new Float64Array(halfSize) };
}

/**
 * The real h x w image of a half spectrum [h, w/2 + 1] (re, im):
 * image[y, x] = (1 / sqrt(h w)) sum_{ky, kx} c(kx) Re(S[ky, kx] exp(2 pi i (ky y / h + kx x / w))),
 * c = 1 at kx = 0 and kx = w/2, else 2. Writes `image` [h, w].
 */
export function irfft2(plans: Fft2Plans, h: number, w: number, specRe: Float64Array, specIm: Float64Array, image: Float64Array): void {
  const half = w / 2 + 1;
  const { workRe, workIm } = plans;
  const colsRe = plans.halfRe, colsIm = plans.halfIm;
  for (let kx = 0; kx < half; kx++) {
    for (let ky = 0; ky < h; ky++) { workRe[ky] = specRe[ky * half + kx]!; workIm[ky] = specIm[ky * half + kx]!; }
    fftInPlace(plans.cols, workRe.subarray(0, h), workIm.subarray(0, h), true);
    for (let y = 0; y < h; y++) { colsRe[y * half + kx] = workRe[y]!; colsIm[y * half + kx] = workIm[y]!; }
  }
  const norm = 1 / Math.sqrt(h * w);
  const rowRe = workRe.subarray(0, w), rowIm = workIm.subarray(0, w);
  // Two real rows per complex transform: row a in the real part, row b in the imaginary part.
  for (let y = 0; y < h; y += 2) {
    const b = y + 1 < h ? y + 1 : -1;
    for (let kx = 0; kx < half; kx++) {
      // Hermitian extension of each row's half spectrum (bins 0 and w/2 taken as real)
      const edge = kx === 0 || kx === w / 2;
      const aRe = colsRe[y * half + kx]!, aIm = edge ? 0 : colsIm[y * half + kx]!;
      const bRe = b < 0 ? 0 : colsRe[b * half + kx]!, bIm = b < 0 || edge ? 0 : colsIm[b * half + kx]!;
      // A + iB at kx, and conj(A) + i conj(B) at w - kx
      rowRe[kx] = aRe - bIm; rowIm[kx] = aIm + bRe;
      if (!edge) { rowRe[w - kx] = aRe + bIm; rowIm[w - kx] = -aIm + bRe; }
    }
    fftInPlace(plans.rows, rowRe, rowIm, true);
    for (let x = 0; x < w; x++) {
      image[y * w + x] = rowRe[x]! * norm;
      if (b >= 0) image[b * w + x] = rowIm[x]! * norm;
    }
  }
}

/**
 * The adjoint of irfft2: for a gradient `grad` [h, w] of the image, the
 * gradient of the half spectrum's real and imaginary parts,
 * c(kx) / sqrt(h w) * F[ky, kx] with F = sum grad exp(-2 pi i (ky y / h + kx x / w)).
 */
export function irfft2Adjoint(plans: Fft2Plans, h: number, w: number, grad: Float64Array, specRe: Float64Array, specIm: Float64Array): void {
  const half = w / 2 + 1;
  const { workRe, workIm } = plans;
  const rowRe = workRe.subarray(0, w), rowIm = workIm.subarray(0, w);
  const norm = 1 / Math.sqrt(h * w);
  for (let y = 0; y < h; y += 2) {
    const b = y + 1 < h ? y + 1 : -1;
    for (let x = 0; x < w; x++) { rowRe[x] = grad[y * w + x]!; rowIm[x] = b < 0 ? 0 : grad[b * w + x]!; }
    fftInPlace(plans.rows, rowRe, rowIm, false);
    for (let kx = 0; kx < half; kx++) {
      // Split Z = FFT(a + i b): A[k] = (Z[k] + conj Z[w-k]) / 2, B[k] = (Z[k] - conj Z[w-k]) / (2i)
      const zr = rowRe[kx]!, zi = rowIm[kx]!, cr = rowRe[(w - kx) % w]!, ci = -rowIm[(w - kx) % w]!;
      specRe[y * half + kx] = (zr + cr) / 2; specIm[y * half + kx] = (zi + ci) / 2;
      if (b >= 0) { specRe[b * half + kx] = (zi - ci) / 2; specIm[b * half + kx] = -(zr - cr) / 2; }
    }
  }
  const colRe = workRe.subarray(0, h), colIm = workIm.subarray(0, h);
  for (let kx = 0; kx < half; kx++) {
    for (let ky = 0; ky < h; ky++) { colRe[ky] = specRe[ky * half + kx]!; colIm[ky] = specIm[ky * half + kx]!; }
    fftInPlace(plans.cols, colRe, colIm, false);
    const c = (kx === 0 || kx === w / 2 ? 1 : 2) * norm;
    for (let ky = 0; ky < h; ky++) { specRe[ky * half + kx] = colRe[ky]! * c; specIm[ky * half + kx] = colIm[ky]! * c; }
  }
}
