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
  fftBatch(plan, re, im, 1, inverse, plan.scratchRe, plan.scratchIm);
}

/**
 * In place, `lanes` transforms of length n at once, laid out [n][lanes]
 * (element j of transform l at j * lanes + l): every butterfly runs along
 * the contiguous lanes, so the index and twiddle work is shared by all of
 * them. Scratch buffers hold n * lanes values.
 */
export function fftBatch(plan: FftPlan, re: Float64Array, im: Float64Array, lanes: number, inverse: boolean, scratchRe: Float64Array, scratchIm: Float64Array): void {
  const n = plan.n;
  const sign = inverse ? 1 : -1;
  let xr = re, xi = im, yr = scratchRe, yi = scratchIm;
  let length = n;
  let stride = 1;
  for (const p of plan.factors) {
    const m = length / p;
    const step = n / length; // W_length^e = W_n^(e * step)
    const stage = { xr, xi, yr, yi, m, s: stride, step, sign, lanes };
    if (p === 4) radix4Stage(plan, stage);
    else if (p === 2) radix2Stage(plan, stage);
    else genericStage(plan, stage, p);
    [xr, yr] = [yr, xr];
    [xi, yi] = [yi, xi];
    length = m;
    stride *= p;
  }
  if (xr !== re) {
    re.set(xr.subarray(0, n * lanes));
    im.set(xi.subarray(0, n * lanes));
  }
}

/** One Stockham stage: inputs at (q + s (p + r m)) lanes, outputs at (q + s (radix p + t)) lanes. */
interface Stage {
  xr: Float64Array; xi: Float64Array; yr: Float64Array; yi: Float64Array;
  m: number; s: number; step: number; sign: number; lanes: number;
}

function radix2Stage(plan: FftPlan, g: Stage): void {
  const { cos, sin } = plan;
  const { xr, xi, yr, yi, m, s, step, sign, lanes: L } = g;
  for (let p = 0; p < m; p++) {
    const wr = cos[p * step]!, wi = sign * sin[p * step]!;
    for (let q = 0; q < s; q++) {
      const a = (q + s * p) * L, b = a + s * m * L, o = (q + s * 2 * p) * L, o1 = o + s * L;
      for (let l = 0; l < L; l++) {
        const ar = xr[a + l]!, ai = xi[a + l]!, br = xr[b + l]!, bi = xi[b + l]!;
        yr[o + l] = ar + br;
        yi[o + l] = ai + bi;
        const dr = ar - br, di = ai - bi;
        yr[o1 + l] = dr * wr - di * wi;
        yi[o1 + l] = dr * wi + di * wr;
      }
    }
  }
}

function radix4Stage(plan: FftPlan, g: Stage): void {
  const { cos, sin } = plan;
  const { xr, xi, yr, yi, m, s, step, sign, lanes: L } = g;
  for (let p = 0; p < m; p++) {
    const e1 = p * step, e2 = 2 * p * step, e3 = 3 * p * step;
    const w1r = cos[e1]!, w1i = sign * sin[e1]!, w2r = cos[e2]!, w2i = sign * sin[e2]!, w3r = cos[e3]!, w3i = sign * sin[e3]!;
    for (let q = 0; q < s; q++) {
      const i0 = (q + s * p) * L, quarter = s * m * L, o0 = (q + s * 4 * p) * L, out = s * L;
      for (let l = 0; l < L; l++) {
        const a = i0 + l;
        const ar = xr[a]!, ai = xi[a]!, br = xr[a + quarter]!, bi = xi[a + quarter]!;
        const cr = xr[a + 2 * quarter]!, ci = xi[a + 2 * quarter]!, dr = xr[a + 3 * quarter]!, di = xi[a + 3 * quarter]!;
        const t0r = ar + cr, t0i = ai + ci, t1r = ar - cr, t1i = ai - ci;
        const t2r = br + dr, t2i = bi + di, t3r = br - dr, t3i = bi - di;
        // t3 times W_4 = exp(sign i pi / 2) = sign * i
        const u3r = -sign * t3i, u3i = sign * t3r;
        const o = o0 + l;
        yr[o] = t0r + t2r;
        yi[o] = t0i + t2i;
        const b1r = t1r + u3r, b1i = t1i + u3i;
        yr[o + out] = b1r * w1r - b1i * w1i;
        yi[o + out] = b1r * w1i + b1i * w1r;
        const b2r = t0r - t2r, b2i = t0i - t2i;
        yr[o + 2 * out] = b2r * w2r - b2i * w2i;
        yi[o + 2 * out] = b2r * w2i + b2i * w2r;
        const b3r = t1r - u3r, b3i = t1i - u3i;
        yr[o + 3 * out] = b3r * w3r - b3i * w3i;
        yi[o + 3 * out] = b3r * w3i + b3i * w3r;
      }
    }
  }
}

