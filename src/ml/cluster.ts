/**
 * KMeans (scikit-learn 1.2.1 Lloyd algorithm with greedy k-means++ seeding) and cluster-quality scores
 * (silhouette, Calinski–Harabasz, Davies–Bouldin) with exact Euclidean distances.
 *
 * Randomness comes from the project's `Rng` seeded by `random_state` (null means seed 0), so results
 * are deterministic but not the same draws as numpy: compare inertia, not centres, with sklearn.
 */
import { Rng } from "../data/prng.ts";
import {
  KahanSum,
  checkFeatures,
  checkStateKind,
  checkXy,
  isNumber,
  isOneOf,
  notFitted,
  resolveParams,
} from "./linalg.ts";
import type { ParamSpec } from "./linalg.ts";
import { MLInputError, matrix } from "./types.ts";
import type { Matrix, ModelState, Params, ParamValue, Transformer } from "./types.ts";

const KMEANS_SPECS: Record<string, ParamSpec> = {
  n_clusters: { default: 8, check: isNumber({ min: 1, integer: true }) },
  init: { default: "k-means++", check: isOneOf(["k-means++", "random"]) },
  n_init: {
    default: 10,
    check: (v: ParamValue) => (v === "auto" ? null : isNumber({ min: 1, integer: true })(v)),
  },
  max_iter: { default: 300, check: isNumber({ min: 1, integer: true }) },
  tol: { default: 1e-4, check: isNumber({ min: 0 }) },
  random_state: { default: null, check: isNumber({ integer: true, nullable: true }) },
  algorithm: { default: "lloyd", check: isOneOf(["lloyd"]) },
};

export interface KMeansParams {
  n_clusters?: number;
  init?: "k-means++" | "random";
  /** 10 (sklearn 1.2 default) or 'auto' (1 for k-means++, 10 for random). */
  n_init?: number | "auto";
  max_iter?: number;
  tol?: number;
  random_state?: number | null;
  algorithm?: "lloyd";
}

function sqDist(a: Float64Array, ao: number, b: Float64Array, bo: number, m: number): number {
  let s = 0;
  for (let j = 0; j < m; j++) {
    const d = a[ao + j] - b[bo + j];
    s += d * d;
  }
  return s;
}

interface RunResult {
  labels: Int32Array;
  inertia: number;
  centers: Float64Array;
  nIter: number;
}

/**
 * K-means clustering. `fit(X)`; `predict(X)` → nearest-centre labels; `transform(X)` → distances to
 * every centre. Stopping: labels unchanged, or Σ‖Δcentre‖² ≤ tol × mean per-column variance of X.
 * The best of `n_init` runs (lowest inertia) is kept.
 */
export class KMeans implements Transformer {
  readonly kind = "KMeans";
  private readonly params: Params;
  clusterCenters_: Float64Array | null = null;
  labels_: Int32Array | null = null;
  inertia_ = Number.NaN;
  nIter_ = 0;
  nFeaturesIn_ = 0;
  featureNames_: readonly string[] | null = null;

  constructor(params: KMeansParams = {}) {
    this.params = resolveParams(this.kind, KMEANS_SPECS, params as Partial<Params>);
  }

  getParams(): Params {
    return { ...this.params };
  }

  get nClusters(): number {
    return this.params.n_clusters as number;
  }

