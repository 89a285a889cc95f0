import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { crossValidate, gridSearch, kFold, type ParamGrid } from "../../src/ml/model_selection/index.ts";
import { FIT_SCORE_MODULE } from "../../src/ml/model_selection/fit_score.ts";
import { WorkerPool } from "../../src/ml/pool/pool.ts";
import { createRegressor, regressorFromState } from "../../src/ml/registry.ts";
import { createStudy, CvRunner, MedianPruner, TPESampler, type Trial } from "../../src/ml/search/index.ts";
import { MLInputError, type ModelState, matrix } from "../../src/ml/types.ts";
import { makeRegression, TOY_KIND } from "../helpers/toy_regressor.ts";

const TOY_MODULE = new URL("../helpers/toy_regressor.ts", import.meta.url).href;

describe("worker pool", () => {
  let pool: WorkerPool;
  before(async () => {
    pool = await WorkerPool.create({ size: 2, modules: [TOY_MODULE] });
  });
  after(async () => {
    await pool.close();
  });

  it("runs TypeScript workers that answer pings", async () => {
    assert.equal(pool.size, 2);
    assert.deepEqual(await pool.broadcast("ping", null), ["pong", "pong"]);
  });

  it("grid search on 2 workers equals the in-thread result exactly (shared and direct)", async () => {
    const { X, y } = makeRegression(300, 3, 11);
    const opts = {
      kind: TOY_KIND,
      paramGrid: { n_estimators: [2, 5], max_depth: [2, null], random_state: [0, 1] },
      X,
      y,
      cv: 3,
      scoring: ["neg_mean_absolute_error"],
      returnTrainScore: true,
      refit: false,
    };
    const local = await gridSearch({ ...opts, nJobs: 1 });
    for (const shareFits of [true, false]) {
      const par = await gridSearch({ ...opts, pool, shareFits });
      assert.deepEqual(
        par.results.map((r) => [r.params, r.splitTestScores, r.splitTrainScores]),
        local.results.map((r) => [r.params, r.splitTestScores, r.splitTrainScores]),
      );
      assert.deepEqual(par.bestParams, local.bestParams);
      assert.equal(par.bestEstimator, null);
    }
  });

  it("crossValidate on the pool with SharedArrayBuffer-backed X equals in-thread", async () => {
    const { X, y } = makeRegression(200, 2, 12);
    const sab = new SharedArrayBuffer(X.data.byteLength);
    const shared = new Float64Array(sab);
    shared.set(X.data);
    const Xs = matrix(X.rows, X.cols, shared);
    const spec = { kind: TOY_KIND, params: { n_estimators: 3 } };
    const o = { cv: 4, scoring: "r2", returnOofPredictions: true };
    const a = await crossValidate(spec, Xs, y, { ...o, pool });
    const b = await crossValidate(spec, X, y, { ...o, nJobs: 1 });
    assert.deepEqual(a.testScores, b.testScores);
    assert.deepEqual(a.oofPredictions, b.oofPredictions);
  });

  it("propagates estimator errors from workers as MLInputError", async () => {
    const { X, y } = makeRegression(50, 2, 1);
    const id = await pool.shareDataset(X, y, kFold(50, 2));
    await assert.rejects(
      pool.fitScore(id, 0, {
        kind: TOY_KIND,
        params: { bogus: 1 },
        scoring: ["r2"],
        returnTrainScore: false,
      }),
      (e: Error) => e instanceof MLInputError && /unknown param bogus/.test(e.message),
    );
    await assert.rejects(
      pool.fitScore(id, 7, { kind: TOY_KIND, params: {}, scoring: ["r2"], returnTrainScore: false }),
      /has no fold 7/,
    );
    await pool.dropDataset(id);
  });

  it("a pool created by gridSearch itself (nJobs=2) works and is closed", async () => {
    const { X, y } = makeRegression(120, 2, 2);
    const res = await gridSearch({
      kind: TOY_KIND,
      paramGrid: { n_estimators: [1, 3] },
      X,
      y,
      cv: 2,
      nJobs: 2,
      workerModules: [TOY_MODULE],
    });
    assert.equal(res.results.length, 2);
  });

  it("a study running 2 trials at a time on the pool equals the in-thread study", async () => {
    const { X, y } = makeRegression(200, 2, 21);
    const run = async (p: WorkerPool | undefined) => {
      const runner = await CvRunner.create(X, y, { cv: 3, pool: p });
      const st = await createStudy({
        sampler: new TPESampler({ seed: 3, nStartupTrials: 4 }),
        pruner: new MedianPruner({ nStartupTrials: 2 }),
      });
      const objective = (t: Trial) =>
        runner.evaluate(
          t,
          TOY_KIND,
          { n_estimators: t.suggestInt("n_estimators", 1, 6), max_depth: t.suggestInt("max_depth", 1, 5) },
          "mae",
        );
      await st.optimize(objective, { nTrials: 10, parallel: 2 });
      await runner.close();
      return st.trials.map((t) => [t.params, t.state, t.value, t.intermediate]);
    };
    assert.deepEqual(await run(pool), await run(undefined));
  });

  it("real estimators in workers (registry built-ins): RF / GBM grid on the pool equals in-thread", async () => {
    const { X, y } = makeRegression(300, 3, 5);
    for (const [kind, paramGrid] of [
      ["RandomForestRegressor", { n_estimators: [2, 4], max_depth: [3, null], random_state: [0] }],
      ["GradientBoostingRegressor", { n_estimators: [3, 6], subsample: [0.7], random_state: [0] }],
      ["Ridge", { alpha: [0.1, 10] }],
    ] as [string, ParamGrid][]) {
      const o = { kind, paramGrid, X, y, cv: 3, scoring: "neg_mean_absolute_error", refit: false };
      const a = await gridSearch({ ...o, pool });
      const b = await gridSearch({ ...o, nJobs: 1 });
      assert.deepEqual(
        a.results.map((r) => r.splitTestScores),
        b.results.map((r) => r.splitTestScores),
        kind,
      );
    }
  });

  it("call: runs an exported function of a src module on a worker (a final refit equals the in-thread fit bit for bit); refuses modules outside src/ and unknown exports", async () => {
    const { X, y } = makeRegression(400, 4, 9);
    const params = { n_estimators: 20, max_depth: 4, subsample: 0.8, random_state: 5 };
    const got = await pool.call<{ state: ModelState; seconds: number }>(
      FIT_SCORE_MODULE,
      "fitToState",
      "GradientBoostingRegressor",
      params,
      X,
      y,
    );
    assert.ok(got.seconds >= 0);
    const remote = regressorFromState(got.state).predict(X);
    const local = createRegressor("GradientBoostingRegressor", params).fit(X, y).predict(X);
    assert.ok(
      remote.every((v, i) => Object.is(v, local[i])),
      "worker refit differs from the in-thread fit",
    );
    await assert.rejects(pool.call(TOY_MODULE, "makeRegression", 10, 2, 1), /refusing to import/);
    await assert.rejects(
      pool.call(FIT_SCORE_MODULE, "noSuchFunction"),
      /no exported function noSuchFunction/,
    );
    assert.deepEqual(await pool.broadcast("ping", null), ["pong", "pong"]);
  });
});
