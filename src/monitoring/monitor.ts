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
import { inThreadAnalyser, type LogCounts, type WindowAnalyser, type WindowChecks } from "./analysis.ts";
import type { DriftOptions, DriftReport } from "./drift.ts";
import type { MonitoringMetrics } from "./metrics.ts";
import type { AccuracyReport, PredictionLog } from "./prediction-log.ts";
import type { ReferenceProfile } from "./reference.ts";

/** Rows of a window a pass reads at most (an even sample above it): bounded memory whatever the traffic. */
export const DEFAULT_MAX_WINDOW_ROWS = 200_000;

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
  /** read at most this many rows of the window, an even sample above it (default 200,000) */
  maxRows?: number;
  drift?: DriftOptions;
  rules?: readonly AlertRule[];
  sinks?: readonly AlertSink[];
  metrics?: MonitoringMetrics;
  now?: () => number;
  /** where the window is read and analysed (default: on this thread; a server passes its AnalysisThread) */
  analyse?: WindowAnalyser;
  /** also count the whole log's predictions and feedback per model version (`counts` in the result) */
  counts?: boolean;
}

export interface MonitorPassResult {
  at: string;
  /** n = rows logged in the window; analysed = rows read (an even sample when n > maxRows) */
  window: { sinceMs: number; untilMs: number; n: number; analysed: number };
  drift: DriftReport | null;
  /** why drift was skipped, if it was */
  driftSkipped?: string;
  accuracy: AccuracyReport;
  checks: WindowChecks;
  /** with `counts`: the whole log's predictions and feedback per model version */
  counts?: LogCounts;
  snapshot: MetricSample[];
  alerts: FiredAlert[];
  dispatch: DispatchResult[];
}

export async function runMonitorPass(o: MonitorPassOptions): Promise<MonitorPassResult> {
  const now = (o.now ?? Date.now)();
  const until = now + 1;
  const since = until - (o.windowMs ?? 86_400_000);
  const minRows = o.minRows ?? 100;
  const by =
    o.accuracyBy ??
    (o.reference.features.some((f) => f.name === "ocean_proximity") ? "ocean_proximity" : undefined);
  const analyse = o.analyse ?? inThreadAnalyser(o.log);
  const a = await analyse(o.reference, {
    sinceMs: since,
    untilMs: until,
    ...(o.modelVersion !== undefined ? { modelVersion: o.modelVersion } : {}),
    minRows,
    maxRows: o.maxRows ?? DEFAULT_MAX_WINDOW_ROWS,
    ...(o.drift ? { drift: o.drift } : {}),
    accuracy: {
      sinceMs: until - (o.accuracyWindowMs ?? 7 * 86_400_000),
      untilMs: until,
      ...(by ? { by } : {}),
    },
    checks: true,
    ...(o.counts ? { counts: true } : {}),
  });
  const drift = a.drift;
  const driftSkipped = a.driftSkipped;
  const accuracy = a.accuracy!;
  const checks = a.checks!;
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
    window: { sinceMs: since, untilMs: until, n: a.window.n, analysed: a.window.analysed },
    drift,
    ...(driftSkipped ? { driftSkipped } : {}),
    accuracy,
    checks,
    ...(a.counts ? { counts: a.counts } : {}),
    snapshot,
    alerts,
    dispatch,
  };
}
