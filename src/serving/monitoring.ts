/**
 * Production monitoring inside the serving app: every prediction goes to the prediction log (asynchronously,
 * after the response), feedback comes in through `POST /api/v1/feedback[/batch]`, drift and the whole
 * monitoring picture are served by `GET /api/v1/monitoring/{drift,summary}`, and a periodic pass updates the
 * `mlops_*` gauges and sends fired alerts to the sinks. The statistics live in src/monitoring; this file is
 * only the HTTP surface and the schedule.
 */
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { Type } from "typebox";
import type { AlertRule, AlertSink, FiredAlert } from "../monitoring/alerts.ts";
import { AnalysisThread, inThreadAnalyser, type WindowAnalyser } from "../monitoring/analysis.ts";
import type { DriftOptions, DriftReport } from "../monitoring/drift.ts";
import { DurationError, parseDurationMs } from "../monitoring/duration.ts";
import { createMonitoringMetrics, type MonitoringMetrics } from "../monitoring/metrics.ts";
import { DEFAULT_MAX_WINDOW_ROWS, type MonitorPassResult, runMonitorPass } from "../monitoring/monitor.ts";
import {
  NotFoundError,
  type PredictionLog,
  predictionLogHook,
  ValidationError,
} from "../monitoring/prediction-log.ts";
import type { ReferenceProfile } from "../monitoring/reference.ts";
import { renderDriftHtml } from "../monitoring/report-html.ts";
import { ApiError } from "./app.ts";
import type { ModelManager } from "./loader.ts";
import type { PredictionLogEntry } from "./types.ts";

export interface ServingMonitoringOptions {
  /** The prediction log (own SQLite file). The app closes it on shutdown unless `closeLog` is false. */
  log: PredictionLog;
  /** Log every served prediction (default true); feedback and the monitoring routes work either way. */
  logPredictions?: boolean;
  /** Reference profile of a served model version (null when none is known, e.g. a model loaded from a file). */
  reference: (model: { name: string; version: string }) => Promise<ReferenceProfile | null>;
  /** Default drift/check window (default 24 h). */
  windowMs?: number;
  /** Rolling accuracy window (default 7 days). */
  accuracyWindowMs?: number;
  /** No drift verdict below this many logged predictions in the window (default 100). */
  minRows?: number;
  /** Drift/check windows read at most this many rows, an even sample above it (default 200,000). */
  maxWindowRows?: number;
  drift?: DriftOptions;
  rules?: readonly AlertRule[];
  sinks?: readonly AlertSink[];
  /** Run a monitoring pass (gauges + alert dispatch) every N ms; 0/undefined = only on request. */
  intervalMs?: number;
  /**
   * Reuse a computed summary / drift answer for the same (window, version) this long (default 10 s): dashboards
   * poll, and a 1 M-prediction window takes ~2 s to analyse.
   */
  cacheMs?: number;
  /**
   * Where windows are read and analysed (default "thread": an analysis thread with its own read connection, so
   * the serving event loop is never blocked by a drift computation; "inline": on the serving thread).
   */
  analysis?: "thread" | "inline";
  closeLog?: boolean;
}

/** The onPrediction hook that queues served predictions on the log (undefined when logging is off). */
export function monitoringPredictionHook(
  opts: ServingMonitoringOptions,
): ((entry: PredictionLogEntry) => void) | undefined {
  return (opts.logPredictions ?? true) ? predictionLogHook(opts.log) : undefined;
}

export interface ServingMonitoring {
  /** Last scheduled pass, summarised for /health/deep. */
  driftStatus(): unknown;
  /** Run one pass now (with alert dispatch), as the schedule does. */
  runPass(): Promise<MonitorPassResult | null>;
}

const MAX_FEEDBACK_BATCH = 10_000;

