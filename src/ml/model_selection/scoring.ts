/**
 * Scoring names for model selection. Accepts the metric registry names of `ml/metrics.ts` ("mae", "rmse",
 * "r2", "mape", "wmape", …; raw metric values, direction from the registry) and the scikit-learn scorer
 * names ("neg_mean_absolute_error", "neg_root_mean_squared_error", "neg_mean_squared_error",
 * "neg_mean_absolute_percentage_error", "r2"; negated losses, greater is better), so a results table
 * reads like sklearn's cv_results_ when sklearn names are used.
 */
import { meanAbsolutePercentageError, scorer as metricScorer, SCORER_NAMES } from "../metrics.ts";
import { MLInputError } from "../types.ts";

export interface SelectionScorer {
  name: string;
  fn: (y: ArrayLike<number>, yhat: ArrayLike<number>) => number;
  greaterIsBetter: boolean;
}

const SKLEARN: Record<string, () => SelectionScorer> = {
  neg_mean_absolute_error: () => negated("neg_mean_absolute_error", metricScorer("mae").fn),
  neg_mean_squared_error: () => negated("neg_mean_squared_error", metricScorer("mse").fn),
  neg_root_mean_squared_error: () => negated("neg_root_mean_squared_error", metricScorer("rmse").fn),
  neg_mean_absolute_percentage_error: () =>
    negated("neg_mean_absolute_percentage_error", (y, p) => meanAbsolutePercentageError(y, p)),
};

function negated(name: string, f: SelectionScorer["fn"]): SelectionScorer {
  return { name, fn: (y, p) => -f(y, p), greaterIsBetter: true };
}

/** Suffix that evaluates a scorer on the original scale of a log1p-transformed target: expm1(y), expm1(ŷ). */
export const EXPM1_SUFFIX = "@expm1";

function expm1All(a: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.expm1(a[i]);
  return out;
}

export function resolveScorer(name: string): SelectionScorer {
  if (typeof name !== "string") throw new MLInputError(`scoring must be a string, got ${typeof name}`);
  if (name.endsWith(EXPM1_SUFFIX)) {
    const inner = resolveScorer(name.slice(0, -EXPM1_SUFFIX.length));
    return { name, fn: (y, p) => inner.fn(expm1All(y), expm1All(p)), greaterIsBetter: inner.greaterIsBetter };
  }
  const sk = SKLEARN[name];
  if (sk) return sk();
  if ((SCORER_NAMES as readonly string[]).includes(name)) {
    const s = metricScorer(name);
    return { name, fn: s.fn, greaterIsBetter: s.greaterIsBetter };
  }
  throw new MLInputError(
    `unknown scoring ${JSON.stringify(name)}; valid: ${[...SCORER_NAMES, ...Object.keys(SKLEARN)].join(", ")}`,
  );
}

export function resolveScorers(scoring: string | readonly string[] | undefined): SelectionScorer[] {
  const names = scoring === undefined ? ["r2"] : typeof scoring === "string" ? [scoring] : [...scoring];
  if (names.length === 0) throw new MLInputError("scoring: at least one scorer name is required");
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new MLInputError(`scoring: duplicate scorer ${JSON.stringify(n)}`);
    seen.add(n);
  }
  return names.map(resolveScorer);
}