/** Any radix as a direct DFT over its inputs (3 and 5 for the canvas sizes used). */
function genericStage(plan: FftPlan, g: Stage, radix: number): void {
  const { cos, sin, n } = plan;
  const { xr, xi, yr, yi, m, s, step, sign, lanes: L } = g;
  const dftStep = n / radix; // W_radix^e = W_n^(e * dftStep)
  const wr = Float64Array.from({ length: radix * radix }, (_, k) => cos[((Math.floor(k / radix) * (k % radix)) % radix) * dftStep]!);
  const wi = Float64Array.from({ length: radix * radix }, (_, k) => sign * sin[((Math.floor(k / radix) * (k % radix)) % radix) * dftStep]!);
  for (let p = 0; p < m; p++) {
    for (let t = 0; t < radix; t++) {
      const e = (p * t * step) % n;
      const tr = cos[e]!, ti = sign * sin[e]!;
      for (let q = 0; q < s; q++) {
        const o = (q + s * (radix * p + t)) * L;
        for (let l = 0; l < L; l++) {
          let br = 0, bi = 0;
          for (let r = 0; r < radix; r++) {
            const a = (q + s * (p + r * m)) * L + l;
            const w = r * radix + t;
            br += xr[a]! * wr[w]! - xi[a]! * wi[w]!;
            bi += xr[a]! * wi[w]! + xi[a]! * wr[w]!;
          }
          yr[o + l] = br * tr - bi * ti;
          yi[o + l] = br * ti + bi * tr;
        }
      }
    }
  }
}

/** Plans and buffers for the real 2-D transforms of an h x w image (h and w even). */
export interface Fft2Plans {
  rows: FftPlan;
  cols: FftPlan;
  /** The half spectrum transformed along y, [h][w/2 + 1], and its scratch. */
  colRe: Float64Array;
  colIm: Float64Array;
  colScratchRe: Float64Array;
  colScratchIm: Float64Array;
  /** Row pairs packed as complex signals along x, [w][h/2], and their scratch. */
  rowRe: Float64Array;
  rowIm: Float64Array;
  rowScratchRe: Float64Array;
  rowScratchIm: Float64Array;
}

/** @throws RangeError when h or w is odd */
export function createFft2Plans(h: number, w: number): Fft2Plans {
  if (w % 2 !== 0 || h % 2 !== 0) throw new RangeError(`Expected an even image height and width for the real 2-D transforms but received ${h}x${w}`);
  const rows = createFftPlan(w);
  const cols = h === w ? rows : createFftPlan(h);
  const half = h * (w / 2 + 1);
  const packed = w * (h / 2);
  const f = (size: number): Float64Array => new Float64Array(size);
  return { rows, cols, colRe: f(half), colIm: f(half), colScratchRe: f(half), colScratchIm: f(half), rowRe: f(packed), rowIm: f(packed), rowScratchRe: f(packed), rowScratchIm: f(packed) };
}

/**
 * The real h x w image of a half spectrum [h, w/2 + 1] (re, im):
 * image[y, x] = (1 / sqrt(h w)) sum_{ky, kx} c(kx) Re(S[ky, kx] exp(2 pi i (ky y / h + kx x / w))),
 * c = 1 at kx = 0 and kx = w/2, else 2. Writes `image` [h, w].
 */
