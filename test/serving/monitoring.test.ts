/**
 * Monitoring wired into serving, end to end on a pipeline-trained model: step 07 stores the drift reference
 * with the version; served predictions are logged (with latency) off the request path; feedback is
 * idempotent (created / unchanged / updated, 404, 422); drift, summary, gauges and /health/deep reflect the
 * logged traffic; `mlops monitor` retrains on drift with the labelled feedback and gates the challenger.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runMonitorLoop, servedReference } from "../../src/cli/commands/monitor.ts";
import { contractTypes, loadContract } from "../../src/data/contract.ts";
import type { Frame } from "../../src/data/frame.ts";
import { readTable } from "../../src/data/io.ts";
import { PredictionLog } from "../../src/monitoring/prediction-log.ts";
import { monitoringSettings } from "../../src/monitoring/settings.ts";
import { type TrainResult, train } from "../../src/pipeline/pipeline.ts";
import type { RegisterOutput } from "../../src/pipeline/steps/register.ts";
import type { SplitOutput } from "../../src/pipeline/steps/split.ts";
import type { RunningServer } from "../../src/serving/app.ts";
import { registryReferenceProfile } from "../../src/serving/registry-source.ts";
import { openTracking } from "../../src/tracking/index.ts";
import { fastConfig, writeSample } from "../helpers/pipeline.ts";
import { startRegistryServer } from "../helpers/registry-server.ts";

const CONTRACT = loadContract(
  join(import.meta.dirname, "..", "..", "config", "datasets", "california_housing.yaml"),
);
const INPUTS = CONTRACT.columns.map((c) => c.name).filter((n) => n !== CONTRACT.target);
const MODEL = "housing_price_model";
const GATES = ["promote.min_r2=0.0", "promote.max_mape=100"];

function rows(frame: Frame, scale: Record<string, number> = {}): Record<string, unknown>[] {
  return Array.from({ length: frame.nRows }, (_, i) => {
    const r = frame.row(i);
    for (const [k, f] of Object.entries(scale)) if (typeof r[k] === "number") r[k] = (r[k] as number) * f;
    return r;
  });
}

describe("monitoring in serving (pipeline-trained model)", { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "serve-mon-"));
  const home = join(dir, "home");
  const csv = join(dir, "sample.csv");
  let trained: TrainResult;
  let server: RunningServer;
  let log: PredictionLog;
  let test: Frame;
  let train_: Frame;
  let yTest: Float64Array;
  const loaded = () => fastConfig(csv, home, [...GATES, "monitoring.min_rows=50"]);

  before(async () => {
    writeSample(csv, 1200, 23);
    trained = await train({ loaded: loaded(), nJobs: 1 });
    assert.ok(trained.promotion?.promoted, `promotion failed: ${trained.promotionError}`);
    const split = trained.outputs["02_split"] as SplitOutput;
    const table = (await readTable(csv, { types: contractTypes(CONTRACT) })).frame;
    test = table.take(split.test).select(INPUTS);
    train_ = table.take(split.train).select(INPUTS);
    yTest = Float64Array.from(table.take(split.test).numeric(CONTRACT.target));
    const s = monitoringSettings(loaded().config, home);
    log = new PredictionLog({ ...s.log, flushIntervalMs: 50 });
    server = await startRegistryServer(home, {
      monitoring: {
        log,
        reference: ({ name, version }) => registryReferenceProfile(home, name, version),
        minRows: 50,
        cacheMs: 0, // the test changes the log between calls
        drift: s.drift,
        rules: s.rules,
      },
    });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const predict = async (instances: Record<string, unknown>[]) => {
    const r = await post("/api/v1/predict", { instances });
    assert.equal(r.status, 200);
    return (await r.json()) as {
      model_version: string;
      predictions: { prediction_id: string; predicted_price: number }[];
    };
  };

  it("stores a reference profile of the training split with each registered version", async () => {
    const reg = trained.registered as RegisterOutput;
    const t = openTracking({ home, mustExist: true });
    const v = await t.registry.getVersion(MODEL, reg.version);
    await t.close();
    assert.match(String(v.lineage.referenceProfileSha), /^[0-9a-f]{64}$/);
    const p = await registryReferenceProfile(home, MODEL, String(reg.version));
    assert.ok(p);
    assert.equal(p.nRows, reg.trainRows);
    assert.deepEqual(
      p.features.map((f) => f.name),
      INPUTS,
    );
    assert.ok(p.prediction && p.prediction.n === reg.trainRows, "out-of-fold predictions profiled");
    assert.equal(p.target?.name, CONTRACT.target);
    assert.equal(await registryReferenceProfile(home, MODEL, "999"), null);
    assert.equal(await registryReferenceProfile(home, MODEL, "file"), null);
  });

  it("logs served predictions with latency, and takes idempotent feedback", async () => {
    const body = await predict(rows(test));
    const ids = body.predictions.map((p) => p.prediction_id);
    assert.equal(new Set(ids).size, test.nRows);
    const r1 = await post("/api/v1/feedback", { prediction_id: ids[0], actual: yTest[0] });
    assert.equal(r1.status, 200);
    assert.equal(((await r1.json()) as { status: string }).status, "created");
    const r2 = await post("/api/v1/feedback", { prediction_id: ids[0], actual: yTest[0] });
    assert.equal(((await r2.json()) as { status: string }).status, "unchanged");
    const r3 = await post("/api/v1/feedback", { prediction_id: ids[0], actual: yTest[0] + 1000 });
    const b3 = (await r3.json()) as { status: string; previous: number };
    assert.deepEqual([r3.status, b3.status, b3.previous], [200, "updated", yTest[0]]);
    const r4 = await post("/api/v1/feedback", { prediction_id: "no-such-id", actual: 1 });
    assert.equal(r4.status, 404);
    assert.match(((await r4.json()) as { detail: string }).detail, /no-such-id/);
    for (const bad of [
      { prediction_id: ids[1], actual: -5 },
      { prediction_id: ids[1], actual: "x" },
      { actual: 3 },
    ]) {
      const r = await post("/api/v1/feedback", bad);
      assert.equal(r.status, 422, JSON.stringify(bad));
      const d = (await r.json()) as { detail: { loc: string[] }[] };
      assert.ok(Array.isArray(d.detail) && d.detail.length > 0);
    }
    const batch = await post("/api/v1/feedback/batch", {
      items: [
        ...ids.slice(1, 100).map((id, k) => ({ prediction_id: id, actual: yTest[k + 1] })),
        { prediction_id: "missing-1", actual: 5 },
      ],
    });
    assert.equal(batch.status, 200);
    const bb = (await batch.json()) as { counts: Record<string, number> };
    assert.deepEqual(bb.counts, { created: 99, unchanged: 0, updated: 0, not_found: 1 });

    await log.flush();
    const w = log.window(0);
    assert.equal(w.n, test.nRows);
    assert.ok(
      w.latencyMs.every((x) => Number.isFinite(x) && x > 0),
      "latency logged",
    );
    assert.deepEqual(w.modelVersions, [body.model_version]);
    const acc = log.accuracy({ by: "ocean_proximity" });
    assert.equal(acc.versions[0].n, 100);
  });

  it("serves drift of the logged window: none on held-out data, median_income shift detected", async () => {
    const r = await fetch(`${server.url}/api/v1/monitoring/drift?window=1h`);
    assert.equal(r.status, 200);
    const b = (await r.json()) as {
      window: { n: number; analysed: number };
      report: { datasetDrift: boolean; features: { name: string; drifted: boolean; psi: number }[] };
    };
    assert.equal(b.window.n, test.nRows);
    assert.equal(b.window.analysed, test.nRows); // below max_window_rows: every row
    assert.equal(b.report.datasetDrift, false);

    await predict(rows(train_, { median_income: 1.6 }));
    const r2 = await fetch(`${server.url}/api/v1/monitoring/drift?window=1h`);
    const b2 = (await r2.json()) as typeof b;
    const mi = b2.report.features.find((f) => f.name === "median_income");
    assert.ok(mi?.drifted, "median_income drift detected");
    assert.ok(mi.psi > 0.2, `psi ${mi.psi}`);
    assert.ok(
      b2.report.features.filter((f) => f.drifted).length <= 2,
      `unshifted features stay quiet: ${b2.report.features.filter((f) => f.drifted).map((f) => f.name)}`,
    );
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /mlops_feature_psi\{feature="median_income"\} [0-9.]+/);

    const html = await fetch(`${server.url}/api/v1/monitoring/drift?window=1h&format=html`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await html.text(), /median_income/);

    const bad = await fetch(`${server.url}/api/v1/monitoring/drift?window=yesterday`);
    assert.equal(bad.status, 422);
    const bd = (await bad.json()) as { detail: { loc: string[]; msg: string }[] };
    assert.deepEqual(bd.detail[0].loc, ["query", "window"]);
    assert.match(bd.detail[0].msg, /yesterday/);
    const unknown = await fetch(`${server.url}/api/v1/monitoring/drift?model_version=77`);
    assert.equal(unknown.status, 404);
  });

  it("summarises accuracy, checks and alerts, and reports the last pass in /health/deep", async () => {
    const r = await fetch(`${server.url}/api/v1/monitoring/summary?window=1h`);
    assert.equal(r.status, 200);
    const s = (await r.json()) as {
      accuracy: { by: string; versions: { n: number; segments: Record<string, unknown> }[] };
      checks: { latency: { p99: number }; inputs: { feature: string; above: number }[] };
      alerts: { rule: string }[];
      log: { dropped: number; total: number; withFeedback: number };
    };
    assert.equal(s.accuracy.by, "ocean_proximity");
    assert.equal(s.accuracy.versions[0].n, 100);
    assert.ok(Object.keys(s.accuracy.versions[0].segments).length >= 2);
    assert.ok(s.checks.latency.p99 > 0);
    assert.ok(
      s.alerts.some((a) => a.rule === "feature PSI major"),
      JSON.stringify(s.alerts),
    );
    assert.equal(s.log.dropped, 0);
    assert.equal(s.log.total, test.nRows + train_.nRows);
    assert.equal(s.log.withFeedback, 100);

    const deep0 = (await (await fetch(`${server.url}/health/deep`)).json()) as {
      checks: { drift: { status: string; window_n?: number } };
    };
    assert.equal(deep0.checks.drift.status, "unknown");
    const pass = await server.app.mlops.monitoring?.runPass();
    assert.ok(pass?.drift);
    const deep1 = (await (await fetch(`${server.url}/health/deep`)).json()) as typeof deep0;
    assert.ok(["ok", "drift"].includes(deep1.checks.drift.status), JSON.stringify(deep1.checks.drift));
    assert.equal(deep1.checks.drift.window_n, test.nRows + train_.nRows);
  });

  it("mlops monitor: drift vs the served version, retraining with feedback, challenger gated", async () => {
    // heavy shift on every numeric input: dataset drift
    const shifted = rows(test, {
      median_income: 1.8,
      housing_median_age: 0.4,
      total_rooms: 2.5,
      total_bedrooms: 2.5,
      population: 2.5,
      households: 2.5,
      latitude: 1.05,
      longitude: 0.97,
    });
    const body = await predict(shifted);
    const fb = await post("/api/v1/feedback/batch", {
      items: body.predictions.map((p, i) => ({ prediction_id: p.prediction_id, actual: yTest[i] * 1.3 })),
    });
    assert.equal(fb.status, 200);
    await log.flush();

    const before = trained.registered as RegisterOutput;
    const ref = await servedReference(loaded());
    assert.equal(ref.version, String(before.version));

    const msgs: string[] = [];
    const ticks = await runMonitorLoop(
      loaded(),
      { once: true, window: "1h", retrainOnDrift: true },
      { log: (m) => msgs.push(m), nJobs: 1 },
    );
    assert.equal(ticks.length, 1);
    const t = ticks[0];
    assert.ok(t.pass?.drift?.datasetDrift, "dataset drift detected");
    assert.ok(t.retrain, `retrained: ${msgs.join(" | ")}`);
    assert.equal(t.retrain.version, before.version + 1);
    assert.equal(t.retrain.feedbackRows, 100 + test.nRows);
    assert.equal(t.retrain.baseRows, 1200);
    const lines = readFileSync(t.retrain.dataPath, "utf8").trimEnd().split("\n");
    assert.equal(lines.length, 1 + 1200 + 100 + test.nRows);
    const tk = openTracking({ home, mustExist: true });
    const v2 = await tk.registry.getVersion(MODEL, t.retrain.version as number);
    const prod = await tk.registry.getVersionByAlias(MODEL, "production");
    await tk.close();
    assert.equal(v2.lineage.source, t.retrain.dataPath);
    assert.equal(prod?.version, t.retrain.promoted ? v2.version : before.version);
    assert.ok(
      msgs.some((m) => /retraining \(dataset drift/.test(m)),
      msgs.join("\n"),
    );
  });
});
