import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  expandGrid,
  gridSearch,
  groupForSharing,
  type ParamGrid,
  rankScores,
} from "../../src/ml/model_selection/index.ts";
import { getRegressorKind } from "../../src/ml/registry.ts";
import { makeRegression, TOY_KIND, ToyEnsembleRegressor } from "../helpers/toy_regressor.ts";

describe("expandGrid / rankScores", () => {
  it("follows sklearn ParameterGrid order (sorted keys, last varies fastest) and concatenates lists", () => {
    assert.deepEqual(expandGrid({ b: [1, 2], a: ["x", "y"] }), [
      { a: "x", b: 1 },
      { a: "x", b: 2 },
      { a: "y", b: 1 },
      { a: "y", b: 2 },
    ]);
    assert.deepEqual(expandGrid([{ a: [1] }, { b: [null, 3] }]), [{ a: 1 }, { b: null }, { b: 3 }]);
    assert.equal(
      expandGrid({
        n_estimators: [50, 100, 200, 300],
        max_depth: [10, 15, 20, 25, null],
        min_samples_split: [2, 5, 10],
        min_samples_leaf: [1, 2, 4],
      }).length,
      180,
    );
    assert.throws(() => expandGrid({ a: [] }), /paramGrid.a must be a non-empty array/);
  });

  it("ranks with method=min, NaN last, in the scorer direction", () => {
    assert.deepEqual(rankScores([0.5, 0.9, 0.9, Number.NaN, 0.1], true), [3, 1, 1, 5, 4]);
    assert.deepEqual(rankScores([0.5, 0.9, 0.9, Number.NaN, 0.1], false), [2, 3, 3, 5, 1]);
  });
});

describe("grid-aware sharing", () => {
  it("groups points differing only on sharing axes; base takes the largest value per axis", () => {
    const points = expandGrid({
      n_estimators: [2, 8, 4],
      max_depth: [3, null],
      min_samples_split: [5, 2],
      random_state: [0, 1],
    });
    const groups = groupForSharing(points, getRegressorKind(TOY_KIND).sharing);
    assert.equal(groups.length, 2);
    for (const g of groups) {
      assert.equal(g.members.length, 12);
      assert.equal(g.base.n_estimators, 8);
      assert.equal(g.base.max_depth, null);
      assert.equal(g.base.min_samples_split, 2);
      for (const m of g.members) assert.equal(points[m].random_state, g.base.random_state);
    }
    assert.equal(groupForSharing(points, undefined).length, 24);
    assert.equal(groupForSharing(points, getRegressorKind(TOY_KIND).sharing, false).length, 24);
  });

  it("shared grid search equals direct fits bit for bit, with fewer fits", async () => {
    const { X, y } = makeRegression(240, 3, 3);
    const base = {
      kind: TOY_KIND,
      paramGrid: {
        n_estimators: [3, 6],
        max_depth: [2, 4, null],
        min_samples_split: [2, 30],
        random_state: [0, 9],
      },
      X,
      y,
      cv: 3,
      scoring: ["neg_mean_absolute_error", "r2"],
      returnTrainScore: true,
      nJobs: 1,
    };
    const shared = await gridSearch(base);
    const direct = await gridSearch({ ...base, shareFits: false });
    assert.equal(shared.fits, 2 * 3);
    assert.equal(direct.fits, 24 * 3);
    assert.equal(shared.candidateFits, 24 * 3);
    for (let i = 0; i < 24; i++) {
      assert.deepEqual(shared.results[i].params, direct.results[i].params);
      assert.deepEqual(shared.results[i].splitTestScores, direct.results[i].splitTestScores, `point ${i}`);
      assert.deepEqual(shared.results[i].splitTrainScores, direct.results[i].splitTrainScores, `point ${i}`);
      assert.deepEqual(shared.results[i].rankTestScore, direct.results[i].rankTestScore);
    }
    assert.ok(shared.results.some((r) => r.derived));
    assert.ok(direct.results.every((r) => !r.derived));
    // the test must be able to fail: different params give different scores
    const distinct = new Set(shared.results.map((r) => r.meanTestScore.r2));
    assert.ok(distinct.size > 12, String(distinct.size));
    assert.deepEqual(shared.bestParams, direct.bestParams);
  });

  it("best point, refit and result table semantics", async () => {
    const { X, y } = makeRegression(200, 2, 5);
    const res = await gridSearch({
      kind: TOY_KIND,
      paramGrid: { n_estimators: [1, 8], max_depth: [1, 5] },
      fixedParams: { random_state: 3 },
      X,
      y,
      cv: { k: 4, shuffle: true, seed: 1 },
      scoring: "mae",
      nJobs: 1,
    });
    const means = res.results.map((r) => r.meanTestScore.mae);
    const best = means.indexOf(Math.min(...means));
    assert.equal(res.bestIndex, best);
    assert.equal(res.results[best].rankTestScore.mae, 1);
    assert.equal(res.bestScore, means[best]);
    assert.deepEqual(res.bestParams, { random_state: 3, ...res.results[best].params });
    const direct = new ToyEnsembleRegressor(res.bestParams).fit(X, y);
    assert.deepEqual(res.bestEstimator!.predict(X), direct.predict(X));
    for (const r of res.results) {
      assert.equal(r.splitTestScores.mae.length, 4);
      assert.ok(r.stdTestScore.mae >= 0);
      assert.ok(r.meanFitTime >= 0);
    }
  });

  it("reports progress and validates the grid before fitting", async () => {
    const { X, y } = makeRegression(60, 2, 5);
    const ticks: number[] = [];
    await gridSearch({
      kind: TOY_KIND,
      paramGrid: { n_estimators: [1, 2] },
      X,
      y,
      cv: 3,
      nJobs: 1,
      shareFits: false,
      onProgress: (p) => ticks.push(p.done),
    });
    assert.deepEqual(ticks, [1, 2, 3, 4, 5, 6]);
    await assert.rejects(
      gridSearch({ kind: TOY_KIND, paramGrid: { n_estimators: [1, 0] }, X, y, nJobs: 1 }),
      /grid point 1 \{"n_estimators":0\} is invalid: .*n_estimators must be >= 1/,
    );
    await assert.rejects(
      gridSearch({
        kind: TOY_KIND,
        paramGrid: { n_estimators: [1] },
        X,
        y,
        nJobs: 1,
        scoring: "r2",
        refit: "mae",
      }),
      /refit scorer "mae" is not in scoring/,
    );
  });
});

