import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compareHistograms,
  driftReportUrl,
  driftVerdict,
  formatCompactPrice,
  formatDistance,
  formatPValue,
  formatTestScore,
  isWindow,
  monitoringError,
  num,
  P_CAP,
  proportions,
  psiAxisMax,
  scoreBar,
  sortAlerts,
  sortFeatures,
  summaryUrl,
  testLabel,
} from "../../web/src/lib/monitoring.ts";

describe("histograms as proportions", () => {
  it("normalises counts and survives an empty histogram", () => {
    assert.deepEqual(proportions([1, 3, 0, 4]), [0.125, 0.375, 0, 0.5]);
    assert.deepEqual(proportions([0, 0]), [0, 0]);
    assert.deepEqual(proportions([]), []);
  });

  it("aligns numeric bins on the reference edges and adds non-empty under/overflow bins", () => {
    const ref = { kind: "numeric" as const, edges: [0, 1, 2, 4], counts: [5, 3, 2], under: 0, over: 0 };
    const cur = { kind: "numeric" as const, edges: [0, 1, 2, 4], counts: [1, 1, 4], under: 0, over: 4 };
    const h = compareHistograms(ref, cur);
    assert.deepEqual(h.labels, ["0–1", "1–2", "2–4", "> 4"]);
    assert.deepEqual(h.reference, [0.5, 0.3, 0.2, 0]);
    assert.deepEqual(h.current, [0.1, 0.1, 0.4, 0.4]);
    const noTails = compareHistograms(ref, { ...cur, over: 0 });
    assert.equal(noTails.labels.length, 3, "empty overflow bins are left out");
    const under = compareHistograms(ref, { ...cur, under: 2, over: 0 }, (v) => `$${v}`);
    assert.deepEqual(under.labels[0], "< $0");
    assert.equal(under.current[0], 2 / 8);
    for (const x of [h.reference, h.current, under.current])
      assert.ok(Math.abs(x.reduce((a, b) => a + b, 0) - 1) < 1e-12, "proportions sum to 1");
  });

  it("aligns categorical histograms by label, including categories only one side has", () => {
    const h = compareHistograms(
      { kind: "categorical", labels: ["INLAND", "NEAR BAY"], counts: [6, 2] },
      { kind: "categorical", labels: ["NEAR BAY", "ISLAND"], counts: [1, 1] },
    );
    assert.deepEqual(h.labels, ["INLAND", "NEAR BAY", "ISLAND"]);
    assert.deepEqual(h.reference, [0.75, 0.25, 0]);
    assert.deepEqual(h.current, [0, 0.5, 0.5]);
  });

  it("prints JSON null edges as a dash instead of NaN", () => {
    const h = compareHistograms(
      { kind: "numeric", edges: [null, 1], counts: [2], under: 0, over: 0 },
      { kind: "numeric", edges: [null, 1], counts: [2], under: 0, over: 0 },
    );
    assert.deepEqual(h.labels, ["—–1"]);
  });
});

describe("formatting of test scores", () => {
  it("formats p-values", () => {
    assert.equal(formatPValue(0.43219), "0.43");
    assert.equal(formatPValue(0.0123), "0.012");
    assert.equal(formatPValue(0.00123), "0.0012");
    assert.equal(formatPValue(1e-9), "< 0.0001");
    assert.equal(formatPValue(0), "< 0.0001");
    assert.equal(formatPValue(1), "1");
    assert.equal(formatPValue(null), "—");
    assert.equal(formatPValue(undefined), "—");
  });

  it("formats distances and the score against its threshold with the drift direction", () => {
    assert.equal(formatDistance(0.23456), "0.235");
    assert.equal(formatDistance(null), "—");
    assert.equal(
      formatTestScore({ statistic: 0.003, threshold: 0.05, direction: "p_le", drifted: true }),
      "p = 0.003 ≤ 0.05",
    );
    assert.equal(
      formatTestScore({ statistic: 1e-12, threshold: 0.05, direction: "p_le", drifted: true }),
      "p < 0.0001 ≤ 0.05",
    );
    assert.equal(
      formatTestScore({ statistic: 0.6, threshold: 0.05, direction: "p_le", drifted: false }),
      "p = 0.6 > 0.05",
    );
    assert.equal(
      formatTestScore({ statistic: 0.4321, threshold: 0.1, direction: "score_ge", drifted: true }),
      "0.432 ≥ 0.1",
    );
    assert.equal(
      formatTestScore({ statistic: null, threshold: 0.1, direction: "score_ge", drifted: false }),
      "— < 0.1",
    );
    assert.equal(testLabel("ks"), "Kolmogorov–Smirnov");
    assert.equal(testLabel("wasserstein"), "Wasserstein (norm.)");
    assert.equal(testLabel("new_test"), "new_test");
    assert.equal(formatCompactPrice(85_300), "$85k");
    assert.equal(formatCompactPrice(1_250_000), "$1.3M");
    assert.equal(formatCompactPrice(Number.NaN), "—");
  });

  it("puts p-values and distances on a bigger-is-more-drift bar scale", () => {
    const p = scoreBar({ statistic: 0.001, threshold: 0.05, direction: "p_le" });
    assert.ok(Math.abs(p.value - 3) < 1e-12);
    assert.ok(Math.abs(p.threshold - -Math.log10(0.05)) < 1e-12);
    assert.ok(p.value > p.threshold, "a drifted p-value is beyond the threshold tick");
    assert.equal(scoreBar({ statistic: 0, threshold: 0.05, direction: "p_le" }).value, P_CAP);
    assert.equal(scoreBar({ statistic: 1e-300, threshold: 0.05, direction: "p_le" }).value, P_CAP);
    assert.ok(Number.isNaN(scoreBar({ statistic: null, threshold: 0.05, direction: "p_le" }).value));
    assert.deepEqual(scoreBar({ statistic: 0.25, threshold: 0.1, direction: "score_ge" }), {
      value: 0.25,
      threshold: 0.1,
      unit: "distance",
    });
  });

  it("keeps both PSI level lines on the axis and apart, growing it with the data", () => {
    assert.equal(psiAxisMax([0.01, 0.02]), 0.2 * 1.5);
    assert.ok(Math.abs(psiAxisMax([0.4, null]) - 0.44) < 1e-12);
    assert.equal(psiAxisMax([4.2]), 0.5);
    assert.equal(psiAxisMax([4.2], [0.2, 0.4]), 1);
    assert.equal(psiAxisMax([]), 0.2 * 1.5);
    assert.equal(num(null), Number.NaN);
    assert.equal(num(3), 3);
  });
});

