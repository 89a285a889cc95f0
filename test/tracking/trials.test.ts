import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { SQLITE_MIGRATIONS } from "../../src/tracking/sqlite-migrations.ts";
import { SqliteStore } from "../../src/tracking/store.ts";
import { searchTrialStorage, trialStorage } from "../../src/tracking/trials.ts";
import { TrackingError } from "../../src/tracking/types.ts";
import { resumedSweepVersusStraight, checkSharedSweep, tempHome } from "./helpers.ts";

describe("trial storage on SQLite", () => {
  const h = tempHome();
  after(h.cleanup);

  it("two connections share one sweep (claims) and store exactly the trials of one worker alone", async () => {
    const path = join(h.dir, "shared.db");
    await checkSharedSweep(SqliteStore.open({ path }), SqliteStore.open({ path }), "shared");
  });

  it("a sweep interrupted after 4 trials resumes to the same 10 trials as an uninterrupted one", async () => {
    const s = SqliteStore.open({ home: join(h.dir, "sweep") });
    try {
      const r = await resumedSweepVersusStraight(s);
      assert.equal(r.loadedOnResume, 4);
      assert.deepEqual(r.resumed, r.straight);
      const straight = { trials: r.straightTrials };

      // queryable columns are filled, and the search trial round-trips exactly
      const rows = await s.loadTrials("straight");
      assert.equal(rows.length, 10);
      assert.ok(rows.every((r) => r.state === "COMPLETE" && typeof r.value === "number" && "x" in r.params));
      assert.deepEqual(await searchTrialStorage(s, "straight").loadTrials(), straight.trials);
      // a study written through the plain adapter cannot be loaded as search trials
      await trialStorage(s, "plain").saveTrial({
        number: 0,
        params: {},
        state: "COMPLETE",
        value: 1,
        intermediateValues: {},
      });
      await assert.rejects(
        () => searchTrialStorage(s, "plain").loadTrials() as Promise<unknown>,
        TrackingError,
      );
    } finally {
      await s.close();
    }
  });

  it("upgrades a version-1 database to the latest schema and keeps its rows", async () => {
    const path = join(h.dir, "v1.db");
    const raw = new Database(path);
    raw.pragma("journal_mode = WAL");
    raw.exec(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    );
    raw.exec(SQLITE_MIGRATIONS[0].sql);
    raw.prepare("INSERT INTO schema_migrations VALUES (1, ?, 0)").run(SQLITE_MIGRATIONS[0].name);
    raw
      .prepare(
        "INSERT INTO trials (study_name, number, state, value, params, intermediate, updated_at) VALUES ('old', 0, 'COMPLETE', 0.5, '{\"a\":1}', '[[0,0.7]]', 0)",
      )
      .run();
    raw.close();
    const s = SqliteStore.open({ path });
    try {
      assert.deepEqual(
        s.schemaVersions(),
        SQLITE_MIGRATIONS.map((m) => m.version),
      );
      const [t] = await s.loadTrials("old");
      assert.deepEqual(t, {
        number: 0,
        params: { a: 1 },
        state: "COMPLETE",
        value: 0.5,
        intermediateValues: { 0: 0.7 },
      });
    } finally {
      await s.close();
    }
  });
});
