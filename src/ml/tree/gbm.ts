/**
 * GradientBoostingRegressor on the histogram core (sklearn's GradientBoostingRegressor semantics: friedman_mse trees
 * on the negative gradient, leaf values re-fitted per loss, learning-rate shrinkage, optional subsample and
 * early stopping). Stage m depends only on stages < m and on deriveSeed(random_state, m), so a model with n stages
 * is exactly the prefix of one with N >= n stages (`truncate`, `stagedPredict`).
 */
import { deriveSeed, Rng } from "../../data/prng.ts";
import type { Matrix, ModelState, Params, Regressor } from "../types.ts";
import { MLInputError } from "../types.ts";
import { BinnedDataset } from "./binning.ts";
import type { TreeFitOptions } from "./common.ts";
import {
  check,
  checkFit,
  checkPredict,
  notFitted,
  packTreesState,
  resolveParams,
  treeParamSpec,
  unpackTreesState,
} from "./common.ts";
import type { TreeArrays } from "./core.ts";
import { addImportances, normalise, PackedTrees, TreeGrower } from "./core.ts";
import { TreeEnsemblePredictor } from "./predict.ts";
import { growParamsFrom } from "./decision_tree.ts";

/** sklearn's _weighted_percentile: the first sorted value whose cumulative weight reaches pct% of the total. */
export function weightedPercentile(values: Float64Array, weights: Float64Array | null, pct: number): number {
  const n = values.length;
  if (n === 0) return 0;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => values[a] - values[b]);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights ? weights[i] : 1;
  const target = (pct / 100) * total;
  let cum = 0;
  for (let k = 0; k < n; k++) {
    cum += weights ? weights[idx[k]] : 1;
    if (cum >= target) return values[idx[k]];
  }
  return values[idx[n - 1]];
}