export function irfft2(plans: Fft2Plans, h: number, w: number, specRe: Float64Array, specIm: Float64Array, image: Float64Array): void {
  const half = w / 2 + 1, pairs = h / 2;
  const { colRe: tr, colIm: ti, rowRe: zr, rowIm: zi } = plans;
  tr.set(specRe.subarray(0, h * half));
  ti.set(specIm.subarray(0, h * half));
  fftBatch(plans.cols, tr, ti, half, true, plans.colScratchRe, plans.colScratchIm);
  // Rows 2j and 2j + 1 as one complex signal A + iB, each row's half spectrum extended to w bins (Hermitian; bins 0 and w/2 taken as real)
  for (let j = 0; j < pairs; j++) {
    const a = 2 * j * half, b = a + half;
    for (let kx = 0; kx < half; kx++) {
      const edge = kx === 0 || kx === w / 2;
      const aRe = tr[a + kx]!, aIm = edge ? 0 : ti[a + kx]!, bRe = tr[b + kx]!, bIm = edge ? 0 : ti[b + kx]!;
      zr[kx * pairs + j] = aRe - bIm;
      zi[kx * pairs + j] = aIm + bRe;
      if (!edge) {
        zr[(w - kx) * pairs + j] = aRe + bIm;
        zi[(w - kx) * pairs + j] = -aIm + bRe;
      }
    }
  }
  fftBatch(plans.rows, zr, zi, pairs, true, plans.rowScratchRe, plans.rowScratchIm);
  const norm = 1 / Math.sqrt(h * w);
  for (let x = 0; x < w; x++) {
    for (let j = 0; j < pairs; j++) {
      image[2 * j * w + x] = zr[x * pairs + j]! * norm;
      image[(2 * j + 1) * w + x] = zi[x * pairs + j]! * norm;
    }
  }
}

/**
 * The adjoint of irfft2: for a gradient `grad` [h, w] of the image, the
 * gradient of the half spectrum's real and imaginary parts,
 * c(kx) / sqrt(h w) * F[ky, kx] with F = sum grad exp(-2 pi i (ky y / h + kx x / w)).
 */
export function irfft2Adjoint(plans: Fft2Plans, h: number, w: number, grad: Float64Array, specRe: Float64Array, specIm: Float64Array): void {
  const half = w / 2 + 1, pairs = h / 2;
  const { colRe: tr, colIm: ti, rowRe: zr, rowIm: zi } = plans;
  for (let j = 0; j < pairs; j++) {
    for (let x = 0; x < w; x++) {
      zr[x * pairs + j] = grad[2 * j * w + x]!;
      zi[x * pairs + j] = grad[(2 * j + 1) * w + x]!;
    }
  }
  fftBatch(plans.rows, zr, zi, pairs, false, plans.rowScratchRe, plans.rowScratchIm);
  // Z = FFT(a + i b): A[k] = (Z[k] + conj Z[w-k]) / 2, B[k] = (Z[k] - conj Z[w-k]) / (2i)
  for (let j = 0; j < pairs; j++) {
    const a = 2 * j * half, b = a + half;
    for (let kx = 0; kx < half; kx++) {
      const zRe = zr[kx * pairs + j]!, zIm = zi[kx * pairs + j]!;
      const cRe = zr[((w - kx) % w) * pairs + j]!, cIm = -zi[((w - kx) % w) * pairs + j]!;
      tr[a + kx] = (zRe + cRe) / 2; ti[a + kx] = (zIm + cIm) / 2;
      tr[b + kx] = (zIm - cIm) / 2; ti[b + kx] = -(zRe - cRe) / 2;
    }
  }
  fftBatch(plans.cols, tr, ti, half, false, plans.colScratchRe, plans.colScratchIm);
  const norm = 1 / Math.sqrt(h * w);
  for (let ky = 0; ky < h; ky++) {
    for (let kx = 0; kx < half; kx++) {
      const c = (kx === 0 || kx === w / 2 ? 1 : 2) * norm;
      specRe[ky * half + kx] = tr[ky * half + kx]! * c;
      specIm[ky * half + kx] = ti[ky * half + kx]! * c;
    }
  }
}