  fit(X: Matrix): this {
    checkXy(this.kind, X);
    const k = this.nClusters;
    const n = X.rows;
    const m = X.cols;
    if (n < k) throw new MLInputError(`${this.kind}: n_samples=${n} should be >= n_clusters=${k}`);
    // centre the data (as sklearn does) for precision
    const mean = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      const s = new KahanSum();
      for (let i = 0; i < n; i++) s.add(X.data[i * m + j]);
      mean[j] = s.value / n;
    }
    const Xc = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) Xc[i * m + j] = X.data[i * m + j] - mean[j];
    let varMean = 0;
    for (let j = 0; j < m; j++) {
      const s = new KahanSum();
      for (let i = 0; i < n; i++) s.add(Xc[i * m + j] * Xc[i * m + j]);
      varMean += s.value / n;
    }
    const tol = (varMean / m) * (this.params.tol as number);
    const init = this.params.init as string;
    const nInitP = this.params.n_init;
    const nInit = nInitP === "auto" ? (init === "k-means++" ? 1 : 10) : (nInitP as number);
    const rng = new Rng((this.params.random_state as number | null) ?? 0);
    let best: RunResult | null = null;
    for (let r = 0; r < nInit; r++) {
      const centers = init === "k-means++" ? kmeansPlusPlus(Xc, n, m, k, rng) : randomInit(Xc, n, m, k, rng);
      const res = lloyd(Xc, n, m, k, centers, this.params.max_iter as number, tol);
      if (!best || res.inertia < best.inertia) best = res;
    }
    const b = best!;
    for (let c = 0; c < k; c++) for (let j = 0; j < m; j++) b.centers[c * m + j] += mean[j];
    this.clusterCenters_ = b.centers;
    this.labels_ = b.labels;
    this.inertia_ = b.inertia;
    this.nIter_ = b.nIter;
    this.nFeaturesIn_ = m;
    this.featureNames_ = X.featureNames ? [...X.featureNames] : null;
    return this;
  }

  private centers(X: Matrix): Float64Array {
    if (!this.clusterCenters_) throw notFitted(this.kind);
    checkFeatures(this.kind, X, this.nFeaturesIn_, this.featureNames_);
    checkXy(this.kind, X);
    return this.clusterCenters_;
  }

  predict(X: Matrix): Int32Array {
    const C = this.centers(X);
    const k = this.nClusters;
    const m = X.cols;
    const out = new Int32Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let bd = Number.POSITIVE_INFINITY;
      let bc = 0;
      for (let c = 0; c < k; c++) {
        const d = sqDist(X.data, i * m, C, c * m, m);
        if (d < bd) {
          bd = d;
          bc = c;
        }
      }
      out[i] = bc;
    }
    return out;
  }

  fitPredict(X: Matrix): Int32Array {
    return this.fit(X).labels_!.slice();
  }

  /** Euclidean distance of every row to every centre (rows × n_clusters). */
  transform(X: Matrix): Matrix {
    const C = this.centers(X);
    const k = this.nClusters;
    const m = X.cols;
    const out = new Float64Array(X.rows * k);
    for (let i = 0; i < X.rows; i++)
      for (let c = 0; c < k; c++) out[i * k + c] = Math.sqrt(sqDist(X.data, i * m, C, c * m, m));
    return matrix(
      X.rows,
      k,
      out,
      Array.from({ length: k }, (_, c) => `kmeans${c}`),
    );
  }

  /** Row-major n_clusters × n_features centres as a Matrix. */
  get centersMatrix(): Matrix {
    if (!this.clusterCenters_) throw notFitted(this.kind);
    return matrix(this.nClusters, this.nFeaturesIn_, Float64Array.from(this.clusterCenters_));
  }

  toState(): ModelState {
    if (!this.clusterCenters_) throw notFitted(this.kind);
    return {
      kind: this.kind,
      params: this.getParams(),
      meta: {
        n_features: this.nFeaturesIn_,
        feature_names: this.featureNames_,
        inertia: this.inertia_,
        n_iter: this.nIter_,
      },
      arrays: { cluster_centers: Float64Array.from(this.clusterCenters_) },
    };
  }

  static fromState(state: ModelState): KMeans {
    checkStateKind(state, "KMeans");
    const km = new KMeans(state.params as KMeansParams);
    const C = state.arrays.cluster_centers;
    const m = Number(state.meta.n_features);
    if (!C || C.length !== km.nClusters * m)
      throw new MLInputError(
        `KMeans.fromState: cluster_centers must hold n_clusters*n_features = ${km.nClusters * m} values`,
      );
    km.clusterCenters_ = Float64Array.from(C);
    km.nFeaturesIn_ = m;
    km.inertia_ = Number(state.meta.inertia);
    km.nIter_ = Number(state.meta.n_iter ?? 0);
    const names = state.meta.feature_names as string[] | null | undefined;
    km.featureNames_ = names ? [...names] : null;
    return km;
  }
}