describe("ordering and verdict", () => {
  it("lists drifted features first, then by PSI, nulls last", () => {
    const fs = [
      { name: "a", drifted: false, psi: 0.05 },
      { name: "b", drifted: true, psi: 0.3 },
      { name: "c", drifted: false, psi: null },
      { name: "d", drifted: false, psi: 0.15 },
      { name: "e", drifted: true, psi: 0.9 },
    ];
    assert.deepEqual(
      sortFeatures(fs).map((f) => f.name),
      ["e", "b", "d", "a", "c"],
    );
    assert.equal(fs[0].name, "a", "input not mutated");
  });

  it("lists critical alerts before warnings before info, keeping the order within a severity", () => {
    const a = sortAlerts([
      { severity: "info" as const, id: 1 },
      { severity: "warning" as const, id: 2 },
      { severity: "critical" as const, id: 3 },
      { severity: "warning" as const, id: 4 },
    ]);
    assert.deepEqual(
      a.map((x) => x.id),
      [3, 2, 4, 1],
    );
  });

  it("states dataset drift with counts, or why drift was not computed", () => {
    const drift = {
      features: [],
      prediction: null,
      share: 2 / 9,
      nDrifted: 2,
      nTested: 9,
      datasetDrift: false,
      driftShare: 0.5,
      nReference: 800,
      nCurrent: 300,
      psiThresholds: [0.1, 0.2] as [number, number],
      computedAt: "",
    };
    const ok = driftVerdict({ drift, window: { since_ms: 0, until_ms: 1, n: 300 } });
    assert.equal(ok.level, "ok");
    assert.equal(ok.headline, "Dataset drift: no");
    assert.equal(ok.detail, "2 of 9 features drifted (22% < 50%) · 300 logged predictions in the window");
    const yes = driftVerdict({
      drift: { ...drift, datasetDrift: true, nDrifted: 5, share: 5 / 9 },
      window: { since_ms: 0, until_ms: 1, n: 1500 },
    });
    assert.equal(yes.level, "drift");
    assert.equal(yes.headline, "Dataset drift: YES");
    assert.match(yes.detail, /^5 of 9 features drifted \(56% ≥ 50%\) · 1,500 logged/);
    const skipped = driftVerdict({
      drift: null,
      drift_skipped: "only 1 logged predictions in the window (< 100)",
      window: { since_ms: 0, until_ms: 1, n: 1 },
    });
    assert.equal(skipped.level, "skipped");
    assert.equal(skipped.headline, "Dataset drift: not computed");
    assert.equal(
      skipped.detail,
      "only 1 logged predictions in the window (< 100) · 1 logged prediction in the window",
    );
    // a window larger than the server's max_window_rows was analysed as an even sample
    const sampled = driftVerdict({
      drift,
      window: { since_ms: 0, until_ms: 1, n: 3_000_000, analysed: 200_000 },
    });
    assert.equal(
      sampled.detail,
      "2 of 9 features drifted (22% < 50%) · 3,000,000 logged predictions in the window (an even sample of 200,000 logged predictions analysed)",
    );
    const whole = driftVerdict({ drift, window: { since_ms: 0, until_ms: 1, n: 300, analysed: 300 } });
    assert.equal(whole.detail, ok.detail);
  });
});

describe("requests and errors", () => {
  it("builds the summary and HTML report URLs for a window", () => {
    assert.equal(summaryUrl("24h"), "/api/v1/monitoring/summary?window=24h");
    assert.equal(driftReportUrl("7d"), "/api/v1/monitoring/drift?window=7d&format=html");
    assert.ok(isWindow("1h") && isWindow("7d"));
    assert.ok(!isWindow("2h"));
  });

  it("tells monitoring off, missing reference profile, no model and other failures apart", () => {
    const off = monitoringError(404, { detail: "Not Found: GET /api/v1/monitoring/summary?window=24h" });
    assert.equal(off.kind, "off");
    assert.match(off.message, /monitoring is off/i);
    assert.equal(monitoringError(404, {}).kind, "off");
    assert.equal(monitoringError(404, null).kind, "off");
    const noRef = monitoringError(404, {
      detail: "no drift reference profile for model housing_price_model version 3 (…)",
    });
    assert.equal(noRef.kind, "no-reference");
    assert.match(
      noRef.message,
      /^No reference profile for this model: no drift reference profile .* version 3/,
    );
    const noModel = monitoringError(503, { detail: "no model loaded" });
    assert.equal(noModel.kind, "no-model");
    assert.match(noModel.message, /No model is loaded.*\(no model loaded\)/);
    const bad = monitoringError(422, { detail: [{ loc: ["query", "window"], msg: "window: bad duration" }] });
    assert.equal(bad.kind, "error");
    assert.equal(bad.message, "Monitoring summary failed (HTTP 422): window: bad duration");
    assert.equal(monitoringError(500, "oops").message, "Monitoring summary failed (HTTP 500)");
  });
});
