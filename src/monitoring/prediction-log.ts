/**
 * Prediction log: every served prediction (id, time, model version, inputs, output, interval, latency),
 * written to its own SQLite file (better-sqlite3, WAL) in batches, off the request path.
 *
 * - `append(records)` / `appendFrame(chunk)` only push onto a bounded in-memory queue (default 100,000
 *   records). When the queue is full the excess is dropped and counted (`stats().dropped`). A timer
 *   (default every 250 ms) and a size trigger (queue ≥ batchSize, default 2,000) flush batches, one transaction
 *   each, yielding to the event loop between batches. `flush()` drains everything; `close()` flushes and
 *   closes (call it on graceful shutdown).
 * - Storage is columnar per batch: one `batches` row per flushed batch and model version holds the inputs,
 *   predictions, intervals, timestamps and latencies as packed Float64 / Int32 arrays (categoricals as codes +
 *   levels in the batch's schema JSON), so reading a 1 M-prediction window is a few hundred blob reads, not
 *   1 M row decodes. A narrow `predictions` table (id → batch, row, ts, model version, prediction) serves
 *   feedback look-ups and counts.
 * - Feedback: `recordFeedback(id, actual)` — same id + same actual → no-op ('unchanged'); a different actual for
 *   a known id → the newer value replaces it ('updated', the previous value is returned: corrections are
 *   legitimate, last write wins); unknown id → NotFoundError; non-finite / negative / non-number → ValidationError.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { categoricalColumn, type Column, Frame, numericColumn } from "../data/frame.ts";

// ---------------------------------------------------------------- errors

export type MonitoringErrorCode = "NOT_FOUND" | "INVALID" | "CLOSED";

export class MonitoringError extends Error {
  readonly code: MonitoringErrorCode;
  constructor(code: MonitoringErrorCode, message: string) {
    super(message);
    this.name = "MonitoringError";
    this.code = code;
  }
}

/** Unknown prediction id (HTTP 404). */
export class NotFoundError extends MonitoringError {
  constructor(message: string) {
    super("NOT_FOUND", message);
    this.name = "NotFoundError";
  }
}

/** Bad feedback / query input (HTTP 422). */
export class ValidationError extends MonitoringError {
  readonly field: string;
  constructor(field: string, message: string) {
    super("INVALID", message);
    this.name = "ValidationError";
    this.field = field;
  }
}

// ---------------------------------------------------------------- types

export type InputValue = number | string | boolean | null | undefined;

export interface PredictionRecord {
  /** prediction id (unique) */
  id: string;
  /** epoch ms */
  ts: number;
  modelVersion: string;
  inputs: Record<string, InputValue>;
  prediction: number;
  lower?: number | null;
  upper?: number | null;
  latencyMs?: number | null;
}

/** Columnar form (e.g. one serving request): row i has id ids[i]. */
export interface PredictionChunk {
  ids: readonly string[];
  /** one timestamp for all rows, or one per row */
  ts: number | ArrayLike<number>;
  modelVersion: string;
  inputs: Frame;
  predictions: ArrayLike<number>;
  lower?: ArrayLike<number> | null;
  upper?: ArrayLike<number> | null;
  /** request latency, shared by all rows, or per row */
  latencyMs?: number | ArrayLike<number> | null;
}

export interface PredictionLogOptions {
  /** database file; default `<home>/monitoring.db` */
  path?: string;
  /** directory holding monitoring.db (default env MLOPS_HOME, else ./.mlops) */
  home?: string;
  /** max queued records (default 100,000) */
  capacity?: number;
  /** records per flush transaction (default 2,000; one flush ≈ 10 ms of event-loop time) */
  batchSize?: number;
  /** timer flush interval (default 250 ms) */
  flushIntervalMs?: number;
  /** delete predictions older than this many days (checked at open and hourly); default: keep everything */
  retentionDays?: number;
  /** clock for retention and feedback timestamps (tests) */
  now?: () => number;
  /** called when a background flush fails (default: write one JSON line to stderr) */
  onError?: (err: unknown) => void;
}

export interface PredictionLogStats {
  queued: number;
  dropped: number;
  /** malformed records skipped at flush (no string id, non-finite ts, no model version) */
  rejected: number;
  written: number;
  duplicates: number;
  flushes: number;
  lastFlushMs: number;
  failedFlushes: number;
}

/** Columnar window of logged predictions (inputs as a Frame), ordered by batch then row. */
export interface PredictionWindow {
  n: number;
  sinceMs: number;
  untilMs: number;
  ts: Float64Array;
  predictions: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  latencyMs: Float64Array;
  /** model version per row: index into `modelVersions` */
  modelVersionCodes: Int32Array;
  modelVersions: string[];
  inputs: Frame;
}

export interface AccuracyMetrics {
  n: number;
  /** mean absolute error (target units) */
  mae: number;
  /** mean absolute percentage error, %, over rows with actual > 0 */
  mape: number;
  /** Σ|error| / Σ|actual|, % */
  wmape: number;
  /** share of predictions within ±10 % of the actual, %, over rows with actual > 0 */
  within10pct: number;
}

