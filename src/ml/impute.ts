/**
 * Imputers over a numeric Matrix (NaN = missing), scikit-learn 1.2.1 semantics:
 * SimpleImputer (mean / median / most_frequent / constant), KNNImputer (nan-euclidean donors) and
 * IterativeImputer (round-robin BayesianRidge regressions).
 *
 * Difference from sklearn: a column with no observed value at fit time is an error (sklearn silently
 * drops it), unless `keep_empty_features: true` (then it is imputed with 0, as sklearn does).
 */
import { Rng } from "../data/prng.ts";
import {
  KahanSum,
  checkFeatures,
  checkStateKind,
  colLabel,
  isBool,
  isNumber,
  isOneOf,
  notFitted,
  resolveParams,
} from "./linalg.ts";
import type { ParamSpec } from "./linalg.ts";
import { SubspaceKnnIndex, TopK } from "./knn_index.ts";
import { BayesianRidge } from "./linear.ts";
import { MLInputError, matrix } from "./types.ts";
import type { Matrix, ModelState, Params, Transformer } from "./types.ts";

/** Reject empty input and ±Infinity (NaN is the missing marker). */
function checkImputeInput(kind: string, X: Matrix): void {
  if (X.rows === 0) throw new MLInputError(`${kind}: X has 0 rows; at least 1 sample is required`);
  if (X.cols === 0) throw new MLInputError(`${kind}: X has 0 columns`);
  const { rows, cols, data } = X;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const v = data[i * cols + j];
      if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY)
        throw new MLInputError(
          `${kind}: X has ${v} at row ${i}, ${colLabel(X, j)}; values must be finite or NaN (missing)`,
        );
    }
}

function columnStatistic(values: Float64Array, strategy: string): number {
  const n = values.length;
  if (strategy === "mean") {
    const s = new KahanSum();
    for (let i = 0; i < n; i++) s.add(values[i]);
    return s.value / n;
  }
  const a = Float64Array.from(values).sort();
  if (strategy === "median") {
    const h = n >> 1;
    return n % 2 === 1 ? a[h] : (a[h - 1] + a[h]) / 2;
  }
  // most_frequent: ties go to the smallest value
  let best = a[0];
  let bestCount = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && a[j] === a[i]) j++;
    if (j - i > bestCount) {
      bestCount = j - i;
      best = a[i];
    }
    i = j;
  }
  return best;
}

function observed(X: Matrix, j: number): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < X.rows; i++) {
    const v = X.data[i * X.cols + j];
    if (!Number.isNaN(v)) out.push(v);
  }
  return Float64Array.from(out);
}

function fitStatistics(
  kind: string,
  X: Matrix,
  strategy: string,
  fill: number,
  keepEmpty: boolean,
): Float64Array {
  const stats = new Float64Array(X.cols);
  for (let j = 0; j < X.cols; j++) {
    if (strategy === "constant") {
      stats[j] = fill;
      continue;
    }
    const obs = observed(X, j);
    if (obs.length === 0) {
      if (!keepEmpty)
        throw new MLInputError(
          `${kind}: ${colLabel(X, j)} has no observed values, so no ${strategy} can be computed (drop the column or set keep_empty_features)`,
        );
      stats[j] = 0;
    } else stats[j] = columnStatistic(obs, strategy);
  }
  return stats;
}

function fillWith(X: Matrix, stats: Float64Array): Matrix {
  const data = Float64Array.from(X.data);
  const m = X.cols;
  for (let i = 0; i < X.rows; i++)
    for (let j = 0; j < m; j++) if (Number.isNaN(data[i * m + j])) data[i * m + j] = stats[j];
  return matrix(X.rows, m, data, X.featureNames);
}

const SIMPLE_SPECS: Record<string, ParamSpec> = {
  strategy: { default: "mean", check: isOneOf(["mean", "median", "most_frequent", "constant"]) },
  fill_value: { default: null, check: isNumber({ nullable: true }) },
  keep_empty_features: { default: false, check: isBool },
};

