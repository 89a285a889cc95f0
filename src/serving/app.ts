/**
 * The serving API (Fastify 5 + TypeBox): reference-compatible /api/v1 routes, MLflow scoring protocol,
 * Open Inference Protocol V2, health/readiness/deep checks, Prometheus metrics, OpenAPI docs, admin reload.
 * Request schemas are generated from the dataset contract; every input problem is a 4xx with all offending
 * field paths, never a 500.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { parse as parseCsv } from "csv-parse/sync";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import pino from "pino";
import { Type } from "typebox";
import type { DatasetContract } from "../data/contract-types.ts";
import type { Frame } from "../data/frame.ts";
import type { DashboardOptions } from "./dashboard.ts";
import { type LoaderOptions, ModelManager, verifyModel } from "./loader.ts";
import { createMetrics, type ServingMetrics } from "./metrics.ts";
import {
  monitoringPredictionHook,
  registerMonitoring,
  type ServingMonitoring,
  type ServingMonitoringOptions,
} from "./monitoring.ts";
import { uuidv7 } from "./request-id.ts";
import {
  ajvToDetail,
  type BatchView,
  type BuildResult,
  buildFrame,
  type ErrorDetail,
  findMarkers,
  frameFromRecords,
  type InputColumn,
  inputColumns,
  instanceSchema,
  type Loc,
  predictRequestSchema,
  replaceNonFiniteTokens,
} from "./schema.ts";
import type { ModelSource, PredictionBatch, PredictionLogEntry } from "./types.ts";

export interface CreateAppOptions {
  /** The dataset contract the request schema is generated from (target column excluded). */
  contract: DatasetContract;
  /** Model sources in cascade order (primary first). Ignored when `manager` is given. */
  sources?: ModelSource[];
  /** A pre-built manager (tests); otherwise one is created from `sources` + `loader`. */
  manager?: ModelManager;
  /** Loader tuning: attempt timeout, retries, breaker, background retry, warm-up tolerance. */
  loader?: Omit<LoaderOptions, "sources" | "contract" | "logger" | "clock" | "onEvent" | "pollIntervalMs">;
  /** Poll the primary source for a new version every N ms (0 = off; default 0). */
  pollIntervalMs?: number;
  /** Max rows per request (default 10,000); more → 413. */
  maxBatch?: number;
  /** Max request body bytes (default 10 MiB, as `serve.body_limit_bytes`); more → 413. */
  bodyLimit?: number;
  /**
   * Time a client gets to send a whole request, headers and body (default 30,000 ms, as
   * `serve.request_timeout_ms`; 0 = none): a slower one gets 408 and its connection is closed, so stalled or
   * trickling clients cannot hold sockets and buffers forever. Not a limit on the handler's own time.
   */
  requestTimeoutMs?: number;
  /** Admin API key (from config/env). Unset → admin routes answer 503. */
  adminApiKey?: string;
  /** Called after each prediction response has been sent (monitoring log). Never blocks the response. */
  onPrediction?: (entry: PredictionLogEntry) => void | Promise<void>;
  /** Last drift check, shown by /health/deep (default: the monitoring schedule's last pass, if any). */
  driftStatus?: () => unknown | Promise<unknown>;
  /** Prediction log, feedback and drift routes, periodic monitoring pass (src/serving/monitoring.ts). */
  monitoring?: ServingMonitoringOptions;
  /** Serve the web dashboard under /ui/ (and at / for browsers) with its JSON APIs. */
  dashboard?: DashboardOptions;
  /** Epoch-ms clock (timestamps, model age). */
  clock?: () => number;
  /** pino level (default 'info'); 'silent' disables logging. */
  logLevel?: string;
  /** Use this pino logger instead of creating one. */
  loggerInstance?: FastifyBaseLogger;
  /** Reported by GET / and /health (default '1.0.0', as the reference). */
  apiVersion?: string;
  /** Default 'Housing Price Prediction API'. */
  title?: string;
  description?: string;
  /** Await the first load cycle before returning (default true). */
  waitForModel?: boolean;
  /** Include prom-client default process metrics (default true). */
  defaultMetrics?: boolean;
  predictionBuckets?: number[];
  /** Rows per request fed to the input-feature metrics (strided sample; default 256). */
  metricsSampleRows?: number;
}

export interface ServingHandle {
  manager: ModelManager;
  metrics: ServingMetrics;
  /** Wait for pending onPrediction hooks. */
  flushHooks(): Promise<void>;
  /** The monitoring handle (null when monitoring is off). */
  monitoring: ServingMonitoring | null;
  /**
   * Write out the app's own asynchronous stdout log and end it (before process.exit: an exit with a write in
   * flight could put the last lines out of order, since pino's exit flush skips the write in progress).
   */
  endLog(): Promise<void>;
}

export type ServingApp = FastifyInstance & { mlops: ServingHandle };

const NO_ROWS: readonly number[] = [];

/** Rows whose prediction or interval bound is NaN or ±Infinity (JSON cannot carry them); nothing allocated when none. */
function nonFiniteRows(out: PredictionBatch): readonly number[] {
  let bad: number[] | null = null;
  const { predictions: p, lower: lo, upper: hi } = out;
  for (let i = 0; i < p.length; i++) {
    // x - x is 0 for every finite x and NaN for NaN/±Infinity: one comparison per value
    if (p[i] - p[i] !== 0 || lo[i] - lo[i] !== 0 || hi[i] - hi[i] !== 0) (bad ??= []).push(i);
  }
  return bad ?? NO_ROWS;
}

/** An error with an HTTP status and optional field-level details (rendered per protocol). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly detail?: ErrorDetail[],
  ) {
    super(message);
  }
}

type Protocol = "v1" | "mlflow" | "v2";

interface ReqState {
  t0: number;
  parsed: number;
  validated: number;
  predict?: number;
  serialized?: number;
  rows?: number;
  /** Server-Timing `features` and `predict` durations (ms), set with `predict`; the header is built in onSend */
  featuresDur?: number;
  predictDur?: number;
  log?: PredictionLogEntry;
}

const DEFAULT_TITLE = "Housing Price Prediction API";
/** Error location prefix of /api/v1/predict rows (schema.ts copies it into each error, never changes it). */
const INSTANCES_LOC: Loc = ["body", "instances"];
const OUTPUT_NAME = "predicted_price";
const NUMERIC_V2 = new Set([
  "FP16",
  "FP32",
  "FP64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
]);
const CSV_NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

function protocolOf(url: string): Protocol {
  if (url.startsWith("/invocations")) return "mlflow";
  if (url.startsWith("/v2")) return "v2";
  return "v1";
}

/** The usual content type, parsed once (read-only: callers only read it). */
const JSON_MEDIA_TYPE: Readonly<{ type: string; charset?: string }> = Object.freeze({
  type: "application/json",
  charset: undefined,
});

