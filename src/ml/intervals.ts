/**
 * Prediction intervals by conformal prediction.
 *
 * - Split conformal on out-of-fold predictions: conformity scores s_i = |y_i − ŷ_i| ("absolute", interval
 *   ŷ ± q̂) or |y_i − ŷ_i| / max(|ŷ_i|, eps) ("relative", interval ŷ·(1 ± q̂) — suits heteroscedastic targets
 *   such as house prices). q̂ is the finite-sample quantile: the ⌈(n+1)·level⌉-th smallest score
 *   (+∞ when that exceeds n), which gives marginal coverage ≥ level for exchangeable data.
 * - `calibrateIntervals` cross-fits both methods on the calibration rows and keeps the one with the smaller
 *   mean width among those that reach the level (coverage measured on held-out calibration folds).
 * - CV+ (Barber et al. 2021) from the K fold models: `cvPlusIntervals`.
 */
import { Rng } from "../data/prng.ts";
import { MLInputError } from "./types.ts";

export type IntervalMethod = "absolute" | "relative";

export interface ConformalCalibration {
  level: number;
  qhat: number;
  method: IntervalMethod;
  /** calibration rows */
  n: number;
  /** denominator floor of the relative method */
  eps: number;
}

export const RELATIVE_EPS = 1e-8;

function checkLevel(level: number, where: string): void {
  if (typeof level !== "number" || !(level > 0 && level < 1)) {
    throw new MLInputError(`${where}: level must be in (0, 1), got ${level}`);
  }
}

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>, an: string, bn: string, where: string): void {
  if (a.length !== b.length)
    throw new MLInputError(`${where}: ${an} has ${a.length} values but ${bn} has ${b.length}`);
  if (a.length === 0) throw new MLInputError(`${where}: empty input`);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new MLInputError(`${where}: ${an}[${i}] is ${a[i]}`);
    if (!Number.isFinite(b[i])) throw new MLInputError(`${where}: ${bn}[${i}] is ${b[i]}`);
  }
}

/** The ⌈(n+1)·level⌉-th smallest score (1-based); +∞ when that rank exceeds n. */
export function conformalQuantile(scores: ArrayLike<number>, level: number): number {
  checkLevel(level, "conformalQuantile");
  const n = scores.length;
  if (n === 0) throw new MLInputError("conformalQuantile: no calibration scores");
  const s = Float64Array.from(scores);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(s[i]) || s[i] < 0)
      throw new MLInputError(`conformalQuantile: score[${i}] is ${s[i]} (must be >= 0)`);
  }
  // (n+1)*level computed with a tiny tolerance so e.g. 10 * 0.9 is 9, not 9.000000000000002
  const k = Math.ceil((n + 1) * level - 1e-9);
  if (k > n) return Number.POSITIVE_INFINITY;
  s.sort();
  return s[Math.max(k, 1) - 1];
}

export function conformityScores(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  method: IntervalMethod,
  eps = RELATIVE_EPS,
): Float64Array {
  checkPair(yTrue, yPred, "yTrue", "yPred", "conformityScores");
  const out = new Float64Array(yTrue.length);
  for (let i = 0; i < out.length; i++) {
    const r = Math.abs(yTrue[i] - yPred[i]);
    out[i] = method === "absolute" ? r : r / Math.max(Math.abs(yPred[i]), eps);
  }
  return out;
}

/**
 * Calibrate from conformity scores (|y − ŷ| for "absolute", |y − ŷ| / |ŷ| for "relative") of out-of-fold
 * predictions.
 */
export function calibrateConformal(
  scores: ArrayLike<number>,
  level: number,
  method: IntervalMethod = "absolute",
  eps = RELATIVE_EPS,
): ConformalCalibration {
  if (method !== "absolute" && method !== "relative") {
    throw new MLInputError(
      `calibrateConformal: method must be "absolute" or "relative", got ${JSON.stringify(method)}`,
    );
  }
  return { level, qhat: conformalQuantile(scores, level), method, n: scores.length, eps };
}

export interface Interval {
  lower: Float64Array;
  upper: Float64Array;
}

export function predictInterval(yPred: ArrayLike<number>, cal: ConformalCalibration): Interval {
  const n = yPred.length;
  const lower = new Float64Array(n);
  const upper = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const h = cal.method === "absolute" ? cal.qhat : cal.qhat * Math.max(Math.abs(yPred[i]), cal.eps);
    lower[i] = yPred[i] - h;
    upper[i] = yPred[i] + h;
  }
  return { lower, upper };
}

/** Fraction of y inside [lower, upper] (inclusive). */
export function empiricalCoverage(
  y: ArrayLike<number>,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
): number {
  if (y.length !== lower.length || y.length !== upper.length) {
    throw new MLInputError(
      `empiricalCoverage: lengths differ (y ${y.length}, lower ${lower.length}, upper ${upper.length})`,
    );
  }
  if (y.length === 0) throw new MLInputError("empiricalCoverage: empty input");
  let c = 0;
  for (let i = 0; i < y.length; i++) if (y[i] >= lower[i] && y[i] <= upper[i]) c++;
  return c / y.length;
}

export function meanWidth(lower: ArrayLike<number>, upper: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < lower.length; i++) s += upper[i] - lower[i];
  return s / lower.length;
}

export interface IntervalCandidate {
  calibration: ConformalCalibration;
  /** cross-fitted over the calibration folds */
  coverage: number;
  meanWidth: number;
}

export interface IntervalSelection {
  chosen: ConformalCalibration;
  candidates: Partial<Record<IntervalMethod, IntervalCandidate>>;
}

