/** RandomForestRegressor: bootstrap-weighted histogram trees built in parallel on worker threads. */
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
import { addImportances, normalise, pruneTree } from "./core.ts";
import { growParamsFrom, truncatedParams } from "./decision_tree.ts";
import type { ForestJob } from "./forest_build.ts";
import { buildForestParallel, predictSumsParallel, resolveJobs } from "./pool.ts";
import { TreeEnsemblePredictor } from "./predict.ts";

export class RandomForestRegressor implements Regressor {
  readonly kind = "RandomForestRegressor";
  private readonly params: Params;
  private trees: TreeArrays[] | null = null;
  /** Derived (truncated) forests build their trees only when asked for them (see `truncate`). */
  private lazyTrees: (() => TreeArrays[]) | null = null;
  private packed: TreeEnsemblePredictor | null = null;
  /** Trees [0, nUse) of `packed` make up this forest (a truncated forest shares its parent's predictor). */
  private nUse = 0;
  /** The last pruned predictor built by `truncate` (variants of one grid group share it). */
  private pruneCache: { key: string; pred: TreeEnsemblePredictor } | null = null;
  private nFeatures = 0;
  private featureNames: readonly string[] | undefined;

  constructor(params: Partial<Params> = {}) {
    const spec = treeParamSpec();
    spec.max_features = { default: 1, check: spec.max_features.check };
    spec.n_estimators = { default: 100, check: check.intMin(1) };
    spec.bootstrap = { default: true, check: check.bool() };
    spec.max_samples = {
      default: null,
      check: (v) =>
        v === null || (typeof v === "number" && ((Number.isInteger(v) && v >= 1) || (v > 0 && v <= 1)))
          ? null
          : "expected null, an integer >= 1 or a fraction in (0, 1]",
    };
    spec.n_jobs = {
      default: null,
      check: (v) =>
        v === null || (typeof v === "number" && Number.isInteger(v)) ? null : "expected an integer or null",
    };
    this.params = resolveParams("RandomForestRegressor", spec, params);
    if (this.params.max_samples !== null && !this.params.bootstrap) {
      throw new MLInputError("RandomForestRegressor: max_samples requires bootstrap=true");
    }
  }

  getParams(): Params {
    return { ...this.params };
  }

  fit(X: Matrix, y: Float64Array, opts?: TreeFitOptions): this {
    const sw = checkFit(this.kind, X, y, opts, this.params.max_bins);
    const binned = opts?.binned ?? BinnedDataset.fromMatrix(X, { maxBins: this.params.max_bins as number });
    const n = X.rows;
    const ms = this.params.max_samples as number | null;
    const nBoot = ms === null ? n : Number.isInteger(ms) && ms >= 1 ? ms : Math.max(1, Math.round(ms * n));
    if (nBoot > n) throw new MLInputError(`RandomForestRegressor: max_samples=${ms} exceeds the ${n} rows`);
    const ySh = new Float64Array(new SharedArrayBuffer(n * 8));
    ySh.set(y);
    let swSh: Float64Array | null = null;
    if (sw) {
      swSh = new Float64Array(new SharedArrayBuffer(n * 8));
      swSh.set(sw);
    }
    const seed = (this.params.random_state as number | null) ?? 0;
    const job: ForestJob = {
      data: binned.toData(),
      y: ySh,
      sampleWeight: swSh,
      // minWeightLeaf is a fraction here; buildForestTree scales it by each tree's total weight
      grow: growParamsFrom(this.params, n, X.cols, 1, 0),
      seed,
      bootstrap: this.params.bootstrap as boolean,
      nBootstrap: nBoot,
    };
    const nTrees = this.params.n_estimators as number;
    const trees = buildForestParallel(job, nTrees, resolveJobs(this.params.n_jobs as number | null));
    this.setTrees(trees, X.cols, X.featureNames);
    return this;
  }

  private setTrees(trees: TreeArrays[], p: number, names: readonly string[] | undefined): void {
    this.trees = trees;
    this.lazyTrees = null;
    this.packed = null;
    this.nUse = trees.length;
    this.pruneCache = null;
    this.nFeatures = p;
    this.featureNames = names;
  }

