/**
 * Window analysis: read a window of the prediction log and compute drift vs the reference profile, rolling
 * accuracy from feedback and the sanity checks. This is the expensive part of a monitoring pass (a 1 M-prediction
 * window takes ~2 s), so a server runs it on an analysis thread (`AnalysisThread`, own read connection to the log
 * database) and its event loop keeps serving; `inThreadAnalyser` runs it here (CLI, tests).
 */
import type { Worker } from "node:worker_threads";
import { moduleUrl, startModuleWorker } from "../ml/pool/spawn.ts";
import {
  type InputCheck,
  inputChecks,
  type LatencyStats,
  latencyStats,
  type PredictionChecks,
  predictionChecks,
} from "./checks.ts";
import { computeDrift, type DriftOptions, type DriftReport } from "./drift.ts";
import type { AccuracyReport, PredictionLog } from "./prediction-log.ts";
import type { ReferenceProfile } from "./reference.ts";

export interface WindowAnalysisRequest {
  sinceMs: number;
  untilMs: number;
  modelVersion?: string;
  /** no drift verdict below this many logged predictions */
  minRows: number;
  /** read at most this many rows of the window, an even sample above it (default: all) */
  maxRows?: number;
  /** drift options (the window's predictions are added) */
  drift?: Omit<DriftOptions, "predictions">;
  /** rolling accuracy over this range (optionally broken down by a categorical input); omitted: skipped */
  accuracy?: { sinceMs: number; untilMs: number; by?: string };
  /** prediction / input / latency checks (default false) */
  checks?: boolean;
  /** prediction and feedback counts of the whole log, per model version (default false; a full scan) */
  counts?: boolean;
}

export interface LogCounts {
  total: number;
  withFeedback: number;
  byModelVersion: Record<string, { predictions: number; feedback: number }>;
}

export interface WindowChecks {
  prediction: PredictionChecks | null;
  inputs: InputCheck[];
  latency: LatencyStats;
}

export interface WindowAnalysis {
  /** n = rows logged in the window; analysed = rows read (fewer when sampled down to maxRows) */
  window: { sinceMs: number; untilMs: number; n: number; analysed: number };
  drift: DriftReport | null;
  /** why drift was skipped, if it was */
  driftSkipped?: string;
  accuracy: AccuracyReport | null;
  checks: WindowChecks | null;
  counts: LogCounts | null;
}

/** Analyse a window (everything queued on `log` must have been flushed by the caller if it should count). */
export function analyseWindow(
  log: PredictionLog,
  reference: ReferenceProfile,
  req: WindowAnalysisRequest,
): WindowAnalysis {
  const mv = req.modelVersion !== undefined ? { modelVersion: req.modelVersion } : {};
  const w = log.window(req.sinceMs, req.untilMs, {
    ...mv,
    ...(req.maxRows !== undefined ? { maxRows: req.maxRows } : {}),
  });
  let drift: DriftReport | null = null;
  let driftSkipped: string | undefined;
  if (w.n >= req.minRows)
    drift = computeDrift(reference, w.inputs, { ...(req.drift ?? {}), predictions: w.predictions });
  else driftSkipped = `only ${w.n} logged predictions in the window (< ${req.minRows})`;
  const accuracy = req.accuracy
    ? log.accuracy({
        sinceMs: req.accuracy.sinceMs,
        untilMs: req.accuracy.untilMs,
        ...mv,
        ...(req.accuracy.by ? { by: req.accuracy.by } : {}),
      })
    : null;
  const checks = req.checks
    ? {
        prediction: w.n > 0 ? predictionChecks(reference, w.predictions) : null,
        inputs: w.n > 0 ? inputChecks(reference, w.inputs) : [],
        latency: latencyStats(w.latencyMs),
      }
    : null;
  let counts: LogCounts | null = null;
  if (req.counts) {
    const c = log.counts();
    counts = { total: c.total, withFeedback: c.withFeedback, byModelVersion: c.byModelVersion };
  }
  return {
    window: { sinceMs: w.sinceMs, untilMs: w.untilMs, n: w.rowsInWindow, analysed: w.n },
    drift,
    ...(driftSkipped ? { driftSkipped } : {}),
    accuracy,
    checks,
    counts,
  };
}

/** Runs an analysis; the log's queue is flushed first so that the window includes every served prediction. */
export type WindowAnalyser = (
  reference: ReferenceProfile,
  req: WindowAnalysisRequest,
) => Promise<WindowAnalysis>;

/** Analyse on the calling thread. */
export function inThreadAnalyser(log: PredictionLog): WindowAnalyser {
  return async (reference, req) => {
    await log.flush();
    return analyseWindow(log, reference, req);
  };
}

// ---------------------------------------------------------------- analysis thread

/** The analysis thread's young generation (MiB; V8 splits it into semi-spaces). */
const ANALYSIS_YOUNG_GEN_MB = 16;
/**
 * An analysis thread idle this long (ms) exits, and the next analysis starts a new one (~0.1 s compiled, ~0.35 s
 * from sources). A pass over a 200 k-row window allocates ~40-50 MB of typed arrays (the window's columns, the
 * statistics' sorted copies). V8 frees them only at a GC, which external memory triggers only after ~64 MB; glibc
 * then keeps the thread's malloc arena resident (one 64 MiB mapping after the first passes, measured). Ending the
 * thread returns most of it to the OS between passes (docs/monitoring.md).
 */
