/**
 * Linear regressors with scikit-learn 1.2.1 semantics: Ridge (Cholesky on centred data), Lasso
 * (cyclic coordinate descent with the duality-gap stopping rule) and BayesianRidge (SVD-based
 * evidence maximisation, used by IterativeImputer).
 *
 * All of them centre X and y when fit_intercept is true (weighted means with sample_weight, then rows
 * scaled by sqrt(weight)), solve for the coefficients and set intercept = ȳ − x̄·w.
 * They reject NaN in X or y (impute first).
 */
import { Rng } from "../data/prng.ts";
import {
  KahanSum,
  checkFeatures,
  checkSampleWeight,
  checkStateKind,
  checkXy,
  gram,
  isBool,
  isNumber,
  isOneOf,
  notFitted,
  resolveParams,
  solveSymmetric,
  svdRight,
  xtv,
} from "./linalg.ts";
import type { ParamSpec } from "./linalg.ts";
import { MLInputError } from "./types.ts";
import type { FitOptions, Matrix, ModelState, Params, Regressor } from "./types.ts";

interface Centered {
  /** Centred (and sqrt(weight)-scaled) X, row-major. */
  X: Float64Array;
  y: Float64Array;
  xOffset: Float64Array;
  yOffset: number;
}

function centerData(X: Matrix, y: Float64Array, fitIntercept: boolean, sw?: Float64Array): Centered {
  const { rows, cols, data } = X;
  const xOffset = new Float64Array(cols);
  let yOffset = 0;
  if (fitIntercept) {
    let wsum = 0;
    if (sw) {
      const ws = new KahanSum();
      for (let i = 0; i < rows; i++) ws.add(sw[i]);
      wsum = ws.value;
      if (!(wsum > 0))
        throw new MLInputError("sample_weight sums to 0; at least one positive weight is required");
    }
    for (let j = 0; j < cols; j++) {
      const s = new KahanSum();
      for (let i = 0; i < rows; i++) s.add(sw ? sw[i] * data[i * cols + j] : data[i * cols + j]);
      xOffset[j] = s.value / (sw ? wsum : rows);
    }
    const s = new KahanSum();
    for (let i = 0; i < rows; i++) s.add(sw ? sw[i] * y[i] : y[i]);
    yOffset = s.value / (sw ? wsum : rows);
  }
  const Xc = new Float64Array(rows * cols);
  const yc = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const r = sw ? Math.sqrt(sw[i]) : 1;
    const off = i * cols;
    for (let j = 0; j < cols; j++) Xc[off + j] = (data[off + j] - xOffset[j]) * r;
    yc[i] = (y[i] - yOffset) * r;
  }
  return { X: Xc, y: yc, xOffset, yOffset };
}

/** Shared fitted state + predict of a linear model. */
abstract class LinearModel implements Regressor {
  abstract readonly kind: string;
  protected params: Params;
  coef_: Float64Array | null = null;
  intercept_ = 0;
  nFeaturesIn_ = 0;
  featureNames_: readonly string[] | null = null;

  constructor(specs: Record<string, ParamSpec>, kind: string, given: Partial<Params>) {
    this.params = resolveParams(kind, specs, given);
  }

  getParams(): Params {
    return { ...this.params };
  }

  abstract fit(X: Matrix, y: Float64Array, opts?: FitOptions): this;

  protected prepare(X: Matrix, y: Float64Array, opts?: FitOptions): Centered {
    checkXy(this.kind, X, y);
    checkSampleWeight(this.kind, opts?.sampleWeight, X.rows);
    this.nFeaturesIn_ = X.cols;
    this.featureNames_ = X.featureNames ? [...X.featureNames] : null;
    return centerData(X, y, this.params.fit_intercept as boolean, opts?.sampleWeight);
  }

  protected setIntercept(c: Centered, coef: Float64Array): void {
    this.coef_ = coef;
    let s = c.yOffset;
    if (this.params.fit_intercept) for (let j = 0; j < coef.length; j++) s -= c.xOffset[j] * coef[j];
    this.intercept_ = this.params.fit_intercept ? s : 0;
  }