export interface SimpleImputerParams {
  strategy?: "mean" | "median" | "most_frequent" | "constant";
  /** For strategy 'constant' (null → 0). */
  fill_value?: number | null;
  keep_empty_features?: boolean;
}

/** Per-column statistic imputation (NaN-aware); most_frequent ties go to the smallest value. */
export class SimpleImputer implements Transformer {
  readonly kind = "SimpleImputer";
  private readonly params: Params;
  statistics_: Float64Array | null = null;
  featureNames_: readonly string[] | null = null;

  constructor(params: SimpleImputerParams = {}) {
    this.params = resolveParams(this.kind, SIMPLE_SPECS, params as Partial<Params>);
  }

  getParams(): Params {
    return { ...this.params };
  }

  fit(X: Matrix): this {
    checkImputeInput(this.kind, X);
    this.statistics_ = fitStatistics(
      this.kind,
      X,
      this.params.strategy as string,
      (this.params.fill_value as number | null) ?? 0,
      this.params.keep_empty_features as boolean,
    );
    this.featureNames_ = X.featureNames ? [...X.featureNames] : null;
    return this;
  }

  transform(X: Matrix): Matrix {
    if (!this.statistics_) throw notFitted(this.kind);
    checkFeatures(this.kind, X, this.statistics_.length, this.featureNames_);
    checkImputeInput(this.kind, X);
    return fillWith(X, this.statistics_);
  }

  fitTransform(X: Matrix): Matrix {
    return this.fit(X).transform(X);
  }

  toState(): ModelState {
    if (!this.statistics_) throw notFitted(this.kind);
    return {
      kind: this.kind,
      params: this.getParams(),
      meta: { n_features: this.statistics_.length, feature_names: this.featureNames_ },
      arrays: { statistics: Float64Array.from(this.statistics_) },
    };
  }

  static fromState(state: ModelState): SimpleImputer {
    checkStateKind(state, "SimpleImputer");
    const s = new SimpleImputer(state.params as SimpleImputerParams);
    s.statistics_ = Float64Array.from(state.arrays.statistics);
    const names = state.meta.feature_names as string[] | null | undefined;
    s.featureNames_ = names ? [...names] : null;
    return s;
  }
}

/**
 * When KNNImputer uses a k-d index (exact, see knn_index.ts) instead of scanning every fitted row: with at least
 * `minRows` fitted rows and at most 31 columns, for a (present columns, imputed column) pattern seen `buildAfter`
 * times; at most `maxIndexes` indexes are kept. Mutable for tests.
 */
export const KNN_INDEX = { minRows: 1000, buildAfter: 8, maxIndexes: 16 };

