import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  compareRuns,
  listRuns,
  metricHistory,
  parseMetricFilter,
  runTree,
} from "../../src/tracking/query.ts";
import { openTracking, startRun, withRun, type Tracking } from "../../src/tracking/tracker.ts";
import { trialStorage } from "../../src/tracking/trials.ts";
import { TrackingError } from "../../src/tracking/types.ts";
import { tempHome } from "./helpers.ts";

describe("query + tracker facade", () => {
  const h = tempHome();
  let t: Tracking;
  const ids: Record<string, string> = {};

  before(async () => {
    t = openTracking({ home: h.dir });
    const pipe = await startRun(t, { experiment: "housing", name: "pipeline" });
    ids.pipe = pipe.runId;
    const sel = await pipe.startChild("select");
    ids.sel = sel.runId;
    for (const [name, alpha, rmse, r2] of [
      ["ridge", 1, 0.72, 0.6],
      ["lasso", 0.1, 0.75, 0.58],
      ["gbdt", 0.05, 0.48, 0.83],
    ] as const) {
      const c = await sel.startChild(name, { family: name === "gbdt" ? "tree" : "linear" });
      ids[name] = c.runId;
      await c.logParams({ model: name, alpha });
      for (let step = 0; step < 3; step++) await c.logMetric("rmse", rmse + (2 - step) * 0.1, step);
      await c.logMetrics({ r2 });
      await c.end();
    }
    await sel.end();
    await pipe.logJson("reports/summary.json", { best: "gbdt" });
    await pipe.end();
    await startRun(t, { experiment: "other", name: "unrelated" });
  });
  after(async () => {
    await t.close();
    h.cleanup();
  });

  it("lists and filters runs by experiment, parent, tags, params and metrics", async () => {
    assert.equal((await listRuns(t.store, { experiment: "housing" })).length, 5);
    assert.deepEqual((await listRuns(t.store, { parentRunId: null })).map((r) => r.name).sort(), [
      "pipeline",
      "unrelated",
    ]);
    assert.deepEqual((await listRuns(t.store, { tags: { family: "linear" } })).map((r) => r.name).sort(), [
      "lasso",
      "ridge",
    ]);
    assert.deepEqual(
      (await listRuns(t.store, { params: { model: "gbdt" } })).map((r) => r.name),
      ["gbdt"],
    );
    assert.deepEqual(
      (await listRuns(t.store, { metrics: [parseMetricFilter("rmse < 0.74")] })).map((r) => r.name).sort(),
      ["gbdt", "ridge"],
    );
    assert.deepEqual(
      (await listRuns(t.store, { parentRunId: ids.sel, orderByMetric: { key: "r2", descending: true } })).map(
        (r) => r.name,
      ),
      ["gbdt", "ridge", "lasso"],
    );
    assert.equal((await listRuns(t.store, { parentRunId: ids.sel, limit: 2 })).length, 2);
    assert.throws(() => parseMetricFilter("rmse ~ 3"), TrackingError);
  });

  it("compares runs side by side and marks the best metric", async () => {
    const c = await compareRuns(t.store, [ids.ridge, ids.lasso, ids.gbdt]);
    assert.deepEqual(
      c.runs.map((r) => r.name),
      ["ridge", "lasso", "gbdt"],
    );
    const alpha = c.params.find((p) => p.key === "alpha")!;
    assert.deepEqual(alpha.values, ["1", "0.1", "0.05"]);
    assert.equal(alpha.differs, true);
    const rmse = c.metrics.find((m) => m.key === "rmse")!;
    assert.deepEqual(rmse.values, [0.72, 0.75, 0.48]);
    assert.equal(rmse.best, 2);
    assert.equal(c.metrics.find((m) => m.key === "r2")!.best, 2, "r2: higher is better");
    await assert.rejects(() => compareRuns(t.store, []), TrackingError);
  });

  it("returns metric history and run trees", async () => {
    const hist = await metricHistory(t.store, ids.ridge, "rmse");
    assert.deepEqual(
      hist.map((m) => [m.step, Math.round(m.value * 100) / 100]),
      [
        [0, 0.92],
        [1, 0.82],
        [2, 0.72],
      ],
    );
    const tree = await runTree(t.store, ids.pipe);
    assert.equal(tree.children.length, 1);
    assert.deepEqual(
      tree.children[0].children.map((c) => c.run.name),
      ["ridge", "lasso", "gbdt"],
    );
    const arts = await t.store.listArtifacts(ids.pipe);
    assert.equal(arts[0].path, "reports/summary.json");
    assert.deepEqual(JSON.parse((await t.artifacts.get(arts[0].sha256)).toString()), { best: "gbdt" });
  });

  it("withRun marks FAILED with an error tag and rethrows", async () => {
    let id = "";
    await assert.rejects(
      () =>
        withRun(t, { experiment: "housing", name: "boom" }, async (r) => {
          id = r.runId;
          throw new Error("step exploded");
        }),
      /step exploded/,
    );
    const run = await t.store.getRun(id);
    assert.equal(run.status, "FAILED");
    assert.equal(run.tags.error, "step exploded");
    const ok = await withRun(t, { experiment: "housing", name: "fine" }, async () => 42);
    assert.equal(ok, 42);
  });

  it("trial storage adapter round-trips and resumes per study", async () => {
    const s1 = trialStorage(t.store, "sweep-1");
    await s1.saveTrial({
      number: 0,
      params: { lr: 0.1 },
      state: "COMPLETE",
      value: 0.5,
      intermediateValues: { 0: 0.6 },
    });
    await s1.saveTrial({
      number: 1,
      params: { lr: 0.2 },
      state: "RUNNING",
      value: null,
      intermediateValues: {},
    });
    const again = trialStorage(t.store, "sweep-1");
    const loaded = await again.loadTrials();
    assert.deepEqual(
      loaded.map((x) => [x.number, x.state, x.value]),
      [
        [0, "COMPLETE", 0.5],
        [1, "RUNNING", null],
      ],
    );
    assert.deepEqual(await trialStorage(t.store, "sweep-2").loadTrials(), []);
  });

  it("openTracking({mustExist}) refuses a missing store", () => {
    assert.throws(
      () => openTracking({ home: `${h.dir}/nothing-here`, mustExist: true }),
      (e: unknown) => e instanceof TrackingError && e.code === "NOT_FOUND" && /nothing-here/.test(e.message),
    );
  });
});