/** Greedy k-means++ with 2 + floor(ln k) local trials (sklearn's `_kmeans_plusplus`). */
function kmeansPlusPlus(X: Float64Array, n: number, m: number, k: number, rng: Rng): Float64Array {
  const centers = new Float64Array(k * m);
  const trials = 2 + Math.floor(Math.log(k));
  const first = rng.int(n);
  centers.set(X.subarray(first * m, first * m + m), 0);
  let closest = new Float64Array(n);
  for (let i = 0; i < n; i++) closest[i] = sqDist(X, i * m, X, first * m, m);
  let pot = sumOf(closest);
  const cum = new Float64Array(n);
  let cand = new Float64Array(n);
  let bestD = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let run = 0;
    for (let i = 0; i < n; i++) cum[i] = run += closest[i];
    let bestPot = Number.POSITIVE_INFINITY;
    let bestId = -1;
    for (let t = 0; t < trials; t++) {
      const r = rng.next() * pot;
      // searchsorted (left): first index with cum >= r
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid] < r) lo = mid + 1;
        else hi = mid;
      }
      const id = Math.min(lo, n - 1);
      for (let i = 0; i < n; i++) cand[i] = Math.min(closest[i], sqDist(X, i * m, X, id * m, m));
      const p = sumOf(cand);
      if (p < bestPot) {
        bestPot = p;
        bestId = id;
        const tmp = bestD;
        bestD = cand;
        cand = tmp;
      }
    }
    centers.set(X.subarray(bestId * m, bestId * m + m), c * m);
    const tmp = closest;
    closest = bestD;
    bestD = tmp;
    pot = bestPot;
  }
  return centers;
}

function randomInit(X: Float64Array, n: number, m: number, k: number, rng: Rng): Float64Array {
  const idx = rng.sampleWithoutReplacement(n, k);
  const centers = new Float64Array(k * m);
  for (let c = 0; c < k; c++) centers.set(X.subarray(idx[c] * m, idx[c] * m + m), c * m);
  return centers;
}

function sumOf(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

function assign(
  X: Float64Array,
  n: number,
  m: number,
  k: number,
  centers: Float64Array,
  labels: Int32Array,
): void {
  for (let i = 0; i < n; i++) {
    let bd = Number.POSITIVE_INFINITY;
    let bc = 0;
    for (let c = 0; c < k; c++) {
      const d = sqDist(X, i * m, centers, c * m, m);
      if (d < bd) {
        bd = d;
        bc = c;
      }
    }
    labels[i] = bc;
  }
}

function lloyd(
  X: Float64Array,
  n: number,
  m: number,
  k: number,
  centers0: Float64Array,
  maxIter: number,
  tol: number,
): RunResult {
  let centers: Float64Array = centers0;
  let next: Float64Array = new Float64Array(k * m);
  const labels = new Int32Array(n);
  const labelsOld = new Int32Array(n).fill(-1);
  const counts = new Float64Array(k);
  let strict = false;
  let it = 0;
  for (it = 0; it < maxIter; it++) {
    assign(X, n, m, k, centers, labels);
    next.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      counts[c]++;
      for (let j = 0; j < m; j++) next[c * m + j] += X[i * m + j];
    }
    relocateEmpty(X, n, m, k, centers, next, counts, labels);
    let shift = 0;
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < m; j++) {
        next[c * m + j] = counts[c] > 0 ? next[c * m + j] / counts[c] : centers[c * m + j];
        const d = next[c * m + j] - centers[c * m + j];
        shift += d * d;
      }
    }
    const tmp = centers;
    centers = next;
    next = tmp;
    let same = true;
    for (let i = 0; i < n; i++)
      if (labels[i] !== labelsOld[i]) {
        same = false;
        break;
      }
    if (same) {
      strict = true;
      break;
    }
    if (shift <= tol) break;
    labelsOld.set(labels);
  }
  if (!strict) assign(X, n, m, k, centers, labels);
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += sqDist(X, i * m, centers, labels[i] * m, m);
  return { labels, inertia, centers, nIter: Math.min(it + 1, maxIter) };
}

