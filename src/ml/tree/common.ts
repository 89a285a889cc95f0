/** Parameter validation, input checks and (de)serialisation shared by the tree models. */
import type { FitOptions, Matrix, ParamValue, Params } from "../types.ts";
import { MLInputError } from "../types.ts";
import type { BinnedDataset } from "./binning.ts";
import { resolveMaxBins } from "./binning.ts";
import type { TreeArrays } from "./core.ts";
import { allocTree } from "./core.ts";

/** Fit options of the tree models: a prebuilt BinnedDataset of the same X may be passed to skip binning. */
export interface TreeFitOptions extends FitOptions {
  binned?: BinnedDataset;
}

export type ParamCheck = (v: ParamValue) => string | null;

export interface ParamSpec {
  [name: string]: { default: ParamValue; check: ParamCheck };
}

export function resolveParams(kind: string, spec: ParamSpec, given: Partial<Params>): Params {
  const valid = Object.keys(spec);
  const out: Params = {};
  for (const k of Object.keys(given)) {
    if (!(k in spec)) {
      throw new MLInputError(`${kind}: unknown parameter '${k}'; valid parameters are: ${valid.join(", ")}`);
    }
  }
  for (const k of valid) {
    const v = given[k] === undefined ? spec[k].default : (given[k] as ParamValue);
    const err = spec[k].check(v);
    if (err) throw new MLInputError(`${kind}: parameter ${k}=${JSON.stringify(v)} is invalid: ${err}`);
    out[k] = v;
  }
  return out;
}

export const check = {
  intMin:
    (min: number, nullable = false): ParamCheck =>
    (v) =>
      v === null && nullable
        ? null
        : typeof v === "number" && Number.isInteger(v) && v >= min
          ? null
          : `expected an integer >= ${min}${nullable ? " or null" : ""}`,
  num:
    (lo: number, hi: number, loOpen = false, hiOpen = false): ParamCheck =>
    (v) =>
      typeof v === "number" &&
      Number.isFinite(v) &&
      (loOpen ? v > lo : v >= lo) &&
      (hiOpen ? v < hi : v <= hi)
        ? null
        : `expected a number in ${loOpen ? "(" : "["}${lo}, ${hi}${hiOpen ? ")" : "]"}`,
  oneOf:
    (...vals: ParamValue[]): ParamCheck =>
    (v) =>
      vals.includes(v) ? null : `expected one of ${vals.map((x) => JSON.stringify(x)).join(", ")}`,
  bool: (): ParamCheck => (v) => (typeof v === "boolean" ? null : "expected true or false"),
  seed: (): ParamCheck => (v) =>
    v === null || (typeof v === "number" && Number.isInteger(v)) ? null : "expected an integer seed or null",
  /** int >= 2 (count) or a fraction in (0, 1). */
  minSplit: (): ParamCheck => (v) =>
    typeof v === "number" && ((Number.isInteger(v) && v >= 2) || (v > 0 && v < 1))
      ? null
      : "expected an integer >= 2 or a fraction in (0, 1)",
  minLeaf: (): ParamCheck => (v) =>
    typeof v === "number" && ((Number.isInteger(v) && v >= 1) || (v > 0 && v < 1))
      ? null
      : "expected an integer >= 1 or a fraction in (0, 1)",
  maxFeatures: (): ParamCheck => (v) =>
    v === null ||
    v === "sqrt" ||
    v === "log2" ||
    (typeof v === "number" && ((Number.isInteger(v) && v >= 1) || (v > 0 && v <= 1)))
      ? null
      : "expected null, 'sqrt', 'log2', an integer >= 1 or a fraction in (0, 1] (1 means all features)",
  maxBins: (): ParamCheck => (v) =>
    v === Number.POSITIVE_INFINITY || (typeof v === "number" && Number.isInteger(v) && v >= 2 && v <= 65535)
      ? null
      : "expected an integer in [2, 65535] or Infinity (exact splits)",
};

/** Common tree params (sklearn names and defaults). */
export function treeParamSpec(): ParamSpec {
  return {
    criterion: { default: "squared_error", check: check.oneOf("squared_error", "friedman_mse") },
    max_depth: { default: null, check: check.intMin(1, true) },
    min_samples_split: { default: 2, check: check.minSplit() },
    min_samples_leaf: { default: 1, check: check.minLeaf() },
    min_weight_fraction_leaf: { default: 0, check: check.num(0, 0.5) },
    max_features: { default: null, check: check.maxFeatures() },
    max_leaf_nodes: { default: null, check: check.intMin(2, true) },
    min_impurity_decrease: { default: 0, check: check.num(0, Number.MAX_VALUE) },
    random_state: { default: null, check: check.seed() },
    max_bins: { default: 255, check: check.maxBins() },
  };
}

export function resolveMaxFeatures(v: ParamValue, p: number): number {
  if (v === null) return p;
  if (v === "sqrt") return Math.max(1, Math.floor(Math.sqrt(p)));
  if (v === "log2") return Math.max(1, Math.floor(Math.log2(p)));
  const x = v as number;
  if (x <= 1) return Math.max(1, Math.floor(x * p));
  return Math.min(p, x);
}

export function resolveCount(v: ParamValue, n: number): number {
  const x = v as number;
  return Number.isInteger(x) && x >= 1 ? x : Math.max(1, Math.ceil(x * n));
}

