import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SqliteStore } from "../../src/tracking/store.ts";
import { hasTrackingStore, openTracking, openTrackingStore } from "../../src/tracking/tracker.ts";
import { TrackingError } from "../../src/tracking/types.ts";
import { tempHome } from "./helpers.ts";
import { runStoreSuite } from "./store-suite.ts";

runStoreSuite({
  name: "sqlite",
  makeStore: async () => {
    const h = tempHome();
    const store = SqliteStore.open({ home: h.dir });
    return {
      store,
      cleanup: async () => {
        await store.close();
        h.cleanup();
      },
    };
  },
});

describe("SqliteStore specifics", () => {
  const h = tempHome();
  after(h.cleanup);

  it("applies migrations once; reopening is idempotent and keeps data", async () => {
    const home = join(h.dir, "mig");
    const s1 = SqliteStore.open({ home });
    assert.deepEqual(s1.schemaVersions(), [1, 2, 3]);
    const r = await s1.createRun({ experiment: "e", name: "keep" });
    await s1.close();
    const s2 = SqliteStore.open({ home });
    assert.deepEqual(s2.schemaVersions(), [1, 2, 3]);
    const rows = s2.db.prepare("SELECT COUNT(*) AS n FROM schema_migrations").get() as { n: number };
    assert.equal(rows.n, 3);
    assert.equal((await s2.getRun(r.runId)).name, "keep");
    await s2.close();
  });

  it("runs in WAL mode with foreign keys and a busy timeout", async () => {
    const s = SqliteStore.open({ home: join(h.dir, "pragmas"), busyTimeoutMs: 1234 });
    assert.equal(s.db.pragma("journal_mode", { simple: true }), "wal");
    assert.equal(s.db.pragma("foreign_keys", { simple: true }), 1);
    assert.equal(s.db.pragma("busy_timeout", { simple: true }), 1234);
    assert.throws(
      () => s.db.prepare("INSERT INTO params (run_id, key, value) VALUES ('ghost', 'k', 'v')").run(),
      /FOREIGN KEY/,
    );
    await s.close();
  });

  it("refuses a database whose schema is newer than this build", async () => {
    const home = join(h.dir, "newer");
    const s = SqliteStore.open({ home });
    s.db
      .prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)")
      .run("future");
    await s.close();
    assert.throws(
      () => SqliteStore.open({ home }),
      (e: unknown) => e instanceof TrackingError && e.code === "SCHEMA" && /999/.test(e.message),
    );
  });

  it("an error thrown inside a write transaction rolls back only that transaction", async () => {
    const s = SqliteStore.open({ home: join(h.dir, "throw") });
    const r = await s.createRun({ experiment: "e" });
    await s.logParams(r.runId, { a: 1 });
    await s.logMetric(r.runId, "m", 1);
    // first param of the batch is new (inserted), the second conflicts -> whole batch rolled back
    await assert.rejects(
      () => s.logBatch(r.runId, { params: { fresh: "x", a: 2 }, tags: { t: "v" } }),
      /immutable/,
    );
    const run = await s.getRun(r.runId);
    assert.deepEqual(run.params, { a: "1" });
    assert.deepEqual(run.tags, {});
    assert.equal(run.metrics.m.value, 1);
    assert.equal(s.db.inTransaction, false);
    assert.equal(s.db.pragma("integrity_check", { simple: true }), "ok");
    await s.close();
  });

  it("a process killed mid-transaction leaves committed data intact and nothing uncommitted", async () => {
    const home = join(h.dir, "crash");
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "fixtures", "crash-writer.ts"), home],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    assert.equal(child.signal, "SIGKILL", `child should die by SIGKILL; stderr: ${child.stderr}`);
    const runId = child.stdout.trim();
    assert.match(runId, /^[0-9a-f]{32}$/);
    const s = SqliteStore.open({ home });
    assert.equal(s.db.pragma("integrity_check", { simple: true }), "ok");
    const run = await s.getRun(runId);
    assert.equal(run.status, "RUNNING", "uncommitted status update must be gone");
    assert.equal(run.metrics.rmse.value, 1.25);
    assert.equal(run.metrics.uncommitted, undefined);
    assert.equal((await s.listModelVersions("crashy")).length, 1);
    // and the store is writable again (the dead writer's lock is gone)
    await s.logMetric(runId, "after", 1);
    await s.close();
  });

  it("opens by URI: home dir or sqlite:<file>; postgres is rejected clearly", async () => {
    const a = await openTrackingStore(join(h.dir, "uri-home"));
    assert.equal(a.location, join(h.dir, "uri-home", "mlops.db"));
    await a.close();
    const b = await openTrackingStore(`sqlite:${join(h.dir, "x.db")}`);
    assert.equal(b.location, join(h.dir, "x.db"));
    await b.close();
    // postgres:// opens a PostgresStore lazily (no connection until first use)
    const c = await openTrackingStore("postgres://u:pw@host.invalid/db");
    assert.equal(c.kind, "postgres");
    assert.equal(c.location, "postgres://u@host.invalid/db");
    await c.close();
  });

  it("openTracking / hasTrackingStore honour trackingUri and MLOPS_TRACKING_URI", async () => {
    const home = join(h.dir, "uri-opts");
    assert.equal(hasTrackingStore(home), false);
    assert.throws(
      () => openTracking({ home, mustExist: true }),
      (e: unknown) => e instanceof TrackingError && e.code === "NOT_FOUND",
    );
    const file = join(h.dir, "elsewhere.db");
    const t = openTracking({ home, trackingUri: `sqlite:${file}` });
    assert.equal(t.store.location, file);
    await t.close();
    assert.equal(hasTrackingStore(home, { trackingUri: `sqlite:${file}` }), true);
    assert.equal(hasTrackingStore(home, { trackingUri: "postgres://u@h/db" }), true);
    assert.throws(
      () => openTracking({ home, trackingUri: "mysql://u:pw@h/db" }),
      (e: unknown) => e instanceof TrackingError && e.code === "INVALID" && /mysql/.test(e.message),
    );
    const prev = process.env.MLOPS_TRACKING_URI;
    process.env.MLOPS_TRACKING_URI = `sqlite:${file}`;
    try {
      const t2 = openTracking({ home, mustExist: true });
      assert.equal(t2.store.location, file);
      await t2.close();
    } finally {
      if (prev === undefined) delete process.env.MLOPS_TRACKING_URI;
      else process.env.MLOPS_TRACKING_URI = prev;
    }
  });
});