export interface AccuracyReport {
  sinceMs: number;
  untilMs: number;
  by: string | null;
  versions: (AccuracyMetrics & { modelVersion: string; segments: Record<string, AccuracyMetrics> })[];
}

export interface FeedbackResult {
  status: "created" | "unchanged" | "updated";
  predictionId: string;
  actual: number;
  previous?: number;
}

interface SchemaEntry {
  name: string;
  kind: "numeric" | "categorical";
  levels?: string[];
}

// ---------------------------------------------------------------- batch building

/** Accumulates rows of one model version into columns. */
class BatchBuilder {
  readonly ids: string[] = [];
  readonly ts: number[] = [];
  readonly pred: number[] = [];
  readonly lower: number[] = [];
  readonly upper: number[] = [];
  readonly latency: number[] = [];
  readonly num = new Map<string, number[]>();
  readonly cat = new Map<string, (string | null)[]>();
  constructor(readonly modelVersion: string) {}

  get n(): number {
    return this.ids.length;
  }

  private numCol(name: string): number[] | null {
    const c = this.num.get(name);
    if (c) return c;
    if (this.cat.has(name)) return null;
    const arr = new Array<number>(this.n).fill(Number.NaN);
    this.num.set(name, arr);
    return arr;
  }

  private catCol(name: string): (string | null)[] {
    let c = this.cat.get(name);
    if (c) return c;
    const nums = this.num.get(name);
    if (nums) {
      // a string value for a so-far numeric feature: convert the column to categorical
      c = nums.map((v) => (Number.isNaN(v) ? null : String(v)));
      this.num.delete(name);
    } else c = new Array<string | null>(this.n).fill(null);
    this.cat.set(name, c);
    return c;
  }

  private pad(): void {
    const n = this.n;
    for (const c of this.num.values()) while (c.length < n) c.push(Number.NaN);
    for (const c of this.cat.values()) while (c.length < n) c.push(null);
  }

  addRecord(r: PredictionRecord): void {
    const row = this.n;
    for (const key in r.inputs) {
      const v = r.inputs[key];
      if (v === null || v === undefined) continue;
      if (typeof v === "number") {
        const c = this.numCol(key);
        if (c) c[row] = v;
        else this.catCol(key)[row] = String(v);
      } else this.catCol(key)[row] = String(v);
    }
    this.ids.push(r.id);
    this.ts.push(r.ts);
    this.pred.push(r.prediction);
    this.lower.push(r.lower ?? Number.NaN);
    this.upper.push(r.upper ?? Number.NaN);
    this.latency.push(r.latencyMs ?? Number.NaN);
    this.pad();
  }

  addChunk(c: PredictionChunk, start: number, end: number): void {
    const row0 = this.n;
    const m = end - start;
    for (const col of c.inputs.columns) {
      if (col.kind === "numeric") {
        const dst = this.numCol(col.name);
        if (dst) {
          while (dst.length < row0) dst.push(Number.NaN);
          for (let i = start; i < end; i++) dst[row0 + i - start] = col.values[i];
        } else {
          const s = this.catCol(col.name);
          for (let i = start; i < end; i++) {
            const v = col.values[i];
            s[row0 + i - start] = Number.isNaN(v) ? null : String(v);
          }
        }
      } else {
        const dst = this.catCol(col.name);
        for (let i = start; i < end; i++) {
          const code = col.codes[i];
          dst[row0 + i - start] = code < 0 ? null : col.levels[code];
        }
      }
    }
    const at = (v: number | ArrayLike<number> | null | undefined, i: number) =>
      v === null || v === undefined ? Number.NaN : typeof v === "number" ? v : v[i];
    for (let i = start; i < end; i++) {
      this.ids.push(c.ids[i]);
      this.ts.push(at(c.ts, i));
      this.pred.push(c.predictions[i]);
      this.lower.push(at(c.lower, i));
      this.upper.push(at(c.upper, i));
      this.latency.push(at(c.latencyMs, i));
    }
    void m;
    this.pad();
  }

  /** Schema JSON + packed blob: Float64 ts, pred, lower, upper, latency, numeric features; Int32 codes. */
  encode(): { schema: string; data: Buffer; tsMin: number; tsMax: number } {
    const n = this.n;
    const numNames = [...this.num.keys()].sort();
    const catNames = [...this.cat.keys()].sort();
    const schema: SchemaEntry[] = [];
    const buf = Buffer.allocUnsafe(8 * n * (5 + numNames.length) + 4 * n * catNames.length);
    const f64 = new Float64Array(n);
    let off = 0;
    const putF = (arr: number[]) => {
      for (let i = 0; i < n; i++) f64[i] = arr[i];
      Buffer.from(f64.buffer, 0, 8 * n).copy(buf, off);
      off += 8 * n;
    };
    putF(this.ts);
    putF(this.pred);
    putF(this.lower);
    putF(this.upper);
    putF(this.latency);
    for (const name of numNames) {
      putF(this.num.get(name)!);
      schema.push({ name, kind: "numeric" });
    }
    const i32 = new Int32Array(n);
    for (const name of catNames) {
      const vals = this.cat.get(name)!;
      const levels: string[] = [];
      const index = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const v = vals[i];
        if (v === null) i32[i] = -1;
        else {
          let code = index.get(v);
          if (code === undefined) {
            code = levels.length;
            levels.push(v);
            index.set(v, code);
          }
          i32[i] = code;
        }
      }
      Buffer.from(i32.buffer, 0, 4 * n).copy(buf, off);
      off += 4 * n;
      schema.push({ name, kind: "categorical", levels });
    }
    let tsMin = Number.POSITIVE_INFINITY,
      tsMax = Number.NEGATIVE_INFINITY;
    for (const t of this.ts) {
      if (t < tsMin) tsMin = t;
      if (t > tsMax) tsMax = t;
    }
    return { schema: JSON.stringify(schema), data: buf, tsMin, tsMax };
  }
}

