/** DecisionTreeRegressor on the histogram core (sklearn-compatible params; exact splits when max_bins >= distinct values). */
import { deriveSeed } from "../../data/prng.ts";
import type { Matrix, ModelState, Params, Regressor } from "../types.ts";
import { MLInputError } from "../types.ts";
import { BinnedDataset } from "./binning.ts";
import type { TreeFitOptions } from "./common.ts";
import {
  checkFit,
  checkPredict,
  notFitted,
  packTreesState,
  resolveCount,
  resolveMaxFeatures,
  resolveParams,
  treeParamSpec,
  unpackTreesState,
} from "./common.ts";
import type { GrowParams, TreeArrays } from "./core.ts";
import { addImportances, normalise, pruneTree, TreeGrower, treeShape } from "./core.ts";
import { TreeEnsemblePredictor } from "./predict.ts";

/** Resolve the model params into the core's GrowParams for n rows, p features and total weight wTotal. */
export function growParamsFrom(
  params: Params,
  n: number,
  p: number,
  wTotal: number,
  seed: number,
): GrowParams {
  return {
    maxDepth: params.max_depth === null ? Number.POSITIVE_INFINITY : (params.max_depth as number),
    minSamplesSplit: resolveCount(params.min_samples_split, n),
    minSamplesLeaf: resolveCount(params.min_samples_leaf, n),
    minWeightLeaf: ((params.min_weight_fraction_leaf as number) ?? 0) * wTotal,
    maxFeatures: resolveMaxFeatures(params.max_features, p),
    maxLeafNodes:
      params.max_leaf_nodes === null ? Number.POSITIVE_INFINITY : (params.max_leaf_nodes as number),
    minImpurityDecrease: params.min_impurity_decrease as number,
    l2: (params.l2_regularization as number | undefined) ?? 0,
    seed,
  };
}

export function rowsWithWeight(n: number, w: Float64Array | null): Uint32Array {
  if (!w) {
    const r = new Uint32Array(n);
    for (let i = 0; i < n; i++) r[i] = i;
    return r;
  }
  let k = 0;
  for (let i = 0; i < n; i++) if (w[i] > 0) k++;
  const r = new Uint32Array(k);
  k = 0;
  for (let i = 0; i < n; i++) if (w[i] > 0) r[k++] = i;
  return r;
}

export class DecisionTreeRegressor implements Regressor {
  readonly kind = "DecisionTreeRegressor";
  private readonly params: Params;
  private tree_: TreeArrays | null = null;
  private packed: TreeEnsemblePredictor | null = null;
  private nFeatures = 0;
  private featureNames: readonly string[] | undefined;

  constructor(params: Partial<Params> = {}) {
    const spec = treeParamSpec();
    spec.splitter = { default: "best", check: (v) => (v === "best" ? null : "only 'best' is supported") };
    this.params = resolveParams("DecisionTreeRegressor", spec, params);
  }

  getParams(): Params {
    return { ...this.params };
  }

  fit(X: Matrix, y: Float64Array, opts?: TreeFitOptions): this {
    const sw = checkFit(this.kind, X, y, opts, this.params.max_bins);
    const binned = opts?.binned ?? BinnedDataset.fromMatrix(X, { maxBins: this.params.max_bins as number });
    const rows = rowsWithWeight(X.rows, sw);
    let wTotal = rows.length;
    if (sw) {
      wTotal = 0;
      for (let i = 0; i < sw.length; i++) wTotal += sw[i];
    }
    const seed = (this.params.random_state as number | null) ?? 0;
    const gp = growParamsFrom(this.params, rows.length, X.cols, wTotal, deriveSeed(seed, 0));
    const res = new TreeGrower(binned).grow(y, sw, rows, gp);
    this.setTree(res.tree, X.cols, X.featureNames);
    return this;
  }

  private setTree(t: TreeArrays, p: number, names: readonly string[] | undefined): void {
    this.tree_ = t;
    this.packed = new TreeEnsemblePredictor([t], p);
    this.nFeatures = p;
    this.featureNames = names;
  }

  /** The fitted tree arrays (pre-order; leaves have feature -1). */
  get tree(): TreeArrays {
    return this.tree_ ?? notFitted(this.kind);
  }

