import type { Matrix, ModelState, ParamValue, Params } from "./types.ts";
import { MLInputError } from "./types.ts";

/**
 * Small dense linear-algebra helpers for the ML engine (no dependency): accurate summation,
 * Cholesky factorisation / solve, a symmetric Jacobi eigen-solver and a one-sided Jacobi SVD.
 * All matrices are row-major Float64Array unless stated otherwise.
 */

/** Neumaier-compensated sum of `a[start..end)` (near correctly rounded; order-independent to ~1 ulp). */
export function accurateSum(a: ArrayLike<number>, start = 0, end = a.length): number {
  let s = 0;
  let c = 0;
  for (let i = start; i < end; i++) {
    const x = a[i];
    const t = s + x;
    if (Math.abs(s) >= Math.abs(x)) c += s - t + x;
    else c += x - t + s;
    s = t;
  }
  return s + c;
}

/** Compensated accumulator (Neumaier) for streaming sums. */
export class KahanSum {
  private s = 0;
  private c = 0;
  add(x: number): void {
    const t = this.s + x;
    if (Math.abs(this.s) >= Math.abs(x)) this.c += this.s - t + x;
    else this.c += x - t + this.s;
    this.s = t;
  }
  get value(): number {
    return this.s + this.c;
  }
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/**
 * Cholesky factorisation A = L Lᵀ of a symmetric positive-definite n×n matrix (row-major).
 * Returns the lower-triangular L (row-major, upper part zero) or null when A is not positive definite.
 */
export function cholesky(A: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= L[j * n + k] * L[j * n + k];
    // a pivot that vanished to rounding level means A is (numerically) singular
    if (!(d > 1e-14 * Math.abs(A[j * n + j])) || !Number.isFinite(d)) return null;
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = s / ljj;
    }
  }
  return L;
}

/** Solve L Lᵀ x = b given the Cholesky factor L. */
export function choleskySolve(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * x[k];
    x[i] = s / L[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/**
 * Symmetric eigen-decomposition by cyclic Jacobi rotations.
 * Returns eigenvalues (descending) and eigenvectors as columns of the row-major n×n `vectors`.
 */
export function symmetricEigen(A: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(A);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off === 0) break;
    let rotated = false;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        if (Math.abs(apq) <= 1e-300 || Math.abs(apq) < 1e-17 * Math.sqrt(Math.abs(app * aqq))) {
          a[p * n + q] = a[q * n + p] = 0;
          continue;
        }
        rotated = true;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
    if (!rotated) break;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = a[src * n + src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}

/**
 * Thin SVD X = U S Vᵀ of a rows×cols matrix (row-major) by one-sided Jacobi (Hestenes) rotations.
 * Accurate for small `cols`. Returns singular values (descending), V (row-major cols×cols, columns are
 * right singular vectors). U is not formed.
 */
export function svdRight(X: Float64Array, rows: number, cols: number): { s: Float64Array; V: Float64Array } {
  // Column-major working copy: column j is w[j*rows .. (j+1)*rows).
  const w = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) w[j * rows + i] = X[i * cols + j];
  const V = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) V[i * cols + i] = 1;
  const eps = 2.220446049250313e-16;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < cols - 1; p++) {
      for (let q = p + 1; q < cols; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        const op = p * rows;
        const oq = q * rows;
        for (let i = 0; i < rows; i++) {
          const xp = w[op + i];
          const xq = w[oq + i];
          alpha += xp * xp;
          beta += xq * xq;
          gamma += xp * xq;
        }
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < rows; i++) {
          const xp = w[op + i];
          const xq = w[oq + i];
          w[op + i] = c * xp - s * xq;
          w[oq + i] = s * xp + c * xq;
        }
        for (let k = 0; k < cols; k++) {
          const vp = V[k * cols + p];
          const vq = V[k * cols + q];
          V[k * cols + p] = c * vp - s * vq;
          V[k * cols + q] = s * vp + c * vq;
        }
      }
    }
    if (!rotated) break;
  }
  const sv = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    let ss = 0;
    for (let i = 0; i < rows; i++) ss += w[j * rows + i] * w[j * rows + i];
    sv[j] = Math.sqrt(ss);
  }
  const order = Array.from({ length: cols }, (_, i) => i).sort((i, j) => sv[j] - sv[i]);
  const s = new Float64Array(cols);
  const Vs = new Float64Array(cols * cols);
  order.forEach((src, dst) => {
    s[dst] = sv[src];
    for (let k = 0; k < cols; k++) Vs[k * cols + dst] = V[k * cols + src];
  });
  return { s, V: Vs };
}

