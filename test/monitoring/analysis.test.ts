/**
 * Window analysis on the analysis thread: the same answer as on the calling thread, errors keep their type, and
 * the calling thread's event loop stays responsive while a large window is analysed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import { loadContract } from "../../src/data/contract.ts";
import { readCsv } from "../../src/data/csv.ts";
import type { Frame } from "../../src/data/frame.ts";
import { Rng } from "../../src/data/prng.ts";
import {
  AnalysisThread,
  analyseWindow,
  inThreadAnalyser,
  type WindowAnalysis,
  type WindowAnalysisRequest,
} from "../../src/monitoring/analysis.ts";
import { PredictionLog } from "../../src/monitoring/prediction-log.ts";
import { buildReferenceProfile, type ReferenceProfile } from "../../src/monitoring/reference.ts";

const tmp = mkdtempSync(join(tmpdir(), "analysis-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

let profile: ReferenceProfile;
let current: Frame;
const fakeModel = (f: Frame) => f.numeric("median_income").map((x) => 45_000 + 40_000 * x);

before(async () => {
  const contract = loadContract("config/datasets/california_housing.yaml");
  const all = (await readCsv("data/california_housing.csv")).frame;
  const perm = new Rng(7).permutation(all.nRows);
  const nTrain = Math.round(all.nRows * 0.8);
  profile = buildReferenceProfile(all.take(perm.subarray(0, nTrain)), contract, {
    predictions: fakeModel(all.take(perm.subarray(0, nTrain))),
    seed: 1,
  });
  current = all.take(perm.subarray(nTrain)).drop(["median_house_value"]);
});

/** Log `copies` × the current split (ts = 1,000 + row), one chunk per copy. */
function fill(log: PredictionLog, copies: number): void {
  const n = current.nRows;
  const preds = fakeModel(current);
  for (let c = 0; c < copies; c++) {
    const ts = new Float64Array(n);
    for (let i = 0; i < n; i++) ts[i] = 1_000 + c * n + i;
    log.appendChunk({
      ids: Array.from({ length: n }, (_, i) => `c${c}-${i}`),
      ts,
      modelVersion: "3",
      inputs: current,
      predictions: preds,
      latencyMs: 1,
    });
  }
}

/** An analysis without its computation time stamp. */
const norm = (a: WindowAnalysis) => ({ ...a, drift: a.drift && { ...a.drift, computedAt: "" } });

const request = (untilMs: number): WindowAnalysisRequest => ({
  sinceMs: 0,
  untilMs,
  modelVersion: "3",
  minRows: 100,
  accuracy: { sinceMs: 0, untilMs, by: "ocean_proximity" },
  checks: true,
  counts: true,
});

describe("window analysis", () => {
  it("the analysis thread gives the same analysis as the calling thread; errors keep their type", async () => {
    const log = new PredictionLog({ path: join(tmp, "a.db"), capacity: 1_000_000 });
    fill(log, 2);
    const thread = new AnalysisThread(log);
    try {
      const req = request(10_000_000);
      const onThread = await thread.analyse(profile, req);
      const here = await inThreadAnalyser(log)(profile, req);
      assert.equal(onThread.window.n, 2 * current.nRows);
      assert.ok(onThread.drift, "drift computed");
      assert.ok(onThread.checks && onThread.accuracy);
      const c = log.counts();
      assert.deepEqual(onThread.counts, {
        total: c.total,
        withFeedback: c.withFeedback,
        byModelVersion: c.byModelVersion,
      });
      assert.equal(c.total, 2 * current.nRows);
      assert.deepEqual(norm(onThread), norm(here));
      assert.deepEqual(norm(here), norm(analyseWindow(log, profile, req)));
      // the reference is sent once; a second analysis with the same profile object reuses it
      assert.deepEqual(norm(await thread.analyse(profile, req)), norm(here));
      await assert.rejects(thread.analyse(profile, { ...req, sinceMs: Number.NaN }), (e: Error) => {
        assert.equal(e.name, "ValidationError");
        assert.equal((e as unknown as { field: string }).field, "sinceMs");
        return true;
      });
    } finally {
      await thread.close();
      await log.close();
    }
  });

  it("an idle analysis thread exits; the next analysis starts a new one and gives the same answer", async () => {
    const log = new PredictionLog({ path: join(tmp, "idle.db"), capacity: 1_000_000 });
    fill(log, 1);
    const thread = new AnalysisThread(log, log.path, 100);
    try {
      const req = request(10_000_000);
      const first = await thread.analyse(profile, req);
      // back-to-back analyses reuse the running thread
      assert.deepEqual(norm(await thread.analyse(profile, req)), norm(first));
      assert.deepEqual(thread.state, { running: true, started: 1 });
      const deadline = Date.now() + 5_000;
      while (thread.state.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(thread.state, { running: false, started: 1 });
      // a new thread, which is sent the reference profile again
      assert.deepEqual(norm(await thread.analyse(profile, req)), norm(first));
      assert.deepEqual(thread.state, { running: true, started: 2 });
    } finally {
      await thread.close();
      await log.close();
    }
    assert.equal(thread.state.running, false);
    await assert.rejects(thread.analyse(profile, request(10_000_000)), /closed/);
  });

  it("the serving thread's event loop keeps turning while a large window is analysed on the thread", async () => {
    const log = new PredictionLog({ path: join(tmp, "b.db"), capacity: 1_000_000, batchSize: 20_000 });
    fill(log, 60); // ~250 k predictions
    await log.flush();
    const thread = new AnalysisThread(log);
    try {
      const req = request(1e12);
      await thread.analyse(profile, { ...req, untilMs: 1_001 }); // start the thread (tsx boot) outside the measure
      const t0 = performance.now();
      analyseWindow(log, profile, req);
      const inline = performance.now() - t0;
      const h = monitorEventLoopDelay({ resolution: 5 });
      h.enable();
      await new Promise((res) => setTimeout(res, 20)); // the histogram's timer records from its first turn on
      const t1 = performance.now();
      const r = await thread.analyse(profile, req);
      const onThread = performance.now() - t1;
      await new Promise((res) => setTimeout(res, 30)); // let the delay timer record a block that just ended
      h.disable();
      assert.equal(r.window.n, 60 * current.nRows);
      const maxDelay = h.max / 1e6;
      // inline, the loop would be blocked for the whole analysis; on the thread it only waits for its turn
      assert.ok(
        inline > 150,
        `the window is large enough to matter: inline analysis took ${inline.toFixed(0)} ms`,
      );
      assert.ok(
        maxDelay < Math.max(60, inline / 3),
        `max event-loop delay ${maxDelay.toFixed(1)} ms during a ${onThread.toFixed(0)} ms analysis (inline ${inline.toFixed(0)} ms)`,
      );
    } finally {
      await thread.close();
      await log.close();
    }
  });
});
