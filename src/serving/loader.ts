/**
 * Model loading with resilience: a cascade over sources (registry alias → remote URL → local file), each
 * attempt under a timeout, retried with exponential backoff + jitter, behind a circuit breaker per source
 * (cockatiel 3). Starts degraded when nothing loads and keeps retrying in the background. Hot reload polls the
 * primary source's change token (or runs on demand), verifies the candidate (contract + warm-up re-scoring of
 * its input example) and swaps a single reference; in-flight requests keep the model they started with.
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type IPolicy,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import type { DatasetContract } from "../data/contract-types.ts";
import { frameFromRecords, inputColumns, inputSignature } from "./schema.ts";
import { ModelDecodeError, type ModelSource, type ServableModel, type SourceProbe } from "./types.ts";

export interface LoadedModel {
  readonly model: ServableModel;
  readonly source: string;
  readonly sourceIndex: number;
  /** Epoch ms (app clock). */
  readonly loadedAt: number;
}

export type LoadTrigger = "initial" | "retry" | "poll" | "admin";

export type LoaderEvent =
  | {
      type: "load";
      outcome: "success" | "failure" | "rejected" | "unchanged";
      trigger: LoadTrigger;
      source: string;
      version?: string;
      error?: string;
    }
  | { type: "breaker"; source: string; state: "closed" | "open" | "half_open" | "isolated" };

/** The most recent load attempt of one source (what /health/deep reports). */
export type LastLoad = Omit<LoaderEvent & { type: "load" }, "type"> & { at: string };

export interface ReloadResult {
  status: "swapped" | "unchanged" | "rejected" | "failed" | "stopped";
  previousVersion: string | null;
  modelVersion: string | null;
  source: string | null;
  reason?: string;
}

export interface LoaderLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface LoaderOptions {
  /** In priority order; index 0 is the primary (polled for hot reload). */
  sources: ModelSource[];
  /** The server's contract: a model whose input columns differ is rejected. */
  contract: DatasetContract;
  /** Timeout of one load attempt (ms). Default 5,000. */
  attemptTimeoutMs?: number;
  /** Retries per source per cascade (after the first attempt), exponential backoff with jitter. */
  retry?: { maxRetries?: number; initialDelayMs?: number; maxDelayMs?: number };
  /** Circuit breaker per source: opens after `threshold` consecutive failed attempts. */
  breaker?: { threshold?: number; halfOpenAfterMs?: number };
  /** While degraded, re-run the cascade with exponential backoff between these bounds (ms). */
  backgroundRetry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Poll the primary source's change token every N ms (0/undefined = no polling). */
  pollIntervalMs?: number;
  /** Warm-up check: |pred − recorded| ≤ tol·|recorded| (+1e-12). Default 1e-6. */
  warmupTolerance?: number;
  logger?: LoaderLogger;
  clock?: () => number;
  onEvent?: (e: LoaderEvent) => void;
}

const STATE_NAMES: Record<CircuitState, "closed" | "open" | "half_open" | "isolated"> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "isolated",
};

const silent: LoaderLogger = { info() {}, warn() {}, error() {} };

export interface VerifyResult {
  ok: boolean;
  reason?: string;
  maxRelError?: number;
}

