import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  BinnedDataset,
  DecisionTreeRegressor,
  GradientBoostingRegressor,
  RandomForestRegressor,
} from "../../src/ml/tree/index.ts";
import { matrix } from "../../src/ml/types.ts";

const root = join(import.meta.dirname, "..", "..");
const fx = JSON.parse(readFileSync(join(root, "test/fixtures/sklearn/forest_quality.json"), "utf8"));
const expected = (model: string) => fx.expected.find((e: { model: string }) => e.model === model);

/** forest_quality.json's split and 13 features (8 numeric, bedrooms NaN -> 435, one-hot ocean_proximity). */
function load() {
  const lines = readFileSync(join(root, "data/california_housing.csv"), "utf8").trim().split("\n").slice(1);
  const cats = ["<1H OCEAN", "INLAND", "ISLAND", "NEAR BAY", "NEAR OCEAN"];
  const p = 13;
  const build = (idx: number[]) => {
    const X = new Float64Array(idx.length * p);
    const y = new Float64Array(idx.length);
    idx.forEach((ri, k) => {
      const c = lines[ri].split(",");
      for (let j = 0; j < 8; j++)
        X[k * p + j] = c[j] === "" ? fx.input.train_median_total_bedrooms : Number(c[j]);
      X[k * p + 8 + cats.indexOf(c[9])] = 1;
      y[k] = Number(c[8]);
    });
    return { X: matrix(idx.length, p, X, fx.input.features), y };
  };
  const tr: number[] = [];
  const te: number[] = [];
  for (let i = 0; i < lines.length; i++) (i % 5 === 0 ? te : tr).push(i);
  return { train: build(tr), test: build(te) };
}

function metrics(y: Float64Array, p: Float64Array) {
  let m = 0;
  for (const v of y) m += v;
  m /= y.length;
  let ss = 0;
  let st = 0;
  let ae = 0;
  for (let i = 0; i < y.length; i++) {
    ss += (y[i] - p[i]) ** 2;
    st += (y[i] - m) ** 2;
    ae += Math.abs(y[i] - p[i]);
  }
  return { r2: 1 - ss / st, mae: ae / y.length };
}

describe("quality bars of forest_quality.json (full housing split)", () => {
  const { train, test } = load();
  const binned = BinnedDataset.fromMatrix(train.X);

  it("RandomForest(100, random_state=0): test R2 within 0.02 and MAE within 5% of sklearn", () => {
    const e = expected("RandomForestRegressor");
    const m = new RandomForestRegressor({ n_estimators: 100, random_state: 0, n_jobs: -1 }).fit(
      train.X,
      train.y,
      { binned },
    );
    const q = metrics(test.y, m.predict(test.X));
    assert.ok(Math.abs(q.r2 - e.test_r2) <= 0.02, `R2 ${q.r2} vs ${e.test_r2}`);
    assert.ok(Math.abs(q.mae / e.test_mae - 1) <= 0.05, `MAE ${q.mae} vs ${e.test_mae}`);
  });

  it("GradientBoosting(200, depth 5, lr 0.1): test R2 within 0.02 and MAE within 5% of sklearn", () => {
    const e = expected("GradientBoostingRegressor");
    const m = new GradientBoostingRegressor({
      n_estimators: 200,
      max_depth: 5,
      learning_rate: 0.1,
      random_state: 0,
    }).fit(train.X, train.y, { binned });
    const q = metrics(test.y, m.predict(test.X));
    assert.ok(Math.abs(q.r2 - e.test_r2) <= 0.02, `R2 ${q.r2} vs ${e.test_r2}`);
    assert.ok(Math.abs(q.mae / e.test_mae - 1) <= 0.05, `MAE ${q.mae} vs ${e.test_mae}`);
  });

  it("DecisionTree(max_depth=10) in exact mode: test R2 within 0.01 of sklearn", () => {
    const e = expected("DecisionTreeRegressor");
    const m = new DecisionTreeRegressor({
      max_depth: 10,
      random_state: 0,
      max_bins: Number.POSITIVE_INFINITY,
    }).fit(train.X, train.y);
    const q = metrics(test.y, m.predict(test.X));
    assert.ok(Math.abs(q.r2 - e.test_r2) <= 0.01, `R2 ${q.r2} vs ${e.test_r2}`);
  });
});
