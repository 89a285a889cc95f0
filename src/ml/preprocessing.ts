/**
 * Preprocessing transformers (scikit-learn 1.2.1 semantics): StandardScaler over a numeric Matrix and
 * a per-column OneHotEncoder over string values.
 */
import {
  KahanSum,
  checkFeatures,
  checkStateKind,
  colLabel,
  isBool,
  isOneOf,
  notFitted,
  resolveParams,
} from "./linalg.ts";
import type { ParamSpec } from "./linalg.ts";
import { MLInputError, matrix } from "./types.ts";
import type { Matrix, ModelState, Params, Transformer } from "./types.ts";

const EPS = 2.220446049250313e-16;

const SCALER_SPECS: Record<string, ParamSpec> = {
  with_mean: { default: true, check: isBool },
  with_std: { default: true, check: isBool },
};

/**
 * Standardise features: z = (x − mean_) / scale_. Statistics skip NaN (NaN stays NaN on transform);
 * the variance is the population variance (ddof = 0); constant columns get scale 1 (sklearn's rule).
 */
export class StandardScaler implements Transformer {
  readonly kind = "StandardScaler";
  private readonly params: Params;
  mean_: Float64Array | null = null;
  var_: Float64Array | null = null;
  scale_: Float64Array | null = null;
  /** Number of non-NaN values seen per feature. */
  nSamplesSeen_: Float64Array | null = null;
  featureNames_: readonly string[] | null = null;

  constructor(params: { with_mean?: boolean; with_std?: boolean } = {}) {
    this.params = resolveParams(this.kind, SCALER_SPECS, params);
  }

  getParams(): Params {
    return { ...this.params };
  }