/** Contract compatibility + re-scoring of the model's input example against its recorded predictions. */
export function verifyModel(model: ServableModel, contract: DatasetContract, tol = 1e-6): VerifyResult {
  try {
    if (typeof model.name !== "string" || typeof model.version !== "string" || model.version === "") {
      return { ok: false, reason: "model has no name/version" };
    }
    if (!model.contract || !Array.isArray(model.contract.columns))
      return { ok: false, reason: "model has no contract" };
    const want = inputSignature(contract);
    const got = inputSignature(model.contract);
    if (want !== got) {
      return { ok: false, reason: `input contract mismatch: server expects {${want}}, model has {${got}}` };
    }
    const ex = model.inputExample;
    const rec = model.examplePredictions;
    if (!Array.isArray(ex) || ex.length === 0)
      return { ok: false, reason: "model has no input example to verify" };
    if (!Array.isArray(rec) || rec.length !== ex.length) {
      return {
        ok: false,
        reason: `input example has ${ex.length} rows but ${rec?.length ?? 0} recorded predictions`,
      };
    }
    const built = frameFromRecords(inputColumns(contract), ex, ["input_example"], false);
    if (!built.ok) {
      const e = built.errors[0];
      return { ok: false, reason: `input example invalid: ${e.loc.join(".")}: ${e.msg}` };
    }
    const out = model.predict(built.frame);
    if (!out || out.predictions.length !== ex.length) {
      return {
        ok: false,
        reason: `warm-up returned ${out?.predictions.length ?? 0} predictions for ${ex.length} rows`,
      };
    }
    let maxRel = 0;
    for (let i = 0; i < ex.length; i++) {
      const p = out.predictions[i];
      const r = rec[i];
      if (!Number.isFinite(p)) return { ok: false, reason: `warm-up prediction ${i} is not finite (${p})` };
      const err = Math.abs(p - r);
      const rel = err / Math.max(Math.abs(r), 1e-300);
      if (err > tol * Math.abs(r) + 1e-12) {
        return {
          ok: false,
          reason: `warm-up prediction ${i} = ${p} differs from recorded ${r} (relative error ${rel.toExponential(3)} > ${tol})`,
          maxRelError: rel,
        };
      }
      if (rel > maxRel) maxRel = rel;
    }
    return { ok: true, maxRelError: maxRel };
  } catch (e) {
    return { ok: false, reason: `warm-up failed: ${(e as Error).message}` };
  }
}

export class ModelManager {
  private current_: LoadedModel | null = null;
  private readonly sources: ModelSource[];
  private readonly policies: IPolicy[];
  private readonly breakers: CircuitBreakerPolicy[];
  private readonly opts: LoaderOptions;
  private readonly log: LoaderLogger;
  private readonly clock: () => number;
  private inflight: Promise<ReloadResult> | null = null;
  private primaryToken: string | null = null;
  private rejectedToken: string | null = null;
  private lastLoad_: LastLoad | null = null;
  private lastError: string | null = "model not loaded yet";
  private lastAttemptAt: number | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelay: number;
  private pollTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly abort = new AbortController();
  private firstCycle: Promise<void>;
  private resolveFirst!: () => void;

  constructor(opts: LoaderOptions) {
    if (opts.sources.length === 0) throw new Error("ModelManager: at least one model source is required");
    this.opts = opts;
    this.sources = opts.sources;
    this.log = opts.logger ?? silent;
    this.clock = opts.clock ?? Date.now;
    this.retryDelay = opts.backgroundRetry?.initialDelayMs ?? 1000;
    this.firstCycle = new Promise((r) => {
      this.resolveFirst = r;
    });
    const attemptTimeout = opts.attemptTimeoutMs ?? 5000;
    this.breakers = [];
    this.policies = this.sources.map((src) => {
      // a fetched-but-undecodable model is the version's fault, not the source's: it neither trips the breaker
      // nor is retried (the cascade rejects that version instead)
      const breaker = circuitBreaker(
        handleWhen((e) => !(e instanceof ModelDecodeError)),
        {
          halfOpenAfter: opts.breaker?.halfOpenAfterMs ?? 30_000,
          breaker: new ConsecutiveBreaker(opts.breaker?.threshold ?? 3),
        },
      );
      breaker.onStateChange((s) => {
        const state = STATE_NAMES[s];
        this.log.info({ source: src.name, state }, "model source circuit breaker state changed");
        this.emit({ type: "breaker", source: src.name, state });
      });
      this.breakers.push(breaker);
      const retryPolicy = retry(
        handleWhen(
          (e) => !(e instanceof BrokenCircuitError) && !(e instanceof ModelDecodeError) && !this.stopped,
        ),
        {
          maxAttempts: opts.retry?.maxRetries ?? 2,
          backoff: new ExponentialBackoff({
            initialDelay: opts.retry?.initialDelayMs ?? 200,
            maxDelay: opts.retry?.maxDelayMs ?? 5000,
          }),
        },
      );
      return wrap(retryPolicy, breaker, timeout(attemptTimeout, TimeoutStrategy.Aggressive));
    });
  }