interface DecodedBatch {
  n: number;
  ts: Float64Array;
  pred: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  latency: Float64Array;
  num: Map<string, Float64Array>;
  cat: Map<string, { codes: Int32Array; levels: string[] }>;
}

function decodeBatch(n: number, schemaText: string, data: Buffer): DecodedBatch {
  const schema = JSON.parse(schemaText) as SchemaEntry[];
  let off = 0;
  const f = () => {
    const out = new Float64Array(n);
    new Uint8Array(out.buffer).set(data.subarray(off, off + 8 * n));
    off += 8 * n;
    return out;
  };
  const ts = f(),
    pred = f(),
    lower = f(),
    upper = f(),
    latency = f();
  const num = new Map<string, Float64Array>();
  const cat = new Map<string, { codes: Int32Array; levels: string[] }>();
  for (const s of schema) if (s.kind === "numeric") num.set(s.name, f());
  for (const s of schema) {
    if (s.kind !== "categorical") continue;
    const codes = new Int32Array(n);
    new Uint8Array(codes.buffer).set(data.subarray(off, off + 4 * n));
    off += 4 * n;
    cat.set(s.name, { codes, levels: s.levels ?? [] });
  }
  return { n, ts, pred, lower, upper, latency, num, cat };
}

type QueueItem =
  | { kind: "record"; r: PredictionRecord }
  | { kind: "chunk"; c: PredictionChunk; start: number; end: number };

function defaultHome(): string {
  return process.env.MLOPS_HOME ?? ".mlops";
}

const DAY_MS = 86_400_000;

function checkTime(name: string, v: number): void {
  if (!Number.isFinite(v))
    throw new ValidationError(name, `${name} must be a finite epoch-ms number, got ${v}`);
}

// ---------------------------------------------------------------- the log

export class PredictionLog {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly capacity: number;
  private readonly batchSize: number;
  private readonly now: () => number;
  private readonly onError: (err: unknown) => void;
  private queue: QueueItem[] = [];
  private queueHead = 0;
  private queued = 0;
  private counters = {
    dropped: 0,
    rejected: 0,
    written: 0,
    duplicates: 0,
    flushes: 0,
    lastFlushMs: 0,
    failedFlushes: 0,
  };
  private timer: NodeJS.Timeout | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private closed = false;
  private readonly stmts: {
    insertBatch: Database.Statement;
    insertPrediction: Database.Statement;
    getPrediction: Database.Statement;
    getFeedback: Database.Statement;
    insertFeedback: Database.Statement;
    updateFeedback: Database.Statement;
  };

