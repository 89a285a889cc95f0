/**
 * The `monitoring:` section of the pipeline config turned into the options of this module's functions — one
 * place, used by `mlops serve` (prediction log, routes, schedule), `mlops drift` and `mlops monitor`.
 */
import type { PipelineConfig } from "../config/schema.ts";
import {
  type AlertRule,
  type AlertSink,
  DEFAULT_ALERT_RULES,
  parseAlertRules,
  webhookSink,
} from "./alerts.ts";
import type { DriftOptions } from "./drift.ts";
import { parseDurationMs } from "./duration.ts";
import type { PredictionLogOptions } from "./prediction-log.ts";

export interface MonitoringSettings {
  enabled: boolean;
  logPredictions: boolean;
  log: PredictionLogOptions;
  windowMs: number;
  accuracyWindowMs: number;
  intervalMs: number;
  minRows: number;
  maxWindowRows: number;
  drift: DriftOptions;
  rules: AlertRule[];
  /** the webhook sink when monitoring.webhook.url is set (callers add their own log sink) */
  sinks: AlertSink[];
}

export function monitoringSettings(c: PipelineConfig, home: string): MonitoringSettings {
  const m = c.monitoring;
  const d = m.drift;
  const sinks: AlertSink[] = [];
  if (m.webhook.url) {
    sinks.push(
      webhookSink({ url: m.webhook.url, retries: m.webhook.retries, timeoutMs: m.webhook.timeout_ms }),
    );
  }
  return {
    enabled: m.enabled,
    logPredictions: m.enabled && m.log_predictions,
    log: {
      home,
      capacity: m.queue_capacity,
      batchSize: m.batch_size,
      flushIntervalMs: m.flush_interval_ms,
      ...(m.retention_days !== null ? { retentionDays: m.retention_days } : {}),
    },
    windowMs: parseDurationMs(m.window, "monitoring.window"),
    accuracyWindowMs: parseDurationMs(m.accuracy_window, "monitoring.accuracy_window"),
    intervalMs: m.interval_seconds * 1000,
    minRows: m.min_rows,
    maxWindowRows: m.max_window_rows,
    drift: {
      driftShare: d.share,
      smallSampleLimit: d.small_sample_limit,
      psiThresholds: [d.psi_warn, d.psi_alert],
      thresholds: {
        ks: d.ks_p_value,
        chisquare: d.chisquare_p_value,
        z: d.z_p_value,
        wasserstein: d.wasserstein,
        jensenshannon: d.jensen_shannon,
        psi: d.psi_warn,
      },
    },
    rules: m.alerts === null ? DEFAULT_ALERT_RULES : parseAlertRules(m.alerts, "monitoring.alerts"),
    sinks,
  };
}
