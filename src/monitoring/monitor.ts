/**
 * One monitoring pass over the prediction log — what `mlops monitor` runs on a schedule and what
 * `GET /api/v1/monitoring/*` can serve: drift of the window vs the reference, rolling accuracy from feedback,
 * prediction/input/latency checks, alert rules → sinks, and (optionally) the Prometheus gauges.
 */
import {
  evaluateAlerts,
  type AlertRule,
  type AlertSink,
  type DispatchResult,
  dispatchAlerts,
  type FiredAlert,
  type MetricSample,
  snapshotFromAccuracy,
  snapshotFromChecks,
  snapshotFromDrift,
  snapshotFromLog,
} from "./alerts.ts";
import {
  type InputCheck,
  inputChecks,
  type LatencyStats,
  latencyStats,
  type PredictionChecks,
  predictionChecks,
} from "./checks.ts";
import { computeDrift, type DriftOptions, type DriftReport } from "./drift.ts";
import type { MonitoringMetrics } from "./metrics.ts";
import type { AccuracyReport, PredictionLog } from "./prediction-log.ts";
import type { ReferenceProfile } from "./reference.ts";

export interface MonitorPassOptions {
  log: PredictionLog;
  reference: ReferenceProfile;
  /** drift / checks window length (default 24 h) */
  windowMs?: number;
  /** accuracy window length (default 7 days) */
  accuracyWindowMs?: number;
  modelVersion?: string;
  /** categorical input for the accuracy breakdown (default "ocean_proximity" when the reference has it) */
  accuracyBy?: string;
  /** skip the drift test below this many logged predictions (default 100; Evidently #509) */
  minRows?: number;
  drift?: DriftOptions;
  rules?: readonly AlertRule[];
  sinks?: readonly AlertSink[];
  metrics?: MonitoringMetrics;
  now?: () => number;
}

export interface MonitorPassResult {
  at: string;
  window: { sinceMs: number; untilMs: number; n: number };
  drift: DriftReport | null;
  /** why drift was skipped, if it was */
  driftSkipped?: string;
  accuracy: AccuracyReport;
  checks: { prediction: PredictionChecks | null; inputs: InputCheck[]; latency: LatencyStats };
  snapshot: MetricSample[];
  alerts: FiredAlert[];
  dispatch: DispatchResult[];
}

export async function runMonitorPass(o: MonitorPassOptions): Promise<MonitorPassResult> {
  const now = (o.now ?? Date.now)();
  const until = now + 1;
  const since = until - (o.windowMs ?? 86_400_000);
  const mv = o.modelVersion !== undefined ? { modelVersion: o.modelVersion } : {};
  await o.log.flush();
  const w = o.log.window(since, until, mv);
  const minRows = o.minRows ?? 100;
  let drift: DriftReport | null = null;
  let driftSkipped: string | undefined;
  if (w.n >= minRows)
    drift = computeDrift(o.reference, w.inputs, { ...(o.drift ?? {}), predictions: w.predictions });
  else driftSkipped = `only ${w.n} logged predictions in the window (< ${minRows})`;
  const by =
    o.accuracyBy ??
    (o.reference.features.some((f) => f.name === "ocean_proximity") ? "ocean_proximity" : undefined);
  const accuracy = o.log.accuracy({
    sinceMs: until - (o.accuracyWindowMs ?? 7 * 86_400_000),
    untilMs: until,
    ...mv,
    ...(by ? { by } : {}),
  });
  const checks = {
    prediction: w.n > 0 ? predictionChecks(o.reference, w.predictions) : null,
    inputs: w.n > 0 ? inputChecks(o.reference, w.inputs) : [],
    latency: latencyStats(w.latencyMs),
  };
  const snapshot = [
    ...(drift ? snapshotFromDrift(drift) : []),
    ...snapshotFromAccuracy(accuracy),
    ...snapshotFromChecks({
      ...(checks.prediction ? { prediction: checks.prediction } : {}),
      inputs: checks.inputs,
      latency: checks.latency,
    }),
    ...snapshotFromLog(o.log.stats()),
  ];
  const alerts = evaluateAlerts(o.rules ?? [], snapshot, new Date(now));
  const dispatch = alerts.length > 0 && o.sinks ? await dispatchAlerts(alerts, o.sinks) : [];
  if (o.metrics) {
    if (drift) o.metrics.updateDrift(drift);
    o.metrics.updateAccuracy(accuracy);
    o.metrics.updateChecks({
      ...(checks.prediction ? { prediction: checks.prediction } : {}),
      inputs: checks.inputs,
    });
    o.metrics.updateLog(o.log.stats());
  }
  return {
    at: new Date(now).toISOString(),
    window: { sinceMs: since, untilMs: until, n: w.n },
    drift,
    ...(driftSkipped ? { driftSkipped } : {}),
    accuracy,
    checks,
    snapshot,
    alerts,
    dispatch,
  };
}
