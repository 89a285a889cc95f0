import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SqliteStore } from "../../src/tracking/store.ts";
import { runTsxOk } from "../helpers/child.ts";
import { tempHome } from "./helpers.ts";

const WORKER = join(import.meta.dirname, "fixtures", "concurrent-writer.ts");
const METRICS = 500;
const VERSIONS = 20;

async function runWorker(home: string, id: number): Promise<{ runId: string; versions: number[] }> {
  const out = await runTsxOk([WORKER, home, String(id), "2", String(METRICS), String(VERSIONS)]);
  return JSON.parse(out.trim());
}

describe("SqliteStore under two concurrent writer processes", () => {
  const h = tempHome();
  after(h.cleanup);

  it("loses nothing: 2×500 metric writes + 2×20 version registrations, DB passes integrity_check", async () => {
    // Create the DB (and migrate) up front so both workers start on the same schema.
    await SqliteStore.open({ home: h.dir }).close();
    const t0 = Date.now();
    const [a, b] = await Promise.all([runWorker(h.dir, 1), runWorker(h.dir, 2)]);
    const elapsed = Date.now() - t0;

    const s = SqliteStore.open({ home: h.dir });
    try {
      assert.equal(s.db.pragma("integrity_check", { simple: true }), "ok");
      assert.equal((s.db.pragma("foreign_key_check") as unknown[]).length, 0);
      for (const w of [a, b]) {
        const hist = await s.getMetricHistory(w.runId, "loss");
        assert.equal(hist.length, METRICS);
        assert.deepEqual(
          hist.map((m) => m.step),
          Array.from({ length: METRICS }, (_, i) => i),
        );
        const run = await s.getRun(w.runId);
        assert.equal(run.status, "FINISHED");
        assert.equal(run.params.n_metrics, String(METRICS));
      }
      const versions = await s.listModelVersions("shared");
      assert.equal(versions.length, 2 * VERSIONS);
      assert.deepEqual(
        versions.map((v) => v.version),
        Array.from({ length: 2 * VERSIONS }, (_, i) => i + 1),
      );
      // every version number each worker got back is unique and belongs to it
      const all = [...a.versions, ...b.versions].sort((x, y) => x - y);
      assert.deepEqual(
        all,
        versions.map((v) => v.version),
      );
      for (const v of versions) {
        const mine = v.tags.worker === "1" ? a.versions : b.versions;
        assert.ok(mine.includes(v.version), `v${v.version} tagged worker ${v.tags.worker}`);
      }
      // The writers really overlapped in time (otherwise this would not test concurrency).
      const span = async (runId: string) => {
        const ts = (await s.getMetricHistory(runId, "loss")).map((m) => m.timestamp);
        return [Math.min(...ts), Math.max(...ts)];
      };
      const [a0, a1] = await span(a.runId);
      const [b0, b1] = await span(b.runId);
      assert.ok(a0 <= b1 && b0 <= a1, `writers did not overlap: [${a0}, ${a1}] vs [${b0}, ${b1}]`);
      console.log(
        `# concurrency: 2 processes x (${METRICS} metric txns + ${VERSIONS} registrations) in ${elapsed} ms`,
      );
    } finally {
      await s.close();
    }
  });
});