/** Xᵀ X (cols×cols, row-major) of a row-major rows×cols matrix. */
export function gram(X: Float64Array, rows: number, cols: number): Float64Array {
  const G = new Float64Array(cols * cols);
  for (let i = 0; i < rows; i++) {
    const off = i * cols;
    for (let a = 0; a < cols; a++) {
      const xa = X[off + a];
      if (xa === 0) continue;
      for (let b = a; b < cols; b++) G[a * cols + b] += xa * X[off + b];
    }
  }
  for (let a = 0; a < cols; a++) for (let b = 0; b < a; b++) G[a * cols + b] = G[b * cols + a];
  return G;
}

/** Xᵀ y for a row-major rows×cols matrix. */
export function xtv(X: Float64Array, rows: number, cols: number, y: ArrayLike<number>): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const yi = y[i];
    const off = i * cols;
    for (let j = 0; j < cols; j++) out[j] += X[off + j] * yi;
  }
  return out;
}

/**
 * Solve the symmetric positive semi-definite system A x = b: Cholesky when A is positive definite,
 * otherwise the minimum-norm solution through the eigen-decomposition (pseudo-inverse).
 */
export function solveSymmetric(A: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const L = cholesky(A, n);
  if (L) return choleskySolve(L, n, b);
  const { values, vectors } = symmetricEigen(A, n);
  const tolv = Math.max(1e-300, Math.abs(values[0]) * n * 2.220446049250313e-16);
  const x = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    if (Math.abs(values[k]) <= tolv) continue;
    let proj = 0;
    for (let i = 0; i < n; i++) proj += vectors[i * n + k] * b[i];
    proj /= values[k];
    for (let i = 0; i < n; i++) x[i] += vectors[i * n + k] * proj;
  }
  return x;
}

/** Median of the finite-or-infinite values (NaN sorts last like numpy when present: returns NaN). */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const a = Float64Array.from(values as ArrayLike<number>);
  for (let i = 0; i < n; i++) if (Number.isNaN(a[i])) return Number.NaN;
  a.sort();
  const h = n >> 1;
  return n % 2 === 1 ? a[h] : (a[h - 1] + a[h]) / 2;
}

// ---------------------------------------------------------------------------------------------
// Parameter and input validation shared by the estimators of src/ml (metrics, linear,
// preprocessing, cluster, impute).
// ---------------------------------------------------------------------------------------------

export type ParamCheck = (v: ParamValue) => string | null;
export interface ParamSpec {
  default: ParamValue;
  /** Returns an error description, or null when the value is acceptable. */
  check: ParamCheck;
}

export const isNumber =
  (
    opts: { min?: number; max?: number; minExclusive?: boolean; integer?: boolean; nullable?: boolean } = {},
  ): ParamCheck =>
  (v) => {
    if (v === null && opts.nullable) return null;
    if (typeof v !== "number" || Number.isNaN(v)) return `must be a number${opts.nullable ? " or null" : ""}`;
    if (opts.integer && !Number.isInteger(v)) return "must be an integer";
    if (opts.min !== undefined && (opts.minExclusive ? !(v > opts.min) : !(v >= opts.min)))
      return `must be ${opts.minExclusive ? ">" : ">="} ${opts.min}`;
    if (opts.max !== undefined && !(v <= opts.max)) return `must be <= ${opts.max}`;
    return null;
  };

export const isBool: ParamCheck = (v) => (typeof v === "boolean" ? null : "must be a boolean");

export const isOneOf =
  (values: readonly ParamValue[]): ParamCheck =>
  (v) =>
    values.includes(v) ? null : `must be one of ${values.map((x) => JSON.stringify(x)).join(", ")}`;

/**
 * Merge user params over defaults; reject unknown names (listing the valid ones) and invalid values.
 */