function mediaType(req: FastifyRequest): Readonly<{ type: string; charset?: string }> {
  const raw = req.headers["content-type"];
  if (!raw) return { type: "" };
  if (raw === "application/json") return JSON_MEDIA_TYPE;
  const [t, ...params] = raw.split(";");
  let charset: string | undefined;
  for (const p of params) {
    const [k, v] = p.split("=");
    if (k?.trim().toLowerCase() === "charset") charset = v?.trim().replace(/^"|"$/g, "").toLowerCase();
  }
  return { type: t.trim().toLowerCase(), charset };
}

/** Whether `log` writes info lines (pino loggers answer isLevelEnabled; others are asked to log). */
function infoEnabled(log: FastifyBaseLogger): boolean {
  const f = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof f === "function" ? f.call(log, "info") : true;
}

function ms(a: number, b: number | undefined): string {
  return b === undefined ? "0" : (b - a).toFixed(3);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

export async function createApp(opts: CreateAppOptions): Promise<ServingApp> {
  const contract = opts.contract;
  const cols: InputColumn[] = inputColumns(contract);
  const maxBatch = opts.maxBatch ?? 10_000;
  const bodyLimit = opts.bodyLimit ?? 10 * 1024 * 1024;
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const clock = opts.clock ?? Date.now;
  const apiVersion = opts.apiVersion ?? "1.0.0";
  const title = opts.title ?? DEFAULT_TITLE;
  const description = opts.description ?? title;
  const sampleRows = opts.metricsSampleRows ?? 256;

  let logDest: ReturnType<typeof pino.destination> | null = null;
  const fastify = Fastify({
    ...(opts.loggerInstance
      ? { loggerInstance: opts.loggerInstance }
      : (opts.logLevel ?? "info") === "silent"
        ? { logger: { level: "silent" } }
        : {
            logger: {
              level: opts.logLevel ?? "info",
              // asynchronous stdout writes: a busy server batches log lines instead of blocking per request
              stream: (logDest = pino.destination({ dest: 1, sync: false })),
            },
          }),
    bodyLimit,
    requestTimeout,
    // Node checks request deadlines every connectionsCheckingInterval (30 s by default): a quarter of the
    // timeout keeps the effective deadline within 25 % of the configured one; headers get no longer than a request
    ...(requestTimeout > 0
      ? {
          http: {
            connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.ceil(requestTimeout / 4))),
            headersTimeout: Math.min(60_000, requestTimeout),
          },
        }
      : {}),
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const h = req.headers["x-request-id"];
      return typeof h === "string" && /^[\w.:-]{1,128}$/.test(h) ? h : uuidv7();
    },
    ajv: {
      customOptions: {
        allErrors: true,
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        verbose: true,
      },
    },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  const app = fastify as unknown as ServingApp;

  const metrics = createMetrics({
    defaultMetrics: opts.defaultMetrics,
    predictionBuckets: opts.predictionBuckets,
  });
  const manager =
    opts.manager ??
    new ModelManager({
      ...opts.loader,
      sources: opts.sources ?? [],
      contract,
      pollIntervalMs: opts.pollIntervalMs,
      clock,
      logger: {
        info: (o, m) => app.log.info(o, m),
        warn: (o, m) => app.log.warn(o, m),
        error: (o, m) => app.log.error(o, m),
      },
      onEvent: (e) => {
        metrics.onLoaderEvent(e);
        if (e.type === "load" && e.outcome === "success") {
          const cur = manager.current;
          if (cur) metrics.setModel(cur.model.name, cur.model.version, cur.source);
        }
      },
    });
  for (const b of manager.breakerStates()) metrics.breakerState.set({ source: b.source }, 0);

  const pending = new Set<Promise<unknown>>();
  const handle: ServingHandle = {
    manager,
    metrics,
    async flushHooks() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    monitoring: null,
    endLog: () =>
      new Promise<void>((resolve) => {
        const dest = logDest;
        if (!dest || (dest as unknown as { destroyed?: boolean }).destroyed) return resolve();
        const timer = setTimeout(resolve, 1000); // bounded: a blocked stdout must not hold the exit
        timer.unref();
        dest.once("finish", () => {
          clearTimeout(timer);
          resolve();
        });
        dest.end(); // writes what is buffered after the write in flight, in order, then 'finish'
      }),
  };
  app.decorate("mlops", handle);

  // Per-request timing state lives on the request (a decorated property: no WeakMap lookup per hook).
  fastify.decorateRequest("mlopsState", null);
  const stateOf = (req: FastifyRequest): ReqState | null =>
    (req as unknown as { mlopsState: ReqState | null }).mlopsState;

  // ------------------------------------------------------------ body parsers
  fastify.removeContentTypeParser("application/json");
  fastify.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const { charset } = mediaType(req);
    if (charset && charset !== "utf-8" && charset !== "utf8") {
      done(new ApiError(415, `unsupported charset '${charset}': only utf-8 is accepted`), undefined);
      return;
    }
    const text = body as string;
    if (text.trim() === "") {
      done(new ApiError(400, "request body is empty; expected a JSON document"), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      const replaced = replaceNonFiniteTokens(text);
      if (replaced !== null) {
        try {
          const parsed = JSON.parse(replaced);
          const locs = findMarkers(parsed, "body");
          done(
            new ApiError(
              protocolOf(req.url) === "v1" ? 422 : 400,
              "NaN and Infinity are not valid JSON numbers",
              locs.map((loc) => ({
                loc,
                msg: "Input should be a finite number (NaN/Infinity are not valid JSON)",
                type: "finite_number",
              })),
            ),
            undefined,
          );
          return;
        } catch {
          // fall through: not just NaN tokens
        }
      }
      done(
        new ApiError(400, `malformed JSON body: ${(e as Error).message}`, [
          { loc: ["body"], msg: `JSON decode error: ${(e as Error).message}`, type: "json_invalid" },
        ]),
        undefined,
      );
    }
  });
  fastify.addContentTypeParser("text/csv", { parseAs: "string" }, (_req, body, done) => done(null, body));

  // ------------------------------------------------------------ errors
  const sendError = (
    reply: FastifyReply,
    url: string,
    status: number,
    message: string,
    detail?: ErrorDetail[],
  ) => {
    const proto = protocolOf(url);
    reply.code(status);
    if (proto === "mlflow") {
      const code =
        status === 413
          ? "RESOURCE_LIMIT_EXCEEDED"
          : status === 415
            ? "UNSUPPORTED_MEDIA_TYPE"
            : status === 503
              ? "TEMPORARILY_UNAVAILABLE"
              : status >= 500
                ? "INTERNAL_ERROR"
                : "BAD_REQUEST";
      return reply.send(detail ? { error_code: code, message, detail } : { error_code: code, message });
    }
    if (proto === "v2") return reply.send(detail ? { error: message, detail } : { error: message });
    return reply.send({ detail: detail && status === 422 ? detail : message });
  };

  fastify.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    const url = req.url;
    const proto = protocolOf(url);
    if ("validation" in err && err.validation) {
      const detail = ajvToDetail(err.validation as never, err.validationContext ?? "body");
      return sendError(reply, url, proto === "v1" ? 422 : 400, "request validation failed", detail);
    }
    if (err instanceof ApiError) return sendError(reply, url, err.statusCode, err.message, err.detail);
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = (err as FastifyError).code;
      const message =
        code === "FST_ERR_CTP_BODY_TOO_LARGE"
          ? `request body exceeds the limit of ${bodyLimit} bytes`
          : code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
            ? `unsupported content type '${req.headers["content-type"] ?? ""}': send application/json${proto === "mlflow" ? " or text/csv" : ""}`
            : err.message;
      return sendError(reply, url, status, message);
    }
    req.log.error({ err }, "unhandled error");
    return sendError(reply, url, 500, "Internal server error");
  });

  fastify.setNotFoundHandler((req, reply) =>
    sendError(reply, req.url, 404, `Not Found: ${req.method} ${req.url}`),
  );

  const onPrediction = chainHooks(
    opts.onPrediction,
    opts.monitoring ? monitoringPredictionHook(opts.monitoring) : undefined,
  );
  let monitoring: ServingMonitoring | null = null;

  // ------------------------------------------------------------ hooks: timing, request id, metrics, log
  // Callback-style (not async) hooks: each async hook costs a promise and a microtask turn on every request.
  fastify.addHook("onRequest", (req, reply, done) => {
    const t = performance.now();
    // every field present from the start: one object shape, no property-storage growth as the request proceeds
    (req as unknown as { mlopsState: ReqState }).mlopsState = {
      t0: t,
      parsed: t,
      validated: t,
      predict: undefined,
      serialized: undefined,
      rows: undefined,
      featuresDur: undefined,
      predictDur: undefined,
      log: undefined,
    };
    reply.header("x-request-id", req.id);
    done();
  });
  fastify.addHook("preValidation", (req, _reply, done) => {
    const s = stateOf(req);
    if (s) s.parsed = performance.now();
    done();
  });
  fastify.addHook("preHandler", (req, _reply, done) => {
    const s = stateOf(req);
    if (s) s.validated = performance.now();
    done();
  });

  // Work after a prediction response (input/prediction metrics, the onPrediction hooks such as the prediction
  // log) is queued and run in one setImmediate per event-loop turn for all the responses of that turn, off the
  // request path; flushHooks() waits for it.
  let afterQueue: { entry: PredictionLogEntry; log: FastifyBaseLogger }[] = [];
  let afterScheduled = false;
  const runAfterQueue = (): Promise<void> => {
    const items = afterQueue;
    afterQueue = [];
    afterScheduled = false;
    const waits: Promise<void>[] = [];
    for (const { entry, log } of items) {
      try {
        metrics.observeBatch(entry.route, entry.inputs, entry.predictions, sampleRows);
      } catch (e) {
        log.warn({ err: e }, "metrics observation failed");
      }
      if (!onPrediction) continue;
      try {
        const r = onPrediction(entry);
        if (r && typeof (r as Promise<void>).then === "function") {
          waits.push(
            (r as Promise<void>).then(undefined, (e) => {
              log.error({ err: e }, "onPrediction hook failed");
            }),
          );
        }
      } catch (e) {
        log.error({ err: e }, "onPrediction hook failed");
      }
    }
    return waits.length ? Promise.all(waits).then(() => undefined) : Promise.resolve();
  };
  const queueAfterResponse = (entry: PredictionLogEntry, log: FastifyBaseLogger) => {
    afterQueue.push({ entry, log });
    if (afterScheduled) return;
    afterScheduled = true;
    const p = new Promise<void>((resolve) => {
      setImmediate(() => {
        runAfterQueue().then(resolve, resolve);
      });
    });
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  fastify.addHook("onResponse", (req, reply, done) => {
    const s = stateOf(req);
    const route = req.routeOptions.url ?? "unmatched";
    const elapsed = reply.elapsedTime;
    metrics.observeRequest(req.method, route, reply.statusCode, elapsed / 1000);
    if (
      route !== "/metrics" &&
      !route.startsWith("/health") &&
      route !== "/ping" &&
      !route.startsWith("/v2/health") &&
      infoEnabled(req.log)
    ) {
      req.log.info(
        {
          method: req.method,
          url: req.url,
          route,
          statusCode: reply.statusCode,
          responseTimeMs: Number(elapsed.toFixed(3)),
          // the same stages as the Server-Timing header (features includes the model's own feature step)
          ...(s?.predict !== undefined && s.featuresDur !== undefined && s.predictDur !== undefined
            ? {
                rows: s.rows,
                timings: {
                  parse: Number(ms(s.t0, s.parsed)),
                  validate: Number(ms(s.parsed, s.validated)),
                  features: Number(s.featuresDur.toFixed(3)),
                  predict: Number(s.predictDur.toFixed(3)),
                  serialize: Number(ms(s.predict, s.serialized)),
                },
              }
            : {}),
        },
        "request completed",
      );
    }
    const entry = s?.log;
    if (entry) {
      entry.latencyMs = elapsed;
      queueAfterResponse(entry, req.log);
    }
    done();
  });
  // While draining, ask clients to drop keep-alive connections so close() does not wait for their idle timeout.
  let closing = false;
  fastify.addHook("preClose", async () => {
    closing = true;
  });
  fastify.addHook("onSend", (req, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    const s = stateOf(req);
    if (s?.predictDur !== undefined && s.featuresDur !== undefined && s.predict !== undefined) {
      // serialize = handler end → onSend (response serialization); total = request start → now.
      const now = performance.now();
      s.serialized = now;
      reply.header(
        "server-timing",
        `parse;dur=${ms(s.t0, s.parsed)}, validate;dur=${ms(s.parsed, s.validated)}, features;dur=${s.featuresDur.toFixed(3)}, predict;dur=${s.predictDur.toFixed(3)}, serialize;dur=${(now - s.predict).toFixed(3)}, total;dur=${(now - s.t0).toFixed(3)}`,
      );
    }
    done(null, payload);
  });
  fastify.addHook("onClose", async () => {
    await manager.stop();
    await handle.flushHooks();
  });

  // ------------------------------------------------------------ helpers for prediction routes
  /** null when the request's content type is acceptable (or there is no body), else the 415. */
  const contentTypeError = (req: FastifyRequest, allowCsv: boolean): ApiError | null => {
    const { type } = mediaType(req);
    if (req.body === undefined && type === "") return null;
    if (type === "application/json" || (allowCsv && type === "text/csv")) return null;
    return new ApiError(
      415,
      `unsupported content type '${req.headers["content-type"] ?? ""}': send application/json${allowCsv ? " or text/csv" : ""}`,
    );
  };
  const jsonOnly =
    (allowCsv: boolean) => (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
      const err = contentTypeError(req, allowCsv);
      if (err) done(err);
      else done();
    };

  const requireModel = () => {
    const cur = manager.current;
    if (!cur) throw new ApiError(503, `Model not loaded: ${manager.status().reason ?? "loading"}`);
    return cur;
  };

  const batchError = (n: number): ApiError | null =>
    n > maxBatch
      ? new ApiError(413, `batch of ${n} rows exceeds the limit of ${maxBatch} rows per request`)
      : null;
  const checkBatch = (n: number) => {
    const err = batchError(n);
    if (err) throw err;
  };

  /** Predict + timings + monitoring entry. */
  const runModel = (
    req: FastifyRequest,
    reply: FastifyReply,
    built: BuildResult & { ok: true },
    route: string,
  ) => {
    const cur = requireModel();
    const s = stateOf(req);
    const frame = built.frame;
    const tFeat = performance.now();
    let out: PredictionBatch;
    try {
      out = cur.model.predict(frame);
    } catch (e) {
      req.log.error({ err: e, version: cur.model.version }, "model predict threw");
      throw new Error(`Prediction failed: ${(e as Error).message}`);
    }
    if (out.predictions.length !== frame.nRows) {
      throw new Error(`model returned ${out.predictions.length} predictions for ${frame.nRows} rows`);
    }
    const unscorable = nonFiniteRows(out);
    if (unscorable.length > 0) {
      // inputs inside the contract's ranges can still be far outside the training data (e.g. total_rooms = 1e308
      // overflows a linear model): name the rows instead of answering null or a 500; nothing is logged
      const v1 = route === "/api/v1/predict";
      throw new ApiError(
        v1 ? 422 : 400,
        `the model cannot score ${unscorable.length} row(s): prediction not finite`,
        unscorable.slice(0, 100).map((i) => ({
          loc: v1 ? ["body", "instances", i] : ["body", "row", i],
          msg: "The model's prediction for this row is not a finite number (inputs far outside the training data?)",
          type: "unscorable",
        })),
      );
    }
    const tEnd = performance.now();
    const prefix = req.id;
    if (s) {
      s.predict = tEnd;
      s.rows = frame.nRows;
      s.log = {
        requestId: req.id,
        route,
        modelName: cur.model.name,
        modelVersion: cur.model.version,
        timestamp: clock(),
        predictionIdPrefix: prefix,
        inputs: frame,
        predictions: out.predictions,
        lower: out.lower,
        upper: out.upper,
        level: out.level,
      };
      s.featuresDur = tFeat - s.validated + (out.timings?.features ?? 0);
      s.predictDur = out.timings?.predict ?? tEnd - tFeat - (out.timings?.features ?? 0);
    }
    reply.header("x-model-version", cur.model.version);
    return { cur, out, prefix };
  };

  const outputSchemaNumberArray = { type: "array", items: { type: "number" } } as const;

  // ------------------------------------------------------------ docs
  // Request bodies the MLflow and V2 routes validate in their handlers (each protocol's own rules and error
  // shapes, not Ajv's): described in the OpenAPI document only, through the transform below
  const instance = instanceSchema(contract);
  const columnNames = cols.map((c) => c.name);
  const docOnlyBodies = new Map<string, unknown>([
    [
      "/invocations",
      {
        description:
          "Exactly one of dataframe_split, dataframe_records, instances, inputs (JSON); or text/csv with a header row",
        oneOf: [
          {
            type: "object",
            required: ["dataframe_split"],
            properties: {
              dataframe_split: {
                type: "object",
                properties: {
                  columns: { type: "array", items: { type: "string", enum: columnNames } },
                  data: { type: "array", maxItems: maxBatch, items: { type: "array" } },
                },
              },
              params: { type: "object" },
            },
          },
          {
            type: "object",
            required: ["dataframe_records"],
            properties: {
              dataframe_records: { type: "array", maxItems: maxBatch, items: instance },
              params: { type: "object" },
            },
          },
          {
            type: "object",
            required: ["instances"],
            properties: {
              instances: { type: "array", maxItems: maxBatch, items: instance },
              params: { type: "object" },
            },
          },
          {
            type: "object",
            required: ["inputs"],
            properties: {
              inputs: {
                description: "columnar {column: [values]} or a list of records",
                oneOf: [
                  {
                    type: "object",
                    properties: Object.fromEntries(columnNames.map((n) => [n, { type: "array" }])),
                  },
                  { type: "array", maxItems: maxBatch, items: instance },
                ],
              },
              params: { type: "object" },
            },
          },
        ],
      },
    ],
  ]);
  const v2Body = {
    type: "object",
    required: ["inputs"],
    properties: {
      id: { type: "string" },
      inputs: {
        type: "array",
        description: "one tensor per input column (numeric columns FP64/FP32/INT*, ocean_proximity BYTES)",
        items: {
          type: "object",
          required: ["name", "shape", "datatype", "data"],
          properties: {
            name: { type: "string", enum: columnNames },
            shape: { type: "array", items: { type: "integer" }, description: "[n] or [n, 1]" },
            datatype: { type: "string", example: "FP64" },
            data: { type: "array" },
          },
        },
      },
      outputs: {
        type: "array",
        items: {
          type: "object",
          properties: { name: { type: "string", enum: ["predicted_price", "lower", "upper"] } },
        },
      },
      parameters: { type: "object" },
    },
  };
  docOnlyBodies.set("/v2/models/:name/infer", v2Body);
  docOnlyBodies.set("/v2/models/:name/versions/:version/infer", v2Body);
  await fastify.register(swagger, {
    transform: ({ schema, url }) => {
      const body = docOnlyBodies.get(url);
      return { schema: body && schema ? ({ ...schema, body } as typeof schema) : schema, url };
    },
    openapi: {
      openapi: "3.0.3",
      info: { title, version: apiVersion, description },
      tags: [
        { name: "prediction", description: "Reference-compatible prediction API" },
        { name: "mlflow", description: "MLflow scoring protocol" },
        { name: "v2", description: "Open Inference Protocol V2" },
        { name: "health", description: "Health, readiness, metrics" },
        { name: "admin", description: "Admin (x-api-key)" },
      ],
    },
  });
  await fastify.register(swaggerUi, { routePrefix: "/docs" });

  // ------------------------------------------------------------ reference routes
  fastify.get(
    "/",
    {
      schema: {
        tags: ["health"],
        response: {
          200: Type.Object({
            name: Type.String(),
            version: Type.String(),
            description: Type.String(),
            docs_url: Type.String(),
            health_url: Type.String(),
          }),
        },
      },
    },
    async () => ({ name: title, version: apiVersion, description, docs_url: "/docs", health_url: "/health" }),
  );

  fastify.get(
    "/health",
    {
      schema: {
        tags: ["health"],
        description: 'Always 200; status "degraded" (with reason) when no model is loaded.',
        response: {
          200: Type.Object({
            status: Type.String(),
            model_loaded: Type.Boolean(),
            version: Type.String(),
            model_version: Type.Union([Type.String(), Type.Null()]),
            reason: Type.Optional(Type.String()),
          }),
        },
      },
    },
    async () => {
      const cur = manager.current;
      const st = manager.status();
      return cur
        ? { status: "healthy", model_loaded: true, version: apiVersion, model_version: cur.model.version }
        : {
            status: "degraded",
            model_loaded: false,
            version: apiVersion,
            model_version: null,
            reason: st.reason ?? "model not loaded",
          };
    },
  );

  const predictBody = predictRequestSchema(contract, maxBatch);
  const predictionItem = Type.Object({
    predicted_price: Type.Number(),
    confidence_interval: Type.Object({ lower: Type.Number(), upper: Type.Number(), level: Type.Number() }),
    prediction_id: Type.String(),
  });
  fastify.post(
    "/api/v1/predict",
    {
      attachValidation: true,
      preValidation: (req, _reply, done) => {
        const err = contentTypeError(req, false);
        if (err) return done(err);
        const b = req.body as { instances?: unknown } | undefined;
        const tooBig = isRecord(b) && Array.isArray(b.instances) ? batchError(b.instances.length) : null;
        if (tooBig) done(tooBig);
        else done();
      },
      schema: {
        tags: ["prediction"],
        description: `Predict for 1..${maxBatch} instances. Errors: 422 {detail:[{loc,msg,type}]}, 400 malformed JSON, 413 too large, 415 content type, 503 no model.`,
        body: predictBody,
        response: {
          200: Type.Object({ predictions: Type.Array(predictionItem), model_version: Type.String() }),
        },
      },
    },
    async (req, reply) => {
      const body = req.body as { instances: unknown[] };
      if (req.validationError) {
        const v = (req.validationError as FastifyError).validation ?? [];
        const detail = ajvToDetail(v as never, "body");
        // Categorical values are checked after the schema: add their errors so one response lists everything.
        if (isRecord(body) && Array.isArray(body.instances)) {
          const extra = frameFromRecords(cols, body.instances, INSTANCES_LOC, false);
          if (!extra.ok) {
            const seen = new Set(detail.map((d) => d.loc.join("\u0000")));
            for (const e of extra.errors) {
              if (e.type === "enum" && !seen.has(e.loc.join("\u0000"))) detail.push(e);
            }
          }
        }
        throw new ApiError(422, "request validation failed", detail);
      }
      requireModel();
      const built = frameFromRecords(cols, body.instances, INSTANCES_LOC, true);
      if (!built.ok) throw new ApiError(422, "request validation failed", built.errors);
      const { cur, out, prefix } = runModel(req, reply, built, "/api/v1/predict");
      const n = out.predictions.length;
      const predictions = new Array(n);
      const level = out.level;
      for (let i = 0; i < n; i++) {
        predictions[i] = {
          predicted_price: out.predictions[i],
          confidence_interval: { lower: out.lower[i], upper: out.upper[i], level },
          prediction_id: `${prefix}-${i}`,
        };
      }
      return { predictions, model_version: cur.model.version };
    },
  );

  const infoSchema = Type.Object({
    status: Type.String(),
    model_loaded: Type.Boolean(),
    model_version: Type.Union([Type.String(), Type.Null()]),
    name: Type.Optional(Type.String()),
    alias: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    metrics: Type.Optional(Type.Record(Type.String(), Type.Number())),
    trained_at: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    data_hash: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    run_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    features: Type.Optional(Type.Array(Type.String())),
    model_kind: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    source: Type.Optional(Type.String()),
    loaded_at: Type.Optional(Type.String()),
  });
  fastify.get(
    "/api/v1/model/info",
    { schema: { tags: ["prediction"], response: { 200: infoSchema, 503: infoSchema } } },
    async (_req, reply) => {
      const cur = manager.current;
      if (!cur) {
        reply.code(503);
        return { status: "not_initialized", model_loaded: false, model_version: null };
      }
      const m = cur.model;
      return {
        status: "ready",
        model_loaded: true,
        model_version: m.version,
        name: m.name,
        alias: m.info.alias ?? null,
        metrics: m.info.metrics ?? {},
        trained_at: m.info.trainedAt ?? null,
        data_hash: m.info.dataHash ?? null,
        run_id: m.info.runId ?? null,
        features: m.info.features ?? cols.map((c) => c.name),
        model_kind: m.info.modelKind ?? null,
        source: cur.source,
        loaded_at: new Date(cur.loadedAt).toISOString(),
      };
    },
  );

  // ------------------------------------------------------------ admin
  const keyDigest = opts.adminApiKey ? createHash("sha256").update(opts.adminApiKey).digest() : null;
  fastify.post(
    "/api/v1/admin/reload",
    {
      schema: {
        tags: ["admin"],
        description:
          "Reload the model now (header x-api-key). 200 swapped/unchanged, 409 rejected (old keeps serving), 502 no source loaded, 401/403 auth, 503 admin disabled. Query force=true swaps even when the version is unchanged.",
        querystring: Type.Object({
          force: Type.Optional(Type.String({ enum: ["true", "false", "1", "0"] })),
        }),
      },
    },
    async (req, reply) => {
      if (!keyDigest) throw new ApiError(503, "admin API disabled: set MLOPS_ADMIN_KEY");
      const given = req.headers["x-api-key"];
      if (given === undefined || given === "") throw new ApiError(401, "missing x-api-key header");
      const got = createHash("sha256")
        .update(Array.isArray(given) ? given.join(",") : given)
        .digest();
      if (!timingSafeEqual(got, keyDigest)) throw new ApiError(403, "invalid API key");
      const f = (req.query as { force?: string }).force;
      const force = f === "true" || f === "1";
      const r = await manager.reload("admin", force);
      reply.code(
        r.status === "rejected" ? 409 : r.status === "failed" ? 502 : r.status === "stopped" ? 503 : 200,
      );
      return {
        status: r.status,
        previous_version: r.previousVersion,
        model_version: r.modelVersion,
        source: r.source,
        ...(r.reason ? { reason: r.reason } : {}),
      };
    },
  );

  // ------------------------------------------------------------ health family
  fastify.get("/health/live", { schema: { tags: ["health"] } }, async () => ({ status: "live" }));
  fastify.get("/health/ready", { schema: { tags: ["health"] } }, async (_req, reply) => {
    const cur = manager.current;
    if (!cur) {
      reply.code(503);
      return { ready: false, reason: manager.status().reason ?? "model not loaded" };
    }
    return { ready: true, model_version: cur.model.version };
  });
  fastify.get(
    "/health/deep",
    {
      schema: {
        tags: ["health"],
        description:
          "Model loaded, sources reachable, input example re-scored within 1e-6 relative, model age, last drift check. 503 when the model or its re-scoring fails.",
      },
    },
    async (_req, reply) => {
      const cur = manager.current;
      const now = clock();
      const sources = await manager.probeSources(2000);
      const breakers = manager.breakerStates();
      let example: Record<string, unknown> = { ok: false, reason: "model not loaded" };
      let age: Record<string, unknown> = {};
      if (cur) {
        const v = verifyModel(cur.model, contract);
        example = {
          ok: v.ok,
          rows: cur.model.inputExample.length,
          max_rel_error: v.maxRelError ?? null,
          reason: v.reason,
        };
        const trained = cur.model.info.trainedAt ? Date.parse(cur.model.info.trainedAt) : Number.NaN;
        age = {
          trained_at: cur.model.info.trainedAt ?? null,
          model_age_seconds: Number.isFinite(trained) ? Math.round((now - trained) / 1000) : null,
          loaded_at: new Date(cur.loadedAt).toISOString(),
          serving_seconds: Math.round((now - cur.loadedAt) / 1000),
        };
      }
      let drift: unknown = { status: "unknown", detail: "no drift provider configured" };
      const driftStatus = opts.driftStatus ?? monitoring?.driftStatus;
      if (driftStatus) {
        try {
          drift = (await driftStatus()) ?? { status: "unknown" };
        } catch (e) {
          drift = { status: "error", detail: (e as Error).message };
        }
      }
      const healthy = cur !== null && example.ok === true;
      const sourcesOk = sources.every((s) => s.ok);
      // a newer version that could not be served (rejected) or a failing reload: still serving, but say so
      const last = manager.lastLoad;
      const reloadOk = last === null || last.outcome === "success" || last.outcome === "unchanged";
      reply.code(healthy ? 200 : 503);
      return {
        status: healthy ? (sourcesOk && reloadOk ? "ok" : "warn") : "failing",
        checks: {
          last_load: last ? { ok: reloadOk, ...last } : { ok: false, reason: "no load attempted yet" },
          model: cur
            ? { ok: true, name: cur.model.name, version: cur.model.version, source: cur.source }
            : { ok: false, reason: manager.status().reason },
          sources: { ok: sourcesOk, items: sources, breakers },
          example,
          age,
          drift,
        },
      };
    },
  );

  fastify.get("/metrics", { schema: { tags: ["health"], hide: false } }, async (_req, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return await metrics.registry.metrics();
  });

  fastify.get("/openapi.json", { schema: { hide: true } }, async () => fastify.swagger());

  // ------------------------------------------------------------ MLflow scoring protocol
  fastify.get("/ping", { schema: { tags: ["mlflow"] } }, async (_req, reply) => {
    reply.code(manager.current ? 200 : 404).type("text/plain");
    return "\n";
  });
  fastify.get("/version", { schema: { tags: ["mlflow"] } }, async (_req, reply) => {
    reply.type("text/plain");
    return apiVersion;
  });

  const frameFromColumnsObject = (obj: Record<string, unknown>, prefix: Loc): BuildResult => {
    const errors: ErrorDetail[] = [];
    let n = -1;
    const arrays: (unknown[] | undefined)[] = cols.map((c) => {
      const v = obj[c.name];
      if (v === undefined) return undefined;
      if (!Array.isArray(v)) {
        errors.push({ loc: [...prefix, c.name], msg: "Input should be a list of values", type: "list_type" });
        return undefined;
      }
      if (n < 0) n = v.length;
      else if (v.length !== n) {
        errors.push({
          loc: [...prefix, c.name],
          msg: `column has ${v.length} values, expected ${n} like the other columns`,
          type: "length_mismatch",
        });
      }
      return v;
    });
    if (errors.length > 0) return { ok: false, errors };
    if (n <= 0)
      return {
        ok: false,
        errors: [{ loc: prefix, msg: "no rows: every column list is empty or absent", type: "too_short" }],
      };
    checkBatch(n);
    const view: BatchView = {
      n,
      get: (j, i) => arrays[j]?.[i],
      has: (j) => arrays[j] !== undefined,
      loc: (name, i) => [...prefix, name, i],
    };
    return buildFrame(cols, view);
  };

  const mlflowFrame = (body: unknown, isCsv: boolean): BuildResult => {
    if (isCsv) {
      let rows: string[][];
      try {
        rows = parseCsv(body as string, { skip_empty_lines: true, relax_column_count: false }) as string[][];
      } catch (e) {
        throw new ApiError(400, `malformed CSV: ${(e as Error).message}`);
      }
      if (rows.length < 2) throw new ApiError(400, "CSV needs a header row and at least one data row");
      const header = rows[0].map((h) => h.trim());
      checkBatch(rows.length - 1);
      const idx = cols.map((c) => header.indexOf(c.name));
      const view: BatchView = {
        n: rows.length - 1,
        get: (j, i) => {
          if (idx[j] < 0) return undefined;
          const raw = rows[i + 1][idx[j]];
          if (raw === undefined || raw === "") return null;
          if (cols[j].kind === "numeric") return CSV_NUMBER.test(raw) ? Number(raw) : raw;
          return raw;
        },
        has: (j) => idx[j] >= 0,
        loc: (name, i) => ["body", "csv", i + 1, name],
      };
      return buildFrame(cols, view);
    }
    if (!isRecord(body)) throw new ApiError(400, "request body must be a JSON object");
    const keys = Object.keys(body).filter((k) => k !== "params");
    const allowed = ["dataframe_split", "dataframe_records", "instances", "inputs"];
    if (keys.length !== 1 || !allowed.includes(keys[0])) {
      throw new ApiError(
        400,
        `body must contain exactly one of ${allowed.join(", ")} (plus optional params); got keys [${Object.keys(body).slice(0, 10).join(", ")}]`,
      );
    }
    const key = keys[0];
    const v = body[key];
    if (key === "dataframe_split") {
      if (!isRecord(v) || !Array.isArray(v.columns) || !Array.isArray(v.data)) {
        throw new ApiError(400, 'dataframe_split must be {"columns": [...], "data": [[...], ...]}');
      }
      const columns = v.columns as unknown[];
      const data = v.data as unknown[];
      if (data.length === 0) throw new ApiError(400, "dataframe_split.data is empty");
      checkBatch(data.length);
      const errors: ErrorDetail[] = [];
      for (let i = 0; i < data.length && errors.length < 100; i++) {
        const r = data[i];
        if (!Array.isArray(r) || r.length !== columns.length) {
          errors.push({
            loc: ["body", "dataframe_split", "data", i],
            msg: `row must be a list of ${columns.length} values`,
            type: "list_type",
          });
        }
      }
      if (errors.length > 0) return { ok: false, errors };
      const idx = cols.map((c) => columns.indexOf(c.name));
      const view: BatchView = {
        n: data.length,
        get: (j, i) => (idx[j] < 0 ? undefined : (data[i] as unknown[])[idx[j]]),
        has: (j) => idx[j] >= 0,
        loc: (name, i) => ["body", "dataframe_split", "data", i, name],
      };
      return buildFrame(cols, view);
    }
    if (key === "inputs" && isRecord(v)) return frameFromColumnsObject(v, ["body", "inputs"]);
    if (!Array.isArray(v)) throw new ApiError(400, `${key} must be a list of records`);
    if (v.length === 0) throw new ApiError(400, `${key} is empty`);
    checkBatch(v.length);
    // MLflow signature enforcement ignores extra columns.
    return frameFromRecords(cols, v, ["body", key], false);
  };

  fastify.post(
    "/invocations",
    {
      preValidation: jsonOnly(true),
      schema: {
        tags: ["mlflow"],
        description:
          'MLflow scoring protocol: JSON with exactly one of dataframe_split, dataframe_records, instances, inputs (optional params), or text/csv with a header row. → {"predictions": [...]}. Errors: 400 {error_code, message, detail}, 413, 415.',
        response: { 200: Type.Object({ predictions: Type.Unsafe(outputSchemaNumberArray) }) },
      },
    },
    async (req, reply) => {
      const built = mlflowFrame(req.body, mediaType(req).type === "text/csv");
      if (!built.ok)
        throw new ApiError(400, `invalid input: ${built.errors.length} problem(s)`, built.errors);
      requireModel();
      const { out } = runModel(req, reply, built, "/invocations");
      return { predictions: Array.from(out.predictions) };
    },
  );

  // ------------------------------------------------------------ Open Inference Protocol V2
  fastify.get("/v2", { schema: { tags: ["v2"] } }, async () => ({
    name: "tabular-mlops",
    version: apiVersion,
    extensions: [],
  }));
  fastify.get("/v2/health/live", { schema: { tags: ["v2"] } }, async () => ({ live: true }));
  fastify.get("/v2/health/ready", { schema: { tags: ["v2"] } }, async (_req, reply) => {
    const ready = manager.current !== null;
    reply.code(ready ? 200 : 503);
    return { ready };
  });

  const resolveV2 = (name: string, version?: string) => {
    const cur = manager.current;
    if (!cur) throw new ApiError(503, "model not loaded");
    if (name !== cur.model.name)
      throw new ApiError(404, `unknown model '${name}'; this server serves '${cur.model.name}'`);
    if (version !== undefined && version !== cur.model.version) {
      throw new ApiError(
        404,
        `model '${name}' version '${version}' is not loaded (serving version ${cur.model.version})`,
      );
    }
    return cur;
  };
  const v2Metadata = (name: string, version?: string) => {
    const cur = resolveV2(name, version);
    return {
      name: cur.model.name,
      versions: [cur.model.version],
      platform: "tabular-mlops",
      inputs: cols.map((c) => ({
        name: c.name,
        datatype: c.kind === "numeric" ? "FP64" : "BYTES",
        shape: [-1],
      })),
      outputs: [OUTPUT_NAME, "lower", "upper"].map((n) => ({ name: n, datatype: "FP64", shape: [-1] })),
    };
  };
  type NameParams = { name: string; version?: string };
  fastify.get("/v2/models/:name", { schema: { tags: ["v2"] } }, async (req) =>
    v2Metadata((req.params as NameParams).name),
  );
  fastify.get("/v2/models/:name/versions/:version", { schema: { tags: ["v2"] } }, async (req) => {
    const p = req.params as NameParams;
    return v2Metadata(p.name, p.version);
  });
  fastify.get("/v2/models/:name/ready", { schema: { tags: ["v2"] } }, async (req, reply) => {
    const name = (req.params as NameParams).name;
    const cur = manager.current;
    const ready = cur !== null && cur.model.name === name;
    reply.code(ready ? 200 : cur ? 404 : 503);
    return { name, ready };
  });

  const v2Frame = (body: unknown): BuildResult & { requested?: string[]; id?: string } => {
    if (!isRecord(body) || !Array.isArray(body.inputs))
      throw new ApiError(400, 'body must be {"inputs": [{name, shape, datatype, data}, ...]}');
    const inputs = body.inputs as unknown[];
    const errors: ErrorDetail[] = [];
    const byName = new Map<string, { idx: number; data: unknown[] }>();
    const given = new Set<string>();
    const known = new Map(cols.map((c, j) => [c.name, j]));
    let n = -1;
    inputs.forEach((inp, k) => {
      const loc: Loc = ["body", "inputs", k];
      if (!isRecord(inp) || typeof inp.name !== "string") {
        errors.push({
          loc,
          msg: "input must be {name, shape, datatype, data}",
          type: "model_attributes_type",
        });
        return;
      }
      const j = known.get(inp.name);
      if (j === undefined) {
        errors.push({ loc: [...loc, "name"], msg: `unknown input '${inp.name}'`, type: "extra_forbidden" });
        return;
      }
      if (byName.has(inp.name) || given.has(inp.name)) {
        errors.push({ loc: [...loc, "name"], msg: `input '${inp.name}' given twice`, type: "duplicate" });
        return;
      }
      given.add(inp.name);
      const c = cols[j];
      const dt = typeof inp.datatype === "string" ? inp.datatype.toUpperCase() : "";
      if (c.kind === "numeric" ? !NUMERIC_V2.has(dt) : dt !== "BYTES") {
        errors.push({
          loc: [...loc, "datatype"],
          msg: `datatype must be ${c.kind === "numeric" ? "FP64 (or another numeric type)" : "BYTES"}, got ${JSON.stringify(inp.datatype)}`,
          type: "datatype",
        });
        return;
      }
      if (!Array.isArray(inp.data)) {
        errors.push({ loc: [...loc, "data"], msg: "data must be a list", type: "list_type" });
        return;
      }
      let data = inp.data as unknown[];
      if (data.length > 0 && Array.isArray(data[0])) {
        if (!data.every((r) => Array.isArray(r) && r.length === 1)) {
          errors.push({ loc: [...loc, "data"], msg: "nested data must have shape [n, 1]", type: "shape" });
          return;
        }
        data = data.map((r) => (r as unknown[])[0]);
      }
      const shape = inp.shape;
      const okShape =
        Array.isArray(shape) &&
        shape.every((d) => Number.isInteger(d) && d >= 0) &&
        (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) &&
        shape[0] === data.length;
      if (!okShape) {
        errors.push({
          loc: [...loc, "shape"],
          msg: `shape must be [${data.length}] or [${data.length}, 1] for ${data.length} values, got ${JSON.stringify(shape)?.slice(0, 60)}`,
          type: "shape",
        });
        return;
      }
      if (n < 0) n = data.length;
      else if (data.length !== n) {
        errors.push({
          loc: [...loc, "data"],
          msg: `has ${data.length} values, other inputs have ${n}`,
          type: "length_mismatch",
        });
        return;
      }
      byName.set(inp.name, { idx: k, data });
    });
    for (const c of cols) {
      if (!given.has(c.name) && !c.nullable && errors.length < 1000) {
        errors.push({ loc: ["body", "inputs"], msg: `missing input '${c.name}'`, type: "missing" });
      }
    }
    if (errors.length > 0) return { ok: false, errors };
    if (n <= 0) throw new ApiError(400, "inputs have no rows");
    checkBatch(n);
    let requested: string[] | undefined;
    if (body.outputs !== undefined) {
      if (
        !Array.isArray(body.outputs) ||
        !body.outputs.every((o) => isRecord(o) && typeof o.name === "string")
      ) {
        throw new ApiError(400, "outputs must be a list of {name}");
      }
      requested = (body.outputs as { name: string }[]).map((o) => o.name);
      const bad = requested.filter((r) => ![OUTPUT_NAME, "lower", "upper"].includes(r));
      if (bad.length > 0)
        throw new ApiError(
          400,
          `unknown output(s) ${bad.join(", ")}; available: ${OUTPUT_NAME}, lower, upper`,
        );
    }
    const arrays = cols.map((c) => byName.get(c.name));
    const view: BatchView = {
      n,
      get: (j, i) => arrays[j]?.data[i],
      has: (j) => arrays[j] !== undefined,
      loc: (name, i) => [
        "body",
        "inputs",
        arrays[cols.findIndex((c) => c.name === name)]?.idx ?? 0,
        "data",
        i,
      ],
    };
    const r = buildFrame(cols, view);
    const id = typeof body.id === "string" ? body.id : undefined;
    return r.ok ? { ...r, requested, id } : r;
  };

  const inferHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    const p = req.params as NameParams;
    const cur0 = resolveV2(p.name, p.version);
    const built = v2Frame(req.body);
    if (!built.ok) throw new ApiError(400, `invalid inputs: ${built.errors.length} problem(s)`, built.errors);
    const { cur, out } = runModel(req, reply, built, "/v2/models/:name/infer");
    void cur0;
    const n = out.predictions.length;
    const all = {
      [OUTPUT_NAME]: out.predictions,
      lower: out.lower,
      upper: out.upper,
    } as Record<string, Float64Array>;
    const names = built.requested ?? [OUTPUT_NAME, "lower", "upper"];
    return {
      model_name: cur.model.name,
      model_version: cur.model.version,
      ...(built.id !== undefined ? { id: built.id } : {}),
      parameters: { interval_level: out.level },
      outputs: names.map((name) => ({ name, shape: [n], datatype: "FP64", data: Array.from(all[name]) })),
    };
  };
  const inferSchema = {
    tags: ["v2"],
    description:
      "Open Inference Protocol V2: one input tensor per column ({name, shape:[n], datatype FP64|BYTES, data}); outputs predicted_price, lower, upper. Errors 400 {error, detail}, 404 unknown model, 413.",
  };
  fastify.post(
    "/v2/models/:name/infer",
    { preValidation: jsonOnly(false), schema: inferSchema },
    inferHandler,
  );
  fastify.post(
    "/v2/models/:name/versions/:version/infer",
    { preValidation: jsonOnly(false), schema: inferSchema },
    inferHandler,
  );

  // ------------------------------------------------------------ monitoring: feedback, drift, schedule
  if (opts.monitoring) {
    monitoring = registerMonitoring(fastify, opts.monitoring, { manager, registry: metrics.registry, clock });
    handle.monitoring = monitoring;
  }

  // ------------------------------------------------------------ dashboard
  if (opts.dashboard) {
    const { dashboardPlugin, dashboardRootHook } = await import("./dashboard.ts");
    fastify.addHook("onRequest", dashboardRootHook(opts.dashboard.distDir));
    await fastify.register(dashboardPlugin, opts.dashboard);
  }

  // ------------------------------------------------------------ start loading
  await fastify.ready();
  const started = opts.manager ? manager.ready() : manager.start().then(() => {});
  if (opts.waitForModel ?? true) await started;
  return app;
}

