/**
 * PostgresStore against a real PostgreSQL server (test/helpers/postgres.ts: a private cluster from Debian's
 * `postgresql` package, or MLOPS_TEST_POSTGRES_URL). Runs the backend conformance suite, then what only a shared
 * server has: concurrent writer processes, concurrent registrations and alias moves, the registry and resumable
 * sweeps on it, and the failure modes (unreachable server, newer schema).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import pg from "pg";
import { PostgresStore } from "../../src/tracking/postgres-store.ts";
import { openTracking, openTrackingStore } from "../../src/tracking/tracker.ts";
import { searchTrialStorage } from "../../src/tracking/trials.ts";
import { TrackingError } from "../../src/tracking/types.ts";
import { runTsxOk } from "../helpers/child.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { resumedSweepVersusStraight, SHA_A, SHA_B, checkSharedSweep, tempHome } from "./helpers.ts";
import { runStoreSuite } from "./store-suite.ts";

const server = await startPostgres();

function isCode(c: TrackingError["code"], re?: RegExp) {
  return (e: unknown) => e instanceof TrackingError && e.code === c && (!re || re.test(e.message));
}

if ("skip" in server) {
  describe("PostgresStore", { skip: server.skip }, () => {
    it("needs a PostgreSQL server", () => {});
  });
} else {
  after(() => server.stop());

  runStoreSuite({
    name: "postgres",
    makeStore: async () => {
      const store = PostgresStore.open(await server.createDatabase("suite"));
      return { store, cleanup: () => store.close() };
    },
  });

  describe("PostgresStore specifics", () => {
    it("applies migrations once, also when several processes' stores open a new database at once", async () => {
      const url = await server.createDatabase("mig");
      const stores = Array.from({ length: 4 }, () => PostgresStore.open(url));
      try {
        const versions = await Promise.all(stores.map((s) => s.schemaVersions()));
        for (const v of versions) assert.deepEqual(v, [1]);
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        const n = (await c.query("SELECT COUNT(*)::int AS n FROM schema_migrations")).rows[0].n;
        await c.end();
        assert.equal(n, 1);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it("refuses a database whose schema is newer than this build", async () => {
      const url = await server.createDatabase("newer");
      const s = PostgresStore.open(url);
      await s.schemaVersions();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)");
      await c.end();
      await s.close();
      const s2 = PostgresStore.open(url);
      try {
        await assert.rejects(() => s2.listExperiments(), isCode("SCHEMA", /schema version 99/));
      } finally {
        await s2.close();
      }
    });

    it("reports an unreachable server as UNAVAILABLE without leaking the password", async () => {
      const s = PostgresStore.open("postgres://mlops:s3cret@127.0.0.1:1/none", { connectTimeoutMs: 2000 });
      try {
        await assert.rejects(
          () => s.createRun({ experiment: "e" }),
          (e: unknown) =>
            isCode("UNAVAILABLE", /127\.0\.0\.1:1/)(e) && !(e as Error).message.includes("s3cret"),
        );
        assert.ok(!s.location.includes("s3cret"), s.location);
      } finally {
        await s.close();
      }
      assert.throws(
        () => PostgresStore.open("postgres://127.0.0.1:5432"),
        isCode("INVALID", /names no database/),
      );
    });

    it("keeps NaN, ±Infinity and -0 metrics and trial values exactly", async () => {
      const s = PostgresStore.open(await server.createDatabase("floats"));
      try {
        const r = await s.createRun({ experiment: "e" });
        const values = [
          Number.NaN,
          Number.POSITIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          -0,
          0.1 + 0.2,
          5e-324,
        ];
        await s.logMetrics(
          r.runId,
          values.map((value, step) => ({ key: "v", value, step })),
        );
        const got = (await s.getMetricHistory(r.runId, "v")).map((m) => m.value);
        assert.equal(got.length, values.length);
        for (let i = 0; i < values.length; i++)
          assert.ok(Object.is(got[i], values[i]), `${got[i]} vs ${values[i]}`);
        await s.saveTrial("st", {
          number: 0,
          params: { a: 1 },
          state: "COMPLETE",
          value: 0.1 + 0.2,
          intermediateValues: {},
        });
        assert.ok(Object.is((await s.loadTrials("st"))[0].value, 0.1 + 0.2));
      } finally {
        await s.close();
      }
    });

    it("numbers concurrent registrations of one model 1..N without gaps and serialises alias compare-and-set", async () => {
      const url = await server.createDatabase("race");
      const a = PostgresStore.open(url, { maxConnections: 8 });
      const b = PostgresStore.open(url, { maxConnections: 8 });
      try {
        const made = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            (i % 2 ? a : b).createModelVersion({
              name: "m",
              artifactSha: i % 3 ? SHA_A : SHA_B,
              tags: { i: String(i) },
            }),
          ),
        );
        assert.deepEqual(
          made.map((v) => v.version).sort((x, y) => x - y),
          Array.from({ length: 30 }, (_, i) => i + 1),
        );
        // 12 registrations with one key from two pools (workers of one shared sweep): one version, 31
        const keyed = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            (i % 2 ? a : b).createModelVersion({ name: "m", artifactSha: SHA_A, registrationKey: "sweep-x" }),
          ),
        );
        assert.deepEqual(new Set(keyed.map((v) => v.version)), new Set([31]));
        assert.equal((await a.listModelVersions("m")).length, 31);
        // 10 movers race to move 'production' from nothing: exactly one wins, the others get CONFLICT
        const moves = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? a : b).setAlias({
              name: "m",
              alias: "production",
              version: i + 1,
              expectedCurrent: null,
              audit: { action: "promote", actor: `mover-${i}` },
            }),
          ),
        );
        const won = moves.filter((m) => m.status === "fulfilled");
        assert.equal(won.length, 1);
        for (const m of moves)
          if (m.status === "rejected") assert.ok(isCode("CONFLICT")(m.reason), String(m.reason));
        const audit = await a.listAudit("m", "production");
        assert.equal(audit.length, 1);
        assert.equal(await b.getAlias("m", "production"), audit[0].toVersion);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it("loses nothing with two writer processes (metrics + registrations) on one database", async () => {
      const url = await server.createDatabase("procs");
      await (await openTrackingStore(url)).close(); // migrate up front
      const barrier = tempHome("mlops-pg-barrier-");
      const worker = join(import.meta.dirname, "fixtures", "concurrent-writer.ts");
      const run = async (id: number): Promise<{ runId: string; versions: number[] }> =>
        JSON.parse((await runTsxOk([worker, url, String(id), "2", "200", "10", barrier.dir])).trim());
      try {
        const [w1, w2] = await Promise.all([run(1), run(2)]);
        const s = PostgresStore.open(url);
        try {
          for (const w of [w1, w2]) {
            const hist = await s.getMetricHistory(w.runId, "loss");
            assert.deepEqual(
              hist.map((m) => m.step),
              Array.from({ length: 200 }, (_, i) => i),
            );
            assert.equal((await s.getRun(w.runId)).status, "FINISHED");
          }
          const versions = (await s.listModelVersions("shared")).map((v) => v.version);
          assert.deepEqual(
            versions,
            Array.from({ length: 20 }, (_, i) => i + 1),
          );
          assert.deepEqual(
            [...w1.versions, ...w2.versions].sort((x, y) => x - y),
            versions,
          );
        } finally {
          await s.close();
        }
      } finally {
        barrier.cleanup();
      }
    });

    it("hosts the model registry (register, promote through gates, rollback) via openTracking's trackingUri", async () => {
      const h = tempHome();
      const t = openTracking({ home: h.dir, trackingUri: await server.createDatabase("reg") });
      try {
        assert.equal(t.store.kind, "postgres");
        const run = await t.store.createRun({ experiment: "reg", name: "train" });
        const register = async (r2: number) => {
          const art = await t.artifacts.put(Buffer.from(`model ${r2}`));
          return t.registry.registerModelVersion({
            name: "housing",
            runId: run.runId,
            artifactSha: art.sha256,
            metrics: { r2, mape: 15 },
            lineage: { dataHash: "D", configHash: "C", gitCommit: "abc", testSetHash: "T" },
          });
        };
        const v1 = await register(0.8);
        const v2 = await register(0.85);
        await t.registry.promote("housing", v1.version, { actor: "ci", gates: { minR2: 0.7 } });
        await t.registry.promote("housing", v2.version, { actor: "ci", gates: { minR2: 0.7 } });
        assert.equal(await t.store.getAlias("housing", "production"), 2);
        await assert.rejects(
          () => t.registry.promote("housing", v1.version, { actor: "ci", gates: { minR2: 0.9 } }),
          (e: unknown) => e instanceof TrackingError && e.code === "PROMOTION_REFUSED",
        );
        await t.registry.rollback("housing", "production", { actor: "ci", reason: "test" });
        assert.equal(await t.store.getAlias("housing", "production"), 1);
        const actions = (await t.store.listAudit("housing", "production")).map((a) => a.action);
        assert.deepEqual(actions, ["promote", "promote", "promote_refused", "rollback"]);
      } finally {
        await t.close();
        h.cleanup();
      }
    });

    it("two stores (two machines' connections) share one sweep and store exactly the trials of one worker", async () => {
      const url = await server.createDatabase("sharedsweep");
      await checkSharedSweep(PostgresStore.open(url), PostgresStore.open(url), "shared");
    });

    it("the mlops CLI reads a PostgreSQL store named by MLOPS_TRACKING_URI", async () => {
      const url = await server.createDatabase("cli");
      const h = tempHome();
      const t = openTracking({ home: h.dir, trackingUri: url });
      try {
        const run = await t.store.createRun({ experiment: "cli", name: "train" });
        await t.store.logMetric(run.runId, "r2", 0.84);
        const art = await t.artifacts.put(Buffer.from("model"));
        await t.registry.registerModelVersion({
          name: "housing",
          runId: run.runId,
          artifactSha: art.sha256,
          metrics: { r2: 0.84, mape: 15 },
          lineage: { dataHash: "D", configHash: "C", gitCommit: "abc", testSetHash: "T" },
        });
        const cliEntry = join(import.meta.dirname, "..", "..", "src", "cli", "index.ts");
        const mlops = (...args: string[]) =>
          runTsxOk([cliEntry, ...args], { ...process.env, MLOPS_TRACKING_URI: url, MLOPS_HOME: h.dir });
        const models = JSON.parse(await mlops("--json", "models", "list"));
        assert.deepEqual(
          models.map((m: { name: string; latestVersion: number }) => [m.name, m.latestVersion]),
          [["housing", 1]],
        );
        const runs = JSON.parse(await mlops("--json", "runs", "list"));
        assert.deepEqual(
          runs.map((r: { runId: string }) => r.runId),
          [run.runId],
        );
      } finally {
        await t.close();
        h.cleanup();
      }
    });

    it("resumes an interrupted sweep from the trials stored on the server", async () => {
      const s = PostgresStore.open(await server.createDatabase("sweep"));
      try {
        const r = await resumedSweepVersusStraight(s);
        assert.equal(r.loadedOnResume, 4);
        assert.deepEqual(r.resumed, r.straight);
        assert.deepEqual(await searchTrialStorage(s, "straight").loadTrials(), r.straightTrials);
      } finally {
        await s.close();
      }
    });
  });
}
