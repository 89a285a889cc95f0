import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DecisionTreeRegressor } from "../../src/ml/tree/index.ts";
import { matrix } from "../../src/ml/types.ts";

const root = join(import.meta.dirname, "..", "..");
const fx = JSON.parse(readFileSync(join(root, "test/fixtures/sklearn/decision_tree.json"), "utf8"));

/** First 2,000 rows, 8 numeric features, total_bedrooms NaN -> 406 (the fixture's input). */
function load2000() {
  const lines = readFileSync(join(root, "data/california_housing.csv"), "utf8").split("\n").slice(1, 2001);
  const X = new Float64Array(2000 * 8);
  const y = new Float64Array(2000);
  lines.forEach((line, i) => {
    const c = line.split(",");
    for (let j = 0; j < 8; j++)
      X[i * 8 + j] = c[j] === "" ? fx.input.total_bedrooms_median_used : Number(c[j]);
    y[i] = Number(c[8]);
  });
  return { X: matrix(2000, 8, X), y };
}

function relClose(a: number, b: number, tol: number, what: string): void {
  const d = Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
  assert.ok(d <= tol, `${what}: ${a} vs ${b} (rel ${d})`);
}

function r2(y: Float64Array, yh: Float64Array): number {
  let m = 0;
  for (const v of y) m += v;
  m /= y.length;
  let ss = 0;
  let st = 0;
  for (let i = 0; i < y.length; i++) {
    ss += (y[i] - yh[i]) ** 2;
    st += (y[i] - m) ** 2;
  }
  return 1 - ss / st;
}

describe("DecisionTreeRegressor vs scikit-learn 1.2.1 (decision_tree.json, exact mode)", () => {
  const { X, y } = load2000();

  it("max_depth=3: structure and thresholds exact, values/impurity/predictions rel 1e-9", () => {
    const e = fx.expected.max_depth_3;
    const m = new DecisionTreeRegressor({
      max_depth: 3,
      random_state: 0,
      max_bins: Number.POSITIVE_INFINITY,
    }).fit(X, y);
    const a = m.sklearnArrays();
    assert.equal(a.feature.length, e.node_count);
    assert.deepEqual(a.children_left, e.children_left);
    assert.deepEqual(a.children_right, e.children_right);
    assert.deepEqual(a.feature, e.feature);
    assert.deepEqual(a.n_node_samples, e.n_node_samples);
    assert.deepEqual(a.weighted_n_node_samples, e.weighted_n_node_samples);
    for (let i = 0; i < e.node_count; i++) {
      assert.ok(
        Object.is(a.threshold[i], e.threshold[i]),
        `threshold[${i}] ${a.threshold[i]} vs ${e.threshold[i]}`,
      );
      relClose(a.value[i], e.value_flat[i], 1e-9, `value[${i}]`);
      relClose(a.impurity[i], e.impurity[i], 1e-9, `impurity[${i}]`);
    }
    const pred = m.predict(X);
    for (let i = 0; i < 20; i++) relClose(pred[i], e.predictions_first_20_rows[i], 1e-9, `prediction[${i}]`);
    relClose(r2(y, pred), e.train_r2, 1e-9, "train R2");
  });

  it("max_depth=None, min_samples_leaf=5: leaves, depth, node count, R2 and predictions", () => {
    const e = fx.expected.max_depth_none_min_samples_leaf_5;
    const m = new DecisionTreeRegressor({
      min_samples_leaf: 5,
      random_state: 0,
      max_bins: Number.POSITIVE_INFINITY,
    }).fit(X, y);
    const s = m.shape();
    assert.equal(s.leaves, e.n_leaves);
    assert.equal(s.depth, e.depth);
    assert.equal(s.nodes, e.node_count);
    const pred = m.predict(X);
    relClose(r2(y, pred), e.train_r2, 1e-9, "train R2");
    for (let i = 0; i < 20; i++) relClose(pred[i], e.predictions_first_20_rows[i], 1e-9, `prediction[${i}]`);
  });

  it("the same tree comes out of a uint16 binning with max_bins=65535 (all features exact)", () => {
    const a = new DecisionTreeRegressor({ max_depth: 3, max_bins: 65535 }).fit(X, y);
    assert.deepEqual(a.sklearnArrays().threshold, fx.expected.max_depth_3.threshold);
  });

  it("default max_bins=255 (quantile bins) stays close: depth-3 train R2 within 0.01", () => {
    const m = new DecisionTreeRegressor({ max_depth: 3 }).fit(X, y);
    assert.ok(Math.abs(r2(y, m.predict(X)) - fx.expected.max_depth_3.train_r2) < 0.01);
  });
});
