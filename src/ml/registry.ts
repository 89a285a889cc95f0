/**
 * Estimator registry: maps kind strings ("RandomForestRegressor", "Ridge", …) to constructors and state
 * loaders. Model selection, the worker pool and the model loader build estimators only through here.
 *
 * A kind may declare `sharing`: parameters along which a model fitted at the "largest" value can be
 * truncated into the model that a direct fit at a smaller value would give, bit for bit (forest prefix by
 * n_estimators, boosting prefix by stages, tree pruning by max_depth / min_samples_split). Grid search uses it
 * to fit once per group of grid points (see model_selection/sharing.ts).
 */
import { BayesianRidge, Lasso, Ridge } from "./linear.ts";
import { DecisionTreeRegressor } from "./tree/decision_tree.ts";
import { RandomForestRegressor } from "./tree/forest.ts";
import { GradientBoostingRegressor } from "./tree/gbm.ts";
import type { ModelState, ParamValue, Params, Regressor } from "./types.ts";
import { MLInputError } from "./types.ts";

export interface SharingAxis {
  /** Parameter name, e.g. "n_estimators". */
  param: string;
  /**
   * Compare two values: > 0 when `a` gives the bigger model (the one to fit). `null` commonly means
   * "unlimited" (max_depth). Must be a total order over the values that occur in a grid.
   */
  compare(a: ParamValue, b: ParamValue): number;
}

export interface SharingSpec {
  axes: SharingAxis[];
  /** Whether truncation is exact for this point (e.g. not for best-first trees); false → fitted on its own. */
  canShare?(params: Params): boolean;
  /**
   * Return the model a direct fit with `target` params would produce, derived from `fitted` (fitted with the
   * largest value on each axis and equal values elsewhere). Must not mutate `fitted`.
   */
  derive(fitted: Regressor, target: Params): Regressor;
}

export interface RegressorKind {
  create(params: Params): Regressor;
  fromState(state: ModelState): Regressor;
  sharing?: SharingSpec;
}

const KINDS = new Map<string, RegressorKind>();

/** Register (or replace) a kind. Returns an unregister function (tests). */
export function registerRegressorKind(kind: string, entry: RegressorKind): () => void {
  if (typeof kind !== "string" || kind.length === 0)
    throw new Error("registerRegressorKind: kind must be non-empty");
  const prev = KINDS.get(kind);
  KINDS.set(kind, entry);
  return () => {
    if (prev) KINDS.set(kind, prev);
    else KINDS.delete(kind);
  };
}

export function regressorKinds(): string[] {
  return [...KINDS.keys()].sort();
}

export function getRegressorKind(kind: string): RegressorKind {
  const e = KINDS.get(kind);
  if (!e) {
    throw new MLInputError(
      `unknown regressor kind ${JSON.stringify(kind)}; known kinds: ${regressorKinds().join(", ") || "(none)"}`,
    );
  }
  return e;
}

export function createRegressor(kind: string, params: Params = {}): Regressor {
  return getRegressorKind(kind).create(params);
}

export function regressorFromState(state: ModelState): Regressor {
  if (!state || typeof state.kind !== "string")
    throw new MLInputError("regressorFromState: state has no kind");
  return getRegressorKind(state.kind).fromState(state);
}

/** Comparators for the usual sharing axes. */
export const larger: SharingAxis["compare"] = (a, b) => (a as number) - (b as number);
/** null (= unlimited) is the largest. */
export const largerOrNull: SharingAxis["compare"] = (a, b) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : (a as number) - (b as number);
/** smaller value gives the bigger model (min_samples_split). */
export const smaller: SharingAxis["compare"] = (a, b) => (b as number) - (a as number);

// ---------------------------------------------------------------- built-in kinds

const intOrAbsent = (p: Params, k: string) => !Object.hasOwn(p, k) || Number.isInteger(p[k]);
/** Depth / min_samples_split pruning is exact for depth-first trees with integer min_samples_split. */
const treePrunable = (p: Params) =>
  (p.max_leaf_nodes === undefined || p.max_leaf_nodes === null) && intOrAbsent(p, "min_samples_split");
const depthAxes: SharingAxis[] = [
  { param: "max_depth", compare: largerOrNull },
  { param: "min_samples_split", compare: smaller },
];
const pruneOpts = (t: Params) => {
  const o: { maxDepth?: number | null; minSamplesSplit?: number } = {};
  if (Object.hasOwn(t, "max_depth")) o.maxDepth = t.max_depth as number | null;
  if (Object.hasOwn(t, "min_samples_split")) o.minSamplesSplit = t.min_samples_split as number;
  return o;
};

registerRegressorKind("DecisionTreeRegressor", {
  create: (p) => new DecisionTreeRegressor(p),
  fromState: (s) => DecisionTreeRegressor.fromState(s),
  sharing: {
    axes: depthAxes,
    canShare: treePrunable,
    derive: (m, t) => (m as DecisionTreeRegressor).truncate(pruneOpts(t)),
  },
});

registerRegressorKind("RandomForestRegressor", {
  create: (p) => new RandomForestRegressor(p),
  fromState: (s) => RandomForestRegressor.fromState(s),
  sharing: {
    axes: [{ param: "n_estimators", compare: larger }, ...depthAxes],
    canShare: (p) => treePrunable(p) && intOrAbsent(p, "n_estimators"),
    derive: (m, t) => {
      const o: { nEstimators?: number; maxDepth?: number | null; minSamplesSplit?: number } = pruneOpts(t);
      if (Object.hasOwn(t, "n_estimators")) o.nEstimators = t.n_estimators as number;
      return (m as RandomForestRegressor).truncate(o);
    },
  },
});

registerRegressorKind("GradientBoostingRegressor", {
  create: (p) => new GradientBoostingRegressor(p),
  fromState: (s) => GradientBoostingRegressor.fromState(s),
  sharing: {
    axes: [{ param: "n_estimators", compare: larger }],
    // early stopping decides the stage count from the data: no prefix property
    canShare: (p) => p.n_iter_no_change === undefined || p.n_iter_no_change === null,
    derive: (m, t) => {
      const g = m as GradientBoostingRegressor;
      return Object.hasOwn(t, "n_estimators") ? g.truncate(t.n_estimators as number) : g;
    },
  },
});

registerRegressorKind("Ridge", {
  create: (p) => new Ridge(p as ConstructorParameters<typeof Ridge>[0]),
  fromState: (s) => Ridge.fromState(s),
});
registerRegressorKind("Lasso", {
  create: (p) => new Lasso(p as ConstructorParameters<typeof Lasso>[0]),
  fromState: (s) => Lasso.fromState(s),
});
registerRegressorKind("BayesianRidge", {
  create: (p) => new BayesianRidge(p as ConstructorParameters<typeof BayesianRidge>[0]),
  fromState: (s) => BayesianRidge.fromState(s),
});
