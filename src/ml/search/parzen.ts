/**
 * Univariate Parzen estimators for TPE (Optuna-style, independent per parameter):
 * numeric: truncated Gaussian mixture over the internal space with a prior component (mean = centre,
 * sigma = range), neighbour-distance bandwidths clipped by the "magic clip" [range / min(100, 1 + n), range];
 * integer densities are bin masses; categorical: per-observation kernels smoothed by a prior weight.
 */
import type { Rng } from "../../data/prng.ts";

// ---------------------------------------------------------------- normal distribution helpers
/** Complementary error function (Chebyshev fit, fractional error < 1.2e-7 everywhere). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
/** Standard normal CDF. */
export function normCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}
/** P(a < Z < b) for a standard normal Z, accurate in either tail. */
function normMass(a: number, b: number): number {
  if (a > 0) return 0.5 * (erfc(a / Math.SQRT2) - erfc(b / Math.SQRT2));
  if (b < 0) return 0.5 * (erfc(-b / Math.SQRT2) - erfc(-a / Math.SQRT2));
  return 1 - 0.5 * erfc(-a / Math.SQRT2) - 0.5 * erfc(b / Math.SQRT2);
}
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

function logSumExp(xs: number[]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > m) m = x;
  if (m === Number.NEGATIVE_INFINITY) return m;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** Optuna's default observation weights: flat for the newest 25, linear ramp for older ones. */
export function defaultWeights(n: number): number[] {
  if (n === 0) return [];
  if (n < 25) return new Array(n).fill(1);
  const ramp = n - 25;
  const out: number[] = [];
  for (let i = 0; i < ramp; i++) out.push(ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1));
  for (let i = 0; i < 25; i++) out.push(1);
  return out;
}

export interface ParzenOptions {
  priorWeight: number;
  considerPrior: boolean;
  considerMagicClip: boolean;
  considerEndpoints: boolean;
  weights: (n: number) => number[];
}

function mixtureWeights(n: number, o: ParzenOptions): number[] {
  const w = o.weights(n).slice(0, n);
  if (w.length !== n) throw new Error(`weights(${n}) returned ${w.length} weights`);
  if (o.considerPrior || n === 0) w.push(o.priorWeight > 0 ? o.priorWeight : 1);
  let s = 0;
  for (const x of w) s += x;
  return w.map((x) => x / s);
}

/** Truncated Gaussian mixture on [low, high] (internal space). */
export class NumericParzen {
  readonly mus: number[];
  readonly sigmas: number[];
  readonly weights: number[];
  private readonly logZ: number[];

  constructor(
    observations: readonly number[],
    readonly low: number,
    readonly high: number,
    opts: ParzenOptions,
    /** half bin width for integer parameters (0 = continuous) */
    readonly halfBin = 0,
  ) {
    const n = observations.length;
    const usePrior = opts.considerPrior || n === 0;
    const range = high - low;
    const mus = [...observations];
    if (usePrior) mus.push(low + range / 2);
    const order = mus.map((_, i) => i).sort((a, b) => mus[a] - mus[b] || a - b);
    const sorted = order.map((i) => mus[i]);
    const ext = [low, ...sorted, high];
    const sortedSig = sorted.map((_, i) => Math.max(ext[i + 1] - ext[i], ext[i + 2] - ext[i + 1]));
    if (!opts.considerEndpoints && ext.length >= 4) {
      sortedSig[0] = ext[2] - ext[1];
      sortedSig[sortedSig.length - 1] = ext[ext.length - 2] - ext[ext.length - 3];
    }
    const sigmas = new Array<number>(mus.length);
    order.forEach((orig, k) => {
      sigmas[orig] = sortedSig[k];
    });
    const maxSigma = range;
    const minSigma = opts.considerMagicClip ? range / Math.min(100, 1 + mus.length) : 1e-12;
    for (let i = 0; i < sigmas.length; i++) sigmas[i] = Math.min(maxSigma, Math.max(minSigma, sigmas[i]));
    if (usePrior) sigmas[sigmas.length - 1] = range;
    // degenerate range (low == high): a point mass
    for (let i = 0; i < sigmas.length; i++) if (!(sigmas[i] > 0)) sigmas[i] = 1e-12;
    this.mus = mus;
    this.sigmas = sigmas;
    this.weights = mixtureWeights(n, opts);
    this.logZ = mus.map((m, i) =>
      Math.log(Math.max(normMass((low - m) / sigmas[i], (high - m) / sigmas[i]), 1e-300)),
    );
  }

  sample(rng: Rng): number {
    const k = pickIndex(this.weights, rng);
    const m = this.mus[k];
    const s = this.sigmas[k];
    for (let t = 0; t < 1000; t++) {
      const x = m + s * rng.normal();
      if (x >= this.low && x <= this.high) return x;
    }
    return Math.min(this.high, Math.max(this.low, m));
  }

  /** log density at x (continuous) or log bin mass of the bin centred at x (integers). */
  logPdf(x: number): number {
    const terms: number[] = [];
    for (let k = 0; k < this.mus.length; k++) {
      const m = this.mus[k];
      const s = this.sigmas[k];
      let lp: number;
      if (this.halfBin > 0) {
        const a = Math.max(this.low, x - this.halfBin);
        const b = Math.min(this.high, x + this.halfBin);
        lp = Math.log(Math.max(normMass((a - m) / s, (b - m) / s), 1e-300));
      } else {
        const z = (x - m) / s;
        lp = -0.5 * z * z - LOG_SQRT_2PI - Math.log(s);
      }
      terms.push(Math.log(this.weights[k]) + lp - this.logZ[k]);
    }
    return logSumExp(terms);
  }
}

/** Mixture of categorical kernels over choice indices. */
export class CategoricalParzen {
  readonly weights: number[];
  /** probs[k][c] */
  readonly probs: number[][];

  constructor(
    observations: readonly number[],
    readonly nChoices: number,
    opts: ParzenOptions,
  ) {
    const n = observations.length;
    const usePrior = opts.considerPrior || n === 0;
    const kernels = n + (usePrior ? 1 : 0);
    const pw = opts.priorWeight > 0 ? opts.priorWeight : 1;
    const fill = pw / kernels;
    this.probs = [];
    for (let k = 0; k < kernels; k++) {
      const row = new Array<number>(nChoices).fill(fill);
      if (k < n) row[observations[k]] += 1;
      const s = row.reduce((a, b) => a + b, 0);
      this.probs.push(row.map((v) => v / s));
    }
    this.weights = mixtureWeights(n, opts);
  }

  sample(rng: Rng): number {
    return pickIndex(this.probs[pickIndex(this.weights, rng)], rng);
  }

  logPdf(c: number): number {
    let p = 0;
    for (let k = 0; k < this.weights.length; k++) p += this.weights[k] * this.probs[k][c];
    return Math.log(p);
  }
}

function pickIndex(w: readonly number[], rng: Rng): number {
  let u = rng.next();
  for (let i = 0; i < w.length; i++) {
    u -= w[i];
    if (u < 0) return i;
  }
  return w.length - 1;
}