export function resolveParams(
  kind: string,
  specs: Record<string, ParamSpec>,
  given: Partial<Params> = {},
): Params {
  const valid = Object.keys(specs);
  const out: Params = {};
  for (const [k, v] of Object.entries(given)) {
    if (!Object.hasOwn(specs, k))
      throw new MLInputError(`${kind}: unknown parameter '${k}'; valid parameters are: ${valid.join(", ")}`);
    if (v === undefined) continue;
    const err = specs[k].check(v);
    if (err) throw new MLInputError(`${kind}: parameter '${k}' ${err}, got ${JSON.stringify(v)}`);
  }
  for (const k of valid) out[k] = given[k] !== undefined ? (given[k] as ParamValue) : specs[k].default;
  return out;
}

/** Column label for messages: the feature name when known, else the index. */
export function colLabel(X: Matrix, j: number): string {
  const name = X.featureNames?.[j];
  return name !== undefined ? `column ${j} ('${name}')` : `column ${j}`;
}

/** Validate a design matrix (non-empty, finite) and optional target for a fit. */
export function checkXy(kind: string, X: Matrix, y?: Float64Array, opts: { allowNaN?: boolean } = {}): void {
  if (X.rows === 0) throw new MLInputError(`${kind}: X has 0 rows; at least 1 sample is required`);
  if (X.cols === 0) throw new MLInputError(`${kind}: X has 0 columns; at least 1 feature is required`);
  if (X.data.length !== X.rows * X.cols)
    throw new MLInputError(`${kind}: X.data length ${X.data.length} != rows*cols = ${X.rows}*${X.cols}`);
  if (!opts.allowNaN) checkFinite(kind, X);
  if (y !== undefined) {
    if (y.length !== X.rows)
      throw new MLInputError(`${kind}: y has ${y.length} values but X has ${X.rows} rows (length mismatch)`);
    for (let i = 0; i < y.length; i++)
      if (!Number.isFinite(y[i]))
        throw new MLInputError(`${kind}: y[${i}] is ${y[i]}; targets must be finite`);
  }
}

/** Throw on NaN/±Infinity in X, pointing to imputation for NaN. */
export function checkFinite(kind: string, X: Matrix): void {
  const { rows, cols, data } = X;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = data[i * cols + j];
      if (!Number.isFinite(v)) {
        const hint = Number.isNaN(v)
          ? `; ${kind} does not accept missing values: impute them first (SimpleImputer, KNNImputer or IterativeImputer)`
          : "; values must be finite";
        throw new MLInputError(`${kind}: X has ${v} at row ${i}, ${colLabel(X, j)}${hint}`);
      }
    }
  }
}

/** Check the column count (and names when both sides have them) of X against the fitted model. */
export function checkFeatures(
  kind: string,
  X: Matrix,
  nFeatures: number,
  names?: readonly string[] | null,
): void {
  if (X.cols !== nFeatures)
    throw new MLInputError(`${kind}: X has ${X.cols} features, but the model was fitted with ${nFeatures}`);
  if (names && X.featureNames) {
    for (let j = 0; j < nFeatures; j++)
      if (names[j] !== X.featureNames[j])
        throw new MLInputError(
          `${kind}: feature ${j} is named '${X.featureNames[j]}', but the model was fitted with '${names[j]}'`,
        );
  }
}

export function checkSampleWeight(kind: string, sw: Float64Array | undefined, n: number): void {
  if (!sw) return;
  if (sw.length !== n)
    throw new MLInputError(`${kind}: sample_weight has ${sw.length} values but X has ${n} rows`);
  for (let i = 0; i < n; i++)
    if (!(sw[i] >= 0) || !Number.isFinite(sw[i]))
      throw new MLInputError(`${kind}: sample_weight[${i}] is ${sw[i]}; weights must be finite and >= 0`);
}

export function notFitted(kind: string): MLInputError {
  return new MLInputError(`${kind}: this estimator is not fitted yet; call fit() first`);
}

/** Check a ModelState's kind before restoring it. */
export function checkStateKind(state: ModelState, kind: string): void {
  if (!state || state.kind !== kind)
    throw new MLInputError(`fromState: expected a ${kind} state, got kind '${state?.kind}'`);
}
