/**
 * Test-only regressor with exact truncation: an ensemble of 1-D median-split trees, each on a random feature
 * of a bootstrap sample (member i draws from Rng(deriveSeed(random_state, i)), so members do not depend on
 * n_estimators). Truncation by n_estimators (prefix), max_depth and min_samples_split (prune to the node's
 * stored mean) gives bit-for-bit the model a direct fit would give. Importing this module registers the kind
 * "ToyEnsembleRegressor" (workers import it through the pool's `modules` option).
 */
import { deriveSeed, Rng } from "../../src/data/prng.ts";
import { larger, largerOrNull, registerRegressorKind, smaller } from "../../src/ml/registry.ts";
import type { Matrix, ModelState, Params, Regressor } from "../../src/ml/types.ts";
import { MLInputError } from "../../src/ml/types.ts";

export const TOY_KIND = "ToyEnsembleRegressor";
const MAX_DEPTH_CAP = 16;

interface Member {
  feature: number;
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
  count: number[];
  depth: number[];
}

export class ToyEnsembleRegressor implements Regressor {
  readonly kind = TOY_KIND;
  readonly nEstimators: number;
  readonly maxDepth: number | null;
  readonly minSamplesSplit: number;
  readonly randomState: number;
  members: Member[] | null = null;
  nFeatures = 0;

  constructor(params: Params = {}) {
    for (const k of Object.keys(params)) {
      if (!["n_estimators", "max_depth", "min_samples_split", "random_state"].includes(k)) {
        throw new MLInputError(`ToyEnsembleRegressor: unknown param ${k}`);
      }
    }
    this.nEstimators = (params.n_estimators as number | undefined) ?? 10;
    this.maxDepth = params.max_depth === undefined ? null : (params.max_depth as number | null);
    this.minSamplesSplit = (params.min_samples_split as number | undefined) ?? 2;
    this.randomState = (params.random_state as number | undefined) ?? 0;
    if (!Number.isInteger(this.nEstimators) || this.nEstimators < 1) {
      throw new MLInputError(`ToyEnsembleRegressor: n_estimators must be >= 1, got ${this.nEstimators}`);
    }
  }

  getParams(): Params {
    return {
      n_estimators: this.nEstimators,
      max_depth: this.maxDepth,
      min_samples_split: this.minSamplesSplit,
      random_state: this.randomState,
    };
  }

  fit(X: Matrix, y: Float64Array): this {
    if (X.rows !== y.length) throw new MLInputError("ToyEnsembleRegressor: X/y length mismatch");
    const n = X.rows;
    const maxDepth = this.maxDepth ?? MAX_DEPTH_CAP;
    this.nFeatures = X.cols;
    this.members = [];
    for (let t = 0; t < this.nEstimators; t++) {
      const rng = new Rng(deriveSeed(this.randomState, t));
      const feature = rng.int(X.cols);
      const rows: number[] = [];
      for (let i = 0; i < n; i++) rows.push(rng.int(n));
      const m: Member = { feature, threshold: [], left: [], right: [], value: [], count: [], depth: [] };
      const build = (idx: number[], depth: number): number => {
        const id = m.value.length;
        let s = 0;
        for (const i of idx) s += y[i];
        m.value.push(s / idx.length);
        m.count.push(idx.length);
        m.depth.push(depth);
        m.threshold.push(0);
        m.left.push(-1);
        m.right.push(-1);
        if (depth >= maxDepth || idx.length < this.minSamplesSplit) return id;
        const xs = idx.map((i) => X.data[i * X.cols + feature]).sort((a, b) => a - b);
        const mid = xs.length >> 1;
        const thr = (xs[mid - 1] + xs[mid]) / 2;
        const L = idx.filter((i) => X.data[i * X.cols + feature] <= thr);
        const R = idx.filter((i) => !(X.data[i * X.cols + feature] <= thr));
        if (L.length === 0 || R.length === 0) return id;
        m.threshold[id] = thr;
        m.left[id] = build(L, depth + 1);
        m.right[id] = build(R, depth + 1);
        return id;
      };
      build(rows, 0);
      this.members.push(m);
    }
    return this;
  }