  constructor(opts: PredictionLogOptions = {}) {
    this.path = opts.path ?? join(opts.home ?? defaultHome(), "monitoring.db");
    this.capacity = opts.capacity ?? 100_000;
    this.batchSize = opts.batchSize ?? 2_000;
    if (!(this.capacity >= 1) || !(this.batchSize >= 1)) {
      throw new ValidationError("capacity", `PredictionLog: capacity and batchSize must be ≥ 1`);
    }
    this.now = opts.now ?? Date.now;
    this.onError =
      opts.onError ??
      ((err) =>
        process.stderr.write(
          `${JSON.stringify({ level: 50, time: Date.now(), msg: "prediction log flush failed", err: String(err) })}\n`,
        ));
    mkdirSync(dirname(this.path), { recursive: true });
    this.db = new Database(this.path, { timeout: 15_000 });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS batches (
        id INTEGER PRIMARY KEY,
        model_version TEXT NOT NULL,
        ts_min INTEGER NOT NULL,
        ts_max INTEGER NOT NULL,
        n INTEGER NOT NULL,
        schema TEXT NOT NULL,
        data BLOB NOT NULL
      );
      CREATE INDEX IF NOT EXISTS batches_ts ON batches(ts_max, ts_min);
      CREATE TABLE IF NOT EXISTS predictions (
        id TEXT PRIMARY KEY,
        batch_id INTEGER NOT NULL,
        row INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        model_version TEXT NOT NULL,
        prediction REAL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS feedback (
        prediction_id TEXT PRIMARY KEY,
        actual REAL NOT NULL,
        ts INTEGER NOT NULL,
        updates INTEGER NOT NULL DEFAULT 0
      );
    `);
    this.stmts = {
      insertBatch: this.db.prepare(
        "INSERT INTO batches (model_version, ts_min, ts_max, n, schema, data) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      insertPrediction: this.db.prepare(
        "INSERT OR IGNORE INTO predictions (id, batch_id, row, ts, model_version, prediction) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      getPrediction: this.db.prepare("SELECT id FROM predictions WHERE id = ?"),
      getFeedback: this.db.prepare("SELECT actual FROM feedback WHERE prediction_id = ?"),
      insertFeedback: this.db.prepare("INSERT INTO feedback (prediction_id, actual, ts) VALUES (?, ?, ?)"),
      updateFeedback: this.db.prepare(
        "UPDATE feedback SET actual = ?, ts = ?, updates = updates + 1 WHERE prediction_id = ?",
      ),
    };
    const interval = opts.flushIntervalMs ?? 250;
    this.timer = setInterval(() => this.backgroundFlush(), interval);
    this.timer.unref();
    if (opts.retentionDays !== undefined) {
      const days = opts.retentionDays;
      this.deleteOlderThan(days);
      this.retentionTimer = setInterval(() => {
        try {
          this.deleteOlderThan(days);
        } catch (e) {
          this.onError(e);
        }
      }, 3_600_000);
      this.retentionTimer.unref();
    }
  }

  // -------------------------------------------------------------- writing

  /** Queue records (never blocks on disk). Returns how many were accepted; the rest are counted as dropped. */
  append(records: readonly PredictionRecord[]): number {
    if (this.closed) {
      this.counters.dropped += records.length;
      return 0;
    }
    const room = this.capacity - this.queued;
    const take = Math.min(room, records.length);
    for (let i = 0; i < take; i++) this.queue.push({ kind: "record", r: records[i] });
    this.queued += take;
    this.counters.dropped += records.length - take;
    this.maybeSchedule();
    return take;
  }

  /** Queue a columnar chunk (one serving request). Returns the number of rows accepted. */
  appendChunk(chunk: PredictionChunk): number {
    const n = chunk.ids.length;
    if (chunk.inputs.nRows !== n || chunk.predictions.length !== n) {
      throw new ValidationError(
        "chunk",
        `PredictionLog.appendChunk: ${n} ids, ${chunk.inputs.nRows} input rows, ${chunk.predictions.length} predictions`,
      );
    }
    if (this.closed) {
      this.counters.dropped += n;
      return 0;
    }
    const take = Math.min(this.capacity - this.queued, n);
    if (take > 0) this.queue.push({ kind: "chunk", c: chunk, start: 0, end: take });
    this.queued += take;
    this.counters.dropped += n - take;
    this.maybeSchedule();
    return take;
  }

  private maybeSchedule(): void {
    if (this.queued >= this.batchSize && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.backgroundFlush();
      });
    }
  }

  private backgroundFlush(): void {
    if (this.closed || this.queued === 0) return;
    try {
      this.flushBatch();
    } catch (e) {
      this.counters.failedFlushes++;
      this.onError(e);
      return;
    }
    // one batch per tick: let requests run between batches
    if (this.queued >= this.batchSize) this.maybeSchedule();
  }

  /** Write up to batchSize queued records in one transaction. Returns the number written. */
  private flushBatch(): number {
    if (this.queued === 0) return 0;
    const t0 = performance.now();
    const builders = new Map<string, BatchBuilder>();
    const builder = (mv: string) => {
      let b = builders.get(mv);
      if (!b) {
        b = new BatchBuilder(mv);
        builders.set(mv, b);
      }
      return b;
    };
    let taken = 0;
    let head = this.queueHead;
    while (head < this.queue.length && taken < this.batchSize) {
      const item = this.queue[head];
      if (item.kind === "record") {
        const r = item.r;
        if (validRecord(r)) builder(r.modelVersion).addRecord(r);
        else this.counters.rejected++;
        taken++;
        head++;
      } else {
        const m = Math.min(item.end - item.start, this.batchSize - taken);
        if (!validChunk(item.c)) {
          this.counters.rejected += item.end - item.start;
          taken += item.end - item.start;
          head++;
          continue;
        }
        builder(item.c.modelVersion).addChunk(item.c, item.start, item.start + m);
        taken += m;
        if (item.start + m === item.end) head++;
        else item.start += m;
      }
    }
    let dup = 0;
    let rows = 0;
    for (const b of builders.values()) rows += b.n;
    this.db.transaction(() => {
      for (const b of builders.values()) {
        const enc = b.encode();
        const info = this.stmts.insertBatch.run(
          b.modelVersion,
          enc.tsMin,
          enc.tsMax,
          b.n,
          enc.schema,
          enc.data,
        );
        const batchId = Number(info.lastInsertRowid);
        for (let i = 0; i < b.n; i++) {
          const p = b.pred[i];
          const r = this.stmts.insertPrediction.run(
            b.ids[i],
            batchId,
            i,
            b.ts[i],
            b.modelVersion,
            Number.isNaN(p) ? null : p,
          );
          if (r.changes === 0) dup++;
        }
      }
    })();
    // commit succeeded: dequeue
    this.queueHead = head;
    this.queued -= taken;
    if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    this.counters.written += rows;
    this.counters.duplicates += dup;
    this.counters.flushes++;
    this.counters.lastFlushMs = performance.now() - t0;
    return taken;
  }

  /** Write everything queued (batch by batch). Resolves with the number of records written. */
  async flush(): Promise<number> {
    this.assertOpen();
    let total = 0;
    while (this.queued > 0) total += this.flushBatch();
    return total;
  }

  /** Flush, stop timers and close the database. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      while (this.queued > 0) this.flushBatch();
    } finally {
      this.closed = true;
      if (this.timer) clearInterval(this.timer);
      if (this.retentionTimer) clearInterval(this.retentionTimer);
      this.db.close();
    }
  }

  stats(): PredictionLogStats {
    return { queued: this.queued, ...this.counters };
  }

  get dropped(): number {
    return this.counters.dropped;
  }

  private assertOpen(): void {
    if (this.closed) throw new MonitoringError("CLOSED", `prediction log ${this.path} is closed`);
  }

  // -------------------------------------------------------------- retention

  /** Delete predictions (and their feedback) older than `days` days; drop batches entirely older. */
  deleteOlderThan(days: number): { predictions: number; feedback: number; batches: number } {
    this.assertOpen();
    if (!(days >= 0)) throw new ValidationError("days", `deleteOlderThan: days must be ≥ 0, got ${days}`);
    const cutoff = this.now() - days * DAY_MS;
    return this.db.transaction(() => {
      const feedback = this.db
        .prepare("DELETE FROM feedback WHERE prediction_id IN (SELECT id FROM predictions WHERE ts < ?)")
        .run(cutoff).changes;
      const predictions = this.db.prepare("DELETE FROM predictions WHERE ts < ?").run(cutoff).changes;
      const batches = this.db.prepare("DELETE FROM batches WHERE ts_max < ?").run(cutoff).changes;
      // rows of partly-old batches stay in their blob: windows never read before the cutoff
      if (cutoff > this.retentionCutoff()) {
        this.db
          .prepare(
            "INSERT INTO meta (key, value) VALUES ('retention_cutoff', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
          )
          .run(String(cutoff));
      }
      return { predictions, feedback, batches };
    })();
  }

  private retentionCutoff(): number {
    const v = this.db.prepare("SELECT value FROM meta WHERE key = 'retention_cutoff'").pluck().get() as
      | string
      | undefined;
    return v === undefined ? Number.NEGATIVE_INFINITY : Number(v);
  }

  // -------------------------------------------------------------- reading

  /** Logged predictions with sinceMs ≤ ts < untilMs (default: now + 1), optionally of one model version. */
  window(sinceMs: number, untilMs?: number, opts: { modelVersion?: string } = {}): PredictionWindow {
    this.assertOpen();
    const until = untilMs ?? this.now() + 1;
    checkTime("sinceMs", sinceMs);
    checkTime("untilMs", until);
    sinceMs = Math.max(sinceMs, this.retentionCutoff());
    const where = `ts_max >= ? AND ts_min < ?${opts.modelVersion !== undefined ? " AND model_version = ?" : ""}`;
    const params: (number | string)[] = [sinceMs, until];
    if (opts.modelVersion !== undefined) params.push(opts.modelVersion);
    const metas = this.db
      .prepare(`SELECT id, n, schema, model_version AS mv FROM batches WHERE ${where} ORDER BY id`)
      .all(...params) as { id: number; n: number; schema: string; mv: string }[];
    let cap = 0;
    const kinds = new Map<string, "numeric" | "categorical">();
    for (const m of metas) {
      cap += m.n;
      for (const s of JSON.parse(m.schema) as SchemaEntry[]) {
        if (kinds.get(s.name) !== "categorical") kinds.set(s.name, s.kind);
      }
    }
    const ts = new Float64Array(cap),
      pred = new Float64Array(cap),
      lower = new Float64Array(cap);
    const upper = new Float64Array(cap),
      latency = new Float64Array(cap),
      mvCodes = new Int32Array(cap);
    const modelVersions: string[] = [];
    const mvIndex = new Map<string, number>();
    const names = [...kinds.keys()].sort();
    const numOut = new Map<string, Float64Array>();
    const catOut = new Map<string, { codes: Int32Array; levels: string[]; index: Map<string, number> }>();
    for (const name of names) {
      if (kinds.get(name) === "numeric") numOut.set(name, new Float64Array(cap).fill(Number.NaN));
      else catOut.set(name, { codes: new Int32Array(cap).fill(-1), levels: [], index: new Map() });
    }
    const getData = this.db.prepare("SELECT data FROM batches WHERE id = ?").pluck();
    let k = 0;
    for (const m of metas) {
      const b = decodeBatch(m.n, m.schema, getData.get(m.id) as Buffer);
      let mvc = mvIndex.get(m.mv);
      if (mvc === undefined) {
        mvc = modelVersions.length;
        modelVersions.push(m.mv);
        mvIndex.set(m.mv, mvc);
      }
      const rows: number[] = [];
      for (let i = 0; i < b.n; i++) if (b.ts[i] >= sinceMs && b.ts[i] < until) rows.push(i);
      const k0 = k;
      for (const i of rows) {
        ts[k] = b.ts[i];
        pred[k] = b.pred[i];
        lower[k] = b.lower[i];
        upper[k] = b.upper[i];
        latency[k] = b.latency[i];
        mvCodes[k] = mvc;
        k++;
      }
      for (const [name, src] of b.num) {
        const dst = numOut.get(name);
        if (dst) {
          for (let r = 0; r < rows.length; r++) dst[k0 + r] = src[rows[r]];
        } else {
          const c = catOut.get(name)!;
          for (let r = 0; r < rows.length; r++) {
            const v = src[rows[r]];
            c.codes[k0 + r] = Number.isNaN(v) ? -1 : levelCode(c, String(v));
          }
        }
      }
      for (const [name, src] of b.cat) {
        const c = catOut.get(name)!;
        const map = src.levels.map((l) => levelCode(c, l));
        for (let r = 0; r < rows.length; r++) {
          const code = src.codes[rows[r]];
          c.codes[k0 + r] = code < 0 ? -1 : map[code];
        }
      }
    }
    const cols: Column[] = names.map((name) => {
      const num = numOut.get(name);
      if (num) return numericColumn(name, num.subarray(0, k));
      const c = catOut.get(name)!;
      return categoricalColumn(name, c.codes.subarray(0, k), c.levels);
    });
    return {
      n: k,
      sinceMs,
      untilMs: until,
      ts: ts.subarray(0, k),
      predictions: pred.subarray(0, k),
      lower: lower.subarray(0, k),
      upper: upper.subarray(0, k),
      latencyMs: latency.subarray(0, k),
      modelVersionCodes: mvCodes.subarray(0, k),
      modelVersions,
      inputs: new Frame(cols, k),
    };
  }

  /** Counts of logged predictions (optionally in a time window) by model version, with feedback counts. */
  counts(opts: { sinceMs?: number; untilMs?: number } = {}): {
    total: number;
    withFeedback: number;
    byModelVersion: Record<string, { predictions: number; feedback: number }>;
    queued: number;
    dropped: number;
  } {
    this.assertOpen();
    const since = opts.sinceMs ?? Number.MIN_SAFE_INTEGER,
      until = opts.untilMs ?? Number.MAX_SAFE_INTEGER;
    const rows = this.db
      .prepare(
        `SELECT p.model_version AS mv, COUNT(*) AS n, COUNT(f.prediction_id) AS fb
         FROM predictions p LEFT JOIN feedback f ON f.prediction_id = p.id
         WHERE p.ts >= ? AND p.ts < ? GROUP BY p.model_version`,
      )
      .all(since, until) as { mv: string; n: number; fb: number }[];
    const byModelVersion: Record<string, { predictions: number; feedback: number }> = {};
    let total = 0,
      withFeedback = 0;
    for (const r of rows) {
      byModelVersion[r.mv] = { predictions: r.n, feedback: r.fb };
      total += r.n;
      withFeedback += r.fb;
    }
    return { total, withFeedback, byModelVersion, queued: this.queued, dropped: this.counters.dropped };
  }

  /**
   * Logged predictions that have feedback — their inputs and the observed value — for retraining. Rows are
   * ordered by batch then row (deterministic); the latest feedback value of each prediction is used.
   */
  labelled(opts: { sinceMs?: number; untilMs?: number; modelVersion?: string } = {}): {
    n: number;
    ids: string[];
    ts: Float64Array;
    actual: Float64Array;
    predictions: Float64Array;
    inputs: Frame;
  } {
    this.assertOpen();
    const since = Math.max(opts.sinceMs ?? 0, this.retentionCutoff());
    const until = opts.untilMs ?? this.now() + 1;
    checkTime("sinceMs", since);
    checkTime("untilMs", until);
    const rows = this.db
      .prepare(
        `SELECT p.id AS id, p.batch_id AS b, p.row AS r, p.ts AS ts, f.actual AS actual
         FROM feedback f JOIN predictions p ON p.id = f.prediction_id
         WHERE p.ts >= ? AND p.ts < ?${opts.modelVersion !== undefined ? " AND p.model_version = ?" : ""}
         ORDER BY p.batch_id, p.row`,
      )
      .all(...([since, until, opts.modelVersion].filter((x) => x !== undefined) as (string | number)[])) as {
      id: string;
      b: number;
      r: number;
      ts: number;
      actual: number;
    }[];
    const n = rows.length;
    const batchIds = [...new Set(rows.map((x) => x.b))];
    const getBatch = this.db.prepare("SELECT n, schema, data FROM batches WHERE id = ?");
    const decoded = new Map<number, DecodedBatch>();
    const kinds = new Map<string, "numeric" | "categorical">();
    for (const id of batchIds) {
      const b = getBatch.get(id) as { n: number; schema: string; data: Buffer } | undefined;
      if (!b) continue;
      for (const e of JSON.parse(b.schema) as SchemaEntry[]) {
        if (kinds.get(e.name) !== "categorical") kinds.set(e.name, e.kind);
      }
      decoded.set(id, decodeBatch(b.n, b.schema, b.data));
    }
    const names = [...kinds.keys()].sort();
    const num = new Map<string, Float64Array>();
    const cat = new Map<string, { codes: Int32Array; levels: string[]; index: Map<string, number> }>();
    for (const name of names) {
      if (kinds.get(name) === "numeric") num.set(name, new Float64Array(n).fill(Number.NaN));
      else cat.set(name, { codes: new Int32Array(n).fill(-1), levels: [], index: new Map() });
    }
    const ids = new Array<string>(n);
    const ts = new Float64Array(n),
      actual = new Float64Array(n),
      predictions = new Float64Array(n).fill(Number.NaN);
    for (let k = 0; k < n; k++) {
      const row = rows[k];
      ids[k] = row.id;
      ts[k] = row.ts;
      actual[k] = row.actual;
      const b = decoded.get(row.b);
      if (!b) continue;
      predictions[k] = b.pred[row.r];
      for (const [name, src] of b.num) {
        const dst = num.get(name);
        if (dst) dst[k] = src[row.r];
        else {
          const c = cat.get(name)!;
          const v = src[row.r];
          c.codes[k] = Number.isNaN(v) ? -1 : levelCode(c, String(v));
        }
      }
      for (const [name, src] of b.cat) {
        const c = cat.get(name)!;
        const code = src.codes[row.r];
        c.codes[k] = code < 0 ? -1 : levelCode(c, src.levels[code]);
      }
    }
    const cols: Column[] = names.map((name) => {
      const v = num.get(name);
      if (v) return numericColumn(name, v);
      const c = cat.get(name)!;
      return categoricalColumn(name, c.codes, c.levels);
    });
    return { n, ids, ts, actual, predictions, inputs: new Frame(cols, n) };
  }

  // -------------------------------------------------------------- feedback and accuracy

  /** Record the observed value for a prediction (see the module doc for the idempotency rules). */
  async recordFeedback(predictionId: unknown, actual: unknown): Promise<FeedbackResult> {
    this.assertOpen();
    if (typeof predictionId !== "string" || predictionId.length === 0 || predictionId.length > 200) {
      throw new ValidationError(
        "prediction_id",
        `prediction_id must be a non-empty string (≤ 200 chars), got ${JSON.stringify(predictionId)}`,
      );
    }
    if (typeof actual !== "number" || !Number.isFinite(actual) || actual < 0) {
      throw new ValidationError(
        "actual",
        `actual must be a finite number ≥ 0, got ${JSON.stringify(actual) ?? String(actual)}`,
      );
    }
    if (!this.stmts.getPrediction.get(predictionId)) {
      if (this.queued > 0) await this.flush(); // the prediction may still be queued
      if (!this.stmts.getPrediction.get(predictionId)) {
        throw new NotFoundError(`unknown prediction id '${predictionId}'`);
      }
    }
    const prev = this.stmts.getFeedback.get(predictionId) as { actual: number } | undefined;
    if (prev && prev.actual === actual) return { status: "unchanged", predictionId, actual };
    if (prev) {
      this.stmts.updateFeedback.run(actual, this.now(), predictionId);
      return { status: "updated", predictionId, actual, previous: prev.actual };
    }
    this.stmts.insertFeedback.run(predictionId, actual, this.now());
    return { status: "created", predictionId, actual };
  }

  /**
   * Rolling accuracy of predictions made in [sinceMs, untilMs) that have feedback, per model version and,
   * with `by`, per value of that categorical input (e.g. ocean_proximity; missing → "(missing)").
   */
  accuracy(
    opts: { sinceMs?: number; untilMs?: number; modelVersion?: string; by?: string } = {},
  ): AccuracyReport {
    this.assertOpen();
    const since = opts.sinceMs ?? 0,
      until = opts.untilMs ?? this.now() + 1;
    checkTime("sinceMs", since);
    checkTime("untilMs", until);
    const rows = this.db
      .prepare(
        `SELECT p.model_version AS mv, p.prediction AS pred, f.actual AS actual, p.batch_id AS b, p.row AS r
         FROM feedback f JOIN predictions p ON p.id = f.prediction_id
         WHERE p.ts >= ? AND p.ts < ?${opts.modelVersion !== undefined ? " AND p.model_version = ?" : ""}
         ORDER BY p.batch_id`,
      )
      .all(...([since, until, opts.modelVersion].filter((x) => x !== undefined) as (string | number)[])) as {
      mv: string;
      pred: number | null;
      actual: number;
      b: number;
      r: number;
    }[];
    const by = opts.by ?? null;
    const getBatch = this.db.prepare("SELECT n, schema, data FROM batches WHERE id = ?");
    let cachedId = -1;
    let cachedSeg: ((row: number) => string) | null = null;
    const segmentOf = (batchId: number, row: number): string => {
      if (batchId !== cachedId) {
        cachedId = batchId;
        const b = getBatch.get(batchId) as { n: number; schema: string; data: Buffer } | undefined;
        if (!b || !by) cachedSeg = () => "(missing)";
        else {
          const d = decodeBatch(b.n, b.schema, b.data);
          const cat = d.cat.get(by),
            num = d.num.get(by);
          cachedSeg = cat
            ? (i) => (cat.codes[i] < 0 ? "(missing)" : cat.levels[cat.codes[i]])
            : num
              ? (i) => (Number.isNaN(num[i]) ? "(missing)" : String(num[i]))
              : () => "(missing)";
        }
      }
      return cachedSeg!(row);
    };
    const acc = new Map<string, { all: Acc; segs: Map<string, Acc> }>();
    for (const row of rows) {
      if (row.pred === null) continue;
      let a = acc.get(row.mv);
      if (!a) {
        a = { all: newAcc(), segs: new Map() };
        acc.set(row.mv, a);
      }
      addAcc(a.all, row.pred, row.actual);
      if (by) {
        const s = segmentOf(row.b, row.r);
        let sa = a.segs.get(s);
        if (!sa) {
          sa = newAcc();
          a.segs.set(s, sa);
        }
        addAcc(sa, row.pred, row.actual);
      }
    }
    return {
      sinceMs: since,
      untilMs: until,
      by,
      versions: [...acc.entries()].map(([mv, a]) => ({
        modelVersion: mv,
        ...finishAcc(a.all),
        segments: Object.fromEntries([...a.segs.entries()].sort().map(([k, v]) => [k, finishAcc(v)])),
      })),
    };
  }
}

function validRecord(r: PredictionRecord): boolean {
  return (
    r !== null &&
    typeof r === "object" &&
    typeof r.id === "string" &&
    r.id.length > 0 &&
    Number.isFinite(r.ts) &&
    typeof r.modelVersion === "string" &&
    typeof r.prediction === "number" &&
    r.inputs !== null &&
    typeof r.inputs === "object"
  );
}

function validChunk(c: PredictionChunk): boolean {
  if (typeof c.modelVersion !== "string") return false;
  if (typeof c.ts === "number") {
    if (!Number.isFinite(c.ts)) return false;
  } else {
    if (c.ts.length !== c.ids.length) return false;
    for (let i = 0; i < c.ts.length; i++) if (!Number.isFinite(c.ts[i])) return false;
  }
  for (const id of c.ids) if (typeof id !== "string" || id.length === 0) return false;
  return true;
}

function levelCode(c: { levels: string[]; index: Map<string, number> }, l: string): number {
  let code = c.index.get(l);
  if (code === undefined) {
    code = c.levels.length;
    c.levels.push(l);
    c.index.set(l, code);
  }
  return code;
}

interface Acc {
  n: number;
  absErr: number;
  absActual: number;
  nPos: number;
  ape: number;
  within: number;
}

function newAcc(): Acc {
  return { n: 0, absErr: 0, absActual: 0, nPos: 0, ape: 0, within: 0 };
}

function addAcc(a: Acc, pred: number, actual: number): void {
  const e = Math.abs(pred - actual);
  a.n++;
  a.absErr += e;
  a.absActual += Math.abs(actual);
  if (actual > 0) {
    a.nPos++;
    a.ape += e / actual;
    if (e <= 0.1 * actual) a.within++;
  }
}

function finishAcc(a: Acc): AccuracyMetrics {
  return {
    n: a.n,
    mae: a.n > 0 ? a.absErr / a.n : Number.NaN,
    mape: a.nPos > 0 ? (100 * a.ape) / a.nPos : Number.NaN,
    wmape: a.absActual > 0 ? (100 * a.absErr) / a.absActual : Number.NaN,
    within10pct: a.nPos > 0 ? (100 * a.within) / a.nPos : Number.NaN,
  };
}

/** Open (or create) the prediction log. */
export function openPredictionLog(opts: PredictionLogOptions = {}): PredictionLog {
  return new PredictionLog(opts);
}

/**
 * Adapter for the serving hook: a PredictionLogEntry-shaped object (src/serving/types.ts) → a chunk.
 * Prediction i gets id `${predictionIdPrefix}-${i}`, matching what /api/v1/predict returns.
 */
export function chunkFromServingEntry(
  entry: {
    predictionIdPrefix: string;
    timestamp: number;
    modelVersion: string;
    inputs: Frame;
    predictions: Float64Array;
    lower: Float64Array;
    upper: Float64Array;
    latencyMs?: number;
  },
  latencyMs?: number,
): PredictionChunk {
  const n = entry.predictions.length;
  const ids = new Array<string>(n);
  for (let i = 0; i < n; i++) ids[i] = `${entry.predictionIdPrefix}-${i}`;
  return {
    ids,
    ts: entry.timestamp,
    modelVersion: entry.modelVersion,
    inputs: entry.inputs,
    predictions: entry.predictions,
    lower: entry.lower,
    upper: entry.upper,
    latencyMs: latencyMs ?? entry.latencyMs ?? null,
  };
}

/** `onPrediction` hook for the serving app: queues each response's rows (never throws on a full queue). */
export function predictionLogHook(
  log: PredictionLog,
): (entry: Parameters<typeof chunkFromServingEntry>[0]) => void {
  return (entry) => {
    log.appendChunk(chunkFromServingEntry(entry));
  };
}