  predict(X: Matrix): Float64Array {
    const packed = this.packed ?? notFitted(this.kind);
    checkPredict(this.kind, X, this.nFeatures, this.featureNames);
    return packed.predictSums(X.data, X.rows, 1);
  }

  featureImportances(): Float64Array {
    const imp = new Float64Array(this.nFeatures);
    addImportances(this.tree, imp);
    return normalise(imp);
  }

  /** Depth (root = 0) and number of leaves. */
  shape(): { depth: number; leaves: number; nodes: number } {
    const t = this.tree;
    return { ...treeShape(t), nodes: t.nodeCount };
  }

  /**
   * The tree a fit with `max_depth = maxDepth` and/or a larger `min_samples_split` would give, bit for bit
   * (same data and every other parameter equal; depth-first growth only).
   */
  truncate(opts: { maxDepth?: number | null; minSamplesSplit?: number }): DecisionTreeRegressor {
    const t = this.tree;
    const params = truncatedParams(this.kind, this.params, opts);
    const m = new DecisionTreeRegressor(params);
    m.setTree(
      pruneTree(t, { maxDepth: opts.maxDepth, minSamplesSplit: opts.minSamplesSplit }),
      this.nFeatures,
      this.featureNames,
    );
    return m;
  }

  /** sklearn's tree_ arrays (feature/threshold -2 and children -1 for leaves). */
  sklearnArrays(): {
    children_left: number[];
    children_right: number[];
    feature: number[];
    threshold: number[];
    value: number[];
    impurity: number[];
    n_node_samples: number[];
    weighted_n_node_samples: number[];
  } {
    const t = this.tree;
    return {
      children_left: Array.from(t.left),
      children_right: Array.from(t.right),
      feature: Array.from(t.feature, (f) => (f < 0 ? -2 : f)),
      threshold: Array.from(t.threshold),
      value: Array.from(t.value),
      impurity: Array.from(t.impurity),
      n_node_samples: Array.from(t.nSamples),
      weighted_n_node_samples: Array.from(t.weightedNSamples),
    };
  }

  toState(): ModelState {
    const t = this.tree;
    return {
      kind: this.kind,
      params: this.getParams(),
      meta: { n_features: this.nFeatures, feature_names: this.featureNames ?? null },
      arrays: packTreesState([t]),
    };
  }

  static fromState(state: ModelState): DecisionTreeRegressor {
    if (state.kind !== "DecisionTreeRegressor") {
      throw new MLInputError(`DecisionTreeRegressor.fromState: state is for '${state.kind}'`);
    }
    const m = new DecisionTreeRegressor(state.params);
    const [t] = unpackTreesState(m.kind, state.arrays);
    const names = state.meta.feature_names as string[] | null;
    m.setTree(t, state.meta.n_features as number, names ?? undefined);
    return m;
  }
}

/** Params of a depth/min_samples_split truncation; rejects truncations that are not exact. */
export function truncatedParams(
  kind: string,
  params: Params,
  opts: { maxDepth?: number | null; minSamplesSplit?: number },
): Params {
  if (params.max_leaf_nodes !== null) {
    throw new MLInputError(`${kind}.truncate: not exact for best-first trees (max_leaf_nodes is set)`);
  }
  const out = { ...params };
  if (opts.maxDepth !== undefined) {
    const cur = params.max_depth === null ? Number.POSITIVE_INFINITY : (params.max_depth as number);
    const d = opts.maxDepth === null ? Number.POSITIVE_INFINITY : opts.maxDepth;
    if (!(d >= 1) || d > cur || (Number.isFinite(d) && !Number.isInteger(d))) {
      throw new MLInputError(
        `${kind}.truncate: maxDepth must be an integer in [1, ${cur}], got ${opts.maxDepth}`,
      );
    }
    out.max_depth = Number.isFinite(d) ? d : null;
  }
  if (opts.minSamplesSplit !== undefined) {
    const cur = params.min_samples_split as number;
    const m = opts.minSamplesSplit;
    if (!Number.isInteger(cur) || !Number.isInteger(m) || m < cur) {
      throw new MLInputError(
        `${kind}.truncate: minSamplesSplit must be an integer >= the fitted ${cur}, got ${opts.minSamplesSplit}`,
      );
    }
    out.min_samples_split = m;
  }
  return out;
}