type PredictionHook = (entry: PredictionLogEntry) => void | Promise<void>;

/** Both hooks in order (a failing first hook does not stop the second); undefined when neither is set. */
function chainHooks(a?: PredictionHook, b?: PredictionHook): PredictionHook | undefined {
  if (!a || !b) return a ?? b;
  return async (entry) => {
    try {
      await a(entry);
    } finally {
      await b(entry);
    }
  };
}

// -------------------------------------------------------------------------------- server

export interface StartServerOptions extends CreateAppOptions {
  host?: string;
  port?: number;
  /** Install SIGTERM/SIGINT handlers that drain and exit (default true). */
  handleSignals?: boolean;
  /** process.exit(0) after a signal-triggered drain (default true). */
  exitOnSignal?: boolean;
  /** Give up draining after this many ms and exit 1 (default 10,000). */
  shutdownTimeoutMs?: number;
}

export interface RunningServer {
  app: ServingApp;
  host: string;
  port: number;
  url: string;
  /** Stop accepting, drain in-flight requests, stop loaders, flush hooks. */
  close(): Promise<void>;
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const app = await createApp(opts);
  const host = opts.host ?? "127.0.0.1";
  await app.listen({ host, port: opts.port ?? 8000 });
  const addr = app.server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  // The log goes to stdout through an asynchronous destination: wait for its pending writes before exiting
  // (process.exit with a write still in flight put the last request's line after "shutdown complete").
  const exit = (code: number) => {
    void app.mlops.endLog().then(() => process.exit(code));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    app.log.info({ signal }, "shutting down: draining in-flight requests");
    const timer = setTimeout(() => {
      app.log.error({ signal }, "shutdown timed out");
      exit(1);
    }, opts.shutdownTimeoutMs ?? 10_000);
    timer.unref();
    close().then(
      () => {
        clearTimeout(timer);
        app.log.info("shutdown complete");
        if (opts.exitOnSignal ?? true) exit(0);
      },
      (err) => {
        app.log.error({ err }, "shutdown failed");
        exit(1);
      },
    );
  };
  const close = () => {
    if (!closing) {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      closing = app.close();
    }
    return closing;
  };
  if (opts.handleSignals ?? true) {
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return { app, host, port: addr.port, url: `http://${urlHost}:${addr.port}`, close };
}

export type { Frame };
