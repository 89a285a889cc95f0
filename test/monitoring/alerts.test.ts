import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import {
  AlertConfigError,
  backoffDelay,
  DEFAULT_ALERT_RULES,
  dispatchAlerts,
  evaluateAlerts,
  logSink,
  type MetricSample,
  parseAlertRules,
  snapshotFromAccuracy,
  WebhookError,
  webhookSink,
} from "../../src/monitoring/alerts.ts";

const snapshot: MetricSample[] = [
  { metric: "psi", value: 0.05, labels: { feature: "latitude" } },
  { metric: "psi", value: 0.31, labels: { feature: "median_income" } },
  { metric: "psi", value: Number.NaN, labels: { feature: "total_bedrooms" } },
  { metric: "dataset_drift", value: 0 },
  { metric: "latency_p99_ms", value: 250 },
  { metric: "prediction_log_dropped", value: 0 },
  ...snapshotFromAccuracy({
    sinceMs: 0,
    untilMs: 1,
    by: null,
    versions: [
      { modelVersion: "3", n: 50, mae: 1, mape: 14.2, wmape: 12, within10pct: 70, segments: {} },
      { modelVersion: "4", n: 50, mae: 1, mape: 9, wmape: 8, within10pct: 60, segments: {} },
    ],
  }),
];

describe("alert rules", () => {
  it("fires the default rules on the matching samples only", () => {
    const fired = evaluateAlerts(DEFAULT_ALERT_RULES, snapshot, new Date(0));
    const keys = fired.map((a) => `${a.metric}:${JSON.stringify(a.labels)}`).sort();
    assert.deepEqual(keys, [
      "latency_p99_ms:{}",
      'mape:{"model_version":"3"}',
      'psi:{"feature":"median_income"}',
      'within_10pct:{"model_version":"4"}',
    ]);
    const psi = fired.find((a) => a.metric === "psi")!;
    assert.equal(psi.message, "feature PSI major: psi{feature=median_income} = 0.31 > 0.2");
    assert.equal(psi.at, "1970-01-01T00:00:00.000Z");
  });
  it("filters by feature and model version; validates config with the rule index and field", () => {
    const rules = parseAlertRules([
      { metric: "psi", feature: "latitude", op: ">=", threshold: 0.05 },
      { metric: "mape", model_version: "4", op: ">", threshold: 5, severity: "critical" },
    ]);
    assert.equal(rules[0].name, "psi[latitude] >= 0.05");
    const fired = evaluateAlerts(rules, snapshot);
    assert.equal(fired.length, 2);
    assert.equal(fired[1].severity, "critical");
    assert.throws(
      () => parseAlertRules([{ metric: "psi", op: "~", threshold: 1 }]),
      /alerts\[0\]\.op: must be one of/,
    );
    assert.throws(
      () => parseAlertRules([{ metric: "psi", op: ">", threshold: "x" }]),
      /alerts\[0\]\.threshold/,
    );
    assert.throws(
      () => parseAlertRules([{ metric: "psi", op: ">", threshold: 1, treshold: 2 }]),
      /unknown field 'treshold'/,
    );
    assert.throws(() => parseAlertRules({}), AlertConfigError);
  });
  it("log sink writes one pino-style JSON line per alert", async () => {
    const s = new PassThrough();
    let text = "";
    s.on("data", (c) => (text += c));
    await logSink(s).send(evaluateAlerts(DEFAULT_ALERT_RULES, snapshot));
    const lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    assert.equal(lines[0].level, 40);
    assert.equal(typeof lines[0].time, "number");
    assert.ok(lines.every((l) => typeof l.msg === "string" && l.alert.rule));
  });
  it("backoff grows exponentially with jitter and a cap", () => {
    assert.equal(
      backoffDelay(0, 100, 1000, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(2, 100, 1000, () => 0.999999),
      399.9998,
    );
    assert.equal(
      backoffDelay(10, 100, 1000, () => 0),
      500,
    );
  });
});

describe("webhook sink against a local HTTP server", () => {
  let server: Server;
  let url: string;
  let hits = 0;
  let mode: "flaky" | "400" | "slow" = "flaky";
  const bodies: unknown[] = [];
  const read = (req: IncomingMessage) =>
    new Promise<string>((res) => {
      let b = "";
      req.on("data", (c) => (b += c));
      req.on("end", () => res(b));
    });
  before(async () => {
    server = createServer(async (req, res) => {
      hits++;
      const body = await read(req);
      if (mode === "400") return res.writeHead(400).end("bad");
      if (mode === "slow") return void setTimeout(() => res.writeHead(200).end(), 500);
      if (hits <= 2) return res.writeHead(503).end("busy");
      bodies.push({ ct: req.headers["content-type"], body: JSON.parse(body) });
      res.writeHead(202).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it("retries twice on 503 then delivers the JSON payload", async () => {
    const alerts = evaluateAlerts(DEFAULT_ALERT_RULES, snapshot);
    const sink = webhookSink({ url, retries: 3, baseDelayMs: 5 });
    await sink.send(alerts);
    assert.equal(hits, 3);
    assert.equal(sink.lastAttempts, 3);
    assert.equal(bodies.length, 1);
    const got = bodies[0] as { ct: string; body: { alerts: unknown[]; sentAt: string } };
    assert.equal(got.ct, "application/json");
    assert.equal(got.body.alerts.length, alerts.length);
  });
  it("gives up after the retry budget, does not retry a 400, times out slow servers", async () => {
    hits = 0;
    mode = "400";
    const alerts = evaluateAlerts(DEFAULT_ALERT_RULES, snapshot);
    await assert.rejects(webhookSink({ url, retries: 3, baseDelayMs: 1 }).send(alerts), (e: unknown) => {
      return e instanceof WebhookError && e.attempts === 1 && e.status === 400;
    });
    mode = "slow";
    await assert.rejects(
      webhookSink({ url, retries: 1, baseDelayMs: 1, timeoutMs: 50 }).send(alerts),
      /failed after 2 attempt\(s\): timeout after 50 ms/,
    );
    const results = await dispatchAlerts(alerts, [
      webhookSink({ url: "http://127.0.0.1:1/none", retries: 1, baseDelayMs: 1 }),
      logSink(new PassThrough()),
    ]);
    assert.deepEqual(
      results.map((r) => r.ok),
      [false, true],
    );
    assert.throws(() => webhookSink({ url: "ftp://x" }), /must be http/);
  });
});