/** Validate X / y / sample weights for fit; returns the sample weights (or null). */
export function checkFit(
  kind: string,
  X: Matrix,
  y: Float64Array,
  opts?: TreeFitOptions,
  maxBins?: ParamValue,
): Float64Array | null {
  if (!X || !(X.data instanceof Float64Array)) throw new MLInputError(`${kind}.fit: X must be a Matrix`);
  if (X.rows === 0) throw new MLInputError(`${kind}.fit: empty data (X has 0 rows)`);
  if (X.cols === 0) throw new MLInputError(`${kind}.fit: X has 0 columns`);
  if (y.length !== X.rows) {
    throw new MLInputError(`${kind}.fit: length mismatch: X has ${X.rows} rows but y has ${y.length} values`);
  }
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i]))
      throw new MLInputError(`${kind}.fit: target y[${i}] is ${y[i]}; targets must be finite`);
  }
  const sw = opts?.sampleWeight ?? null;
  if (sw) {
    if (sw.length !== X.rows) {
      throw new MLInputError(`${kind}.fit: sampleWeight has ${sw.length} values but X has ${X.rows} rows`);
    }
    let tot = 0;
    for (let i = 0; i < sw.length; i++) {
      if (!(sw[i] >= 0) || !Number.isFinite(sw[i])) {
        throw new MLInputError(
          `${kind}.fit: sampleWeight[${i}] is ${sw[i]}; weights must be finite and >= 0`,
        );
      }
      tot += sw[i];
    }
    if (!(tot > 0)) throw new MLInputError(`${kind}.fit: sample weights sum to 0`);
  }
  const b = opts?.binned;
  if (b && (b.rows !== X.rows || b.cols !== X.cols)) {
    throw new MLInputError(
      `${kind}.fit: the binned dataset is ${b.rows}x${b.cols} but X is ${X.rows}x${X.cols}; bin the same X`,
    );
  }
  if (b && maxBins !== undefined && b.maxBins !== resolveMaxBins(maxBins as number)) {
    throw new MLInputError(
      `${kind}.fit: the binned dataset has max_bins=${b.maxBins} but the model has max_bins=${String(maxBins)}`,
    );
  }
  if (b?.source && b.source !== X && b.source.data !== X.data) {
    throw new MLInputError(`${kind}.fit: the binned dataset was built from a different matrix than X`);
  }
  return sw;
}

export function checkPredict(
  kind: string,
  X: Matrix,
  nFeatures: number,
  featureNames: readonly string[] | undefined,
): void {
  if (!X || !(X.data instanceof Float64Array)) throw new MLInputError(`${kind}.predict: X must be a Matrix`);
  if (X.cols !== nFeatures) {
    throw new MLInputError(
      `${kind}.predict: X has ${X.cols} features but the model was fitted with ${nFeatures}`,
    );
  }
  if (featureNames && X.featureNames) {
    for (let j = 0; j < nFeatures; j++) {
      if (featureNames[j] !== X.featureNames[j]) {
        throw new MLInputError(
          `${kind}.predict: feature ${j} is named '${X.featureNames[j]}' but the model was fitted with '${featureNames[j]}'`,
        );
      }
    }
  }
}

type Arrays = Record<string, Float64Array | Int32Array | Uint8Array>;

/** Concatenate trees into flat arrays (+ `tree_offsets`) for ModelState. */
export function packTreesState(trees: readonly TreeArrays[]): Arrays {
  const offsets = new Int32Array(trees.length + 1);
  for (let i = 0; i < trees.length; i++) offsets[i + 1] = offsets[i] + trees[i].nodeCount;
  const n = offsets[trees.length];
  const all = allocTree(n);
  for (let i = 0; i < trees.length; i++) {
    const t = trees[i];
    const o = offsets[i];
    all.feature.set(t.feature, o);
    all.threshold.set(t.threshold, o);
    all.left.set(t.left, o);
    all.right.set(t.right, o);
    all.missingLeft.set(t.missingLeft, o);
    all.value.set(t.value, o);
    all.nSamples.set(t.nSamples, o);
    all.weightedNSamples.set(t.weightedNSamples, o);
    all.impurity.set(t.impurity, o);
  }
  return {
    tree_offsets: offsets,
    feature: all.feature,
    threshold: all.threshold,
    left: all.left,
    right: all.right,
    missing_left: all.missingLeft,
    value: all.value,
    n_samples: all.nSamples,
    weighted_n_samples: all.weightedNSamples,
    impurity: all.impurity,
  };
}

export function unpackTreesState(kind: string, a: Record<string, unknown>): TreeArrays[] {
  const need = [
    "tree_offsets",
    "feature",
    "threshold",
    "left",
    "right",
    "missing_left",
    "value",
    "n_samples",
    "weighted_n_samples",
    "impurity",
  ];
  for (const k of need) if (!a[k]) throw new MLInputError(`${kind}.fromState: missing array '${k}'`);
  const off = a.tree_offsets as Int32Array;
  const trees: TreeArrays[] = [];
  for (let i = 0; i + 1 < off.length; i++) {
    const s = off[i];
    const e = off[i + 1];
    const sl = <T extends Float64Array | Int32Array | Uint8Array>(x: unknown) => (x as T).slice(s, e) as T;
    trees.push({
      nodeCount: e - s,
      feature: sl<Int32Array>(a.feature),
      threshold: sl<Float64Array>(a.threshold),
      left: sl<Int32Array>(a.left),
      right: sl<Int32Array>(a.right),
      missingLeft: sl<Uint8Array>(a.missing_left),
      value: sl<Float64Array>(a.value),
      nSamples: sl<Int32Array>(a.n_samples),
      weightedNSamples: sl<Float64Array>(a.weighted_n_samples),
      impurity: sl<Float64Array>(a.impurity),
    });
  }
  return trees;
}

export function notFitted(kind: string): never {
  throw new MLInputError(`${kind}: model is not fitted; call fit() first`);
}