/** sklearn's empty-cluster relocation: move the points farthest from their centre into empty clusters. */
function relocateEmpty(
  X: Float64Array,
  n: number,
  m: number,
  k: number,
  centersOld: Float64Array,
  sums: Float64Array,
  counts: Float64Array,
  labels: Int32Array,
): void {
  const empty: number[] = [];
  for (let c = 0; c < k; c++) if (counts[c] === 0) empty.push(c);
  if (empty.length === 0) return;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = sqDist(X, i * m, centersOld, labels[i] * m, m);
  const far = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => d[b] - d[a] || a - b)
    .slice(0, empty.length);
  empty.forEach((newC, e) => {
    const i = far[e];
    const oldC = labels[i];
    for (let j = 0; j < m; j++) {
      sums[oldC * m + j] -= X[i * m + j];
      sums[newC * m + j] = X[i * m + j];
    }
    counts[oldC]--;
    counts[newC] = 1;
  });
}

// ------------------------------------------------------------------------------------------------
// Cluster scores
// ------------------------------------------------------------------------------------------------

interface Encoded {
  codes: Int32Array;
  k: number;
  sizes: Float64Array;
}

function encodeLabels(fn: string, X: Matrix, labels: ArrayLike<number>): Encoded {
  checkXy(fn, X);
  if (labels.length !== X.rows)
    throw new MLInputError(
      `${fn}: labels has ${labels.length} values but X has ${X.rows} rows (length mismatch)`,
    );
  const uniq = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const n = X.rows;
  if (uniq.length < 2 || uniq.length > n - 1)
    throw new MLInputError(
      `${fn}: number of labels is ${uniq.length}; valid values are 2 to n_samples - 1 (${n - 1}) inclusive`,
    );
  const map = new Map(uniq.map((u, i) => [u, i]));
  const codes = new Int32Array(n);
  const sizes = new Float64Array(uniq.length);
  for (let i = 0; i < n; i++) {
    const c = map.get(labels[i])!;
    codes[i] = c;
    sizes[c]++;
  }
  return { codes, k: uniq.length, sizes };
}

/**
 * Silhouette coefficient of every sample, s = (b − a)/max(a, b) with exact Euclidean distances
 * (0 for members of singleton clusters). O(n²) time, O(n·k) memory, symmetric blocked loop.
 */
export function silhouetteSamples(X: Matrix, labels: ArrayLike<number>): Float64Array {
  const { codes, k, sizes } = encodeLabels("silhouette_samples", X, labels);
  const n = X.rows;
  const m = X.cols;
  const D = X.data;
  const sums = new Float64Array(n * k);
  const B = 256;
  for (let i0 = 0; i0 < n; i0 += B) {
    const i1 = Math.min(n, i0 + B);
    for (let j0 = i0; j0 < n; j0 += B) {
      const j1 = Math.min(n, j0 + B);
      for (let i = i0; i < i1; i++) {
        const ci = codes[i];
        const io = i * m;
        const rowI = i * k;
        for (let j = j0 === i0 ? i + 1 : j0; j < j1; j++) {
          let s = 0;
          const jo = j * m;
          for (let t = 0; t < m; t++) {
            const d = D[io + t] - D[jo + t];
            s += d * d;
          }
          const dist = Math.sqrt(s);
          sums[rowI + codes[j]] += dist;
          sums[j * k + ci] += dist;
        }
      }
    }
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ci = codes[i];
    if (sizes[ci] <= 1) continue;
    const a = sums[i * k + ci] / (sizes[ci] - 1);
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) if (c !== ci) b = Math.min(b, sums[i * k + c] / sizes[c]);
    const mx = Math.max(a, b);
    out[i] = mx === 0 ? 0 : (b - a) / mx;
  }
  return out;
}

export interface SilhouetteOptions {
  /** Evaluate on a random subset of this many rows (sklearn's sample_size). */
  sampleSize?: number;
  /** Seed of the subset draw (default 0). */
  seed?: number;
}