  /** The fitted trees (pre-order arrays). */
  get estimators(): readonly TreeArrays[] {
    if (!this.trees && this.lazyTrees) {
      this.trees = this.lazyTrees();
      this.lazyTrees = null;
    }
    return this.trees ?? notFitted(this.kind);
  }

  private predictor(): TreeEnsemblePredictor {
    if (!this.packed) {
      this.packed = new TreeEnsemblePredictor(this.estimators, this.nFeatures);
      this.nUse = this.packed.nTrees;
    }
    return this.packed;
  }

  /**
   * Mean of the trees' predictions. With n_jobs ≠ 1 (as in scikit-learn, predict uses n_jobs threads), a large
   * batch is split by trees over the tree pool (`predictSumsParallel`); the result is the same bit for bit.
   */
  predict(X: Matrix): Float64Array {
    const packed = this.predictor();
    checkPredict(this.kind, X, this.nFeatures, this.featureNames);
    const nt = this.nUse;
    const threads = packed.memo ? 1 : resolveJobs(this.params.n_jobs as number | null);
    const out =
      predictSumsParallel(packed, X.data, X.rows, nt, 0, threads) ?? packed.predictSums(X.data, X.rows, nt);
    for (let i = 0; i < out.length; i++) out[i] /= nt;
    return out;
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

  /**
   * Exact derived forest: the first `nEstimators` trees (a forest is the prefix of any larger one with the same seed),
   * optionally each pruned to `maxDepth` / a larger `minSamplesSplit`. Equal bit for bit to fitting directly.
   */
  truncate(
    opts: number | { nEstimators?: number; maxDepth?: number | null; minSamplesSplit?: number },
  ): RandomForestRegressor {
    const o = typeof opts === "number" ? { nEstimators: opts } : opts;
    const trees = this.estimators;
    const n = o.nEstimators ?? trees.length;
    if (!Number.isInteger(n) || n < 1 || n > trees.length) {
      throw new MLInputError(
        `RandomForestRegressor.truncate: nEstimators must be in [1, ${trees.length}], got ${n}`,
      );
    }
    const prune = o.maxDepth !== undefined || o.minSamplesSplit !== undefined;
    const params = prune
      ? truncatedParams(this.kind, this.params, { maxDepth: o.maxDepth, minSamplesSplit: o.minSamplesSplit })
      : { ...this.params };
    params.n_estimators = n;
    const m = new RandomForestRegressor(params);
    // the derived forest predicts through a shared predictor (this one, or one pruned with the limits, built once
    // per limits for all trees), trees [0, n); its TreeArrays are only built if someone asks for them
    let pred: TreeEnsemblePredictor;
    if (!prune) pred = this.predictor();
    else {
      const limits = { maxDepth: o.maxDepth, minSamplesSplit: o.minSamplesSplit };
      const key = `${limits.maxDepth ?? "none"}|${limits.minSamplesSplit ?? 0}`;
      if (this.pruneCache?.key !== key) {
        this.pruneCache = null;
        // scored once or twice (a grid's folds), so no leaf-value interning
        this.pruneCache = {
          key,
          pred: new TreeEnsemblePredictor(trees, this.nFeatures, 1, { ...limits, shareLeafValues: false }),
        };
      }
      pred = this.pruneCache.pred;
    }
    pred.memo = true;
    m.trees = null;
    m.lazyTrees = () => trees.slice(0, n).map((t) => (prune ? pruneTree(t, o) : t));
    m.packed = pred;
    m.nUse = n;
    m.nFeatures = this.nFeatures;
    m.featureNames = this.featureNames;
    return m;
  }

  toState(): ModelState {
    return {
      kind: this.kind,
      params: this.getParams(),
      meta: { n_features: this.nFeatures, feature_names: this.featureNames ?? null },
      arrays: packTreesState(this.estimators),
    };
  }

  static fromState(state: ModelState): RandomForestRegressor {
    if (state.kind !== "RandomForestRegressor") {
      throw new MLInputError(`RandomForestRegressor.fromState: state is for '${state.kind}'`);
    }
    const m = new RandomForestRegressor(state.params);
    const names = state.meta.feature_names as string[] | null;
    m.setTrees(unpackTreesState(m.kind, state.arrays), state.meta.n_features as number, names ?? undefined);
    return m;
  }
}
