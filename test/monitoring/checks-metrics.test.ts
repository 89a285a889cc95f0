import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { Registry } from "prom-client";
import { parse as parseYaml } from "yaml";
import { categoricalFromStrings, Frame, numericColumn } from "../../src/data/frame.ts";
import type { DatasetContract } from "../../src/data/contract-types.ts";
import { inputChecks, latencyStats, predictionChecks } from "../../src/monitoring/checks.ts";
import { computeDrift } from "../../src/monitoring/drift.ts";
import { createMonitoringMetrics, MONITORING_METRIC_NAMES } from "../../src/monitoring/metrics.ts";
import { buildReferenceProfile } from "../../src/monitoring/reference.ts";
import { evaluateAlerts, parseAlertRules, snapshotFromChecks } from "../../src/monitoring/alerts.ts";

const contract: DatasetContract = {
  name: "toy",
  target: "y",
  columns: [
    { name: "x", type: "float" },
    { name: "c", type: "categorical", categories: ["a", "b"] },
    { name: "y", type: "float" },
  ],
};
const n = 400;
const x = Float64Array.from({ length: n }, (_, i) => i / 10); // 0 .. 39.9
const ref = new Frame([
  numericColumn("x", x),
  categoricalFromStrings(
    "c",
    Array.from({ length: n }, (_, i) => (i % 2 ? "a" : "b")),
  ),
  numericColumn(
    "y",
    x.map((v) => 100 + v),
  ),
]);
const profile = buildReferenceProfile(ref, contract, { predictions: x.map((v) => 100 + v) });

describe("sanity checks", () => {
  it("prediction std collapse and out-of-target-range share", () => {
    const c = predictionChecks(profile, [120, 120.1, 119.9, 150, Number.NaN, 90]);
    assert.equal(c.n, 5);
    assert.equal(c.nonFinite, 1);
    assert.deepEqual(c.targetRange, [100, 139.9]);
    assert.equal(c.belowRange, 1);
    assert.equal(c.aboveRange, 1);
    assert.equal(c.outOfRangeShare, 0.4);
    assert.ok(c.stdRatio !== null && c.stdRatio > 1 && !c.stdCollapsed, `ratio ${c.stdRatio}`);
    const collapsed = predictionChecks(profile, [120, 120.5, 119.5, 120]);
    assert.equal(collapsed.stdCollapsed, true);
  });
  it("input checks count values outside the training range and unseen categories", () => {
    const cur = new Frame([
      numericColumn("x", Float64Array.from([-1, 0, 20, 39.9, 40, Number.NaN])),
      categoricalFromStrings("c", ["a", "b", "z", "z", null, "a"]),
    ]);
    const [cx, cc] = inputChecks(profile, cur);
    assert.deepEqual([cx.below, cx.above, cx.missing, cx.n], [1, 1, 1, 5]);
    assert.deepEqual(cx.range, [0, 39.9]);
    assert.deepEqual(cc.unseen, { z: 2 });
    assert.equal(cc.share, 2 / 5);
    const rules = parseAlertRules([
      { metric: "input_out_of_range_share", feature: "*", op: ">", threshold: 0.3 },
      { metric: "input_out_of_range_share", feature: "c", op: ">", threshold: 0.3 },
    ]);
    const fired = evaluateAlerts(rules, snapshotFromChecks({ inputs: [cx, cc] }));
    assert.deepEqual(
      fired.map((a) => a.labels.feature),
      ["x", "c", "c"],
    );
  });
  it("latency quantiles", () => {
    const l = latencyStats(Array.from({ length: 101 }, (_, i) => i));
    assert.deepEqual([l.p50, l.p99, l.max, l.n], [50, 99, 100, 101]);
    // non-finite latencies are left out, wherever they are
    const withBad = [Number.NaN, ...Array.from({ length: 101 }, (_, i) => 100 - i), Number.POSITIVE_INFINITY];
    withBad.splice(40, 0, Number.NaN);
    assert.deepEqual(latencyStats(Float64Array.from(withBad)), l);
    assert.deepEqual(latencyStats([Number.NaN]), {
      n: 0,
      p50: Number.NaN,
      p90: Number.NaN,
      p99: Number.NaN,
      max: Number.NaN,
    });
  });
});

describe("Prometheus gauges", () => {
  it("exports drift, accuracy, checks and log metrics under the documented names", async () => {
    const registry = new Registry();
    const m = createMonitoringMetrics(registry);
    const cur = new Frame([
      numericColumn(
        "x",
        x.map((v) => v + 20),
      ),
      categoricalFromStrings(
        "c",
        Array.from({ length: n }, (_, i) => (i % 2 ? "a" : "b")),
      ),
    ]);
    m.updateDrift(computeDrift(profile, cur, { predictions: x }));
    m.updateAccuracy({
      sinceMs: 0,
      untilMs: 1,
      by: null,
      versions: [{ modelVersion: "7", n: 3, mae: 2, mape: 13, wmape: 11, within10pct: 60, segments: {} }],
    });
    m.updateLog({
      queued: 3,
      dropped: 0,
      rejected: 0,
      written: 10,
      duplicates: 0,
      flushes: 1,
      lastFlushMs: 1,
      failedFlushes: 0,
    });
    const text = await registry.metrics();
    assert.match(text, /mlops_feature_psi\{feature="x"\} \d/);
    assert.match(text, /mlops_feature_drifted\{feature="x"\} 1/);
    assert.match(text, /mlops_feature_drift_score\{feature="c",test="z"\} 1/);
    assert.match(text, /mlops_accuracy_mape\{model_version="7"\} 13/);
    assert.match(text, /mlops_prediction_log_dropped 0/);
    assert.match(text, /mlops_prediction_log_queue_length 3/);
    assert.match(text, /mlops_prediction_drifted 1/);
  });
});

describe("deploy/prometheus/alerts.yml", () => {
  it("is valid YAML whose mlops_* metrics are all exported, with the documented thresholds", () => {
    const doc = parseYaml(readFileSync("deploy/prometheus/alerts.yml", "utf8")) as {
      groups: { name: string; rules: { alert: string; expr: string; labels: { severity: string } }[] }[];
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 10);
    const known = new Set<string>(MONITORING_METRIC_NAMES);
    for (const r of rules) {
      assert.ok(r.alert && r.expr && r.labels.severity, JSON.stringify(r));
      for (const m of r.expr.match(/mlops_[a-z0-9_]+/g) ?? [])
        assert.ok(known.has(m), `${r.alert}: unknown metric ${m}`);
    }
    const byName = Object.fromEntries(rules.map((r) => [r.alert, r.expr]));
    assert.match(byName.FeaturePsiMajor, /mlops_feature_psi\) > 0\.2/);
    assert.match(byName.RollingMapeHigh, /> 12/);
    assert.match(byName.Within10PctLow, /< 65/);
    assert.match(byName.LatencyP99High, /http_request_duration_seconds_bucket[\s\S]*> 0\.2/);
  });
});