  predict(X: Matrix): Float64Array {
    const coef = this.coef_;
    if (!coef) throw notFitted(this.kind);
    checkFeatures(this.kind, X, this.nFeaturesIn_, this.featureNames_);
    checkXy(this.kind, X);
    const { rows, cols, data } = X;
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      const off = i * cols;
      for (let j = 0; j < cols; j++) s += data[off + j] * coef[j];
      out[i] = s + this.intercept_;
    }
    return out;
  }

  featureImportances(): Float64Array {
    if (!this.coef_) throw notFitted(this.kind);
    return this.coef_.map(Math.abs);
  }

  protected extraMeta(): Record<string, unknown> {
    return {};
  }

  toState(): ModelState {
    if (!this.coef_) throw notFitted(this.kind);
    return {
      kind: this.kind,
      params: this.getParams(),
      meta: {
        n_features: this.nFeaturesIn_,
        feature_names: this.featureNames_,
        intercept: this.intercept_,
        ...this.extraMeta(),
      },
      arrays: { coef: Float64Array.from(this.coef_) },
    };
  }

  protected restore(state: ModelState): void {
    checkStateKind(state, this.kind);
    const coef = state.arrays.coef;
    if (!coef) throw new MLInputError(`${this.kind}.fromState: missing array 'coef'`);
    this.coef_ = Float64Array.from(coef);
    this.intercept_ = Number(state.meta.intercept);
    this.nFeaturesIn_ = Number(state.meta.n_features ?? coef.length);
    const names = state.meta.feature_names as string[] | null | undefined;
    this.featureNames_ = names ? [...names] : null;
  }
}

const RIDGE_SPECS: Record<string, ParamSpec> = {
  alpha: { default: 1, check: isNumber({ min: 0 }) },
  fit_intercept: { default: true, check: isBool },
};

export interface RidgeParams {
  alpha?: number;
  fit_intercept?: boolean;
}

/**
 * Ridge regression: minimises ||y − Xw − b||² + α||w||² (intercept not penalised, no 1/n factor).
 * Solves (XcᵀXc + αI) w = Xcᵀyc by Cholesky (minimum-norm eigen solve if singular).
 */
export class Ridge extends LinearModel {
  readonly kind = "Ridge";
  constructor(params: RidgeParams = {}) {
    super(RIDGE_SPECS, "Ridge", params as Partial<Params>);
  }

  fit(X: Matrix, y: Float64Array, opts?: FitOptions): this {
    const c = this.prepare(X, y, opts);
    const p = X.cols;
    const A = gram(c.X, X.rows, p);
    const alpha = this.params.alpha as number;
    for (let j = 0; j < p; j++) A[j * p + j] += alpha;
    const b = xtv(c.X, X.rows, p, c.y);
    this.setIntercept(c, solveSymmetric(A, p, b));
    return this;
  }

  static fromState(state: ModelState): Ridge {
    const m = new Ridge(state.params as RidgeParams);
    m.restore(state);
    return m;
  }
}

const LASSO_SPECS: Record<string, ParamSpec> = {
  alpha: { default: 1, check: isNumber({ min: 0 }) },
  fit_intercept: { default: true, check: isBool },
  max_iter: { default: 1000, check: isNumber({ min: 1, integer: true }) },
  tol: { default: 1e-4, check: isNumber({ min: 0 }) },
  selection: { default: "cyclic", check: isOneOf(["cyclic", "random"]) },
  random_state: { default: null, check: isNumber({ integer: true, nullable: true }) },
};

export interface LassoParams {
  alpha?: number;
  fit_intercept?: boolean;
  max_iter?: number;
  tol?: number;
  selection?: "cyclic" | "random";
  random_state?: number | null;
}

/**
 * Lasso: minimises (1/(2n))||y − Xw − b||² + α||w||₁ by coordinate descent from w = 0.
 * After a sweep with max|Δw|/max|w| < tol (or on the last sweep) the duality gap is computed and the
 * solver stops when gap < tol·||yc||². `nIter_` counts sweeps, `dualGap_` = gap / n, `converged_`.
 * With sample_weight, weights are rescaled to sum to n (as sklearn does).
 */
export class Lasso extends LinearModel {
  readonly kind = "Lasso";
  nIter_ = 0;
  dualGap_ = 0;
  converged_ = false;

  constructor(params: LassoParams = {}) {
    super(LASSO_SPECS, "Lasso", params as Partial<Params>);
  }

