/**
 * Prometheus metrics, one registry per app instance (tests can run many apps in one process).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry, Summary } from "prom-client";
import type { Frame } from "../data/frame.ts";
import type { LoaderEvent } from "./loader.ts";

export interface ServingMetrics {
  registry: Registry;
  requestDuration: Histogram<"method" | "route" | "status_code">;
  requests: Counter<"method" | "route" | "status_code">;
  predictionValue: Histogram;
  predictionsTotal: Counter<"route">;
  inputFeature: Summary<"feature">;
  inputCategory: Counter<"feature" | "category">;
  modelInfo: Gauge<"name" | "version" | "source">;
  loadEvents: Counter<"source" | "outcome" | "trigger">;
  breakerState: Gauge<"source">;
  onLoaderEvent(e: LoaderEvent): void;
  setModel(name: string, version: string, source: string): void;
  /** Observe inputs + outputs of a batch (call off the response path). At most `maxRows` rows, strided. */
  observeBatch(route: string, frame: Frame, predictions: Float64Array, maxRows?: number): void;
}

const BREAKER_VALUE = { closed: 0, open: 1, half_open: 2, isolated: 3 } as const;

export function createMetrics(
  opts: { defaultMetrics?: boolean; predictionBuckets?: number[] } = {},
): ServingMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Request latency by route and status",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const requests = new Counter({
    name: "http_requests_total",
    help: "Requests by route and status",
    labelNames: ["method", "route", "status_code"] as const,
    registers: [registry],
  });
  const predictionValue = new Histogram({
    name: "model_prediction_value",
    help: "Distribution of predicted values (target units)",
    buckets: opts.predictionBuckets ?? [
      50e3, 100e3, 150e3, 200e3, 250e3, 300e3, 350e3, 400e3, 450e3, 500e3, 600e3,
    ],
    registers: [registry],
  });
  const predictionsTotal = new Counter({
    name: "model_predictions_total",
    help: "Rows predicted",
    labelNames: ["route"] as const,
    registers: [registry],
  });
  const inputFeature = new Summary({
    name: "model_input_feature_value",
    help: "Sliding-window quantiles of numeric input features (sampled rows)",
    labelNames: ["feature"] as const,
    percentiles: [0.05, 0.5, 0.95],
    maxAgeSeconds: 600,
    ageBuckets: 5,
    registers: [registry],
  });
  const inputCategory = new Counter({
    name: "model_input_category_total",
    help: "Categorical input values seen (sampled rows)",
    labelNames: ["feature", "category"] as const,
    registers: [registry],
  });
  const modelInfo = new Gauge({
    name: "model_info",
    help: "The model being served (value 1)",
    labelNames: ["name", "version", "source"] as const,
    registers: [registry],
  });
  const loadEvents = new Counter({
    name: "model_load_events_total",
    help: "Model load/reload attempts by outcome (success, failure, rejected, unchanged)",
    labelNames: ["source", "outcome", "trigger"] as const,
    registers: [registry],
  });
  const breakerState = new Gauge({
    name: "model_source_circuit_state",
    help: "Circuit breaker per model source: 0 closed, 1 open, 2 half-open, 3 isolated",
    labelNames: ["source"] as const,
    registers: [registry],
  });

  return {
    registry,
    requestDuration,
    requests,
    predictionValue,
    predictionsTotal,
    inputFeature,
    inputCategory,
    modelInfo,
    loadEvents,
    breakerState,
    onLoaderEvent(e) {
      if (e.type === "load") loadEvents.inc({ source: e.source, outcome: e.outcome, trigger: e.trigger });
      else breakerState.set({ source: e.source }, BREAKER_VALUE[e.state]);
    },
    setModel(name, version, source) {
      modelInfo.reset();
      modelInfo.set({ name, version, source }, 1);
    },
    observeBatch(route, frame, predictions, maxRows = 256) {
      const n = predictions.length;
      predictionsTotal.inc({ route }, n);
      const step = n <= maxRows ? 1 : Math.ceil(n / maxRows);
      for (let i = 0; i < n; i += step) predictionValue.observe(predictions[i]);
      for (const c of frame.columns) {
        if (c.kind === "numeric") {
          const child = inputFeature.labels({ feature: c.name });
          for (let i = 0; i < n; i += step) {
            const v = c.values[i];
            if (!Number.isNaN(v)) child.observe(v);
          }
        } else {
          const counts = new Map<number, number>();
          for (let i = 0; i < n; i += step) counts.set(c.codes[i], (counts.get(c.codes[i]) ?? 0) + 1);
          for (const [code, k] of counts) {
            inputCategory.inc({ feature: c.name, category: code < 0 ? "(missing)" : c.levels[code] }, k);
          }
        }
      }
    },
  };
}