export const ANALYSIS_IDLE_EXIT_MS = 5_000;

export type AnalysisRequestMessage =
  | {
      op: "analyse";
      id: number;
      /** reference profiles are sent once per thread and then named by id */
      refId: number;
      reference?: ReferenceProfile;
      req: WindowAnalysisRequest;
    }
  | { op: "close" };
export type AnalysisResponseMessage =
  | { op: "done"; id: number; result: WindowAnalysis }
  | { op: "failed"; id: number; error: string; name: string; field?: string };

const ENTRY = moduleUrl("./analysis-worker.ts", import.meta.url);

/** An error raised by the analysis thread, with the original error's name (and field, for ValidationError). */
export class AnalysisError extends Error {
  readonly field?: string;
  constructor(message: string, name: string, field?: string) {
    super(message);
    this.name = name;
    if (field !== undefined) this.field = field;
  }
}

/**
 * A worker thread that analyses windows of one prediction-log database (its own read connection; WAL lets it
 * read while the writer thread commits). Started on first use; requests run one at a time, in order. It exits
 * after `idleExitMs` without work (see ANALYSIS_IDLE_EXIT_MS). If the thread dies, pending analyses fail and the
 * next one starts a new thread.
 */
export class AnalysisThread {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (r: WindowAnalysis) => void; reject: (e: Error) => void }
  >();
  private readonly refIds = new WeakMap<ReferenceProfile, number>();
  private sentRefs = new Set<number>();
  private nextRef = 0;
  private closed = false;
  private idleTimer: NodeJS.Timeout | null = null;
  /** threads started so far (a new one after each idle exit or failure) */
  private started = 0;

  constructor(
    private readonly log: PredictionLog,
    private readonly dbPath: string = log.path,
    private readonly idleExitMs: number = ANALYSIS_IDLE_EXIT_MS,
  ) {}

  /** Whether a thread is running now, and how many have been started (observability and tests). */
  get state(): { running: boolean; started: number } {
    return { running: this.worker !== null, started: this.started };
  }

  /** A WindowAnalyser that flushes the log, then analyses on the thread. */
  analyser(): WindowAnalyser {
    return (reference, req) => this.analyse(reference, req);
  }

  async analyse(reference: ReferenceProfile, req: WindowAnalysisRequest): Promise<WindowAnalysis> {
    if (this.closed) throw new Error("analysis thread is closed");
    await this.log.flush();
    if (this.closed) throw new Error("analysis thread is closed");
    this.cancelIdleExit();
    const w = this.worker ?? this.start();
    let refId = this.refIds.get(reference);
    if (refId === undefined) {
      refId = ++this.nextRef;
      this.refIds.set(reference, refId);
    }
    const first = !this.sentRefs.has(refId);
    this.sentRefs.add(refId);
    const id = ++this.nextId;
    return new Promise<WindowAnalysis>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({
        op: "analyse",
        id,
        refId,
        ...(first ? { reference } : {}),
        req,
      } satisfies AnalysisRequestMessage);
    });
  }

  private start(): Worker {
    const w = startModuleWorker(ENTRY, {
      workerData: { path: this.dbPath },
      // `mlops` gives node --min-semi-space-size=16 for the serving thread, and V8 flags are process-wide: this
      // thread, idle between passes, would keep 2 × 16 MiB of young generation (its windows are typed arrays,
      // outside the young generation)
      resourceLimits: { maxYoungGenerationSizeMb: ANALYSIS_YOUNG_GEN_MB },
      stdout: false,
      stderr: false,
    });
    this.sentRefs = new Set(); // a new thread knows no reference yet
    this.started++;
    w.on("message", (m: AnalysisResponseMessage) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) {
        w.unref();
        this.scheduleIdleExit(w);
      }
      if (m.op === "done") p.resolve(m.result);
      else p.reject(new AnalysisError(m.error, m.name, m.field));
    });
    const fail = (e: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      const ps = [...this.pending.values()];
      this.pending.clear();
      for (const p of ps) p.reject(new Error(`analysis thread failed: ${e.message}`));
    };
    w.on("error", fail);
    w.on("exit", (code) => fail(new Error(`exited with code ${code}`)));
    w.unref();
    this.worker = w;
    return w;
  }

  private scheduleIdleExit(w: Worker): void {
    this.cancelIdleExit();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.worker !== w || this.pending.size > 0) return;
      this.worker = null; // the next analysis starts a new thread; this one's exit is not a failure
      void w.terminate();
    }, this.idleExitMs);
    this.idleTimer.unref();
  }

  private cancelIdleExit(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Stop the thread (pending analyses are rejected). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelIdleExit();
    const w = this.worker;
    this.worker = null;
    const ps = [...this.pending.values()];
    this.pending.clear();
    for (const p of ps) p.reject(new Error("analysis thread closed"));
    if (w) await w.terminate();
  }
}
