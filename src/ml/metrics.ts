/**
 * Regression metrics: scikit-learn 1.2.1 (MAE, MSE, RMSE, R², MAPE) and the pipeline's percentage
 * formulas (SMAPE, wMAPE, median APE, within-t %).
 *
 * ## Zero targets
 * - sklearn MAPE divides by `max(|y|, eps)` with eps = 2.220446049250313e-16 (float64 machine
 *   epsilon): a zero target gives a huge but finite value (≈ |ŷ| / 2.2e-16).
 * - The pipeline formulas (smape, wmape, median_ape, within_*) are evaluated literally in IEEE
 *   arithmetic by default: x/0 = +Infinity (the row is never "within t" and sorts last for the
 *   median), 0/0 = NaN (propagates: smape / median_ape become NaN when y = ŷ = 0).
 * - With `{ safe: true }` (the ε-safe variant of the reference's sweep / registration steps) every
 *   denominator is floored at 1e-8: MAPE/median/within use max(|y|, 1e-8), SMAPE uses
 *   max((|y|+|ŷ|)/2, 1e-8), wMAPE uses max(Σ|y|, 1e-8). Results are then always finite.
 *
 * Sums use Neumaier compensation, so results agree with numpy to ~1e-15 relative.
 */
import { KahanSum, accurateSum } from "./linalg.ts";
import { MLInputError } from "./types.ts";

export const SKLEARN_MAPE_EPS = 2.220446049250313e-16;
export const SAFE_EPS = 1e-8;

export interface MetricOptions {
  /** ε-safe denominators (floor 1e-8), as in the reference's steps 06/07. Default false. */
  safe?: boolean;
}

type Vec = ArrayLike<number>;

function check(name: string, y: Vec, yhat: Vec): number {
  if (y.length !== yhat.length)
    throw new MLInputError(
      `${name}: y_true has ${y.length} values but y_pred has ${yhat.length} (length mismatch)`,
    );
  if (y.length === 0) throw new MLInputError(`${name}: empty input (0 samples)`);
  for (let i = 0; i < y.length; i++) {
    if (Number.isNaN(y[i])) throw new MLInputError(`${name}: y_true[${i}] is NaN`);
    if (Number.isNaN(yhat[i])) throw new MLInputError(`${name}: y_pred[${i}] is NaN`);
  }
  return y.length;
}

export function meanAbsoluteError(y: Vec, yhat: Vec): number {
  const n = check("mean_absolute_error", y, yhat);
  const s = new KahanSum();
  for (let i = 0; i < n; i++) s.add(Math.abs(y[i] - yhat[i]));
  return s.value / n;
}

export function meanSquaredError(y: Vec, yhat: Vec): number {
  const n = check("mean_squared_error", y, yhat);
  const s = new KahanSum();
  for (let i = 0; i < n; i++) {
    const d = y[i] - yhat[i];
    s.add(d * d);
  }
  return s.value / n;
}

export function rootMeanSquaredError(y: Vec, yhat: Vec): number {
  return Math.sqrt(meanSquaredError(y, yhat));
}

/** R² = 1 − SS_res/SS_tot (SS_tot around mean(y)). Constant y: 1 if perfect, else 0 (sklearn force_finite). */
export function r2Score(y: Vec, yhat: Vec): number {
  const n = check("r2_score", y, yhat);
  const mean = accurateSum(y) / n;
  const res = new KahanSum();
  const tot = new KahanSum();
  for (let i = 0; i < n; i++) {
    const d = y[i] - yhat[i];
    res.add(d * d);
    const e = y[i] - mean;
    tot.add(e * e);
  }
  const num = res.value;
  const den = tot.value;
  if (den === 0) return num === 0 ? 1 : 0;
  return 1 - num / den;
}

/** sklearn's mean_absolute_percentage_error: a fraction, denominator max(|y|, eps). */
export function meanAbsolutePercentageError(y: Vec, yhat: Vec, opts: MetricOptions = {}): number {
  const n = check("mean_absolute_percentage_error", y, yhat);
  const eps = opts.safe ? SAFE_EPS : SKLEARN_MAPE_EPS;
  const s = new KahanSum();
  for (let i = 0; i < n; i++) s.add(Math.abs(y[i] - yhat[i]) / Math.max(Math.abs(y[i]), eps));
  return s.value / n;
}

/** MAPE in percent (sklearn fraction × 100). */
export function mapePercent(y: Vec, yhat: Vec, opts: MetricOptions = {}): number {
  return meanAbsolutePercentageError(y, yhat, opts) * 100;
}