describe("grid-aware sharing with the real estimators", () => {
  const { X, y } = makeRegression(400, 4, 17, 0.3);
  const cases: { kind: string; paramGrid: ParamGrid; fits: number }[] = [
    {
      kind: "DecisionTreeRegressor",
      paramGrid: { max_depth: [2, 5, null], min_samples_split: [2, 10, 40], random_state: [0] },
      fits: 1,
    },
    {
      kind: "RandomForestRegressor",
      paramGrid: {
        n_estimators: [3, 8],
        max_depth: [3, null],
        min_samples_split: [2, 20],
        max_features: [0.5],
        random_state: [1],
      },
      fits: 1,
    },
    {
      kind: "GradientBoostingRegressor",
      paramGrid: {
        n_estimators: [5, 20, 12],
        learning_rate: [0.1, 0.3],
        max_depth: [3],
        subsample: [0.8],
        random_state: [2],
      },
      fits: 2,
    },
  ];
  for (const c of cases) {
    it(`${c.kind}: shared fits equal direct fits bit for bit`, async () => {
      const base = {
        kind: c.kind,
        paramGrid: c.paramGrid,
        X,
        y,
        cv: 3,
        scoring: ["neg_mean_absolute_error", "r2"],
        returnTrainScore: true,
        nJobs: 1,
      };
      const shared = await gridSearch(base);
      const direct = await gridSearch({ ...base, shareFits: false });
      assert.equal(shared.fits, c.fits * 3);
      assert.ok(direct.fits > shared.fits);
      for (let i = 0; i < shared.results.length; i++) {
        assert.deepEqual(
          shared.results[i].splitTestScores,
          direct.results[i].splitTestScores,
          `${c.kind} point ${i}`,
        );
        assert.deepEqual(
          shared.results[i].splitTrainScores,
          direct.results[i].splitTrainScores,
          `${c.kind} point ${i}`,
        );
      }
      assert.ok(new Set(shared.results.map((r) => r.meanTestScore.r2)).size > shared.results.length / 2);
      assert.deepEqual(shared.bestEstimator!.predict(X), direct.bestEstimator!.predict(X));
    });
  }

  it("the reference grids collapse to 3 (RF), 75 (GBM) and 4 (DT) fits per fold", () => {
    const count = (kind: string, g: ParamGrid) =>
      groupForSharing(expandGrid(g), getRegressorKind(kind).sharing).length;
    const rf = {
      n_estimators: [50, 100, 200, 300],
      max_depth: [10, 15, 20, 25, null],
      min_samples_split: [2, 5, 10],
      min_samples_leaf: [1, 2, 4],
    };
    const gb = {
      n_estimators: [50, 100, 150, 200],
      learning_rate: [0.01, 0.05, 0.1, 0.15, 0.2],
      max_depth: [3, 4, 5, 6, 7],
      subsample: [0.8, 0.9, 1.0],
    };
    const dt = {
      max_depth: [5, 10, 15, 20, 25, null],
      min_samples_split: [2, 5, 10, 20],
      min_samples_leaf: [1, 2, 4, 8],
    };
    assert.equal(count("RandomForestRegressor", rf), 3);
    assert.equal(count("GradientBoostingRegressor", gb), 75);
    assert.equal(count("DecisionTreeRegressor", dt), 4);
    assert.equal(count("Ridge", { alpha: [0.01, 0.1, 1] }), 3);
  });

  it("best-first trees (max_leaf_nodes) and GBM early stopping are never shared", async () => {
    const res = await gridSearch({
      kind: "DecisionTreeRegressor",
      paramGrid: { max_depth: [2, 4], max_leaf_nodes: [8] },
      X,
      y,
      cv: 2,
      nJobs: 1,
      refit: false,
    });
    assert.equal(res.fits, 4);
    const gb = groupForSharing(
      expandGrid({ n_estimators: [5, 10], n_iter_no_change: [3] }),
      getRegressorKind("GradientBoostingRegressor").sharing,
    );
    assert.equal(gb.length, 2);
  });
});
