/**
 * Backend conformance suite for TrackingStore. Every backend (sqlite today, postgres later) runs it:
 * `runStoreSuite({ name, makeStore })`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TrackingStore } from "../../src/tracking/store.ts";
import { REGISTRATION_KEY_TAG, TrackingError, type TrialRecord } from "../../src/tracking/types.ts";
import { SHA_A, SHA_B } from "./helpers.ts";

export interface StoreFactory {
  name: string;
  makeStore: () => Promise<{ store: TrackingStore; cleanup: () => Promise<void> }>;
}

function code(c: TrackingError["code"]) {
  return (e: unknown) => e instanceof TrackingError && e.code === c;
}

async function withStore(f: StoreFactory, fn: (s: TrackingStore) => Promise<void>): Promise<void> {
  const { store, cleanup } = await f.makeStore();
  try {
    await fn(store);
  } finally {
    await cleanup();
  }
}

export function runStoreSuite(f: StoreFactory): void {
  describe(`TrackingStore conformance: ${f.name}`, () => {
    it("creates experiments idempotently", () =>
      withStore(f, async (s) => {
        const a = await s.getOrCreateExperiment("housing");
        const b = await s.getOrCreateExperiment("housing");
        assert.equal(a.experimentId, b.experimentId);
        assert.equal((await s.listExperiments()).length, 1);
        assert.equal(await s.getExperiment("nope"), null);
        await assert.rejects(() => s.getOrCreateExperiment(""), code("INVALID"));
      }));

    it("nests runs: pipeline → step → trial, and searches by parent", () =>
      withStore(f, async (s) => {
        const pipe = await s.createRun({
          experiment: "housing",
          name: "pipeline",
          tags: { kind: "pipeline" },
        });
        const step = await s.createRun({ experiment: "housing", name: "sweep", parentRunId: pipe.runId });
        const t1 = await s.createRun({ experiment: "housing", name: "trial-0", parentRunId: step.runId });
        const t2 = await s.createRun({ experiment: "housing", name: "trial-1", parentRunId: step.runId });
        assert.equal(pipe.status, "RUNNING");
        assert.equal(pipe.parentRunId, null);
        assert.equal(t1.parentRunId, step.runId);
        const top = await s.searchRuns({ parentRunId: null });
        assert.deepEqual(
          top.map((r) => r.runId),
          [pipe.runId],
        );
        const kids = await s.searchRuns({ parentRunId: step.runId, order: "start_time_asc" });
        assert.deepEqual(kids.map((r) => r.runId).sort(), [t1.runId, t2.runId].sort());
        assert.equal((await s.searchRuns({ tags: { kind: "pipeline" } })).length, 1);
        assert.equal((await s.searchRuns({ experiment: "housing" })).length, 4);
        assert.equal((await s.searchRuns({ experiment: "other" })).length, 0);
        await assert.rejects(
          () => s.createRun({ experiment: "housing", parentRunId: "doesnotexist" }),
          (e: unknown) => code("NOT_FOUND")(e) && /doesnotexist/.test((e as Error).message),
        );
        const ended = await s.endRun(t1.runId, "FAILED", pipe.startTime + 5);
        assert.equal(ended.status, "FAILED");
        assert.equal(ended.endTime, pipe.startTime + 5);
        assert.equal((await s.searchRuns({ status: "FAILED" })).length, 1);
        await assert.rejects(() => s.endRun(t1.runId, "RUNNING" as "FINISHED"), code("INVALID"));
        await assert.rejects(() => s.getRun("missing"), code("NOT_FOUND"));
      }));

    it("keeps params immutable: same value is fine, a different value is an error and the batch is rolled back", () =>
      withStore(f, async (s) => {
        const r = await s.createRun({ experiment: "e" });
        await s.logParams(r.runId, { alpha: 0.5, model: "ridge", fit_intercept: true });
        await s.logParam(r.runId, "alpha", "0.5");
        await assert.rejects(
          () => s.logBatch(r.runId, { metrics: [{ key: "rmse", value: 1 }], params: { alpha: 0.7 } }),
          (e: unknown) =>
            code("INVALID")(e) && /alpha/.test((e as Error).message) && /0\.7/.test((e as Error).message),
        );
        const run = await s.getRun(r.runId);
        assert.deepEqual(run.params, { alpha: "0.5", fit_intercept: "true", model: "ridge" });
        assert.deepEqual(run.metrics, {}, "metric from the failed batch must not be stored");
        await assert.rejects(() => s.logParam(r.runId, "bad key!", 1), code("INVALID"));
        await assert.rejects(() => s.logParam(r.runId, "x", { a: 1 } as unknown as string), code("INVALID"));
      }));

    it("keeps full metric history with steps and reports the latest step per key", () =>
      withStore(f, async (s) => {
        const r = await s.createRun({ experiment: "e" });
        for (let step = 0; step < 5; step++)
          await s.logMetric(r.runId, "loss", 1 / (step + 1), step, 1000 + step);
        await s.logMetrics(r.runId, [
          { key: "rmse", value: 2.5 },
          { key: "nan_metric", value: Number.NaN, step: 3 },
          { key: "inf_metric", value: Number.POSITIVE_INFINITY },
        ]);
        const h = await s.getMetricHistory(r.runId, "loss");
        assert.deepEqual(
          h.map((m) => [m.step, m.value, m.timestamp]),
          [0, 1, 2, 3, 4].map((k) => [k, 1 / (k + 1), 1000 + k]),
        );
        const run = await s.getRun(r.runId);
        assert.equal(run.metrics.loss.step, 4);
        assert.equal(run.metrics.loss.value, 0.2);
        assert.ok(Number.isNaN(run.metrics.nan_metric.value));
        assert.equal(run.metrics.inf_metric.value, Number.POSITIVE_INFINITY);
        assert.equal(run.metrics.rmse.step, 0);
        assert.deepEqual(await s.getMetricHistory(r.runId, "absent"), []);
        await assert.rejects(() => s.logMetric(r.runId, "loss", 1, -1), code("INVALID"));
        await assert.rejects(() => s.logMetric(r.runId, "loss", 1, 1.5), code("INVALID"));
        await assert.rejects(() => s.logMetric(r.runId, "loss", "1" as unknown as number), code("INVALID"));
        await assert.rejects(() => s.logMetric("nope", "loss", 1), code("NOT_FOUND"));
      }));

    it("upserts tags and records artifacts", () =>
      withStore(f, async (s) => {
        const r = await s.createRun({ experiment: "e", tags: { a: "1" } });
        await s.setTag(r.runId, "a", "2");
        await s.setTags(r.runId, { b: "x" });
        assert.deepEqual((await s.getRun(r.runId)).tags, { a: "2", b: "x" });
        await s.recordArtifact(r.runId, {
          path: "model/model.json",
          sha256: SHA_A,
          size: 10,
          mediaType: "application/json",
        });
        await s.recordArtifact(r.runId, { path: "data/train.parquet", sha256: SHA_B, size: 20 });
        const arts = await s.listArtifacts(r.runId);
        assert.deepEqual(
          arts.map((a) => [a.path, a.sha256, a.size, a.mediaType]),
          [
            ["data/train.parquet", SHA_B, 20, "application/octet-stream"],
            ["model/model.json", SHA_A, 10, "application/json"],
          ],
        );
        await assert.rejects(
          () => s.recordArtifact(r.runId, { path: "x", sha256: "abc", size: 1 }),
          code("INVALID"),
        );
      }));

    it("auto-increments model versions per model and links them to runs", () =>
      withStore(f, async (s) => {
        const r = await s.createRun({ experiment: "e" });
        const v1 = await s.createModelVersion({
          name: "housing",
          runId: r.runId,
          artifactSha: SHA_A,
          metrics: { r2: 0.8 },
        });
        const v2 = await s.createModelVersion({ name: "housing", artifactSha: SHA_B });
        const o1 = await s.createModelVersion({ name: "other", artifactSha: SHA_B });
        assert.deepEqual([v1.version, v2.version, o1.version], [1, 2, 1]);
        assert.equal(v1.runId, r.runId);
        assert.equal(v1.status, "READY");
        assert.deepEqual(v1.metrics, { r2: 0.8 });
        assert.deepEqual(
          (await s.listModelVersions("housing")).map((v) => v.version),
          [1, 2],
        );
        assert.equal((await s.getRegisteredModel("housing"))?.latestVersion, 2);
        assert.equal(await s.getModelVersion("housing", 3), null);
        await assert.rejects(
          () => s.createModelVersion({ name: "housing", runId: "ghost", artifactSha: SHA_A }),
          code("NOT_FOUND"),
        );
        await assert.rejects(
          () => s.createModelVersion({ name: "housing", artifactSha: SHA_A, metrics: { r2: Number.NaN } }),
          code("INVALID"),
        );
        await assert.rejects(
          () => s.createModelVersion({ name: "bad name", artifactSha: SHA_A }),
          code("INVALID"),
        );
        assert.deepEqual(
          (await s.listRegisteredModels()).map((m) => m.name),
          ["housing", "other"],
        );
      }));

    it("registration keys make a registration idempotent (also when concurrent)", () =>
      withStore(f, async (s) => {
        const r = await s.createRun({ experiment: "e" });
        const key = "sweep-0123456789abcdef/model-sha";
        const v1 = await s.createModelVersion({
          name: "k",
          runId: r.runId,
          artifactSha: SHA_A,
          registrationKey: key,
        });
        assert.equal(v1.tags[REGISTRATION_KEY_TAG], key);
        // the same key again (another worker's run, another artifact): the first version, nothing added
        const again = await s.createModelVersion({ name: "k", artifactSha: SHA_B, registrationKey: key });
        assert.equal(again.version, 1);
        assert.equal(again.artifactSha, SHA_A);
        assert.equal(again.runId, r.runId);
        const other = await s.createModelVersion({ name: "k", artifactSha: SHA_B, registrationKey: "other" });
        const plain = await s.createModelVersion({ name: "k", artifactSha: SHA_B });
        assert.deepEqual([other.version, plain.version], [2, 3]);
        // keys are per model
        assert.equal(
          (await s.createModelVersion({ name: "k2", artifactSha: SHA_A, registrationKey: key })).version,
          1,
        );
        // racing registrations with one new key: one version
        const raced = await Promise.all(
          Array.from({ length: 8 }, () =>
            s.createModelVersion({ name: "k", artifactSha: SHA_A, registrationKey: "raced" }),
          ),
        );
        assert.deepEqual(new Set(raced.map((v) => v.version)), new Set([4]));
        assert.deepEqual(
          (await s.listModelVersions("k")).map((v) => v.version),
          [1, 2, 3, 4],
        );
        await assert.rejects(
          () => s.createModelVersion({ name: "k", artifactSha: SHA_A, registrationKey: "" }),
          code("INVALID"),
        );
        await assert.rejects(
          () =>
            s.createModelVersion({
              name: "k",
              artifactSha: SHA_A,
              registrationKey: "a",
              tags: { [REGISTRATION_KEY_TAG]: "b" },
            }),
          code("INVALID"),
        );
      }));

    it("moves aliases with compare-and-set and audits every move in order", () =>
      withStore(f, async (s) => {
        await s.createModelVersion({ name: "m", artifactSha: SHA_A });
        await s.createModelVersion({ name: "m", artifactSha: SHA_B });
        const a1 = await s.setAlias({
          name: "m",
          alias: "production",
          version: 1,
          audit: { action: "set", actor: "ann" },
        });
        assert.equal(a1.fromVersion, null);
        assert.equal(a1.toVersion, 1);
        await assert.rejects(
          () =>
            s.setAlias({
              name: "m",
              alias: "production",
              version: 2,
              expectedCurrent: null,
              audit: { action: "promote", actor: "bob" },
            }),
          code("CONFLICT"),
        );
        await s.setAlias({
          name: "m",
          alias: "production",
          version: 2,
          expectedCurrent: 1,
          audit: { action: "promote", actor: "bob", reason: "better" },
        });
        assert.equal(await s.getAlias("m", "production"), 2);
        assert.deepEqual((await s.getModelVersion("m", 2))?.aliases, ["production"]);
        await assert.rejects(
          () =>
            s.setAlias({ name: "m", alias: "production", version: 9, audit: { action: "set", actor: "x" } }),
          code("NOT_FOUND"),
        );
        await assert.rejects(
          () => s.setAlias({ name: "m", alias: "latest", version: 1, audit: { action: "set", actor: "x" } }),
          code("INVALID"),
        );
        await s.setAlias({
          name: "m",
          alias: "production",
          version: null,
          audit: { action: "delete", actor: "cy" },
        });
        assert.equal(await s.getAlias("m", "production"), null);
        const log = await s.listAudit("m", "production");
        assert.deepEqual(
          log.map((e) => [e.action, e.fromVersion, e.toVersion, e.actor, e.reason]),
          [
            ["set", null, 1, "ann", null],
            ["promote", 1, 2, "bob", "better"],
            ["delete", 2, null, "cy", null],
          ],
        );
        assert.ok(log.every((e) => typeof e.at === "number" && e.at > 0));
      }));

    it("stores sweep trials (upsert by number) and loads them in order", () =>
      withStore(f, async (s) => {
        const t0: TrialRecord = {
          number: 0,
          params: { lr: 0.1, depth: 3 },
          state: "RUNNING",
          value: null,
          intermediateValues: {},
        };
        await s.saveTrial("study-a", t0);
        await s.saveTrial("study-a", {
          number: 1,
          params: { lr: 0.01, depth: 5 },
          state: "PRUNED",
          value: null,
          intermediateValues: { 0: 0.9, 1: Number.NaN },
        });
        await s.saveTrial("study-a", {
          ...t0,
          state: "COMPLETE",
          value: 0.42,
          intermediateValues: { 0: 0.5, 1: 0.42 },
          userAttrs: { runId: "abc" },
        });
        await s.saveTrial("study-b", { ...t0, number: 7 });
        const a = await s.loadTrials("study-a");
        assert.equal(a.length, 2);
        assert.deepEqual(a[0], {
          number: 0,
          params: { lr: 0.1, depth: 3 },
          state: "COMPLETE",
          value: 0.42,
          intermediateValues: { 0: 0.5, 1: 0.42 },
          userAttrs: { runId: "abc" },
        });
        assert.equal(a[1].state, "PRUNED");
        assert.equal(a[1].intermediateValues[0], 0.9);
        assert.ok(Number.isNaN(a[1].intermediateValues[1]));
        assert.deepEqual(
          (await s.loadTrials("study-b")).map((t) => t.number),
          [7],
        );
        assert.deepEqual(await s.loadTrials("none"), []);
        await assert.rejects(() => s.saveTrial("s", { ...t0, state: "DONE" as "COMPLETE" }), code("INVALID"));
        await assert.rejects(() => s.saveTrial("s", { ...t0, number: -1 }), code("INVALID"));
      }));

    it("claims trials of a shared study: one live owner, renewals, takeover after the lease, none once finished", () =>
      withStore(f, async (s) => {
        assert.equal(await s.claimTrial("shared", 0, "a", 60_000), true);
        assert.equal(await s.claimTrial("shared", 0, "a", 60_000), true, "the owner renews its claim");
        assert.equal(await s.claimTrial("shared", 0, "b", 60_000), false, "another owner's live claim");
        const rows = await s.loadTrials("shared");
        assert.deepEqual(
          rows.map((r) => [r.number, r.state]),
          [[0, "RUNNING"]],
        );
        await s.saveTrial("shared", {
          number: 0,
          params: { x: 1 },
          state: "COMPLETE",
          value: 2,
          intermediateValues: {},
        });
        assert.equal(
          await s.claimTrial("shared", 0, "a", 60_000),
          false,
          "a finished trial cannot be claimed",
        );
        assert.equal((await s.loadTrials("shared"))[0].state, "COMPLETE");
        // a dead worker's claim: taken over once its lease has expired
        assert.equal(await s.claimTrial("shared", 1, "dead", 1), true);
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(await s.claimTrial("shared", 1, "b", 60_000), true);
        assert.equal(await s.claimTrial("shared", 1, "dead", 60_000), false);
        // concurrent claimers of one trial: exactly one wins
        const wins = await Promise.all(["p", "q", "r", "t"].map((o) => s.claimTrial("shared", 2, o, 60_000)));
        assert.equal(wins.filter(Boolean).length, 1);
        await assert.rejects(() => s.claimTrial("shared", -1, "a", 1000), code("INVALID"));
        await assert.rejects(() => s.claimTrial("shared", 3, "", 1000), code("INVALID"));
        await assert.rejects(() => s.claimTrial("shared", 3, "a", 0), code("INVALID"));
      }));
  });
}