  fit(X: Matrix, y: Float64Array, opts?: FitOptions): this {
    let sw = opts?.sampleWeight;
    if (sw) {
      checkSampleWeight(this.kind, sw, X.rows);
      const s = new KahanSum();
      for (let i = 0; i < sw.length; i++) s.add(sw[i]);
      const f = X.rows / s.value;
      sw = sw.map((w) => w * f);
    }
    const c = this.prepare(X, y, sw ? { sampleWeight: sw } : undefined);
    const n = X.rows;
    const p = X.cols;
    // column-major copy for the per-feature dot products
    const Xc = new Float64Array(n * p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) Xc[j * n + i] = c.X[i * p + j];
    const yv = c.y;
    const normCols = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += Xc[j * n + i] * Xc[j * n + i];
      normCols[j] = s;
    }
    const alpha = (this.params.alpha as number) * n;
    const maxIter = this.params.max_iter as number;
    let yy = 0;
    for (let i = 0; i < n; i++) yy += yv[i] * yv[i];
    const tol = (this.params.tol as number) * yy;
    const w = new Float64Array(p);
    const R = Float64Array.from(yv);
    const random = this.params.selection === "random";
    const rng = random ? new Rng((this.params.random_state as number | null) ?? 0) : null;
    let gap = tol + 1;
    let iter = 0;
    let converged = false;
    for (iter = 0; iter < maxIter; iter++) {
      let wMax = 0;
      let dwMax = 0;
      for (let f = 0; f < p; f++) {
        const j = rng ? rng.int(p) : f;
        if (normCols[j] === 0) continue;
        const off = j * n;
        const wj = w[j];
        if (wj !== 0) for (let i = 0; i < n; i++) R[i] += wj * Xc[off + i];
        let tmp = 0;
        for (let i = 0; i < n; i++) tmp += Xc[off + i] * R[i];
        const nw = (Math.sign(tmp) * Math.max(Math.abs(tmp) - alpha, 0)) / normCols[j];
        w[j] = nw;
        if (nw !== 0) for (let i = 0; i < n; i++) R[i] -= nw * Xc[off + i];
        const d = Math.abs(nw - wj);
        if (d > dwMax) dwMax = d;
        if (Math.abs(nw) > wMax) wMax = Math.abs(nw);
      }
      if (wMax === 0 || dwMax / wMax < (this.params.tol as number) || iter === maxIter - 1) {
        let dualNorm = 0;
        for (let j = 0; j < p; j++) {
          let s = 0;
          const off = j * n;
          for (let i = 0; i < n; i++) s += Xc[off + i] * R[i];
          if (Math.abs(s) > dualNorm) dualNorm = Math.abs(s);
        }
        let rNorm2 = 0;
        let rY = 0;
        for (let i = 0; i < n; i++) {
          rNorm2 += R[i] * R[i];
          rY += R[i] * yv[i];
        }
        let cst = 1;
        if (dualNorm > alpha) {
          cst = alpha / dualNorm;
          gap = 0.5 * (rNorm2 + rNorm2 * cst * cst);
        } else gap = rNorm2;
        let l1 = 0;
        for (let j = 0; j < p; j++) l1 += Math.abs(w[j]);
        gap += alpha * l1 - cst * rY;
        if (gap < tol) {
          converged = true;
          break;
        }
      }
    }
    this.nIter_ = Math.min(iter + 1, maxIter);
    this.dualGap_ = gap / n;
    this.converged_ = converged;
    this.setIntercept(c, w);
    return this;
  }

  protected override extraMeta(): Record<string, unknown> {
    return { n_iter: this.nIter_, dual_gap: this.dualGap_, converged: this.converged_ };
  }

  static fromState(state: ModelState): Lasso {
    const m = new Lasso(state.params as LassoParams);
    m.restore(state);
    m.nIter_ = Number(state.meta.n_iter ?? 0);
    m.dualGap_ = Number(state.meta.dual_gap ?? 0);
    m.converged_ = Boolean(state.meta.converged);
    return m;
  }
}

const BAYES_SPECS: Record<string, ParamSpec> = {
  n_iter: { default: 300, check: isNumber({ min: 1, integer: true }) },
  tol: { default: 1e-3, check: isNumber({ min: 0 }) },
  alpha_1: { default: 1e-6, check: isNumber({ min: 0 }) },
  alpha_2: { default: 1e-6, check: isNumber({ min: 0 }) },
  lambda_1: { default: 1e-6, check: isNumber({ min: 0 }) },
  lambda_2: { default: 1e-6, check: isNumber({ min: 0 }) },
  alpha_init: { default: null, check: isNumber({ min: 0, nullable: true }) },
  lambda_init: { default: null, check: isNumber({ min: 0, nullable: true }) },
  fit_intercept: { default: true, check: isBool },
};

export interface BayesianRidgeParams {
  n_iter?: number;
  tol?: number;
  alpha_1?: number;
  alpha_2?: number;
  lambda_1?: number;
  lambda_2?: number;
  alpha_init?: number | null;
  lambda_init?: number | null;
  fit_intercept?: boolean;
}