const feedbackBody = Type.Object(
  {
    prediction_id: Type.String({ minLength: 1, maxLength: 200 }),
    actual: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);
const feedbackBatchBody = Type.Object(
  { items: Type.Array(feedbackBody, { minItems: 1, maxItems: MAX_FEEDBACK_BATCH }) },
  { additionalProperties: false },
);
const windowQuery = Type.Object(
  {
    window: Type.Optional(Type.String({ maxLength: 32 })),
    model_version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    format: Type.Optional(Type.String({ enum: ["json", "html"] })),
  },
  { additionalProperties: false },
);

function summariseAlerts(alerts: FiredAlert[]) {
  return alerts.map((a) => ({
    rule: a.rule,
    severity: a.severity,
    metric: a.metric,
    labels: a.labels,
    value: a.value,
    op: a.op,
    threshold: a.threshold,
    message: a.message,
    at: a.at,
  }));
}

/** Register the feedback and monitoring routes and the periodic pass on the serving app. */
export function registerMonitoring(
  fastify: FastifyInstance,
  opts: ServingMonitoringOptions,
  ctx: { manager: ModelManager; registry: Registry; clock: () => number },
): ServingMonitoring {
  const { log } = opts;
  const metrics: MonitoringMetrics = createMonitoringMetrics(ctx.registry);
  const thread = (opts.analysis ?? "thread") === "thread" ? new AnalysisThread(log) : null;
  const analyse: WindowAnalyser = thread ? thread.analyser() : inThreadAnalyser(log);
  const windowMs = opts.windowMs ?? 86_400_000;
  const minRows = opts.minRows ?? 100;
  const maxRows = opts.maxWindowRows ?? DEFAULT_MAX_WINDOW_ROWS;
  const profiles = new Map<string, Promise<ReferenceProfile | null>>();
  const cacheMs = opts.cacheMs ?? 10_000;
  const answers = new Map<string, { at: number; value: Promise<unknown> }>();
  /** Memoise an expensive answer for cacheMs (a failed computation is not kept). */
  const cached = <T>(key: string, compute: () => Promise<T>): Promise<T> => {
    const now = ctx.clock();
    const hit = answers.get(key);
    if (hit && now - hit.at < cacheMs) return hit.value as Promise<T>;
    const value = compute();
    answers.set(key, { at: now, value });
    value.catch(() => answers.delete(key));
    if (answers.size > 64) answers.delete(answers.keys().next().value as string);
    return value;
  };

  const served = () => {
    const cur = ctx.manager.current;
    if (!cur) throw new ApiError(503, "no model loaded");
    return cur.model;
  };
  /** The reference profile of a version, looked up once (a failed lookup is retried next time). */
  const profileFor = (name: string, version: string): Promise<ReferenceProfile | null> => {
    const key = `${name}\u0000${version}`;
    let p = profiles.get(key);
    if (!p) {
      p = opts.reference({ name, version });
      profiles.set(key, p);
      p.catch(() => profiles.delete(key));
    }
    return p;
  };
  const referenceFor = async (name: string, version: string): Promise<ReferenceProfile> => {
    const prof = await profileFor(name, version);
    if (!prof) {
      throw new ApiError(
        404,
        `no drift reference profile for model ${name} version ${version} (profiles are stored with models registered by the pipeline)`,
      );
    }
    return prof;
  };
  const windowOf = (q: { window?: string }): number => {
    if (q.window === undefined) return windowMs;
    try {
      return parseDurationMs(q.window, "window");
    } catch (e) {
      if (e instanceof DurationError)
        throw new ApiError(422, e.message, [
          { loc: ["query", "window"], msg: e.message, type: "value_error", input: q.window },
        ]);
      throw e;
    }
  };
  const passOptions = (reference: ReferenceProfile, version: string, winMs: number) => ({
    log,
    reference,
    windowMs: winMs,
    ...(opts.accuracyWindowMs !== undefined ? { accuracyWindowMs: opts.accuracyWindowMs } : {}),
    modelVersion: version,
    minRows,
    maxRows,
    ...(opts.drift ? { drift: opts.drift } : {}),
    rules: opts.rules ?? [],
    metrics,
    now: ctx.clock,
    analyse,
  });

  // ------------------------------------------------------------ feedback
  const feedbackError = (e: unknown, loc: (string | number)[]): never => {
    if (e instanceof NotFoundError) throw new ApiError(404, e.message);
    if (e instanceof ValidationError) {
      throw new ApiError(422, e.message, [{ loc: [...loc, e.field], msg: e.message, type: "value_error" }]);
    }
    throw e;
  };
  fastify.post(
    "/api/v1/feedback",
    {
      schema: {
        tags: ["monitoring"],
        description:
          "Observed value for a served prediction (id from the predict response). Idempotent: 200 with status created | unchanged | updated (a different value replaces the previous one). 404 unknown prediction id, 422 invalid body.",
        body: feedbackBody,
      },
    },
    async (req) => {
      const b = req.body as { prediction_id: string; actual: number };
      try {
        const r = await log.recordFeedback(b.prediction_id, b.actual);
        return {
          status: r.status,
          prediction_id: r.predictionId,
          actual: r.actual,
          ...(r.previous !== undefined ? { previous: r.previous } : {}),
        };
      } catch (e) {
        return feedbackError(e, ["body"]);
      }
    },
  );
  fastify.post(
    "/api/v1/feedback/batch",
    {
      schema: {
        tags: ["monitoring"],
        description: `Up to ${MAX_FEEDBACK_BATCH} feedback items. 200 with one result per item (status created | unchanged | updated | not_found); 422 when any item is invalid (nothing recorded).`,
        body: feedbackBatchBody,
      },
    },
    async (req) => {
      const items = (req.body as { items: { prediction_id: string; actual: number }[] }).items;
      const results: Record<string, unknown>[] = [];
      const counts: Record<string, number> = { created: 0, unchanged: 0, updated: 0, not_found: 0 };
      for (let i = 0; i < items.length; i++) {
        try {
          const r = await log.recordFeedback(items[i].prediction_id, items[i].actual);
          counts[r.status]++;
          results.push({ prediction_id: r.predictionId, status: r.status });
        } catch (e) {
          if (e instanceof NotFoundError) {
            counts.not_found++;
            results.push({ prediction_id: items[i].prediction_id, status: "not_found" });
          } else feedbackError(e, ["body", "items", i]);
        }
      }
      return { counts, results };
    },
  );

  // ------------------------------------------------------------ drift and summary
  fastify.get(
    "/api/v1/monitoring/drift",
    {
      schema: {
        tags: ["monitoring"],
        description:
          "Data and prediction drift of the logged predictions of the served model version (or model_version) in the last `window` (default from config, e.g. 24h) vs the reference profile of the training split. format=html returns the self-contained HTML report. report is null (with `skipped`) below min_rows logged predictions. 404 no reference profile, 422 bad window.",
        querystring: windowQuery,
      },
    },
    async (req, reply) => {
      const q = req.query as { window?: string; model_version?: string; format?: string };
      const winMs = windowOf(q);
      const model = served();
      const version = q.model_version ?? model.version;
      const { w, report, skipped } = await cached(`drift|${model.name}|${version}|${winMs}`, async () => {
        const reference = await referenceFor(model.name, version);
        const until = ctx.clock() + 1;
        const a = await analyse(reference, {
          sinceMs: until - winMs,
          untilMs: until,
          modelVersion: version,
          minRows,
          maxRows,
          ...(opts.drift ? { drift: opts.drift } : {}),
        });
        if (a.drift) metrics.updateDrift(a.drift);
        const w = a.window;
        const report: DriftReport | null = a.drift;
        const skipped = a.driftSkipped;
        return {
          w: { sinceMs: w.sinceMs, untilMs: w.untilMs, n: w.n, analysed: w.analysed },
          report,
          skipped,
        };
      });
      if (q.format === "html") {
        if (!report) throw new ApiError(409, `no drift report: ${skipped}`);
        reply.type("text/html; charset=utf-8");
        return renderDriftHtml(report, {
          title: `Data drift — ${model.name} v${version}, last ${q.window ?? `${winMs / 3_600_000} h`}`,
        });
      }
      return {
        model_name: model.name,
        model_version: version,
        window: { since_ms: w.sinceMs, until_ms: w.untilMs, n: w.n, analysed: w.analysed },
        report,
        ...(skipped ? { skipped } : {}),
      };
    },
  );
  fastify.get(
    "/api/v1/monitoring/summary",
    {
      schema: {
        tags: ["monitoring"],
        description:
          "One monitoring pass over the window: drift, rolling accuracy from feedback (per version and ocean_proximity), prediction/input/latency checks, alert rules evaluated (not dispatched), prediction-log counters, and the last scheduled pass.",
        querystring: windowQuery,
      },
    },
    async (req) => {
      const q = req.query as { window?: string; model_version?: string };
      const winMs = windowOf(q);
      const model = served();
      const version = q.model_version ?? model.version;
      const r = await cached(`summary|${model.name}|${version}|${winMs}`, async () =>
        runMonitorPass({
          ...passOptions(await referenceFor(model.name, version), version, winMs),
          counts: true,
        }),
      );
      return {
        model_name: model.name,
        model_version: version,
        at: r.at,
        window: {
          since_ms: r.window.sinceMs,
          until_ms: r.window.untilMs,
          n: r.window.n,
          analysed: r.window.analysed,
        },
        drift: r.drift,
        ...(r.driftSkipped ? { drift_skipped: r.driftSkipped } : {}),
        accuracy: r.accuracy,
        checks: r.checks,
        alerts: summariseAlerts(r.alerts),
        rules: (opts.rules ?? []).map((x) => ({ ...x })),
        // counts (a full scan) come from the analysis thread; the queue counters from the serving thread's log
        log: { ...r.counts, ...log.stats() },
        last_pass: lastStatus(),
      };
    },
  );

  // ------------------------------------------------------------ schedule
  let last: { at: string; result: MonitorPassResult | null; error?: string } | null = null;
  let running: Promise<MonitorPassResult | null> | null = null;
  const runPass = (): Promise<MonitorPassResult | null> => {
    running ??= (async () => {
      const cur = ctx.manager.current;
      if (!cur) return null;
      const at = new Date(ctx.clock()).toISOString();
      try {
        const reference = await profileFor(cur.model.name, cur.model.version);
        if (!reference) {
          metrics.updateLog(log.stats());
          last = { at, result: null, error: `no reference profile for version ${cur.model.version}` };
          return null;
        }
        const r = await runMonitorPass({
          ...passOptions(reference, cur.model.version, windowMs),
          ...(opts.sinks ? { sinks: opts.sinks } : {}),
        });
        for (const d of r.dispatch) {
          if (!d.ok) fastify.log.warn({ sink: d.sink, error: d.error }, "alert sink failed");
        }
        for (const a of r.alerts) fastify.log.warn({ alert: a }, `alert: ${a.message}`);
        last = { at, result: r };
        return r;
      } catch (e) {
        fastify.log.error({ err: e }, "monitoring pass failed");
        last = { at, result: null, error: (e as Error).message };
        return null;
      }
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const lastStatus = () => {
    if (!last) return { status: "unknown", reason: "no monitoring pass yet" };
    const r = last.result;
    if (!r) return { status: "unknown", at: last.at, reason: last.error ?? "no model" };
    return {
      status: r.drift ? (r.drift.datasetDrift ? "drift" : "ok") : "skipped",
      at: last.at,
      window_n: r.window.n,
      ...(r.drift
        ? { dataset_drift: r.drift.datasetDrift, n_drifted: r.drift.nDrifted, n_tested: r.drift.nTested }
        : { reason: r.driftSkipped }),
      alerts: r.alerts.length,
    };
  };
  let timer: NodeJS.Timeout | null = null;
  if (opts.intervalMs && opts.intervalMs > 0) {
    timer = setInterval(() => void runPass(), opts.intervalMs);
    timer.unref();
  }
  fastify.addHook("onClose", async () => {
    if (timer) clearInterval(timer);
    await running;
    await thread?.close();
    if (opts.closeLog ?? true) await log.close();
  });

  return {
    driftStatus: lastStatus,
    runPass,
  };
}