  predict(X: Matrix): Float64Array {
    if (!this.members) throw new MLInputError("ToyEnsembleRegressor: not fitted");
    const out = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let s = 0;
      for (const m of this.members) {
        let node = 0;
        while (m.left[node] >= 0) {
          node = X.data[i * X.cols + m.feature] <= m.threshold[node] ? m.left[node] : m.right[node];
        }
        s += m.value[node];
      }
      out[i] = s / this.members.length;
    }
    return out;
  }

  /** The model a direct fit with `target` would give. */
  truncate(target: Params): ToyEnsembleRegressor {
    if (!this.members) throw new MLInputError("ToyEnsembleRegressor: not fitted");
    const t = new ToyEnsembleRegressor({ ...this.getParams(), ...target });
    if (t.nEstimators > this.nEstimators) throw new MLInputError("truncate: n_estimators larger than fitted");
    const maxDepth = t.maxDepth ?? MAX_DEPTH_CAP;
    t.nFeatures = this.nFeatures;
    t.members = this.members.slice(0, t.nEstimators).map((m) => {
      const c: Member = {
        feature: m.feature,
        threshold: [],
        left: [],
        right: [],
        value: [],
        count: [],
        depth: [],
      };
      const copy = (node: number): number => {
        const id = c.value.length;
        c.value.push(m.value[node]);
        c.count.push(m.count[node]);
        c.depth.push(m.depth[node]);
        c.threshold.push(0);
        c.left.push(-1);
        c.right.push(-1);
        const leaf = m.left[node] < 0 || m.depth[node] >= maxDepth || m.count[node] < t.minSamplesSplit;
        if (!leaf) {
          c.threshold[id] = m.threshold[node];
          c.left[id] = copy(m.left[node]);
          c.right[id] = copy(m.right[node]);
        }
        return id;
      };
      copy(0);
      return c;
    });
    return t;
  }

  toState(): ModelState {
    if (!this.members) throw new MLInputError("ToyEnsembleRegressor: not fitted");
    const offsets = new Int32Array(this.members.length + 1);
    this.members.forEach((m, i) => {
      offsets[i + 1] = offsets[i] + m.value.length;
    });
    const total = offsets[this.members.length];
    const thr = new Float64Array(total);
    const val = new Float64Array(total);
    const left = new Int32Array(total);
    const right = new Int32Array(total);
    const count = new Int32Array(total);
    const depth = new Uint16Array(total);
    this.members.forEach((m, i) => {
      const o = offsets[i];
      thr.set(m.threshold, o);
      val.set(m.value, o);
      left.set(m.left, o);
      right.set(m.right, o);
      count.set(m.count, o);
      depth.set(m.depth, o);
    });
    return {
      kind: TOY_KIND,
      params: this.getParams(),
      meta: { n_features: this.nFeatures },
      arrays: {
        offsets,
        features: Int32Array.from(this.members.map((m) => m.feature)),
        threshold: thr,
        value: val,
        left,
        right,
        count,
        depth,
      },
    };
  }

  static fromState(state: ModelState): ToyEnsembleRegressor {
    if (state.kind !== TOY_KIND) throw new MLInputError(`fromState: kind ${state.kind} is not ${TOY_KIND}`);
    const r = new ToyEnsembleRegressor(state.params);
    const a = state.arrays;
    const offsets = a.offsets as Int32Array;
    r.nFeatures = state.meta.n_features as number;
    r.members = [];
    for (let i = 0; i + 1 < offsets.length; i++) {
      const s = offsets[i];
      const e = offsets[i + 1];
      r.members.push({
        feature: a.features[i],
        threshold: Array.from(a.threshold.subarray(s, e)),
        left: Array.from(a.left.subarray(s, e)),
        right: Array.from(a.right.subarray(s, e)),
        value: Array.from(a.value.subarray(s, e)),
        count: Array.from(a.count.subarray(s, e)),
        depth: Array.from(a.depth.subarray(s, e)),
      });
    }
    return r;
  }
}

registerRegressorKind(TOY_KIND, {
  create: (p) => new ToyEnsembleRegressor(p),
  fromState: (s) => ToyEnsembleRegressor.fromState(s),
  sharing: {
    axes: [
      { param: "n_estimators", compare: larger },
      { param: "max_depth", compare: largerOrNull },
      { param: "min_samples_split", compare: smaller },
    ],
    derive: (fitted, target) => (fitted as ToyEnsembleRegressor).truncate(target),
  },
});

/** Synthetic regression data: y = sum of a few nonlinear terms + noise. */
export function makeRegression(
  n: number,
  cols: number,
  seed: number,
  noise = 0.1,
): { X: Matrix; y: Float64Array } {
  const rng = new Rng(seed);
  const data = new Float64Array(n * cols);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = rng.uniform(-2, 2);
    const x0 = data[i * cols];
    const x1 = cols > 1 ? data[i * cols + 1] : 0;
    y[i] = Math.sin(x0) * 2 + x1 * x1 + noise * rng.normal();
  }
  return { X: { rows: n, cols, data }, y };
}