/**
 * Bayesian ridge regression (sklearn 1.2 `BayesianRidge`, parameter `n_iter` = max iterations).
 * Centre, take the SVD Xc = U S Vᵀ (eig = S²), start α = 1/(var(y)+eps), λ = 1, then iterate
 * coef = V diag(1/(eig+λ/α)) Vᵀ Xcᵀyc; γ = Σ α·eig/(λ+α·eig); λ = (γ+2λ₁)/(Σcoef²+2λ₂);
 * α = (n−γ+2α₁)/(rss+2α₂); stop when Σ|Δcoef| < tol (not on the first iteration); finally recompute
 * coef with the last α, λ.
 */
export class BayesianRidge extends LinearModel {
  readonly kind = "BayesianRidge";
  alpha_ = 0;
  lambda_ = 0;
  nIter_ = 0;

  constructor(params: BayesianRidgeParams = {}) {
    super(BAYES_SPECS, "BayesianRidge", params as Partial<Params>);
  }

  fit(X: Matrix, y: Float64Array, opts?: FitOptions): this {
    const c = this.prepare(X, y, opts);
    const n = X.rows;
    const p = X.cols;
    const P = this.params;
    const eps = 2.220446049250313e-16;
    const ym = new KahanSum();
    for (let i = 0; i < n; i++) ym.add(c.y[i]);
    const ymean = ym.value / n;
    const yv = new KahanSum();
    for (let i = 0; i < n; i++) yv.add((c.y[i] - ymean) ** 2);
    let alpha = P.alpha_init === null ? 1 / (yv.value / n + eps) : (P.alpha_init as number);
    let lambda = P.lambda_init === null ? 1 : (P.lambda_init as number);
    const a1 = P.alpha_1 as number;
    const a2 = P.alpha_2 as number;
    const l1 = P.lambda_1 as number;
    const l2 = P.lambda_2 as number;
    const XTy = xtv(c.X, n, p, c.y);
    const { s, V } = svdRight(c.X, n, p);
    const eig = s.map((v) => v * v);
    // Vᵀ Xᵀ y, fixed across iterations
    const vty = new Float64Array(p);
    for (let k = 0; k < p; k++) {
      let t = 0;
      for (let j = 0; j < p; j++) t += V[j * p + k] * XTy[j];
      vty[k] = t;
    }
    const update = (a: number, l: number): { coef: Float64Array; rss: number } => {
      const coef = new Float64Array(p);
      for (let k = 0; k < p; k++) {
        const f = vty[k] / (eig[k] + l / a);
        for (let j = 0; j < p; j++) coef[j] += V[j * p + k] * f;
      }
      const rss = new KahanSum();
      for (let i = 0; i < n; i++) {
        let pr = 0;
        const off = i * p;
        for (let j = 0; j < p; j++) pr += c.X[off + j] * coef[j];
        rss.add((c.y[i] - pr) ** 2);
      }
      return { coef, rss: rss.value };
    };
    const maxIter = P.n_iter as number;
    const tol = P.tol as number;
    let coefOld: Float64Array | null = null;
    let it = 0;
    for (it = 0; it < maxIter; it++) {
      const { coef, rss } = update(alpha, lambda);
      let gamma = 0;
      for (let k = 0; k < p; k++) gamma += (alpha * eig[k]) / (lambda + alpha * eig[k]);
      let c2 = 0;
      for (let j = 0; j < p; j++) c2 += coef[j] * coef[j];
      lambda = (gamma + 2 * l1) / (c2 + 2 * l2);
      alpha = (n - gamma + 2 * a1) / (rss + 2 * a2);
      if (it !== 0 && coefOld) {
        let d = 0;
        for (let j = 0; j < p; j++) d += Math.abs(coefOld[j] - coef[j]);
        if (d < tol) break;
      }
      coefOld = coef;
    }
    this.nIter_ = Math.min(it + 1, maxIter);
    this.alpha_ = alpha;
    this.lambda_ = lambda;
    this.setIntercept(c, update(alpha, lambda).coef);
    return this;
  }

  protected override extraMeta(): Record<string, unknown> {
    return { alpha: this.alpha_, lambda: this.lambda_, n_iter: this.nIter_ };
  }

  static fromState(state: ModelState): BayesianRidge {
    const m = new BayesianRidge(state.params as BayesianRidgeParams);
    m.restore(state);
    m.alpha_ = Number(state.meta.alpha);
    m.lambda_ = Number(state.meta.lambda);
    m.nIter_ = Number(state.meta.n_iter ?? 0);
    return m;
  }
}
