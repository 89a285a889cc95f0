/**
 * Core contracts of the ML engine. `ml/` knows nothing of pipelines, HTTP or storage:
 * it consumes dense matrices and emits typed arrays.
 */

/** Dense row-major matrix of float64. Missing values are NaN. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** row-major: element (i, j) is data[i * cols + j]. May be backed by a SharedArrayBuffer. */
  readonly data: Float64Array;
  /** Optional column names; when a model was fitted with names, predict checks them. */
  readonly featureNames?: readonly string[];
}

export function matrix(rows: number, cols: number, data?: Float64Array, featureNames?: readonly string[]): Matrix {
  const d = data ?? new Float64Array(rows * cols);
  if (d.length !== rows * cols) throw new Error(`matrix: data length ${d.length} != rows*cols = ${rows}*${cols}`);
  return featureNames ? { rows, cols, data: d, featureNames } : { rows, cols, data: d };
}

/** Build a Matrix from an array of row arrays (tests, small inputs). */
export function fromRows(rows: ArrayLike<number>[], featureNames?: readonly string[]): Matrix {
  const n = rows.length;
  const m = n > 0 ? rows[0].length : featureNames?.length ?? 0;
  const data = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (r.length !== m) throw new Error(`fromRows: row ${i} has ${r.length} values, expected ${m}`);
    for (let j = 0; j < m; j++) data[i * m + j] = r[j];
  }
  return matrix(n, m, data, featureNames);
}

/** Select rows by index (copy). */
export function takeRows(X: Matrix, idx: ArrayLike<number>): Matrix {
  const m = X.cols;
  const out = new Float64Array(idx.length * m);
  for (let k = 0; k < idx.length; k++) {
    const off = idx[k] * m;
    out.set(X.data.subarray(off, off + m), k * m);
  }
  return matrix(idx.length, m, out, X.featureNames);
}

export function takeValues(y: Float64Array, idx: ArrayLike<number>): Float64Array {
  const out = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) out[k] = y[idx[k]];
  return out;
}

export interface FitOptions {
  sampleWeight?: Float64Array;
}

export type ParamValue = number | string | boolean | null;
export type Params = Record<string, ParamValue>;

/** Serialisable state of a fitted model: small JSON metadata + named typed arrays. */
export interface ModelState {
  /** Estimator kind, e.g. "RandomForestRegressor". Used by the codec registry. */
  kind: string;
  params: Params;
  /** JSON-safe metadata (feature names, n_features, scalars). */
  meta: Record<string, unknown>;
  /** Bulk numeric payload. */
  arrays: Record<string, Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array | Int8Array>;
}

/** Every regressor implements this. Params have scikit-learn defaults and are validated on construction. */
export interface Regressor {
  readonly kind: string;
  getParams(): Params;
  fit(X: Matrix, y: Float64Array, opts?: FitOptions): this;
  predict(X: Matrix): Float64Array;
  /** Fitted state for the codec. Throws when not fitted. */
  toState(): ModelState;
  /** Optional: per-feature importance (trees: impurity decrease; linear: |coef|). */
  featureImportances?(): Float64Array;
}

/** Transformers (scaler, encoders, imputers) implement this. */
export interface Transformer {
  readonly kind: string;
  fit(X: Matrix): this;
  transform(X: Matrix): Matrix;
  toState(): ModelState;
}

/** Thrown for bad user input to estimators (wrong shapes, NaN targets, unknown params). */
export class MLInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MLInputError';
  }
}