export interface CalibrateIntervalsOptions {
  level: number;
  methods?: IntervalMethod[];
  /** folds for cross-fitting the method choice (default 5) */
  k?: number;
  seed?: number;
  /** a method qualifies when its cross-fitted coverage >= level − tolerance (default 0.01) */
  tolerance?: number;
  eps?: number;
}

/**
 * Calibrate absolute and relative intervals on out-of-fold predictions and choose the narrower one at the
 * requested coverage. The returned calibration uses all rows.
 */
export function calibrateIntervals(
  yTrue: ArrayLike<number>,
  yPredOof: ArrayLike<number>,
  opts: CalibrateIntervalsOptions,
): IntervalSelection {
  const { level } = opts;
  checkLevel(level, "calibrateIntervals");
  checkPair(yTrue, yPredOof, "yTrue", "yPredOof", "calibrateIntervals");
  const methods = opts.methods ?? ["absolute", "relative"];
  if (methods.length === 0) throw new MLInputError("calibrateIntervals: methods must not be empty");
  const k = opts.k ?? 5;
  const tol = opts.tolerance ?? 0.01;
  const eps = opts.eps ?? RELATIVE_EPS;
  const n = yTrue.length;
  if (!Number.isInteger(k) || k < 2 || k > n)
    throw new MLInputError(`calibrateIntervals: k must be in [2, n], got ${k}`);
  const perm = new Rng(opts.seed ?? 0).permutation(n);
  const foldOf = new Int32Array(n);
  for (let i = 0; i < n; i++) foldOf[perm[i]] = i % k;
  const candidates: Partial<Record<IntervalMethod, IntervalCandidate>> = {};
  for (const method of methods) {
    const scores = conformityScores(yTrue, yPredOof, method, eps);
    let covered = 0;
    let width = 0;
    for (let f = 0; f < k; f++) {
      const cal: number[] = [];
      for (let i = 0; i < n; i++) if (foldOf[i] !== f) cal.push(scores[i]);
      const q = conformalQuantile(cal, level);
      for (let i = 0; i < n; i++) {
        if (foldOf[i] !== f) continue;
        const h = method === "absolute" ? q : q * Math.max(Math.abs(yPredOof[i]), eps);
        if (scores[i] <= q) covered++;
        width += 2 * h;
      }
    }
    candidates[method] = {
      calibration: calibrateConformal(scores, level, method, eps),
      coverage: covered / n,
      meanWidth: width / n,
    };
  }
  const list = methods.map((m) => candidates[m] as IntervalCandidate);
  const ok = list.filter((c) => c.coverage >= level - tol);
  const pool = ok.length > 0 ? ok : list;
  let best = pool[0];
  for (const c of pool) {
    if (ok.length > 0 ? c.meanWidth < best.meanWidth : c.coverage > best.coverage) best = c;
  }
  return { chosen: best.calibration, candidates };
}

/**
 * CV+ intervals. `foldPredictions[k]` are the predictions of the model trained without fold k at the m query
 * points; `oofResiduals[i] = |y_i − μ̂_{−k(i)}(x_i)|` and `foldOf[i] = k(i)`. With α = 1 − level:
 * lower = ⌊α(n+1)⌋-th smallest of μ̂_{−k(i)}(x) − R_i, upper = ⌈(1−α)(n+1)⌉-th smallest of μ̂_{−k(i)}(x) + R_i.
 * O(m · n log n).
 */
export function cvPlusIntervals(
  foldPredictions: readonly ArrayLike<number>[],
  oofResiduals: ArrayLike<number>,
  foldOf: ArrayLike<number>,
  level: number,
): Interval {
  checkLevel(level, "cvPlusIntervals");
  const n = oofResiduals.length;
  if (foldOf.length !== n)
    throw new MLInputError(`cvPlusIntervals: foldOf has ${foldOf.length} values, residuals ${n}`);
  const K = foldPredictions.length;
  if (K === 0) throw new MLInputError("cvPlusIntervals: no fold predictions");
  const m = foldPredictions[0].length;
  for (let k = 1; k < K; k++) {
    if (foldPredictions[k].length !== m)
      throw new MLInputError(`cvPlusIntervals: foldPredictions[${k}] has a different length`);
  }
  for (let i = 0; i < n; i++) {
    if (!(foldOf[i] >= 0 && foldOf[i] < K && Number.isInteger(foldOf[i]))) {
      throw new MLInputError(`cvPlusIntervals: foldOf[${i}] = ${foldOf[i]} is not a fold index 0..${K - 1}`);
    }
    if (!(oofResiduals[i] >= 0))
      throw new MLInputError(`cvPlusIntervals: oofResiduals[${i}] is ${oofResiduals[i]}`);
  }
  const alpha = 1 - level;
  const kLo = Math.floor(alpha * (n + 1) + 1e-9);
  const kHi = Math.ceil((1 - alpha) * (n + 1) - 1e-9);
  const lower = new Float64Array(m);
  const upper = new Float64Array(m);
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++) {
      const mu = foldPredictions[foldOf[i]][j];
      lo[i] = mu - oofResiduals[i];
      hi[i] = mu + oofResiduals[i];
    }
    lo.sort();
    hi.sort();
    lower[j] = kLo < 1 ? Number.NEGATIVE_INFINITY : lo[kLo - 1];
    upper[j] = kHi > n ? Number.POSITIVE_INFINITY : hi[kHi - 1];
  }
  return { lower, upper };
}