/** Mean silhouette coefficient; with `sampleSize`, on a seeded random subset of rows. */
export function silhouetteScore(X: Matrix, labels: ArrayLike<number>, opts: SilhouetteOptions = {}): number {
  if (opts.sampleSize !== undefined) {
    const s = opts.sampleSize;
    if (!Number.isInteger(s) || s < 2 || s > X.rows)
      throw new MLInputError(`silhouette_score: sampleSize must be an integer in [2, ${X.rows}], got ${s}`);
    if (labels.length !== X.rows)
      throw new MLInputError(
        `silhouette_score: labels has ${labels.length} values but X has ${X.rows} rows (length mismatch)`,
      );
    const idx = new Rng(opts.seed ?? 0).permutation(X.rows).subarray(0, s);
    const sub = new Float64Array(s * X.cols);
    const lab = new Float64Array(s);
    for (let r = 0; r < s; r++) {
      sub.set(X.data.subarray(idx[r] * X.cols, (idx[r] + 1) * X.cols), r * X.cols);
      lab[r] = labels[idx[r]];
    }
    X = matrix(s, X.cols, sub);
    labels = lab;
  }
  const ss = silhouetteSamples(X, labels);
  const acc = new KahanSum();
  for (let i = 0; i < ss.length; i++) acc.add(ss[i]);
  return acc.value / ss.length;
}

function centroids(X: Matrix, e: Encoded): Float64Array {
  const m = X.cols;
  const C = new Float64Array(e.k * m);
  const acc = Array.from({ length: e.k * m }, () => new KahanSum());
  for (let i = 0; i < X.rows; i++) for (let j = 0; j < m; j++) acc[e.codes[i] * m + j].add(X.data[i * m + j]);
  for (let c = 0; c < e.k; c++) for (let j = 0; j < m; j++) C[c * m + j] = acc[c * m + j].value / e.sizes[c];
  return C;
}

/** Calinski–Harabasz: [tr(B)/(k−1)] / [tr(W)/(n−k)] (1 when W = 0, like sklearn). */
export function calinskiHarabaszScore(X: Matrix, labels: ArrayLike<number>): number {
  const e = encodeLabels("calinski_harabasz_score", X, labels);
  const n = X.rows;
  const m = X.cols;
  const C = centroids(X, e);
  const mean = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const s = new KahanSum();
    for (let i = 0; i < n; i++) s.add(X.data[i * m + j]);
    mean[j] = s.value / n;
  }
  const extra = new KahanSum();
  for (let c = 0; c < e.k; c++) {
    let s = 0;
    for (let j = 0; j < m; j++) s += (C[c * m + j] - mean[j]) ** 2;
    extra.add(e.sizes[c] * s);
  }
  const intra = new KahanSum();
  for (let i = 0; i < n; i++) intra.add(sqDist(X.data, i * m, C, e.codes[i] * m, m));
  if (intra.value === 0) return 1;
  return (extra.value * (n - e.k)) / (intra.value * (e.k - 1));
}

/** Davies–Bouldin: mean over clusters of max_{j≠i} (S_i + S_j)/‖c_i − c_j‖ (0 when degenerate, like sklearn). */
export function daviesBouldinScore(X: Matrix, labels: ArrayLike<number>): number {
  const e = encodeLabels("davies_bouldin_score", X, labels);
  const m = X.cols;
  const k = e.k;
  const C = centroids(X, e);
  const intraAcc = Array.from({ length: k }, () => new KahanSum());
  for (let i = 0; i < X.rows; i++)
    intraAcc[e.codes[i]].add(Math.sqrt(sqDist(X.data, i * m, C, e.codes[i] * m, m)));
  const S = intraAcc.map((a, c) => a.value / e.sizes[c]);
  const cd = new Float64Array(k * k);
  for (let a = 0; a < k; a++)
    for (let b = 0; b < k; b++) cd[a * k + b] = Math.sqrt(sqDist(C, a * m, C, b * m, m));
  if (S.every((v) => Math.abs(v) <= 1e-8) || cd.every((v) => Math.abs(v) <= 1e-8)) return 0;
  const acc = new KahanSum();
  for (let a = 0; a < k; a++) {
    let mx = Number.NEGATIVE_INFINITY;
    for (let b = 0; b < k; b++) {
      const d = cd[a * k + b] === 0 ? Number.POSITIVE_INFINITY : cd[a * k + b];
      mx = Math.max(mx, (S[a] + S[b]) / d);
    }
    acc.add(mx);
  }
  return acc.value / k;
}
