/**
 * Prometheus metrics, one registry per app instance (tests can run many apps in one process).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type Frame, sameLevels } from "../data/frame.ts";
import type { LoaderEvent } from "./loader.ts";

export interface ServingMetrics {
  registry: Registry;
  requestDuration: Histogram<"method" | "route" | "status_code">;
  requests: Counter<"method" | "route" | "status_code">;
  predictionValue: Histogram;
  predictionsTotal: Counter<"route">;
  inputFeature: Gauge<"quantile" | "feature">;
  inputCategory: Counter<"feature" | "category">;
  modelInfo: Gauge<"name" | "version" | "source">;
  loadEvents: Counter<"source" | "outcome" | "trigger">;
  breakerState: Gauge<"source">;
  onLoaderEvent(e: LoaderEvent): void;
  setModel(name: string, version: string, source: string): void;
  /** Count a finished request and observe its duration (http_requests_total, http_request_duration_seconds). */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void;
  /** Observe inputs + outputs of a batch (call off the response path). At most `maxRows` rows, strided. */
  observeBatch(route: string, frame: Frame, predictions: Float64Array, maxRows?: number): void;
}

const WINDOW_CAPACITY = 4096;
const WINDOW_MAX_AGE_MS = 600_000;

/** The last `capacity` values (with their times) of one feature; quantiles of those younger than maxAge. */
export class SlidingWindow {
  private readonly values: Float64Array;
  private readonly times: Float64Array;
  private next = 0;
  private size = 0;
  constructor(
    readonly capacity: number,
    readonly maxAgeMs: number,
  ) {
    this.values = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
  }
  push(v: number, t: number): void {
    this.values[this.next] = v;
    this.times[this.next] = t;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }
  /** Linear-interpolated quantiles (numpy "linear") of the live values; null when there are none. */
  quantiles(ps: readonly number[], now: number): number[] | null {
    const live: number[] = [];
    for (let i = 0; i < this.size; i++) if (now - this.times[i] <= this.maxAgeMs) live.push(this.values[i]);
    if (live.length === 0) return null;
    const s = Float64Array.from(live).sort();
    return ps.map((p) => {
      const h = (s.length - 1) * p;
      const lo = Math.floor(h);
      return lo + 1 < s.length ? s[lo] + (h - lo) * (s[lo + 1] - s[lo]) : s[lo];
    });
  }
}

/** Whether every sampled code is a level or missing (-1): anything else takes the general path. */
function codesInRange(codes: Int32Array, nLevels: number, n: number, step: number): boolean {
  for (let i = 0; i < n; i += step) if (codes[i] < -1 || codes[i] >= nLevels) return false;
  return true;
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
  // Quantiles of numeric inputs over a sliding window, computed at scrape time from a ring buffer per feature.
  // (prom-client's Summary keeps one t-digest per age bucket: ~1 µs per observation × features × rows, on the
  // serving thread; a ring-buffer write is a few ns.)
  const windows = new Map<string, SlidingWindow>();
  const inputFeature = new Gauge({
    name: "model_input_feature_value",
    help: `Quantiles (0.05, 0.5, 0.95) of numeric input features: the last ${WINDOW_CAPACITY} sampled values within ${WINDOW_MAX_AGE_MS / 60_000} minutes`,
    labelNames: ["quantile", "feature"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const [feature, w] of windows) {
        const q = w.quantiles([0.05, 0.5, 0.95], now);
        if (!q) continue;
        this.set({ quantile: "0.05", feature }, q[0]);
        this.set({ quantile: "0.5", feature }, q[1]);
        this.set({ quantile: "0.95", feature }, q[2]);
      }
    },
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

  // Label objects reused across requests (prom-client keeps the first one it sees for a series, never changes
  // it): one per (route, method, status) and per categorical level, instead of one object per observation.
  // (Bounded: routes are the app's route patterns or "unmatched", methods those Node's HTTP parser accepts.)
  type HttpLabels = Readonly<Record<"method" | "route" | "status_code", string>>;
  const httpLabels = new Map<string, Map<string, Map<number, HttpLabels>>>();
  const httpLabelsOf = (method: string, route: string, statusCode: number): HttpLabels => {
    let byMethod = httpLabels.get(route);
    if (!byMethod) httpLabels.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let labels = byStatus.get(statusCode);
    if (!labels) {
      labels = Object.freeze({ method, route, status_code: String(statusCode) });
      byStatus.set(statusCode, labels);
    }
    return labels;
  };
  /** Per categorical column (by its levels array): label objects by code + 1 (0 = missing) and a count scratch. */
  interface CategoryLabels {
    name: string;
    levels: string[];
    labels: Readonly<Record<"feature" | "category", string>>[];
    counts: Float64Array;
  }
  const categoryLabels = new WeakMap<readonly string[], CategoryLabels>();
  const categoryLabelsOf = (name: string, levels: readonly string[]): CategoryLabels => {
    const hit = categoryLabels.get(levels);
    if (hit && hit.name === name && sameLevels(hit.levels, levels)) return hit;
    const labels: CategoryLabels["labels"] = [Object.freeze({ feature: name, category: "(missing)" })];
    for (const level of levels) labels.push(Object.freeze({ feature: name, category: level }));
    const entry = { name, levels: levels.slice(), labels, counts: new Float64Array(levels.length + 1) };
    categoryLabels.set(levels, entry);
    return entry;
  };
  const routeLabels = new Map<string, Readonly<Record<"route", string>>>();

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
    observeRequest(method, route, statusCode, seconds) {
      const labels = httpLabelsOf(method, route, statusCode);
      requestDuration.observe(labels, seconds);
      requests.inc(labels);
    },
    observeBatch(route, frame, predictions, maxRows = 256) {
      const n = predictions.length;
      let rl = routeLabels.get(route);
      if (!rl) routeLabels.set(route, (rl = Object.freeze({ route })));
      predictionsTotal.inc(rl, n);
      const step = n <= maxRows ? 1 : Math.ceil(n / maxRows);
      for (let i = 0; i < n; i += step) predictionValue.observe(predictions[i]);
      for (const c of frame.columns) {
        if (c.kind === "numeric") {
          let w = windows.get(c.name);
          if (!w) windows.set(c.name, (w = new SlidingWindow(WINDOW_CAPACITY, WINDOW_MAX_AGE_MS)));
          const now = Date.now();
          for (let i = 0; i < n; i += step) {
            const v = c.values[i];
            if (!Number.isNaN(v)) w.push(v, now);
          }
        } else if (codesInRange(c.codes, c.levels.length, n, step)) {
          // count the sampled rows per code (missing → slot 0), then increment each seen category once, in
          // first-seen order
          const { labels, counts } = categoryLabelsOf(c.name, c.levels);
          try {
            for (let i = 0; i < n; i += step) counts[c.codes[i] + 1]++;
            for (let i = 0; i < n; i += step) {
              const s = c.codes[i] + 1;
              if (counts[s] === 0) continue;
              inputCategory.inc(labels[s], counts[s]);
              counts[s] = 0;
            }
          } finally {
            counts.fill(0); // (already all zero unless inc threw) the scratch must start clean next time
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