/** np.median (mean of the two middle values for even n). */
export function median(values: Float64Array): number {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

type Loss = "squared_error" | "absolute_error" | "huber";

export class GradientBoostingRegressor implements Regressor {
  readonly kind = "GradientBoostingRegressor";
  private readonly params: Params;
  private trees: TreeArrays[] | null = null;
  private packed: TreeEnsemblePredictor | null = null;
  private init = 0;
  private nFeatures = 0;
  private featureNames: readonly string[] | undefined;
  /** Validation loss per stage when early stopping ran (n_iter_no_change set). */
  validationScores: number[] = [];
  /** Training loss per stage (in-bag rows). */
  trainScores: number[] = [];

  constructor(params: Partial<Params> = {}) {
    const spec = treeParamSpec();
    spec.criterion = { default: "friedman_mse", check: check.oneOf("friedman_mse", "squared_error") };
    spec.max_depth = { default: 3, check: check.intMin(1, true) };
    spec.n_estimators = { default: 100, check: check.intMin(1) };
    spec.learning_rate = { default: 0.1, check: check.num(0, Number.MAX_VALUE, true) };
    spec.subsample = { default: 1, check: check.num(0, 1, true) };
    spec.l2_regularization = { default: 0, check: check.num(0, Number.MAX_VALUE) };
    spec.loss = { default: "squared_error", check: check.oneOf("squared_error", "absolute_error", "huber") };
    spec.alpha = { default: 0.9, check: check.num(0, 1, true, true) };
    spec.validation_fraction = { default: 0.1, check: check.num(0, 1, true, true) };
    spec.n_iter_no_change = { default: null, check: check.intMin(1, true) };
    spec.tol = { default: 1e-4, check: check.num(0, Number.MAX_VALUE) };
    this.params = resolveParams("GradientBoostingRegressor", spec, params);
  }

  getParams(): Params {
    return { ...this.params };
  }

  /** Number of fitted stages (may be < n_estimators after early stopping). */
  get nEstimators(): number {
    return (this.trees ?? notFitted(this.kind)).length;
  }

  get estimators(): readonly TreeArrays[] {
    return this.trees ?? notFitted(this.kind);
  }

  get initValue(): number {
    if (!this.trees) notFitted(this.kind);
    return this.init;
  }

  fit(X: Matrix, y: Float64Array, opts?: TreeFitOptions): this {
    const sw = checkFit(this.kind, X, y, opts, this.params.max_bins);
    const P = this.params;
    const binned = opts?.binned ?? BinnedDataset.fromMatrix(X, { maxBins: P.max_bins as number });
    const n = X.rows;
    const p = X.cols;
    const seed = (P.random_state as number | null) ?? 0;
    const loss = P.loss as Loss;
    const lr = P.learning_rate as number;
    const alpha = P.alpha as number;
    const nIterNoChange = P.n_iter_no_change as number | null;
    // train / validation split (early stopping only)
    let trainRows: Uint32Array;
    let valRows = new Uint32Array(0);
    if (nIterNoChange !== null) {
      const perm = new Rng(deriveSeed(seed, 0x5a11d)).permutation(n);
      const nVal = Math.ceil((P.validation_fraction as number) * n);
      if (nVal < 1 || n - nVal < 1) {
        throw new MLInputError(
          `${this.kind}.fit: validation_fraction leaves an empty train or validation set (n=${n})`,
        );
      }
      valRows = perm.slice(0, nVal).sort();
      trainRows = perm.slice(nVal).sort();
    } else {
      trainRows = new Uint32Array(n);
      for (let i = 0; i < n; i++) trainRows[i] = i;
    }
    if (sw) trainRows = trainRows.filter((r) => sw[r] > 0);
    if (trainRows.length === 0)
      throw new MLInputError(`${this.kind}.fit: no training rows with positive weight`);
    const nTrain = trainRows.length;
    // init
    const yTr = new Float64Array(nTrain);
    const wTr = sw ? new Float64Array(nTrain) : null;
    for (let k = 0; k < nTrain; k++) {
      yTr[k] = y[trainRows[k]];
      if (wTr && sw) wTr[k] = sw[trainRows[k]];
    }
    let init: number;
    if (loss === "squared_error") {
      let s = 0;
      let ws = 0;
      for (let k = 0; k < nTrain; k++) {
        const wk = wTr ? wTr[k] : 1;
        s += wk * yTr[k];
        ws += wk;
      }
      init = s / ws;
    } else init = wTr ? weightedPercentile(yTr, wTr, 50) : median(yTr);
    const F = new Float64Array(n).fill(init);
    const X32 = new Float32Array(X.data);
    const grower = new TreeGrower(binned);
    const g = new Float64Array(n);
    const diffBuf = new Float64Array(n);
    const wBuf = new Float64Array(n);
    const inbag = new Uint8Array(n);
    const nInbag = Math.max(1, Math.floor((P.subsample as number) * nTrain));
    const trees: TreeArrays[] = [];
    const lossHistory =
      nIterNoChange !== null ? new Float64Array(nIterNoChange).fill(Number.POSITIVE_INFINITY) : null;
    const tol = P.tol as number;
    this.validationScores = [];
    this.trainScores = [];
    const maxStages = P.n_estimators as number;
    for (let m = 0; m < maxStages; m++) {
      const stageSeed = deriveSeed(seed, m);
      // negative gradient on all training rows
      let gamma = 0;
      if (loss === "huber") {
        for (let k = 0; k < nTrain; k++) {
          const r = trainRows[k];
          diffBuf[k] = Math.abs(y[r] - F[r]);
        }
        gamma = weightedPercentile(diffBuf.subarray(0, nTrain), wTr, alpha * 100);
      }
      for (let k = 0; k < nTrain; k++) {
        const r = trainRows[k];
        const d = y[r] - F[r];
        if (loss === "squared_error") g[r] = d;
        else if (loss === "absolute_error") g[r] = d > 0 ? 1 : -1;
        else g[r] = Math.abs(d) <= gamma ? d : d > 0 ? gamma : -gamma;
      }
      // in-bag rows
      let rows: Uint32Array;
      if (nInbag < nTrain) {
        inbag.fill(0);
        const pick = new Rng(deriveSeed(stageSeed, 0x5b5)).sampleWithoutReplacement(nTrain, nInbag);
        for (let k = 0; k < pick.length; k++) inbag[trainRows[pick[k]]] = 1;
        // the in-bag rows in training-row order (a plain loop: Uint32Array.filter calls a closure per row)
        rows = new Uint32Array(pick.length);
        let c = 0;
        for (let k = 0; k < nTrain; k++) {
          const r = trainRows[k];
          if (inbag[r] === 1) rows[c++] = r;
        }
      } else rows = trainRows.slice();
      let wStage = rows.length;
      if (sw) {
        wStage = 0;
        for (let k = 0; k < rows.length; k++) wStage += sw[rows[k]];
      }
      const gp = growParamsFrom(P, nTrain, p, wStage, stageSeed);
      const res = grower.grow(g, sw, rows, gp);
      const tree = res.tree;
      // leaf values per loss
      if (loss !== "squared_error") {
        for (let node = 0; node < tree.nodeCount; node++) {
          if (tree.feature[node] >= 0) continue;
          const s = res.start[node];
          const e = res.end[node];
          const len = e - s;
          const diff = diffBuf.subarray(0, len);
          const wl = sw ? wBuf.subarray(0, len) : null;
          for (let k = 0; k < len; k++) {
            const r = rows[s + k];
            diff[k] = y[r] - F[r];
            if (wl && sw) wl[k] = sw[r];
          }
          const med = weightedPercentile(diff, wl, 50);
          if (loss === "absolute_error") tree.value[node] = med;
          else {
            let acc = 0;
            for (let k = 0; k < len; k++) {
              const dm = diff[k] - med;
              acc += Math.sign(dm) * Math.min(Math.abs(dm), gamma);
            }
            tree.value[node] = med + acc / len;
          }
        }
      }
      // update raw predictions: in-bag rows via leaf ranges, other training rows by traversal
      for (let node = 0; node < tree.nodeCount; node++) {
        if (tree.feature[node] >= 0) continue;
        const v = lr * tree.value[node];
        for (let k = res.start[node]; k < res.end[node]; k++) F[rows[k]] += v;
      }
      const single = new PackedTrees([tree], lr);
      if (nInbag < nTrain) {
        for (let k = 0; k < nTrain; k++) {
          const r = trainRows[k];
          if (inbag[r] === 0) F[r] += single.leaf(0, X32, r, p);
        }
      }
      trees.push(tree);
      this.trainScores.push(lossValue(loss, y, F, rows, sw, gamma, alpha));
      if (lossHistory && nIterNoChange !== null) {
        for (let k = 0; k < valRows.length; k++) {
          const r = valRows[k];
          F[r] += single.leaf(0, X32, r, p);
        }
        const vl = lossValue(loss, y, F, valRows, sw, loss === "huber" ? gamma : 0, alpha);
        this.validationScores.push(vl);
        let improved = false;
        for (let k = 0; k < lossHistory.length; k++) if (vl + tol < lossHistory[k]) improved = true;
        if (improved) lossHistory[m % nIterNoChange] = vl;
        else break;
      }
    }
    this.trees = trees;
    this.packed = null;
    this.init = init;
    this.nFeatures = p;
    this.featureNames = X.featureNames;
    return this;
  }

  private predictor(): TreeEnsemblePredictor {
    if (!this.packed) {
      this.packed = new TreeEnsemblePredictor(
        this.estimators,
        this.nFeatures,
        this.params.learning_rate as number,
      );
    }
    return this.packed;
  }

  predict(X: Matrix): Float64Array {
    const packed = this.predictor();
    checkPredict(this.kind, X, this.nFeatures, this.featureNames);
    return packed.predictSums(X.data, X.rows, this.estimators.length, this.init);
  }

  /** Predictions after each stage (sklearn's staged_predict); each yielded array is a fresh copy. */
  *stagedPredict(X: Matrix): Generator<Float64Array> {
    const packed = this.predictor();
    checkPredict(this.kind, X, this.nFeatures, this.featureNames);
    const out = new Float64Array(X.rows).fill(this.init);
    for (let t = 0; t < this.estimators.length; t++) {
      packed.accumulate(X.data, X.rows, out, t, t + 1);
      yield out.slice();
    }
  }

  featureImportances(): Float64Array {
    const total = new Float64Array(this.nFeatures);
    for (const t of this.estimators) {
      const imp = new Float64Array(this.nFeatures);
      addImportances(t, imp);
      normalise(imp);
      for (let j = 0; j < imp.length; j++) total[j] += imp[j];
    }
    return normalise(total);
  }

  /** The model with the first n stages: identical, bit for bit, to fitting with n_estimators = n. */
  truncate(n: number): GradientBoostingRegressor {
    const trees = this.estimators;
    if (!Number.isInteger(n) || n < 1 || n > trees.length) {
      throw new MLInputError(`${this.kind}.truncate: n must be an integer in [1, ${trees.length}], got ${n}`);
    }
    const m = new GradientBoostingRegressor({ ...this.params, n_estimators: n });
    m.trees = trees.slice(0, n);
    // share the predictor (trees [0, n) of it) and memoise prefix sums: n = 50, 100, 150, ... on one input
    const pred = this.predictor();
    pred.memo = true;
    m.packed = pred;
    m.init = this.init;
    m.nFeatures = this.nFeatures;
    m.featureNames = this.featureNames;
    m.trainScores = this.trainScores.slice(0, n);
    m.validationScores = this.validationScores.slice(0, n);
    return m;
  }

  toState(): ModelState {
    return {
      kind: this.kind,
      params: this.getParams(),
      meta: { n_features: this.nFeatures, feature_names: this.featureNames ?? null, init: this.initValue },
      arrays: packTreesState(this.estimators),
    };
  }

  static fromState(state: ModelState): GradientBoostingRegressor {
    if (state.kind !== "GradientBoostingRegressor") {
      throw new MLInputError(`GradientBoostingRegressor.fromState: state is for '${state.kind}'`);
    }
    const m = new GradientBoostingRegressor(state.params);
    m.trees = unpackTreesState(m.kind, state.arrays);
    m.init = state.meta.init as number;
    m.nFeatures = state.meta.n_features as number;
    const names = state.meta.feature_names as string[] | null;
    m.featureNames = names ?? undefined;
    return m;
  }
}

function lossValue(
  loss: Loss,
  y: Float64Array,
  F: Float64Array,
  rows: Uint32Array,
  sw: Float64Array | null,
  gamma: number,
  alpha: number,
): number {
  let s = 0;
  let ws = 0;
  let g = gamma;
  if (loss === "huber" && g === 0) {
    const d = new Float64Array(rows.length);
    const w = sw ? new Float64Array(rows.length) : null;
    for (let k = 0; k < rows.length; k++) {
      d[k] = Math.abs(y[rows[k]] - F[rows[k]]);
      if (w && sw) w[k] = sw[rows[k]];
    }
    g = weightedPercentile(d, w, alpha * 100);
  }
  if (loss === "squared_error") {
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      const w = sw ? sw[r] : 1;
      const d = y[r] - F[r];
      s += w * d * d;
      ws += w;
    }
  } else if (loss === "absolute_error") {
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      const w = sw ? sw[r] : 1;
      s += w * Math.abs(y[r] - F[r]);
      ws += w;
    }
  } else {
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      const w = sw ? sw[r] : 1;
      const d = y[r] - F[r];
      const a = Math.abs(d);
      s += a <= g ? w * 0.5 * d * d : w * g * (a - g / 2);
      ws += w;
    }
  }
  return s / ws;
}
