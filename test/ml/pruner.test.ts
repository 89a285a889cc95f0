import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../../src/data/prng.ts";
import {
  createStudy,
  CvRunner,
  type FrozenTrial,
  MedianPruner,
  median,
  RandomSampler,
  Trial,
  TrialPruned,
} from "../../src/ml/search/index.ts";
import { makeRegression, TOY_KIND } from "../helpers/toy_regressor.ts";

function done(number: number, values: number[], state: FrozenTrial["state"] = "complete"): FrozenTrial {
  return {
    number,
    state,
    params: {},
    distributions: {},
    value: state === "complete" ? values[values.length - 1] : null,
    intermediate: values.map((v, i) => [i, v]),
    userAttrs: {},
    startedAt: "",
    completedAt: "",
    durationMs: 0,
  };
}

function trialWith(
  values: number[],
  history: FrozenTrial[],
  pruner: MedianPruner,
  direction: "minimize" | "maximize" = "minimize",
) {
  const t = new Trial(99, new RandomSampler(0), pruner, new Rng(0), history, direction);
  for (const [i, v] of values.entries()) t.report(v, i);
  return t;
}

describe("MedianPruner", () => {
  const history = [1, 2, 3, 4, 5].map((k, i) => done(i, [k, k, k]));

  it("prunes when the value at the last step is worse than the median of completed trials at that step", () => {
    const p = new MedianPruner();
    assert.equal(median([5, 1, 3, 2]), 2.5);
    assert.equal(trialWith([3.5], history, p).shouldPrune(), true);
    assert.equal(trialWith([3], history, p).shouldPrune(), false); // equal to the median: keep
    assert.equal(trialWith([1, 2.9], history, p).shouldPrune(), false);
    assert.equal(trialWith([1, 2.9], history, p, "maximize").shouldPrune(), true);
  });

  it("respects nStartupTrials, nWarmupSteps, intervalSteps and ignores pruned/failed trials in the median", () => {
    assert.equal(trialWith([100], history.slice(0, 4), new MedianPruner()).shouldPrune(), false);
    assert.equal(trialWith([100], history, new MedianPruner({ nStartupTrials: 6 })).shouldPrune(), false);
    assert.equal(trialWith([100], history, new MedianPruner({ nWarmupSteps: 1 })).shouldPrune(), false);
    assert.equal(trialWith([100, 100], history, new MedianPruner({ nWarmupSteps: 1 })).shouldPrune(), true);
    assert.equal(trialWith([100, 100], history, new MedianPruner({ intervalSteps: 2 })).shouldPrune(), false);
    const withPruned = [...history, done(5, [0], "pruned"), done(6, [0], "fail"), done(7, [0], "pruned")];
    assert.equal(trialWith([3.5], withPruned, new MedianPruner()).shouldPrune(), true);
    // a step no completed trial reached: nothing to compare with
    assert.equal(trialWith([0, 0, 0, 100], history, new MedianPruner()).shouldPrune(), false);
    // no report yet
    assert.equal(
      new Trial(9, new RandomSampler(0), new MedianPruner(), new Rng(0), history, "minimize").shouldPrune(),
      false,
    );
  });

  it("report() validates its input", () => {
    const t = trialWith([], history, new MedianPruner());
    assert.throws(() => t.report(Number.NaN, 0), /finite number, got NaN at step 0/);
    assert.throws(() => t.report(1, -1), /step must be an integer >= 0/);
    t.report(1, 0);
    assert.throws(() => t.report(1, 0), /step 0 was already reported/);
  });
});

describe("pruned cross-validated sweep (CvRunner)", () => {
  it("reports running means per fold, prunes bad trials early and keeps the good ones", async () => {
    const { X, y } = makeRegression(240, 2, 4);
    const runner = await CvRunner.create(X, y, { cv: 4 });
    const st = await createStudy({
      sampler: new RandomSampler(5),
      pruner: new MedianPruner({ nStartupTrials: 3 }),
    });
    await st.optimize(
      (t) =>
        runner.evaluate(
          t,
          TOY_KIND,
          { n_estimators: t.suggestInt("n_estimators", 1, 8), max_depth: t.suggestInt("max_depth", 1, 6) },
          "mae",
        ),
      { nTrials: 20 },
    );
    const pruned = st.trials.filter((t) => t.state === "pruned");
    const complete = st.trials.filter((t) => t.state === "complete");
    assert.ok(pruned.length >= 3, `pruned ${pruned.length}`);
    for (const t of pruned) assert.ok(t.intermediate.length < 4);
    for (const t of complete) {
      assert.equal(t.intermediate.length, 4);
      assert.ok(Math.abs((t.intermediate[3][1] as number) - (t.value as number)) < 1e-12);
    }
    // a pruned trial was worse than the median of completed trials at the step where it stopped
    const first = pruned[0];
    const [step, v] = first.intermediate[first.intermediate.length - 1];
    const before = complete.filter((c) => c.number < first.number).map((c) => c.intermediate[step][1]);
    assert.ok(v > median(before));
    await runner.close();
  });

  it("refuses a scorer whose direction contradicts the study", async () => {
    const { X, y } = makeRegression(40, 2, 4);
    const runner = await CvRunner.create(X, y, { cv: 2 });
    const st = await createStudy({ direction: "minimize", sampler: new RandomSampler(1) });
    await assert.rejects(
      st.optimize((t) => runner.evaluate(t, TOY_KIND, { n_estimators: 1 }, "r2"), { nTrials: 1 }),
      /greater-is-better but the study direction is minimize/,
    );
    assert.ok(new TrialPruned() instanceof Error);
  });
});
