/**
 * Alert rules evaluated against a metrics snapshot, and sinks that deliver fired alerts.
 *
 * Rule (config): `{ name?, metric, feature?, model_version?, op, threshold, severity? }`, e.g.
 *   { metric: psi, feature: "*", op: ">", threshold: 0.2 }       any feature with PSI > 0.2
 *   { metric: mape, op: ">", threshold: 12 }                     rolling MAPE (%) per model version
 *   { metric: within_10pct, op: "<", threshold: 65 }
 *   { metric: latency_p99_ms, op: ">", threshold: 200 }
 * A rule's `feature` ("*" = any feature-labelled sample) and `model_version` filter the samples by label; an
 * omitted filter matches every sample of the metric. NaN samples never fire.
 *
 * Snapshot metric names (what the snapshot helpers emit): psi, drift_score, drifted, dataset_drift,
 * drift_share, prediction_psi, prediction_drift_score, prediction_drifted, mae, mape, wmape, within_10pct,
 * feedback_count, prediction_std_ratio, prediction_out_of_range_share, input_out_of_range_share,
 * latency_p50_ms, latency_p99_ms, prediction_log_dropped, prediction_log_queued.
 *
 * Sinks: `logSink` (one pino-style JSON line per alert) and `webhookSink` (JSON POST; retries on network
 * errors, timeouts, 429 and 5xx with exponential backoff + jitter; per-attempt timeout).
 */
import type { PredictionChecks, InputCheck, LatencyStats } from "./checks.ts";
import type { DriftReport } from "./drift.ts";
import type { AccuracyReport, PredictionLogStats } from "./prediction-log.ts";

export type AlertOp = ">" | ">=" | "<" | "<=" | "==" | "!=";
export type AlertSeverity = "info" | "warning" | "critical";

export interface AlertRule {
  name: string;
  metric: string;
  /** feature label filter; "*" = any feature */
  feature?: string;
  modelVersion?: string;
  op: AlertOp;
  threshold: number;
  severity: AlertSeverity;
}

export interface MetricSample {
  metric: string;
  value: number;
  labels?: Record<string, string>;
}

export interface FiredAlert {
  rule: string;
  metric: string;
  labels: Record<string, string>;
  value: number;
  op: AlertOp;
  threshold: number;
  severity: AlertSeverity;
  message: string;
  /** ISO time of evaluation */
  at: string;
}

const OPS: Record<AlertOp, (a: number, b: number) => boolean> = {
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
};

export class AlertConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AlertConfigError";
  }
}

/** Validate rules from config (YAML/JSON already parsed). Errors name the rule index and field. */
export function parseAlertRules(doc: unknown, source = "alerts"): AlertRule[] {
  if (!Array.isArray(doc))
    throw new AlertConfigError(`${source}: expected a list of rules, got ${typeof doc}`);
  return doc.map((raw, i): AlertRule => {
    const where = `${source}[${i}]`;
    if (!raw || typeof raw !== "object") throw new AlertConfigError(`${where}: a rule must be an object`);
    const r = raw as Record<string, unknown>;
    const known = new Set([
      "name",
      "metric",
      "feature",
      "model_version",
      "modelVersion",
      "op",
      "threshold",
      "severity",
    ]);
    for (const k of Object.keys(r))
      if (!known.has(k)) throw new AlertConfigError(`${where}: unknown field '${k}'`);
    if (typeof r.metric !== "string" || r.metric === "")
      throw new AlertConfigError(`${where}.metric: must be a non-empty string`);
    if (typeof r.op !== "string" || !(r.op in OPS)) {
      throw new AlertConfigError(
        `${where}.op: must be one of ${Object.keys(OPS).join(" ")}, got ${JSON.stringify(r.op)}`,
      );
    }
    if (typeof r.threshold !== "number" || !Number.isFinite(r.threshold)) {
      throw new AlertConfigError(
        `${where}.threshold: must be a finite number, got ${JSON.stringify(r.threshold)}`,
      );
    }
    const severity = r.severity ?? "warning";
    if (severity !== "info" && severity !== "warning" && severity !== "critical") {
      throw new AlertConfigError(
        `${where}.severity: must be info, warning or critical, got ${JSON.stringify(severity)}`,
      );
    }
    for (const k of ["name", "feature", "model_version", "modelVersion"]) {
      if (r[k] !== undefined && typeof r[k] !== "string")
        throw new AlertConfigError(`${where}.${k}: must be a string`);
    }
    const feature = r.feature as string | undefined;
    const mv = (r.model_version ?? r.modelVersion) as string | undefined;
    return {
      name:
        (r.name as string | undefined) ??
        `${r.metric}${feature ? `[${feature}]` : ""} ${r.op} ${r.threshold}`,
      metric: r.metric,
      ...(feature !== undefined ? { feature } : {}),
      ...(mv !== undefined ? { modelVersion: mv } : {}),
      op: r.op as AlertOp,
      threshold: r.threshold,
      severity,
    };
  });
}