  fit(X: Matrix): this {
    const { rows, cols, data } = X;
    if (rows === 0) throw new MLInputError(`${this.kind}: X has 0 rows; at least 1 sample is required`);
    if (cols === 0) throw new MLInputError(`${this.kind}: X has 0 columns`);
    const mean = new Float64Array(cols);
    const vr = new Float64Array(cols);
    const count = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      const s = new KahanSum();
      let n = 0;
      for (let i = 0; i < rows; i++) {
        const v = data[i * cols + j];
        if (Number.isNaN(v)) continue;
        if (!Number.isFinite(v))
          throw new MLInputError(
            `${this.kind}: X has ${v} at row ${i}, ${colLabel(X, j)}; values must be finite`,
          );
        s.add(v);
        n++;
      }
      if (n === 0)
        throw new MLInputError(
          `${this.kind}: ${colLabel(X, j)} has no observed (non-NaN) values; cannot scale it`,
        );
      const m = s.value / n;
      const corr = new KahanSum();
      const sq = new KahanSum();
      for (let i = 0; i < rows; i++) {
        const v = data[i * cols + j];
        if (Number.isNaN(v)) continue;
        const d = v - m;
        corr.add(d);
        sq.add(d * d);
      }
      mean[j] = m;
      vr[j] = Math.max(0, (sq.value - (corr.value * corr.value) / n) / n);
      count[j] = n;
    }
    const scale = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      const n = count[j];
      const upper = n * EPS * vr[j] + (n * mean[j] * EPS) ** 2;
      scale[j] = !this.params.with_std || vr[j] <= upper ? 1 : Math.sqrt(vr[j]);
    }
    this.mean_ = mean;
    this.var_ = vr;
    this.scale_ = scale;
    this.nSamplesSeen_ = count;
    this.featureNames_ = X.featureNames ? [...X.featureNames] : null;
    return this;
  }

  private fitted(): { mean: Float64Array; scale: Float64Array } {
    if (!this.mean_ || !this.scale_) throw notFitted(this.kind);
    return { mean: this.mean_, scale: this.scale_ };
  }

  transform(X: Matrix): Matrix {
    const { mean, scale } = this.fitted();
    checkFeatures(this.kind, X, mean.length, this.featureNames_);
    const { rows, cols, data } = X;
    const out = new Float64Array(rows * cols);
    const wm = this.params.with_mean as boolean;
    const ws = this.params.with_std as boolean;
    for (let i = 0; i < rows; i++) {
      const off = i * cols;
      for (let j = 0; j < cols; j++) {
        let v = data[off + j];
        if (wm) v -= mean[j];
        if (ws) v /= scale[j];
        out[off + j] = v;
      }
    }
    return matrix(rows, cols, out, X.featureNames);
  }

  fitTransform(X: Matrix): Matrix {
    return this.fit(X).transform(X);
  }

  inverseTransform(X: Matrix): Matrix {
    const { mean, scale } = this.fitted();
    checkFeatures(this.kind, X, mean.length, this.featureNames_);
    const { rows, cols, data } = X;
    const out = new Float64Array(rows * cols);
    const wm = this.params.with_mean as boolean;
    const ws = this.params.with_std as boolean;
    for (let i = 0; i < rows; i++) {
      const off = i * cols;
      for (let j = 0; j < cols; j++) {
        let v = data[off + j];
        if (ws) v *= scale[j];
        if (wm) v += mean[j];
        out[off + j] = v;
      }
    }
    return matrix(rows, cols, out, X.featureNames);
  }

  toState(): ModelState {
    const { mean, scale } = this.fitted();
    return {
      kind: this.kind,
      params: this.getParams(),
      meta: { n_features: mean.length, feature_names: this.featureNames_ },
      arrays: {
        mean: Float64Array.from(mean),
        var: Float64Array.from(this.var_!),
        scale: Float64Array.from(scale),
        n_samples_seen: Float64Array.from(this.nSamplesSeen_!),
      },
    };
  }

  static fromState(state: ModelState): StandardScaler {
    checkStateKind(state, "StandardScaler");
    const s = new StandardScaler(state.params as { with_mean?: boolean; with_std?: boolean });
    s.mean_ = Float64Array.from(state.arrays.mean);
    s.var_ = Float64Array.from(state.arrays.var);
    s.scale_ = Float64Array.from(state.arrays.scale);
    s.nSamplesSeen_ = Float64Array.from(state.arrays.n_samples_seen);
    const names = state.meta.feature_names as string[] | null | undefined;
    s.featureNames_ = names ? [...names] : null;
    return s;
  }
}

const OHE_SPECS: Record<string, ParamSpec> = {
  handle_unknown: { default: "error", check: isOneOf(["error", "ignore"]) },
};

/**
 * One-hot encoder for ONE categorical column of string values (call it per column).
 * Categories are the distinct fitted values sorted by plain code-point order (JS default sort, same
 * as numpy). Output columns are float64 0/1, named `<column>_<category>`. `handle_unknown='ignore'`
 * encodes unseen values (and null at transform time) as all zeros; 'error' (sklearn's default) throws.
 * Missing values (null) are rejected by fit: impute them first (e.g. `mostFrequentCategory`).
 */
export class OneHotEncoder {
  readonly kind = "OneHotEncoder";
  private readonly params: Params;
  categories_: string[] | null = null;
  column_ = "x0";
  private index = new Map<string, number>();
  /** `<column>_<category>` per category, for `categories_`/`column_` as they were when built (outputs share it). */
  private namesOut: { cats: readonly string[]; column: string; names: readonly string[] } | null = null;

  constructor(params: { handle_unknown?: "error" | "ignore" } = {}) {
    this.params = resolveParams(this.kind, OHE_SPECS, params);
  }

  getParams(): Params {
    return { ...this.params };
  }

