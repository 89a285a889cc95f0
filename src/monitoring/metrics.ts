/**
 * Prometheus gauges for monitoring results, registered on the serving app's registry (prom-client), so
 * `/metrics` exports them next to the HTTP metrics. The names are the contract used by
 * deploy/prometheus/alerts.yml and docs/monitoring.md.
 */
import { Gauge, type Registry } from "prom-client";
import type { InputCheck, LatencyStats, PredictionChecks } from "./checks.ts";
import type { DriftReport } from "./drift.ts";
import type { AccuracyReport, PredictionLogStats } from "./prediction-log.ts";

export const MONITORING_METRIC_NAMES = [
  "mlops_feature_psi",
  "mlops_feature_drift_score",
  "mlops_feature_drifted",
  "mlops_dataset_drift",
  "mlops_drift_share",
  "mlops_prediction_psi",
  "mlops_prediction_drifted",
  "mlops_drift_last_run_timestamp_seconds",
  "mlops_accuracy_mae",
  "mlops_accuracy_mape",
  "mlops_accuracy_wmape",
  "mlops_accuracy_within_10pct",
  "mlops_feedback_count",
  "mlops_prediction_std_ratio",
  "mlops_prediction_out_of_range_share",
  "mlops_input_out_of_range_share",
  "mlops_prediction_log_dropped",
  "mlops_prediction_log_queue_length",
  "mlops_prediction_log_written",
] as const;

export interface MonitoringMetrics {
  updateDrift(report: DriftReport): void;
  updateAccuracy(acc: AccuracyReport): void;
  updateChecks(c: { prediction?: PredictionChecks; inputs?: InputCheck[]; latency?: LatencyStats }): void;
  updateLog(stats: PredictionLogStats): void;
}

/** Register the monitoring gauges on `registry` (call once per registry). */
export function createMonitoringMetrics(registry: Registry): MonitoringMetrics {
  const g = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });
  const psi = g("mlops_feature_psi", "PSI of each input feature vs the reference profile", ["feature"]);
  const score = g(
    "mlops_feature_drift_score",
    "Drift test score per feature (p-value for ks/chisquare/z, distance for wasserstein/jensenshannon)",
    ["feature", "test"],
  );
  const drifted = g("mlops_feature_drifted", "1 when the feature's drift test fired", ["feature"]);
  const dataset = g("mlops_dataset_drift", "1 when the share of drifted features ≥ drift_share");
  const share = g("mlops_drift_share", "Share of drifted features");
  const predPsi = g("mlops_prediction_psi", "PSI of the predictions vs the reference predictions");
  const predDrifted = g("mlops_prediction_drifted", "1 when the prediction drift test fired");
  const lastRun = g("mlops_drift_last_run_timestamp_seconds", "Unix time of the last drift check");
  const mae = g("mlops_accuracy_mae", "Rolling MAE of predictions with feedback", ["model_version"]);
  const mape = g("mlops_accuracy_mape", "Rolling MAPE (%) of predictions with feedback", ["model_version"]);
  const wmape = g("mlops_accuracy_wmape", "Rolling wMAPE (%) of predictions with feedback", [
    "model_version",
  ]);
  const within = g(
    "mlops_accuracy_within_10pct",
    "Rolling share (%) of predictions within ±10 % of the actual",
    ["model_version"],
  );
  const fb = g("mlops_feedback_count", "Predictions with feedback in the accuracy window", ["model_version"]);
  const stdRatio = g(
    "mlops_prediction_std_ratio",
    "Std of current predictions / std of reference predictions",
  );
  const oor = g(
    "mlops_prediction_out_of_range_share",
    "Share of predictions outside the training target range",
  );
  const inOor = g(
    "mlops_input_out_of_range_share",
    "Share of input values outside the training range / unseen",
    ["feature"],
  );
  const dropped = g(
    "mlops_prediction_log_dropped",
    "Prediction-log records dropped because the queue was full",
  );
  const queue = g("mlops_prediction_log_queue_length", "Prediction-log records waiting to be written");
  const written = g("mlops_prediction_log_written", "Prediction-log records written since start");
  const set = (gauge: Gauge<string>, v: number, labels?: Record<string, string>) => {
    if (Number.isFinite(v)) {
      if (labels) gauge.set(labels, v);
      else gauge.set(v);
    }
  };
  return {
    updateDrift(r) {
      psi.reset();
      score.reset();
      drifted.reset();
      for (const f of r.features) {
        set(psi, f.psi, { feature: f.name });
        set(score, f.statistic, { feature: f.name, test: f.test });
        set(drifted, f.drifted ? 1 : 0, { feature: f.name });
      }
      set(dataset, r.datasetDrift ? 1 : 0);
      set(share, r.share);
      if (r.prediction) {
        set(predPsi, r.prediction.psi);
        set(predDrifted, r.prediction.drifted ? 1 : 0);
      }
      set(lastRun, Date.parse(r.computedAt) / 1000);
    },
    updateAccuracy(a) {
      for (const gauge of [mae, mape, wmape, within, fb]) gauge.reset();
      for (const v of a.versions) {
        const l = { model_version: v.modelVersion };
        set(mae, v.mae, l);
        set(mape, v.mape, l);
        set(wmape, v.wmape, l);
        set(within, v.within10pct, l);
        set(fb, v.n, l);
      }
    },
    updateChecks(c) {
      if (c.prediction) {
        if (c.prediction.stdRatio !== null) set(stdRatio, c.prediction.stdRatio);
        set(oor, c.prediction.outOfRangeShare);
      }
      if (c.inputs) {
        inOor.reset();
        for (const i of c.inputs) set(inOor, i.share, { feature: i.name });
      }
    },
    updateLog(s) {
      set(dropped, s.dropped);
      set(queue, s.queued);
      set(written, s.written);
    },
  };
}