function popcount(v: number): number {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

const KNN_SPECS: Record<string, ParamSpec> = {
  n_neighbors: { default: 5, check: isNumber({ min: 1, integer: true }) },
  weights: { default: "uniform", check: isOneOf(["uniform", "distance"]) },
  metric: { default: "nan_euclidean", check: isOneOf(["nan_euclidean"]) },
};

export interface KNNImputerParams {
  n_neighbors?: number;
  weights?: "uniform" | "distance";
  metric?: "nan_euclidean";
}

/**
 * nan-euclidean distance between row a of A and row b of B:
 * sqrt(n_features / n_present · Σ_present (a_j − b_j)²), NaN when no coordinate is present in both.
 */
export function nanEuclidean(A: Float64Array, ao: number, B: Float64Array, bo: number, m: number): number {
  let s = 0;
  let present = 0;
  for (let j = 0; j < m; j++) {
    const x = A[ao + j];
    const y = B[bo + j];
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    const d = x - y;
    s += d * d;
    present++;
  }
  return present === 0 ? Number.NaN : Math.sqrt((m / present) * s);
}

/**
 * k-nearest-neighbour imputation. Donors for a missing cell (r, c) are the fitted rows whose column c
 * is present, ranked by nan-euclidean distance computed on the un-imputed rows (ties: lower row index
 * first); `uniform` averages the k donors' values, `distance` weights them by 1/d (if some donors are
 * at distance 0, only those count). A receiver sharing no coordinate with any donor gets the column mean.
 */
export class KNNImputer implements Transformer {
  readonly kind = "KNNImputer";
  private readonly params: Params;
  fitX_: Float64Array | null = null;
  nRows_ = 0;
  nFeaturesIn_ = 0;
  colMeans_: Float64Array | null = null;
  featureNames_: readonly string[] | null = null;
  /** Per fitted row: 1 when it has a missing value (computed on first use). */
  private rowHasNaN_: Uint8Array | null = null;
  /** fitX_ column-major (computed on first use). */
  private fitCols_: Float64Array | null = null;
  /** Distance scratch reused across transform calls (transform is synchronous). */
  private distScratch_: Float64Array | null = null;
  /** k-d indexes by (present-column mask, imputed column), and how often each was asked for. */
  private indexes_ = new Map<number, { tree: SubspaceKnnIndex; others: Int32Array }>();
  private indexHits_ = new Map<number, number>();

  constructor(params: KNNImputerParams = {}) {
    this.params = resolveParams(this.kind, KNN_SPECS, params as Partial<Params>);
  }

  getParams(): Params {
    return { ...this.params };
  }

  fit(X: Matrix): this {
    checkImputeInput(this.kind, X);
    this.colMeans_ = fitStatistics(this.kind, X, "mean", 0, false);
    this.fitX_ = Float64Array.from(X.data);
    this.rowHasNaN_ = null;
    this.fitCols_ = null;
    this.distScratch_ = null;
    this.indexes_.clear();
    this.indexHits_.clear();
    this.nRows_ = X.rows;
    this.nFeaturesIn_ = X.cols;
    this.featureNames_ = X.featureNames ? [...X.featureNames] : null;
    return this;
  }

  transform(X: Matrix): Matrix {
    const F = this.fitX_;
    if (!F || !this.colMeans_) throw notFitted(this.kind);
    checkFeatures(this.kind, X, this.nFeaturesIn_, this.featureNames_);
    checkImputeInput(this.kind, X);
    const m = X.cols;
    const nf = this.nRows_;
    const k = this.params.n_neighbors as number;
    const byDistance = this.params.weights === "distance";
    const out = Float64Array.from(X.data);
    // a fitted-rows-sized scratch, taken only when a row needs imputing and reused across calls (allocating it per
    // call costs a serving request more than the imputation: above glibc's mmap threshold, mmap + page faults)
    let dist: Float64Array | null = null;
    // the k nearest donors, kept sorted by (distance, row) while streaming over the fitted rows: the same
    // donors as sorting every candidate (ties: lower row index first), without per-candidate allocations
    const bestRow = new Int32Array(k);
    const bestKey = new Float64Array(k);
    const donors: number[] = [];
    const top = new TopK(k);
    const indexable = nf >= KNN_INDEX.minRows && m <= 31;
    for (let i = 0; i < X.rows; i++) {
      let presentMask = 0;
      let present = 0;
      for (let j = 0; j < m; j++)
        if (!Number.isNaN(X.data[i * m + j])) {
          present++;
          if (j < 31) presentMask |= 1 << j;
        }
      if (present === m) continue;
      if (!dist) {
        if (!this.distScratch_ || this.distScratch_.length !== nf) this.distScratch_ = new Float64Array(nf);
        dist = this.distScratch_;
      }
      // columns of this row answered by a k-d index (exact; see knn_index.ts); the rest by the full scan below
      let viaIndex = 0;
      if (indexable && present > 0) {
        for (let c = 0; c < m; c++) {
          if (!Number.isNaN(X.data[i * m + c])) continue;
          const ix = this.subspaceIndex(presentMask, c);
          if (!ix) continue;
          viaIndex |= 1 << c;
          top.reset();
          for (const r of ix.others) top.offer(nanEuclidean(X.data, i * m, F, r * m, m), r);
          ix.tree.search(X.data, i * m, top);
          let anyFinite = false;
          donors.length = top.count;
          for (let q = 0; q < top.count; q++) {
            donors[q] = top.row[q];
            dist[top.row[q]] = top.dist[q];
            if (!Number.isNaN(top.dist[q])) anyFinite = true;
          }
          out[i * m + c] = anyFinite ? imputeValue(donors, dist, F, m, c, byDistance) : this.colMeans_[c];
        }
        if (viaIndex !== 0 && m - present === popcount(viaIndex)) continue;
      }
      this.distances(X.data, i * m, dist);
      for (let c = 0; c < m; c++) {
        if (!Number.isNaN(X.data[i * m + c])) continue;
        if ((viaIndex >> c) & 1) continue;
        let anyFinite = false;
        let cnt = 0;
        for (let r = 0; r < nf; r++) {
          if (Number.isNaN(F[r * m + c])) continue;
          const d = dist[r];
          let kr = d;
          if (Number.isNaN(d)) kr = Number.POSITIVE_INFINITY;
          else anyFinite = true;
          if (cnt === k && !(kr < bestKey[k - 1])) continue;
          let pos = cnt < k ? cnt++ : k - 1;
          while (pos > 0 && bestKey[pos - 1] > kr) {
            bestKey[pos] = bestKey[pos - 1];
            bestRow[pos] = bestRow[pos - 1];
            pos--;
          }
          bestKey[pos] = kr;
          bestRow[pos] = r;
        }
        if (!anyFinite) {
          out[i * m + c] = this.colMeans_[c];
          continue;
        }
        donors.length = cnt;
        for (let q = 0; q < cnt; q++) donors[q] = bestRow[q];
        out[i * m + c] = imputeValue(donors, dist, F, m, c, byDistance);
      }
    }
    return matrix(X.rows, m, out, X.featureNames);
  }

  /**
   * dist[r] = nanEuclidean(x row at xo, fitted row r) for every fitted row, bit for bit. Fitted rows without a
   * missing value (nearly all of them) take a loop over the query's present columns only: the same terms summed in
   * the same order, with no NaN tests.
   */
  private distances(x: Float64Array, xo: number, dist: Float64Array): void {
    const F = this.fitX_!;
    const m = this.nFeaturesIn_;
    const nf = this.nRows_;
    if (!this.rowHasNaN_ || !this.fitCols_) {
      // column-major copy (the per-column loops below stream it) and the rows that have a missing value
      const flags = new Uint8Array(nf);
      const cols = new Float64Array(nf * m);
      for (let r = 0; r < nf; r++)
        for (let j = 0; j < m; j++) {
          const v = F[r * m + j];
          if (Number.isNaN(v)) flags[r] = 1;
          cols[j * nf + r] = v;
        }
      this.rowHasNaN_ = flags;
      this.fitCols_ = cols;
    }
    const flags = this.rowHasNaN_;
    const Fc = this.fitCols_;
    let present = 0;
    for (let j = 0; j < m; j++) {
      const q = x[xo + j];
      if (Number.isNaN(q)) continue;
      const base = j * nf;
      // s_r = Σ over present columns in ascending order of (q_j − F[r, j])², as nanEuclidean sums it
      if (present === 0)
        for (let r = 0; r < nf; r++) {
          const d = q - Fc[base + r];
          dist[r] = d * d;
        }
      else
        for (let r = 0; r < nf; r++) {
          const d = q - Fc[base + r];
          dist[r] += d * d;
        }
      present++;
    }
    if (present === 0) {
      dist.fill(Number.NaN);
      return;
    }
    const scale = m / present;
    for (let r = 0; r < nf; r++)
      dist[r] = flags[r] === 1 ? nanEuclidean(x, xo, F, r * m, m) : Math.sqrt(scale * dist[r]);
  }

  /**
   * The k-d index for queries whose present columns are `presentMask` and that need column c, once such queries
   * have been seen KNN_INDEX.buildAfter times (a one-off query is cheaper as a scan than building a tree). Indexed:
   * fitted rows with column c and every present column; `others`: fitted rows with column c but a gap in a present
   * column (scanned with nanEuclidean; their distance uses fewer coordinates).
   */
  private subspaceIndex(
    presentMask: number,
    c: number,
  ): { tree: SubspaceKnnIndex; others: Int32Array } | null {
    const key = presentMask * 32 + c;
    const hit = this.indexes_.get(key);
    if (hit) return hit;
    const seen = (this.indexHits_.get(key) ?? 0) + 1;
    this.indexHits_.set(key, seen);
    if (seen < KNN_INDEX.buildAfter) return null;
    const F = this.fitX_!;
    const m = this.nFeaturesIn_;
    const cols: number[] = [];
    for (let j = 0; j < m; j++) if ((presentMask >> j) & 1) cols.push(j);
    const clean: number[] = [];
    const others: number[] = [];
    for (let r = 0; r < this.nRows_; r++) {
      if (Number.isNaN(F[r * m + c])) continue;
      let full = true;
      for (const j of cols)
        if (Number.isNaN(F[r * m + j])) {
          full = false;
          break;
        }
      (full ? clean : others).push(r);
    }
    const entry = {
      tree: new SubspaceKnnIndex(F, m, Int32Array.from(clean), Int32Array.from(cols)),
      others: Int32Array.from(others),
    };
    if (this.indexes_.size >= KNN_INDEX.maxIndexes) this.indexes_.clear();
    this.indexes_.set(key, entry);
    return entry;
  }

  /** Donor rows (fitted-row indices) used for cell (row, col) of X, nearest first. For debugging / tests. */
  donors(X: Matrix, row: number, col: number): number[] {
    const F = this.fitX_;
    if (!F) throw notFitted(this.kind);
    const m = X.cols;
    const cand: number[] = [];
    const dist = new Float64Array(this.nRows_);
    for (let r = 0; r < this.nRows_; r++) {
      dist[r] = nanEuclidean(X.data, row * m, F, r * m, m);
      if (!Number.isNaN(F[r * m + col])) cand.push(r);
    }
    const key = (r: number) => (Number.isNaN(dist[r]) ? Number.POSITIVE_INFINITY : dist[r]);
    return selectSmallest(cand, Math.min(this.params.n_neighbors as number, cand.length), key);
  }

  fitTransform(X: Matrix): Matrix {
    return this.fit(X).transform(X);
  }

  toState(): ModelState {
    if (!this.fitX_ || !this.colMeans_) throw notFitted(this.kind);
    return {
      kind: this.kind,
      params: this.getParams(),
      meta: { n_features: this.nFeaturesIn_, n_rows: this.nRows_, feature_names: this.featureNames_ },
      arrays: { fit_X: Float64Array.from(this.fitX_), col_means: Float64Array.from(this.colMeans_) },
    };
  }

  static fromState(state: ModelState): KNNImputer {
    checkStateKind(state, "KNNImputer");
    const s = new KNNImputer(state.params as KNNImputerParams);
    s.fitX_ = Float64Array.from(state.arrays.fit_X);
    s.colMeans_ = Float64Array.from(state.arrays.col_means);
    s.nRows_ = Number(state.meta.n_rows);
    s.nFeaturesIn_ = Number(state.meta.n_features);
    if (s.fitX_.length !== s.nRows_ * s.nFeaturesIn_)
      throw new MLInputError("KNNImputer.fromState: fit_X length does not match n_rows × n_features");
    const names = state.meta.feature_names as string[] | null | undefined;
    s.featureNames_ = names ? [...names] : null;
    return s;
  }
}

/** The `count` candidates with the smallest key (ties: smaller index first), sorted ascending. */
function selectSmallest(cand: number[], count: number, key: (r: number) => number): number[] {
  const best: number[] = [];
  for (const r of cand) {
    const kr = key(r);
    if (best.length === count && !(kr < key(best[count - 1]))) continue;
    let pos = best.length;
    while (pos > 0 && key(best[pos - 1]) > kr) pos--;
    best.splice(pos, 0, r);
    if (best.length > count) best.pop();
  }
  return best;
}

function imputeValue(
  donors: number[],
  dist: Float64Array,
  F: Float64Array,
  m: number,
  c: number,
  byDistance: boolean,
): number {
  if (!byDistance) {
    let s = 0;
    for (const r of donors) s += F[r * m + c];
    return s / donors.length;
  }
  const zero = donors.some((r) => dist[r] === 0);
  let sw = 0;
  let s = 0;
  for (const r of donors) {
    let w = zero ? (dist[r] === 0 ? 1 : 0) : 1 / dist[r];
    if (Number.isNaN(w)) w = 0;
    sw += w;
    s += w * F[r * m + c];
  }
  if (sw === 0) {
    let t = 0;
    for (const r of donors) t += F[r * m + c];
    return t / donors.length;
  }
  return s / sw;
}

const ITER_SPECS: Record<string, ParamSpec> = {
  estimator: { default: "BayesianRidge", check: isOneOf(["BayesianRidge"]) },
  sample_posterior: { default: false, check: isOneOf([false]) },
  max_iter: { default: 10, check: isNumber({ min: 0, integer: true }) },
  tol: { default: 1e-3, check: isNumber({ min: 0 }) },
  n_nearest_features: { default: null, check: isOneOf([null]) },
  initial_strategy: { default: "mean", check: isOneOf(["mean", "median", "most_frequent", "constant"]) },
  imputation_order: {
    default: "ascending",
    check: isOneOf(["ascending", "descending", "roman", "arabic", "random"]),
  },
  skip_complete: { default: false, check: isBool },
  /** null = −∞ */
  min_value: { default: null, check: isNumber({ nullable: true }) },
  /** null = +∞ */
  max_value: { default: null, check: isNumber({ nullable: true }) },
  random_state: { default: null, check: isNumber({ integer: true, nullable: true }) },
};

export interface IterativeImputerParams {
  estimator?: "BayesianRidge";
  sample_posterior?: false;
  max_iter?: number;
  tol?: number;
  n_nearest_features?: null;
  initial_strategy?: "mean" | "median" | "most_frequent" | "constant";
  imputation_order?: "ascending" | "descending" | "roman" | "arabic" | "random";
  skip_complete?: boolean;
  min_value?: number | null;
  max_value?: number | null;
  random_state?: number | null;
}

/** One fitted step of the round-robin: predict feature `feat` from all other features. */
interface Step {
  feat: number;
  coef: Float64Array;
  intercept: number;
}

/**
 * Multivariate imputation by chained BayesianRidge regressions (sklearn's IterativeImputer).
 * Start from the `initial_strategy` fill; each round visits the features in `imputation_order`
 * (ascending = stable sort by fraction missing) and re-predicts the missing cells of that feature
 * from all the others (Gauss–Seidel). Stops after a round when ‖Xt − Xt_prev‖_∞ (max row sum of
 * |changes|) < tol · max|observed X|, or after `max_iter` rounds (`nIter_`).
 * `fit` stores every step; `transform` replays them on new data; `fitTransform` returns the fit result.
 */
export class IterativeImputer implements Transformer {
  readonly kind = "IterativeImputer";
  private readonly params: Params;
  initialStatistics_: Float64Array | null = null;
  steps_: Step[] = [];
  nIter_ = 0;
  imputationOrder_: number[] = [];
  nFeaturesIn_ = 0;
  featureNames_: readonly string[] | null = null;
  private fitResult: Matrix | null = null;

  constructor(params: IterativeImputerParams = {}) {
    this.params = resolveParams(this.kind, ITER_SPECS, params as Partial<Params>);
  }

  getParams(): Params {
    return { ...this.params };
  }

  private bounds(): [number, number] {
    const lo = this.params.min_value as number | null;
    const hi = this.params.max_value as number | null;
    return [lo ?? Number.NEGATIVE_INFINITY, hi ?? Number.POSITIVE_INFINITY];
  }

  fit(X: Matrix): this {
    checkImputeInput(this.kind, X);
    const n = X.rows;
    const m = X.cols;
    this.nFeaturesIn_ = m;
    this.featureNames_ = X.featureNames ? [...X.featureNames] : null;
    this.initialStatistics_ = fitStatistics(this.kind, X, this.params.initial_strategy as string, 0, false);
    const Xt = fillWith(X, this.initialStatistics_).data as Float64Array;
    const mask = new Uint8Array(n * m);
    const missCount = new Float64Array(m);
    let maxAbs = 0;
    let anyMissing = false;
    for (let i = 0; i < n * m; i++) {
      if (Number.isNaN(X.data[i])) {
        mask[i] = 1;
        missCount[i % m]++;
        anyMissing = true;
      } else maxAbs = Math.max(maxAbs, Math.abs(X.data[i]));
    }
    this.steps_ = [];
    this.nIter_ = 0;
    const order = this.order(missCount, n);
    this.imputationOrder_ = order;
    const maxIter = this.params.max_iter as number;
    if (maxIter === 0 || !anyMissing) {
      this.fitResult = matrix(n, m, Xt, X.featureNames);
      return this;
    }
    const normTol = (this.params.tol as number) * maxAbs;
    let prev = Float64Array.from(Xt);
    const rng = new Rng((this.params.random_state as number | null) ?? 0);
    for (let it = 1; it <= maxIter; it++) {
      this.nIter_ = it;
      const ord = this.params.imputation_order === "random" ? [...rng.shuffle(order.slice())] : order;
      for (const feat of ord) {
        const step = this.fitFeature(Xt, mask, n, m, feat);
        this.steps_.push(step);
        this.applyStep(Xt, mask, n, m, step);
      }
      // ‖Xt − prev‖_∞ of the matrix = max row sum of |differences|
      let inf = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += Math.abs(Xt[i * m + j] - prev[i * m + j]);
        if (s > inf) inf = s;
      }
      if (inf < normTol) break;
      prev = Float64Array.from(Xt);
    }
    this.fitResult = matrix(n, m, Xt, X.featureNames);
    return this;
  }

  private order(missCount: Float64Array, n: number): number[] {
    const m = missCount.length;
    const skip = this.params.skip_complete as boolean;
    const all = Array.from({ length: m }, (_, j) => j);
    const idx = skip ? all.filter((j) => missCount[j] > 0) : all;
    const frac = Array.from(missCount, (c) => c / n);
    const sorted = [...all].sort((a, b) => frac[a] - frac[b] || a - b); // stable (mergesort)
    switch (this.params.imputation_order) {
      case "roman":
      case "random":
        return idx;
      case "arabic":
        return [...idx].reverse();
      case "ascending":
        return sorted.slice(m - idx.length);
      default:
        return sorted.slice(m - idx.length).reverse();
    }
  }

  private fitFeature(Xt: Float64Array, mask: Uint8Array, n: number, m: number, feat: number): Step {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (!mask[i * m + feat]) rows.push(i);
    const p = m - 1;
    const Xtr = new Float64Array(rows.length * p);
    const ytr = new Float64Array(rows.length);
    rows.forEach((i, r) => {
      let q = 0;
      for (let j = 0; j < m; j++) if (j !== feat) Xtr[r * p + q++] = Xt[i * m + j];
      ytr[r] = Xt[i * m + feat];
    });
    const est = new BayesianRidge().fit(matrix(rows.length, p, Xtr), ytr);
    return { feat, coef: Float64Array.from(est.coef_!), intercept: est.intercept_ };
  }

  private applyStep(Xt: Float64Array, mask: Uint8Array, n: number, m: number, step: Step): void {
    const [lo, hi] = this.bounds();
    const { feat, coef, intercept } = step;
    for (let i = 0; i < n; i++) {
      if (!mask[i * m + feat]) continue;
      let s = 0;
      let q = 0;
      for (let j = 0; j < m; j++) if (j !== feat) s += Xt[i * m + j] * coef[q++];
      Xt[i * m + feat] = Math.min(hi, Math.max(lo, s + intercept));
    }
  }

  /** The imputed training matrix computed by the last `fit`. */
  fitTransform(X: Matrix): Matrix {
    this.fit(X);
    const r = this.fitResult!;
    return matrix(r.rows, r.cols, Float64Array.from(r.data), r.featureNames);
  }

  transform(X: Matrix): Matrix {
    if (!this.initialStatistics_) throw notFitted(this.kind);
    checkFeatures(this.kind, X, this.nFeaturesIn_, this.featureNames_);
    checkImputeInput(this.kind, X);
    const n = X.rows;
    const m = X.cols;
    const Xt = fillWith(X, this.initialStatistics_).data as Float64Array;
    const mask = new Uint8Array(n * m);
    for (let i = 0; i < n * m; i++) if (Number.isNaN(X.data[i])) mask[i] = 1;
    for (const step of this.steps_) this.applyStep(Xt, mask, n, m, step);
    return matrix(n, m, Xt, X.featureNames);
  }

  toState(): ModelState {
    if (!this.initialStatistics_) throw notFitted(this.kind);
    const p = this.nFeaturesIn_ - 1;
    const coefs = new Float64Array(this.steps_.length * p);
    this.steps_.forEach((s, k) => {
      coefs.set(s.coef, k * p);
    });
    return {
      kind: this.kind,
      params: this.getParams(),
      meta: {
        n_features: this.nFeaturesIn_,
        feature_names: this.featureNames_,
        n_iter: this.nIter_,
        imputation_order: this.imputationOrder_,
      },
      arrays: {
        initial_statistics: Float64Array.from(this.initialStatistics_),
        step_features: Int32Array.from(this.steps_.map((s) => s.feat)),
        step_coefs: coefs,
        step_intercepts: Float64Array.from(this.steps_.map((s) => s.intercept)),
      },
    };
  }

  static fromState(state: ModelState): IterativeImputer {
    checkStateKind(state, "IterativeImputer");
    const s = new IterativeImputer(state.params as IterativeImputerParams);
    s.nFeaturesIn_ = Number(state.meta.n_features);
    s.nIter_ = Number(state.meta.n_iter ?? 0);
    s.imputationOrder_ = (state.meta.imputation_order as number[] | undefined) ?? [];
    s.initialStatistics_ = Float64Array.from(state.arrays.initial_statistics);
    const feats = state.arrays.step_features;
    const coefs = state.arrays.step_coefs;
    const icpt = state.arrays.step_intercepts;
    const p = s.nFeaturesIn_ - 1;
    if (!feats || !coefs || !icpt || coefs.length !== feats.length * p || icpt.length !== feats.length)
      throw new MLInputError("IterativeImputer.fromState: inconsistent step arrays");
    s.steps_ = Array.from(feats, (f, k) => ({
      feat: f,
      coef: Float64Array.from(coefs.subarray(k * p, (k + 1) * p)),
      intercept: icpt[k],
    }));
    const names = state.meta.feature_names as string[] | null | undefined;
    s.featureNames_ = names ? [...names] : null;
    return s;
  }
}
