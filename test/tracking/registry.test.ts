import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { ModelVersion } from "../../src/tracking/types.ts";
import { ModelRegistry, type RegisterModelVersionInput } from "../../src/tracking/registry.ts";
import { openTracking, type Tracking } from "../../src/tracking/tracker.ts";
import { PromotionRefused, TrackingError } from "../../src/tracking/types.ts";
import { tempHome } from "./helpers.ts";

function isCode(c: TrackingError["code"], re?: RegExp) {
  return (e: unknown) => e instanceof TrackingError && e.code === c && (!re || re.test(e.message));
}

describe("ModelRegistry", () => {
  const h = tempHome();
  let t: Tracking;
  let reg: ModelRegistry;
  let n = 0;
  let model = "";

  before(() => {
    t = openTracking({ home: h.dir });
    reg = t.registry;
  });
  after(async () => {
    await t.close();
    h.cleanup();
  });
  beforeEach(() => {
    model = `housing_${n++}`;
  });

  /** Register a version whose artifact really exists in the artifact store. */
  async function register(
    metrics: Record<string, number>,
    lineage: RegisterModelVersionInput["lineage"] = { testSetHash: "T1" },
  ): Promise<ModelVersion> {
    const run = await t.store.createRun({ experiment: "reg", name: "train" });
    const art = await t.artifacts.put(
      Buffer.from(`model ${model} ${JSON.stringify(metrics)} ${Math.random()}`),
    );
    return reg.registerModelVersion({
      name: model,
      runId: run.runId,
      artifactSha: art.sha256,
      metrics,
      lineage: { dataHash: "D", configHash: "C", gitCommit: "abc123", ...lineage },
      inputExample: { MedInc: 8.3252, HouseAge: 41 },
      tags: { algorithm: "gbdt" },
    });
  }

  it("auto-increments versions and keeps lineage, metrics, input example and tags", async () => {
    const v1 = await register({ r2: 0.81, mape: 18 });
    const v2 = await register({ r2: 0.83, mape: 17 });
    assert.deepEqual([v1.version, v2.version], [1, 2]);
    const got = await reg.getVersion(model, 2);
    assert.deepEqual(got.metrics, { r2: 0.83, mape: 17 });
    assert.equal(got.lineage.testSetHash, "T1");
    assert.equal(got.lineage.gitCommit, "abc123");
    assert.deepEqual(got.inputExample, { MedInc: 8.3252, HouseAge: 41 });
    assert.deepEqual(got.tags, { algorithm: "gbdt" });
    assert.deepEqual(
      (await reg.listVersions(model)).map((v) => v.version),
      [1, 2],
    );
    await assert.rejects(() => reg.getVersion(model, 3), isCode("NOT_FOUND", /no version 3/));
    await assert.rejects(() => reg.getVersion("nobody", 1), isCode("NOT_FOUND", /nobody/));
  });

  it("refuses to register a version whose artifact is not in the artifact store", async () => {
    await assert.rejects(
      () => reg.registerModelVersion({ name: model, artifactSha: "e".repeat(64) }),
      isCode("NOT_FOUND", /eeee/),
    );
  });

  it("moves aliases and writes who/when/from/to/why audit rows", async () => {
    await register({ r2: 0.81, mape: 18 });
    await register({ r2: 0.82, mape: 18 });
    const t0 = Date.now();
    await reg.setAlias(model, "staging", 1, { actor: "ann", reason: "first" });
    await reg.setAlias(model, "staging", 2, { actor: "bob", reason: "newer" });
    assert.equal((await reg.getVersionByAlias(model, "staging"))?.version, 2);
    assert.equal(await reg.getVersionByAlias(model, "production"), null);
    const log = await reg.history(model, "staging");
    assert.deepEqual(
      log.map((e) => [e.action, e.fromVersion, e.toVersion, e.actor, e.reason]),
      [
        ["set", null, 1, "ann", "first"],
        ["set", 1, 2, "bob", "newer"],
      ],
    );
    assert.ok(log.every((e) => e.at >= t0 && e.at <= Date.now()));
    assert.equal((await reg.resolve(`models:/${model}@staging`)).version, 2);
    assert.equal((await reg.resolve(`${model}/1`)).version, 1);
    assert.equal((await reg.resolve(`${model}/latest`)).version, 2);
    await assert.rejects(() => reg.resolve(`${model}@production`), isCode("NOT_FOUND"));
    await assert.rejects(() => reg.resolve("garbage"), isCode("INVALID"));
  });

  it("defaults the actor to $USER", async () => {
    await register({ r2: 0.9, mape: 10 });
    const saved = process.env.USER;
    process.env.USER = "tester-from-env";
    try {
      const a = await reg.setAlias(model, "staging", 1);
      assert.equal(a.actor, "tester-from-env");
    } finally {
      if (saved === undefined) delete process.env.USER;
      else process.env.USER = saved;
    }
  });

  describe("promotion gates", () => {
    it("passes all gates for a good first version and audits the gate results", async () => {
      await register({ r2: 0.85, mape: 16 });
      const res = await reg.promote(model, 1, { actor: "ci", reason: "first release" });
      assert.equal(res.promoted, true);
      assert.equal(res.previousVersion, null);
      assert.deepEqual(
        res.gates.map((g) => [g.name, g.passed, g.actual, g.threshold]),
        [
          ["min_r2", true, 0.85, 0.8],
          ["max_mape", true, 16, 20],
          ["not_worse_than_production", true, 0.85, null],
        ],
      );
      assert.equal((await reg.getVersionByAlias(model, "production"))?.version, 1);
      const [a] = await reg.history(model, "production");
      assert.equal(a.action, "promote");
      assert.equal(a.actor, "ci");
      assert.deepEqual(a.gateResults, res.gates);
    });

    it("refuses on R² below the minimum, audits the refusal and leaves the alias alone", async () => {
      await register({ r2: 0.75, mape: 15 });
      await assert.rejects(
        () => reg.promote(model, 1, { actor: "ci" }),
        (e: unknown) => {
          assert.ok(e instanceof PromotionRefused);
          assert.equal(e.code, "PROMOTION_REFUSED");
          const g = e.results.find((r) => r.name === "min_r2")!;
          assert.deepEqual([g.passed, g.actual, g.threshold], [false, 0.75, 0.8]);
          assert.ok(e.results.filter((r) => r.name !== "min_r2").every((r) => r.passed));
          return true;
        },
      );
      assert.equal(await t.store.getAlias(model, "production"), null);
      const log = await reg.history(model, "production");
      assert.deepEqual(
        log.map((e) => [e.action, e.toVersion]),
        [["promote_refused", 1]],
      );
    });

    it("refuses on MAPE above the maximum (custom thresholds honoured)", async () => {
      await register({ r2: 0.9, mape: 25 });
      await assert.rejects(
        () => reg.promote(model, 1),
        (e: unknown) =>
          e instanceof PromotionRefused &&
          e.results.find((r) => r.name === "max_mape")?.passed === false &&
          e.results.find((r) => r.name === "max_mape")?.actual === 25,
      );
      const ok = await reg.promote(model, 1, { gates: { maxMape: 30 } });
      assert.equal(ok.promoted, true);
    });

    it("fails min_r2 when the metric is missing", async () => {
      await register({ mape: 10 });
      await assert.rejects(
        () => reg.promote(model, 1),
        (e: unknown) =>
          e instanceof PromotionRefused &&
          e.results[0].name === "min_r2" &&
          e.results[0].actual === null &&
          /no 'r2' metric/.test(e.results[0].detail ?? ""),
      );
    });

    it("not-worse gate on the same test set: refuses a worse candidate, accepts within tolerance", async () => {
      await register({ r2: 0.85, mape: 15 });
      await register({ r2: 0.83, mape: 15 }); // worse by 0.02
      await register({ r2: 0.8495, mape: 15 }); // worse by 0.0005 < tolerance 0.001
      await reg.promote(model, 1);
      await assert.rejects(
        () => reg.promote(model, 2),
        (e: unknown) => {
          assert.ok(e instanceof PromotionRefused);
          const g = e.results.find((r) => r.name === "not_worse_than_production")!;
          assert.equal(g.passed, false);
          assert.equal(g.actual, 0.83);
          assert.ok(Math.abs((g.threshold ?? 0) - 0.849) < 1e-12);
          assert.match(g.detail ?? "", /stored metrics/);
          return true;
        },
      );
      const res = await reg.promote(model, 3);
      assert.equal(res.promoted, true);
      assert.equal(res.previousVersion, 1);
    });

    it("not-worse gate with a lower-is-better metric (rmse) and a custom tolerance", async () => {
      await register({ r2: 0.85, mape: 15, rmse: 50_000 });
      await register({ r2: 0.85, mape: 15, rmse: 51_000 });
      await reg.promote(model, 1);
      await assert.rejects(
        () => reg.promote(model, 2, { gates: { compareMetric: "rmse", tolerance: 0 } }),
        (e: unknown) =>
          e instanceof PromotionRefused &&
          e.results[2].actual === 51_000 &&
          e.results[2].threshold === 50_000 &&
          /lower is better/.test(e.results[2].detail ?? ""),
      );
      const res = await reg.promote(model, 2, { gates: { compareMetric: "rmse", tolerance: 2000 } });
      assert.equal(res.promoted, true);
    });

    it("different test sets: refuses without evaluate(), re-evaluates both versions with it", async () => {
      await register({ r2: 0.85, mape: 15 }, { testSetHash: "OLD" });
      await register({ r2: 0.9, mape: 14 }, { testSetHash: "NEW" });
      await reg.promote(model, 1);
      await assert.rejects(
        () => reg.promote(model, 2),
        (e: unknown) =>
          e instanceof PromotionRefused &&
          /not evaluated on the same test set/.test(
            e.results.find((r) => r.name === "not_worse_than_production")?.detail ?? "",
          ),
      );
      const seen: number[] = [];
      // On the common test set the candidate is actually worse: refused despite its better stored r2.
      const worse = async (v: ModelVersion) => {
        seen.push(v.version);
        return { r2: v.version === 2 ? 0.7 : 0.8 };
      };
      await assert.rejects(() => reg.promote(model, 2, { evaluate: worse }), PromotionRefused);
      assert.deepEqual(seen.sort(), [1, 2]);
      const better = async (v: ModelVersion) => ({ r2: v.version === 2 ? 0.82 : 0.8 });
      const res = await reg.promote(model, 2, { evaluate: better });
      assert.equal(res.promoted, true);
      assert.match(res.gates[2].detail ?? "", /re-evaluated/);
    });

    it("forced promotion needs a reason and is audited as force_promote with the failed gates", async () => {
      await register({ r2: 0.5, mape: 40 });
      await assert.rejects(() => reg.promote(model, 1, { force: true }), isCode("INVALID", /reason/));
      const res = await reg.promote(model, 1, {
        force: true,
        reason: "hotfix, approved by lead",
        actor: "oncall",
      });
      assert.equal(res.promoted, true);
      assert.equal(res.forced, true);
      const log = await reg.history(model, "production");
      const last = log[log.length - 1];
      assert.equal(last.action, "force_promote");
      assert.equal(last.actor, "oncall");
      assert.equal(last.reason, "hotfix, approved by lead");
      assert.deepEqual(
        last.gateResults?.map((g) => [g.name, g.passed]),
        [
          ["min_r2", false],
          ["max_mape", false],
          ["not_worse_than_production", true],
        ],
      );
    });

    it("promoting the version already at the alias is a no-op", async () => {
      await register({ r2: 0.9, mape: 10 });
      await reg.promote(model, 1);
      const res = await reg.promote(model, 1);
      assert.equal(res.promoted, false);
      assert.equal((await reg.history(model, "production")).length, 1);
    });

    it("refuses a concurrent promotion race with CONFLICT instead of overwriting", async () => {
      await register({ r2: 0.9, mape: 10 });
      await register({ r2: 0.91, mape: 10 });
      await register({ r2: 0.92, mape: 10 }, { testSetHash: "T2" });
      await reg.promote(model, 1);
      // Another writer moves production between gate evaluation and the alias write.
      const other = new ModelRegistry(t.store, t.artifacts);
      const evaluate = async (v: ModelVersion) => {
        if (v.version === 3) await other.setAlias(model, "production", 2, { actor: "other" });
        return { r2: v.metrics.r2 };
      };
      await assert.rejects(() => reg.promote(model, 3, { evaluate }), isCode("CONFLICT", /expected v1/));
      assert.equal(await t.store.getAlias(model, "production"), 2);
    });
  });

  describe("rollback", () => {
    it("moves the alias back one version per call, then errors when there is none", async () => {
      await register({ r2: 0.81, mape: 15 });
      await register({ r2: 0.82, mape: 15 });
      await register({ r2: 0.83, mape: 15 });
      await reg.promote(model, 1);
      await reg.promote(model, 2);
      await reg.promote(model, 3);
      const a = await reg.rollback(model, "production", { actor: "sre", reason: "latency regression" });
      assert.deepEqual(
        [a.action, a.fromVersion, a.toVersion, a.actor, a.reason],
        ["rollback", 3, 2, "sre", "latency regression"],
      );
      assert.equal((await reg.getVersionByAlias(model, "production"))?.version, 2);
      const b = await reg.rollback(model);
      assert.deepEqual([b.fromVersion, b.toVersion], [2, 1]);
      await assert.rejects(() => reg.rollback(model), isCode("NOT_FOUND", /no previous version/));
      assert.equal((await reg.getVersionByAlias(model, "production"))?.version, 1);
    });

    it("errors when the alias was never set, and refused promotions do not count as moves", async () => {
      await register({ r2: 0.85, mape: 15 });
      await register({ r2: 0.1, mape: 99 });
      await assert.rejects(() => reg.rollback(model), isCode("NOT_FOUND", /no alias 'production'/));
      await reg.promote(model, 1);
      await assert.rejects(() => reg.promote(model, 2), PromotionRefused);
      await assert.rejects(() => reg.rollback(model), isCode("NOT_FOUND", /no previous version/));
    });

    it("after a manual alias change, rollback returns to the version before it", async () => {
      await register({ r2: 0.85, mape: 15 });
      await register({ r2: 0.86, mape: 15 });
      await reg.setAlias(model, "production", 2, { actor: "a" });
      await reg.setAlias(model, "production", 1, { actor: "a" });
      const r = await reg.rollback(model);
      assert.equal(r.toVersion, 2);
    });
  });
});
