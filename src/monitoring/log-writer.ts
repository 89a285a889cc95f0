/**
 * The prediction log's write side: the database schema and one SQLite transaction per write job (a set of
 * encoded batches). Used in-thread and from the writer thread (`log-writer-worker.ts`), which owns its own
 * connection so that the serving event loop never waits on SQLite (commits, WAL checkpoints, fsync).
 *
 * Every job carries a random key, recorded in the same transaction (`log_jobs`, the last 1,024 keys). A job
 * re-sent after the writer thread died without acknowledging it is therefore recognised and not stored twice:
 * exactly-once for jobs whose commit raced the failure.
 */
import Database from "better-sqlite3";

/** One model version's rows of a job: the packed columnar blob plus what the narrow `predictions` table needs. */
export interface EncodedBatch {
  modelVersion: string;
  n: number;
  tsMin: number;
  tsMax: number;
  /** schema JSON of the blob (feature names, kinds, categorical levels) */
  schema: string;
  /** packed blob: Float64 ts[n], pred[n], lower[n], upper[n], latency[n], numeric features; Int32 codes. */
  data: Uint8Array;
  /** prediction ids, UTF-8: id i is idBytes[idEnd[i - 1] (0 for i = 0) .. idEnd[i]) */
  idBytes: Uint8Array;
  idEnd: Int32Array;
}

export interface WriteJob {
  /** unique key of the job (exactly-once on replay) */
  key: string;
  batches: EncodedBatch[];
  /** total rows over the batches */
  rows: number;
}

export interface WriteResult {
  rows: number;
  /** rows whose prediction id was already stored (kept in the blob, ignored in `predictions`) */
  duplicates: number;
  /** transaction time */
  ms: number;
  /** the job had already been committed: nothing written */
  replay: boolean;
}

const SCHEMA = `
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
  CREATE TABLE IF NOT EXISTS log_jobs (seq INTEGER PRIMARY KEY, job TEXT NOT NULL UNIQUE);
`;

/** Keys of the last JOB_KEYS_KEPT jobs are kept for replay detection. */
const JOB_KEYS_KEPT = 1024;

/** Open (creating if needed) a prediction-log database: WAL, synchronous=NORMAL, 15 s busy timeout. */
export function openLogDatabase(path: string): Database.Database {
  const db = new Database(path, { timeout: 15_000 });
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec(SCHEMA);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** Writes jobs to one connection. */
export class BatchWriter {
  private readonly insertBatch: Database.Statement;
  private readonly insertPrediction: Database.Statement;
  private readonly jobSeen: Database.Statement;
  private readonly insertJob: Database.Statement;
  private readonly trimJobs: Database.Statement;
  private readonly tx: (job: WriteJob) => { duplicates: number; replay: boolean };

  constructor(readonly db: Database.Database) {
    this.insertBatch = db.prepare(
      "INSERT INTO batches (model_version, ts_min, ts_max, n, schema, data) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.insertPrediction = db.prepare(
      "INSERT OR IGNORE INTO predictions (id, batch_id, row, ts, model_version, prediction) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.jobSeen = db.prepare("SELECT 1 FROM log_jobs WHERE job = ?").pluck();
    this.insertJob = db.prepare("INSERT INTO log_jobs (job) VALUES (?)");
    this.trimJobs = db.prepare("DELETE FROM log_jobs WHERE seq <= ?");
    this.tx = db.transaction((job: WriteJob) => {
      if (this.jobSeen.get(job.key) !== undefined) return { duplicates: 0, replay: true };
      let duplicates = 0;
      for (const b of job.batches) {
        const blob = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
        const info = this.insertBatch.run(b.modelVersion, b.tsMin, b.tsMax, b.n, b.schema, blob);
        const batchId = Number(info.lastInsertRowid);
        const { ts, pred } = leadingColumns(b);
        const ids = Buffer.from(b.idBytes.buffer, b.idBytes.byteOffset, b.idBytes.byteLength);
        for (let i = 0; i < b.n; i++) {
          const p = pred[i];
          const r = this.insertPrediction.run(
            ids.toString("utf8", i === 0 ? 0 : b.idEnd[i - 1], b.idEnd[i]),
            batchId,
            i,
            ts[i],
            b.modelVersion,
            Number.isNaN(p) ? null : p,
          );
          if (r.changes === 0) duplicates++;
        }
      }
      const seq = Number(this.insertJob.run(job.key).lastInsertRowid);
      if (seq % 64 === 0) this.trimJobs.run(seq - JOB_KEYS_KEPT);
      return { duplicates, replay: false };
    });
  }

  /**
   * Delete predictions (and their feedback) older than `cutoffMs`, and whole batches older than it; rows of
   * partly-old batches stay in their blob and are hidden by the stored retention cutoff. One transaction.
   */
  deleteOlderThan(cutoffMs: number): RetentionResult {
    const db = this.db;
    return db.transaction(() => {
      const feedback = db
        .prepare("DELETE FROM feedback WHERE prediction_id IN (SELECT id FROM predictions WHERE ts < ?)")
        .run(cutoffMs).changes;
      const predictions = db.prepare("DELETE FROM predictions WHERE ts < ?").run(cutoffMs).changes;
      const batches = db.prepare("DELETE FROM batches WHERE ts_max < ?").run(cutoffMs).changes;
      const prev = db.prepare("SELECT value FROM meta WHERE key = 'retention_cutoff'").pluck().get() as
        | string
        | undefined;
      if (prev === undefined || cutoffMs > Number(prev)) {
        db.prepare(
          "INSERT INTO meta (key, value) VALUES ('retention_cutoff', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        ).run(String(cutoffMs));
      }
      return { predictions, feedback, batches };
    })();
  }

  write(job: WriteJob): WriteResult {
    const t0 = performance.now();
    const r = this.tx(job);
    return { rows: job.rows, duplicates: r.duplicates, ms: performance.now() - t0, replay: r.replay };
  }
}

/** The blob's first two columns (timestamps and predictions), without copying when aligned. */
function leadingColumns(b: EncodedBatch): { ts: Float64Array; pred: Float64Array } {
  const n = b.n;
  let bytes = b.data;
  if (bytes.byteOffset % 8 !== 0) bytes = bytes.slice(0, 16 * n);
  return {
    ts: new Float64Array(bytes.buffer, bytes.byteOffset, n),
    pred: new Float64Array(bytes.buffer, bytes.byteOffset + 8 * n, n),
  };
}

export interface RetentionResult {
  predictions: number;
  feedback: number;
  batches: number;
}

// ---------------------------------------------------------------- writer-thread protocol

export type WriterRequest =
  | { op: "write"; seq: number; job: WriteJob }
  | { op: "retain"; cutoffMs: number }
  | { op: "close" };
export type WriterResponse =
  | { op: "ready" }
  | { op: "retainFailed"; error: string }
  | { op: "written"; seq: number; result: WriteResult }
  | { op: "failed"; seq: number; error: string }
  | { op: "closed" };