  /** The model serving right now (read once per request). */
  get current(): LoadedModel | null {
    return this.current_;
  }

  get sourceNames(): string[] {
    return this.sources.map((s) => s.name);
  }

  /** The most recent load attempt (success, failure, rejection or unchanged), or null before the first. */
  get lastLoad(): LastLoad | null {
    return this.lastLoad_;
  }

  /**
   * Reachability of every source: its own `probe` when it has one (the registry checks the alias and that the
   * artifact store holds the bytes it points at), else its change token (null = not reachable / nothing there).
   */
  async probeSources(timeoutMs = 2000): Promise<(SourceProbe & { name: string; note?: string })[]> {
    return await Promise.all(
      this.sources.map(async (s) => {
        if (!s.probe && !s.currentVersion)
          return { name: s.name, ok: true, token: null, note: "no change token" };
        let timer: NodeJS.Timeout | undefined;
        try {
          const probed = await Promise.race([
            s.probe ? s.probe() : s.currentVersion!().then((token) => ({ ok: token !== null, token })),
            new Promise<never>((_, rej) => {
              timer = setTimeout(() => rej(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          return { name: s.name, ...probed };
        } catch (e) {
          return { name: s.name, ok: false, token: null, error: (e as Error).message };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  status(): { state: "ready" | "degraded"; reason?: string; lastAttemptAt: number | null } {
    if (this.current_) return { state: "ready", lastAttemptAt: this.lastAttemptAt };
    return {
      state: "degraded",
      reason: this.lastError ?? "model not loaded",
      lastAttemptAt: this.lastAttemptAt,
    };
  }

  breakerStates(): { source: string; state: "closed" | "open" | "half_open" | "isolated" }[] {
    return this.sources.map((s, i) => ({ source: s.name, state: STATE_NAMES[this.breakers[i].state] }));
  }

  /** Run the initial cascade; resolves after it (degraded or not). Starts polling/background retries. */
  async start(): Promise<ReloadResult> {
    const r = await this.reload("initial");
    this.resolveFirst();
    const poll = this.opts.pollIntervalMs ?? 0;
    if (poll > 0 && !this.stopped) {
      this.pollTimer = setInterval(() => {
        void this.poll();
      }, poll);
      this.pollTimer.unref();
    }
    return r;
  }

  /** Resolves once the first load cycle has finished. */
  ready(): Promise<void> {
    return this.firstCycle;
  }

  /** Check the primary source's change token; reload in the background when it changed. */
  async poll(): Promise<ReloadResult | null> {
    if (this.stopped || this.inflight) return null;
    const primary = this.sources[0];
    if (!primary.currentVersion) return null;
    let token: string | null;
    try {
      token = await primary.currentVersion();
    } catch {
      return null;
    }
    if (token === null || token === this.primaryToken || token === this.rejectedToken) return null;
    return this.reload("poll");
  }

  /**
   * Load from the cascade, verify, swap. Only sources of equal or higher priority than the one currently
   * serving are tried (a reload never downgrades from the registry to a fallback file). Concurrent calls share
   * one run.
   */
  reload(trigger: LoadTrigger, force = false): Promise<ReloadResult> {
    if (this.inflight) return this.inflight;
    const p = this.runCascade(trigger, force).finally(() => {
      this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  private async runCascade(trigger: LoadTrigger, force: boolean): Promise<ReloadResult> {
    const prev = this.current_;
    const previousVersion = prev?.model.version ?? null;
    if (this.stopped)
      return { status: "stopped", previousVersion, modelVersion: previousVersion, source: null };
    this.lastAttemptAt = this.clock();
    // Background retries while serving from a fallback only try the higher-priority sources.
    const limit = prev
      ? trigger === "retry"
        ? prev.sourceIndex - 1
        : prev.sourceIndex
      : this.sources.length - 1;
    const failures: string[] = [];
    for (let i = 0; i <= limit; i++) {
      const src = this.sources[i];
      let token: string | null = null;
      if (i === 0 && src.currentVersion) {
        try {
          token = await src.currentVersion();
        } catch {
          token = null;
        }
      }
      /** A version that loaded but cannot serve (undecodable, or failing verification): the old model stays. */
      const reject = (version: string | undefined, why: string): ReloadResult | null => {
        const reason = `${src.name}${version === undefined ? "" : ` version ${version}`}: rejected: ${why}`;
        failures.push(reason);
        this.log.error({ source: src.name, trigger, version, reason: why }, "model rejected");
        this.emit({
          type: "load",
          outcome: "rejected",
          trigger,
          source: src.name,
          ...(version === undefined ? {} : { version }),
          error: why,
        });
        // remembered, so that polls do not fetch the same bad version again until the alias/file/object moves
        if (i === 0) this.rejectedToken = token;
        return prev
          ? {
              status: "rejected",
              previousVersion,
              modelVersion: previousVersion,
              source: prev.source,
              reason,
            }
          : null;
      };
      let model: ServableModel;
      try {
        model = await this.policies[i].execute(({ signal }) => src.load(signal), this.abort.signal);
      } catch (e) {
        if (e instanceof ModelDecodeError) {
          const r = reject(undefined, e.message);
          if (r) return r;
          continue;
        }
        const msg =
          e instanceof BrokenCircuitError ? "circuit open (source recently failing)" : (e as Error).message;
        failures.push(`${src.name}: ${msg}`);
        this.log.warn({ source: src.name, trigger, err: msg }, "model load failed");
        this.emit({ type: "load", outcome: "failure", trigger, source: src.name, error: msg });
        continue;
      }
      if (this.stopped)
        return { status: "stopped", previousVersion, modelVersion: previousVersion, source: null };
      if (prev && !force && prev.model.name === model.name && prev.model.version === model.version) {
        if (i === 0) this.primaryToken = token ?? model.version;
        this.emit({ type: "load", outcome: "unchanged", trigger, source: src.name, version: model.version });
        return { status: "unchanged", previousVersion, modelVersion: previousVersion, source: prev.source };
      }
      const check = verifyModel(model, this.opts.contract, this.opts.warmupTolerance ?? 1e-6);
      if (!check.ok) {
        const r = reject(model.version, check.reason ?? "verification failed");
        if (r) return r;
        continue;
      }
      // The swap: a single reference assignment.
      this.current_ = { model, source: src.name, sourceIndex: i, loadedAt: this.clock() };
      if (i === 0) {
        this.primaryToken = token ?? model.version;
        this.rejectedToken = null;
      }
      this.lastError = null;
      this.clearRetry();
      if (i > 0) this.scheduleRetry(); // serving from a fallback: keep trying to get back to the primary
      this.log.info(
        { source: src.name, trigger, name: model.name, version: model.version, previousVersion },
        "model loaded",
      );
      this.emit({ type: "load", outcome: "success", trigger, source: src.name, version: model.version });
      return { status: "swapped", previousVersion, modelVersion: model.version, source: src.name };
    }
    const reason = failures.join("; ") || "no source available";
    if (!prev) {
      this.lastError = `no model loaded: ${reason}`;
      this.scheduleRetry();
    } else if (prev.sourceIndex > 0) {
      // Serving from a fallback: keep trying to get back to the primary.
      this.scheduleRetry();
    }
    return {
      status: "failed",
      previousVersion,
      modelVersion: previousVersion,
      source: prev?.source ?? null,
      reason,
    };
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.retryDelay * (0.8 + 0.4 * Math.random());
    this.retryDelay = Math.min(this.retryDelay * 2, this.opts.backgroundRetry?.maxDelayMs ?? 60_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.reload("retry");
    }, delay);
    this.retryTimer.unref();
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryDelay = this.opts.backgroundRetry?.initialDelayMs ?? 1000;
  }

  private emit(e: LoaderEvent): void {
    if (e.type === "load") {
      const { type: _t, ...rest } = e;
      this.lastLoad_ = { ...rest, at: new Date(this.clock()).toISOString() };
    }
    try {
      this.opts.onEvent?.(e);
    } catch {
      // metrics hooks must never break loading
    }
  }

  /** Stop timers, abort in-flight loads, wait for a running reload to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearRetry();
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.abort.abort();
    this.resolveFirst();
    if (this.inflight) await this.inflight.catch(() => {});
  }
}