/** Symmetric MAPE in percent: mean(|y−ŷ| / ((|y|+|ŷ|)/2))·100. */
export function smape(y: Vec, yhat: Vec, opts: MetricOptions = {}): number {
  const n = check("smape", y, yhat);
  const s = new KahanSum();
  for (let i = 0; i < n; i++) {
    let den = (Math.abs(y[i]) + Math.abs(yhat[i])) / 2;
    if (opts.safe) den = Math.max(den, SAFE_EPS);
    s.add(Math.abs(y[i] - yhat[i]) / den);
  }
  return (s.value / n) * 100;
}

/** Weighted MAPE in percent: Σ|y−ŷ| / Σ|y| · 100. */
export function wmape(y: Vec, yhat: Vec, opts: MetricOptions = {}): number {
  const n = check("wmape", y, yhat);
  const num = new KahanSum();
  const den = new KahanSum();
  for (let i = 0; i < n; i++) {
    num.add(Math.abs(y[i] - yhat[i]));
    den.add(Math.abs(y[i]));
  }
  const d = opts.safe ? Math.max(den.value, SAFE_EPS) : den.value;
  return (num.value / d) * 100;
}

function apes(name: string, y: Vec, yhat: Vec, opts: MetricOptions): Float64Array {
  const n = check(name, y, yhat);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const den = opts.safe ? Math.max(Math.abs(y[i]), SAFE_EPS) : Math.abs(y[i]);
    out[i] = Math.abs(y[i] - yhat[i]) / den;
  }
  return out;
}

/** Median absolute percentage error in percent (NaN if any APE is NaN, like numpy). */
export function medianApe(y: Vec, yhat: Vec, opts: MetricOptions = {}): number {
  const a = apes("median_ape", y, yhat, opts);
  for (let i = 0; i < a.length; i++) if (Number.isNaN(a[i])) return Number.NaN;
  a.sort();
  const h = a.length >> 1;
  const m = a.length % 2 === 1 ? a[h] : (a[h - 1] + a[h]) / 2;
  return m * 100;
}

/** Percentage of rows with |ŷ−y|/|y| < t (strict). */
export function withinPct(y: Vec, yhat: Vec, t: number, opts: MetricOptions = {}): number {
  const a = apes("within_pct", y, yhat, opts);
  let c = 0;
  for (let i = 0; i < a.length; i++) if (a[i] < t) c++;
  return (c / a.length) * 100;
}

export interface RegressionMetrics {
  mae: number;
  mse: number;
  rmse: number;
  r2: number;
  /** sklearn MAPE × 100 (percent). */
  mape: number;
  smape: number;
  wmape: number;
  median_ape: number;
  within_5pct: number;
  within_10pct: number;
  within_15pct: number;
}

/** All regression metrics at once (percent metrics in percent, see the module doc for zero targets). */
export function evaluateRegression(y: Vec, yhat: Vec, opts: MetricOptions = {}): RegressionMetrics {
  check("evaluateRegression", y, yhat);
  const mse = meanSquaredError(y, yhat);
  return {
    mae: meanAbsoluteError(y, yhat),
    mse,
    rmse: Math.sqrt(mse),
    r2: r2Score(y, yhat),
    mape: mapePercent(y, yhat, opts),
    smape: smape(y, yhat, opts),
    wmape: wmape(y, yhat, opts),
    median_ape: medianApe(y, yhat, opts),
    within_5pct: withinPct(y, yhat, 0.05, opts),
    within_10pct: withinPct(y, yhat, 0.1, opts),
    within_15pct: withinPct(y, yhat, 0.15, opts),
  };
}

export interface Scorer {
  name: ScorerName;
  fn: (y: Vec, yhat: Vec) => number;
  greaterIsBetter: boolean;
}

export const SCORER_NAMES = ["mae", "mse", "rmse", "r2", "mape", "wmape", "smape", "median_ape"] as const;
export type ScorerName = (typeof SCORER_NAMES)[number];

const SCORERS: Record<ScorerName, Scorer> = {
  mae: { name: "mae", fn: meanAbsoluteError, greaterIsBetter: false },
  mse: { name: "mse", fn: meanSquaredError, greaterIsBetter: false },
  rmse: { name: "rmse", fn: rootMeanSquaredError, greaterIsBetter: false },
  r2: { name: "r2", fn: r2Score, greaterIsBetter: true },
  mape: { name: "mape", fn: (y, p) => mapePercent(y, p), greaterIsBetter: false },
  wmape: { name: "wmape", fn: (y, p) => wmape(y, p), greaterIsBetter: false },
  smape: { name: "smape", fn: (y, p) => smape(y, p), greaterIsBetter: false },
  median_ape: { name: "median_ape", fn: (y, p) => medianApe(y, p), greaterIsBetter: false },
};

/** Scorer registry for model selection. Percent metrics are in percent. */
export function scorer(name: string): Scorer {
  if (!Object.hasOwn(SCORERS, name))
    throw new MLInputError(`unknown scorer '${name}'; valid scorers are: ${SCORER_NAMES.join(", ")}`);
  return SCORERS[name as ScorerName];
}
