import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, it } from "node:test";
import { Registry } from "prom-client";
import { loadContract } from "../../src/data/contract.ts";
import { readCsv } from "../../src/data/csv.ts";
import { Rng } from "../../src/data/prng.ts";
import { DEFAULT_ALERT_RULES, logSink } from "../../src/monitoring/alerts.ts";
import { createMonitoringMetrics } from "../../src/monitoring/metrics.ts";
import { runMonitorPass } from "../../src/monitoring/monitor.ts";
import {
  PredictionLog,
  type PredictionRecord,
  predictionLogHook,
} from "../../src/monitoring/prediction-log.ts";
import { buildReferenceProfile } from "../../src/monitoring/reference.ts";

const tmp = mkdtempSync(join(tmpdir(), "monitor-pass-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

it("one monitoring pass: drift of the logged window, accuracy by ocean_proximity, alerts to a sink, gauges", async () => {
  const contract = loadContract("config/datasets/california_housing.yaml");
  const all = (await readCsv("data/california_housing.csv")).frame;
  const perm = new Rng(11).permutation(all.nRows);
  const train = all.take(perm.subarray(0, 10_000));
  const cur = all.take(perm.subarray(10_000, 12_000));
  const model = (inc: number) => 45_000 + 40_000 * inc;
  const profile = buildReferenceProfile(train, contract, {
    predictions: train.numeric("median_income").map(model),
  });
  const NOW = 1_900_000_000_000;
  const log = new PredictionLog({ path: join(tmp, "m.db"), now: () => NOW });
  const records: PredictionRecord[] = [];
  for (let i = 0; i < cur.nRows; i++) {
    const inputs = cur.row(i) as PredictionRecord["inputs"];
    inputs.median_income = (inputs.median_income as number) * 1.3;
    records.push({
      id: `p${i}`,
      ts: NOW - 1000,
      modelVersion: "2",
      inputs,
      prediction: model(inputs.median_income as number),
      latencyMs: 300,
    });
  }
  log.append(records);
  // the serving hook path (one request of 2 rows)
  predictionLogHook(log)({
    predictionIdPrefix: "req",
    timestamp: NOW - 500,
    modelVersion: "2",
    inputs: cur.slice(0, 2),
    predictions: Float64Array.from([1, 2]),
    lower: Float64Array.from([0, 1]),
    upper: Float64Array.from([2, 3]),
  });
  for (let i = 0; i < 200; i++) await log.recordFeedback(`p${i}`, cur.numeric("median_house_value")[i]);
  const sinkOut = new PassThrough();
  let logged = "";
  sinkOut.on("data", (c) => (logged += c));
  const registry = new Registry();
  const r = await runMonitorPass({
    log,
    reference: profile,
    rules: DEFAULT_ALERT_RULES,
    sinks: [logSink(sinkOut)],
    metrics: createMonitoringMetrics(registry),
    now: () => NOW,
  });
  assert.equal(r.window.n, cur.nRows + 2);
  assert.ok(r.drift);
  assert.equal(r.drift.features.find((f) => f.name === "median_income")?.drifted, true);
  const v = r.accuracy.versions[0];
  assert.equal(v.modelVersion, "2");
  assert.equal(v.n, 200);
  assert.ok(Object.keys(v.segments).includes("INLAND"));
  const fired = new Set(r.alerts.map((a) => `${a.metric}${a.labels.feature ? `:${a.labels.feature}` : ""}`));
  assert.ok(fired.has("psi:median_income"), [...fired].join());
  assert.ok(fired.has("mape")); // a linear stand-in model is far off
  assert.ok(fired.has("latency_p99_ms"));
  assert.ok(!fired.has("prediction_log_dropped"));
  assert.deepEqual(r.dispatch, [{ sink: "log", ok: true }]);
  assert.equal(logged.trim().split("\n").length, r.alerts.length);
  assert.match(await registry.metrics(), /mlops_feature_drifted\{feature="median_income"\} 1/);
  await log.close();
});