  /** Fit on the values of one column; `column` names the output features. */
  fit(values: ArrayLike<string | null | undefined>, column = "x0"): this {
    if (values.length === 0)
      throw new MLInputError(`${this.kind}: cannot fit column '${column}' on 0 values`);
    const seen = new Set<string>();
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null || v === undefined)
        throw new MLInputError(
          `${this.kind}: column '${column}' row ${i} is missing; impute categorical values before encoding (SimpleImputer most_frequent)`,
        );
      if (typeof v !== "string")
        throw new MLInputError(
          `${this.kind}: column '${column}' row ${i} is not a string: ${JSON.stringify(v)}`,
        );
      seen.add(v);
    }
    this.setCategories([...seen].sort(), column);
    return this;
  }

  private setCategories(cats: string[], column: string): void {
    this.categories_ = cats;
    this.column_ = column;
    this.index = new Map(cats.map((c, i) => [c, i]));
  }

  getFeatureNamesOut(): string[] {
    return this.featureNamesOut().slice();
  }

  /** The output names, built once rather than per transform (rebuilt if `categories_` or `column_` was replaced). */
  private featureNamesOut(): readonly string[] {
    const cats = this.categories_;
    if (!cats) throw notFitted(this.kind);
    const cached = this.namesOut;
    if (cached && cached.cats === cats && cached.column === this.column_) return cached.names;
    const names = cats.map((c) => `${this.column_}_${c}`);
    this.namesOut = { cats, column: this.column_, names };
    return names;
  }

  /** Whether unknown values encode as all zeros (`handle_unknown: 'ignore'`) rather than throw. */
  get ignoresUnknown(): boolean {
    return this.params.handle_unknown === "ignore";
  }

  /** Output column of a fitted category, -1 for a value not seen by fit. */
  categoryIndex(value: string): number {
    if (!this.categories_) throw notFitted(this.kind);
    return this.index.get(value) ?? -1;
  }

  /** Encode values as an n × n_categories 0/1 Matrix (with feature names). */
  transform(values: ArrayLike<string | null | undefined>): Matrix {
    if (!this.categories_) throw notFitted(this.kind);
    const k = this.categories_.length;
    const n = values.length;
    const out = new Float64Array(n * k);
    const ignore = this.params.handle_unknown === "ignore";
    for (let i = 0; i < n; i++) {
      const v = values[i];
      const idx = typeof v === "string" ? this.index.get(v) : undefined;
      if (idx === undefined) {
        if (ignore) continue;
        throw new MLInputError(
          `${this.kind}: column '${this.column_}' row ${i} has unknown category ${JSON.stringify(v ?? null)}; known: ${this.categories_.join(", ")} (use handle_unknown='ignore' to encode as all zeros)`,
        );
      }
      out[i * k + idx] = 1;
    }
    return matrix(n, k, out, this.featureNamesOut());
  }

  fitTransform(values: ArrayLike<string | null | undefined>, column = "x0"): Matrix {
    return this.fit(values, column).transform(values);
  }

  toState(): ModelState {
    if (!this.categories_) throw notFitted(this.kind);
    return {
      kind: this.kind,
      params: this.getParams(),
      meta: { categories: [...this.categories_], column: this.column_ },
      arrays: {},
    };
  }

  static fromState(state: ModelState): OneHotEncoder {
    checkStateKind(state, "OneHotEncoder");
    const e = new OneHotEncoder(state.params as { handle_unknown?: "error" | "ignore" });
    const cats = state.meta.categories;
    if (!Array.isArray(cats) || cats.some((c) => typeof c !== "string"))
      throw new MLInputError("OneHotEncoder.fromState: meta.categories must be an array of strings");
    e.setCategories([...(cats as string[])], String(state.meta.column ?? "x0"));
    return e;
  }
}

/**
 * Most frequent non-null string (ties go to the smallest value in code-point order, like sklearn).
 * Returns null when every value is missing.
 */
export function mostFrequentCategory(values: ArrayLike<string | null | undefined>): string | null {
  const counts = new Map<string, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === "string") counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestCount = 0;
  for (const [v, c] of counts) {
    if (c > bestCount || (c === bestCount && best !== null && v < best)) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}