/** The default rules of the monitoring issue (PSI > 0.2, MAPE > 12 %, within-10 % < 65 %, p99 > 200 ms). */
export const DEFAULT_ALERT_RULES: AlertRule[] = parseAlertRules([
  { name: "feature PSI major", metric: "psi", feature: "*", op: ">", threshold: 0.2 },
  { name: "dataset drift", metric: "dataset_drift", op: ">=", threshold: 1 },
  { name: "rolling MAPE high", metric: "mape", op: ">", threshold: 12 },
  { name: "within 10% low", metric: "within_10pct", op: "<", threshold: 65 },
  { name: "p99 latency high", metric: "latency_p99_ms", op: ">", threshold: 200 },
  {
    name: "prediction log dropping",
    metric: "prediction_log_dropped",
    op: ">",
    threshold: 0,
    severity: "critical",
  },
]);

function matches(rule: AlertRule, s: MetricSample): boolean {
  if (s.metric !== rule.metric) return false;
  const l = s.labels ?? {};
  if (
    rule.feature !== undefined &&
    (rule.feature === "*" ? l.feature === undefined : l.feature !== rule.feature)
  ) {
    return false;
  }
  if (rule.modelVersion !== undefined && l.model_version !== rule.modelVersion) return false;
  return true;
}

/** Evaluate every rule against every matching sample. */
export function evaluateAlerts(
  rules: readonly AlertRule[],
  snapshot: readonly MetricSample[],
  now = new Date(),
): FiredAlert[] {
  const out: FiredAlert[] = [];
  for (const rule of rules) {
    for (const s of snapshot) {
      if (!matches(rule, s) || Number.isNaN(s.value) || !OPS[rule.op](s.value, rule.threshold)) continue;
      const labels = { ...(s.labels ?? {}) };
      const lbl = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ");
      out.push({
        rule: rule.name,
        metric: s.metric,
        labels,
        value: s.value,
        op: rule.op,
        threshold: rule.threshold,
        severity: rule.severity,
        message: `${rule.name}: ${s.metric}${lbl ? `{${lbl}}` : ""} = ${Number(s.value.toPrecision(6))} ${rule.op} ${rule.threshold}`,
        at: now.toISOString(),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------- snapshot builders

export function snapshotFromDrift(r: DriftReport): MetricSample[] {
  const out: MetricSample[] = [
    { metric: "dataset_drift", value: r.datasetDrift ? 1 : 0 },
    { metric: "drift_share", value: r.share },
  ];
  for (const f of r.features) {
    out.push({ metric: "psi", value: f.psi, labels: { feature: f.name } });
    out.push({ metric: "drift_score", value: f.statistic, labels: { feature: f.name, test: f.test } });
    out.push({ metric: "drifted", value: f.drifted ? 1 : 0, labels: { feature: f.name } });
  }
  if (r.prediction) {
    out.push({ metric: "prediction_psi", value: r.prediction.psi });
    out.push({
      metric: "prediction_drift_score",
      value: r.prediction.statistic,
      labels: { test: r.prediction.test },
    });
    out.push({ metric: "prediction_drifted", value: r.prediction.drifted ? 1 : 0 });
  }
  return out;
}

export function snapshotFromAccuracy(a: AccuracyReport): MetricSample[] {
  const out: MetricSample[] = [];
  for (const v of a.versions) {
    const labels = { model_version: v.modelVersion };
    out.push({ metric: "mae", value: v.mae, labels });
    out.push({ metric: "mape", value: v.mape, labels });
    out.push({ metric: "wmape", value: v.wmape, labels });
    out.push({ metric: "within_10pct", value: v.within10pct, labels });
    out.push({ metric: "feedback_count", value: v.n, labels });
  }
  return out;
}

export function snapshotFromChecks(c: {
  prediction?: PredictionChecks;
  inputs?: InputCheck[];
  latency?: LatencyStats;
}): MetricSample[] {
  const out: MetricSample[] = [];
  if (c.prediction) {
    if (c.prediction.stdRatio !== null)
      out.push({ metric: "prediction_std_ratio", value: c.prediction.stdRatio });
    out.push({ metric: "prediction_out_of_range_share", value: c.prediction.outOfRangeShare });
  }
  for (const i of c.inputs ?? [])
    out.push({ metric: "input_out_of_range_share", value: i.share, labels: { feature: i.name } });
  if (c.latency && c.latency.n > 0) {
    out.push({ metric: "latency_p50_ms", value: c.latency.p50 });
    out.push({ metric: "latency_p99_ms", value: c.latency.p99 });
  }
  return out;
}

export function snapshotFromLog(s: PredictionLogStats): MetricSample[] {
  return [
    { metric: "prediction_log_dropped", value: s.dropped },
    { metric: "prediction_log_queued", value: s.queued },
  ];
}

// ---------------------------------------------------------------- sinks

export interface AlertSink {
  readonly name: string;
  send(alerts: readonly FiredAlert[]): Promise<void>;
}

const LEVEL: Record<AlertSeverity, number> = { info: 30, warning: 40, critical: 50 };

/** One pino-compatible JSON line per alert ({level, time, msg, alert}) on `stream` (default stderr). */
export function logSink(stream: NodeJS.WritableStream = process.stderr): AlertSink {
  return {
    name: "log",
    async send(alerts) {
      for (const a of alerts) {
        stream.write(
          `${JSON.stringify({ level: LEVEL[a.severity], time: Date.now(), msg: a.message, alert: a })}\n`,
        );
      }
    },
  };
}

export interface WebhookOptions {
  url: string;
  /** retries after the first attempt (default 3) */
  retries?: number;
  /** first backoff (default 250 ms); attempt k waits ~ base·2^k, capped by maxDelayMs, with equal jitter */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** per-attempt timeout (default 5,000 ms) */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** jitter source in [0, 1) (tests) */
  random?: () => number;
}

export class WebhookError extends Error {
  readonly attempts: number;
  readonly status: number | null;
  constructor(message: string, attempts: number, status: number | null) {
    super(message);
    this.name = "WebhookError";
    this.attempts = attempts;
    this.status = status;
  }
}

/** Delay before retry `attempt` (0-based): equal jitter on a capped exponential. */
export function backoffDelay(attempt: number, base: number, max: number, random: () => number): number {
  const d = Math.min(max, base * 2 ** attempt);
  return d / 2 + random() * (d / 2);
}

/** POST {alerts, sentAt} as JSON; retries network errors, timeouts, 408/429/5xx. Other 4xx fail at once. */
export function webhookSink(opts: WebhookOptions): AlertSink & { lastAttempts: number } {
  let parsed: URL;
  try {
    parsed = new URL(opts.url);
  } catch {
    throw new AlertConfigError(`webhook url is not a valid URL: ${JSON.stringify(opts.url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new AlertConfigError(`webhook url must be http(s): ${opts.url}`);
  }
  const retries = opts.retries ?? 3,
    base = opts.baseDelayMs ?? 250,
    max = opts.maxDelayMs ?? 10_000;
  const timeoutMs = opts.timeoutMs ?? 5_000,
    random = opts.random ?? Math.random;
  const sink = {
    name: "webhook",
    lastAttempts: 0,
    async send(alerts: readonly FiredAlert[]) {
      if (alerts.length === 0) return;
      const body = JSON.stringify({ alerts, sentAt: new Date().toISOString() });
      let lastErr = "";
      let lastStatus: number | null = null;
      for (let attempt = 0; attempt <= retries; attempt++) {
        sink.lastAttempts = attempt + 1;
        try {
          const res = await fetch(opts.url, {
            method: "POST",
            headers: { "content-type": "application/json", ...(opts.headers ?? {}) },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          await res.arrayBuffer().catch(() => undefined);
          if (res.ok) return;
          lastStatus = res.status;
          lastErr = `HTTP ${res.status}`;
          const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
          if (!retryable) break;
        } catch (e) {
          lastStatus = null;
          lastErr =
            (e as Error).name === "TimeoutError" ? `timeout after ${timeoutMs} ms` : (e as Error).message;
        }
        if (attempt < retries)
          await new Promise((r) => setTimeout(r, backoffDelay(attempt, base, max, random)));
      }
      throw new WebhookError(
        `webhook ${parsed.origin}${parsed.pathname} failed after ${sink.lastAttempts} attempt(s): ${lastErr}`,
        sink.lastAttempts,
        lastStatus,
      );
    },
  };
  return sink;
}

export interface DispatchResult {
  sink: string;
  ok: boolean;
  error?: string;
}

/** Send to every sink; one failing sink never stops the others (failures are returned, not thrown). */
export async function dispatchAlerts(
  alerts: readonly FiredAlert[],
  sinks: readonly AlertSink[],
): Promise<DispatchResult[]> {
  return Promise.all(
    sinks.map(async (s) => {
      try {
        await s.send(alerts);
        return { sink: s.name, ok: true };
      } catch (e) {
        return { sink: s.name, ok: false, error: (e as Error).message };
      }
    }),
  );
}
