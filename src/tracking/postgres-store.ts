/**
 * PostgreSQL tracking store: the same `TrackingStore` contract as the embedded SQLite store, for a team that
 * shares one tracking server (several pipelines, sweeps on several machines, serving replicas reading the
 * registry). `pg` connection pool; every multi-statement write is one transaction on one client.
 *
 * Concurrency: version numbers and alias moves take `SELECT … FOR UPDATE` on the registered model's row, so two
 * registrations of one model get consecutive versions and a compare-and-set alias move sees the latest value;
 * `UNIQUE`/primary keys stay the last line of defence (SQLSTATE 23505 → ALREADY_EXISTS, 23503 → NOT_FOUND,
 * 23514 → INVALID). Serialization failures and deadlocks (40001, 40P01) are retried a few times. Reads that span
 * several queries (a run with its params, tags and metrics) run in one REPEATABLE READ snapshot.
 *
 * Schema: the SQLite schema with Postgres types (BIGINT millisecond timestamps, DOUBLE PRECISION, BIGSERIAL ids);
 * JSON documents stay TEXT so they round-trip byte for byte as with SQLite (JSONB would reorder keys). Migrations
 * are versioned in `schema_migrations` and applied under an advisory lock, so processes opening a new database at
 * once apply each migration exactly once. The schema is applied lazily, on first use, so opening is synchronous.
 */
import pg from "pg";
import type { Migration } from "./sqlite-migrations.ts";
import {
  AbstractTrackingStore,
  ARTIFACT_SELECT,
  type ArtifactRow,
  artifactFromRow,
  AUDIT_SELECT,
  type AuditRow,
  aliasConflict,
  paramConflict,
  pendingMigrations,
  prepareArtifact,
  prepareLogBatch,
  prepareModelVersion,
  prepareRun,
  prepareTrial,
  RUN_SELECT,
  type RunRow,
  searchBounds,
  searchWhere,
  type TrialRow,
  toAudit,
  toRunInfo,
  versionWithKey,
  trialFromRow,
  validateAlias,
  validateAuditActor,
  validateEndStatus,
  validateExperimentName,
  validateModelName,
  validateRunId,
  validateVersion,
  validateVersionStatus,
  validateClaim,
  claimable,
  VERSION_SELECT,
  type VersionRow,
  versionFromRow,
} from "./store.ts";
import {
  TrackingError,
  type AuditEntry,
  type AuditInput,
  type CreateModelVersionInput,
  type CreateRunInput,
  type Experiment,
  type LogBatch,
  type Metric,
  type ModelVersion,
  type ModelVersionStatus,
  type RegisteredModel,
  type Run,
  type RunArtifact,
  type RunArtifactInput,
  type RunInfo,
  type RunStatus,
  type SearchRunsQuery,
  type SetAliasInput,
  type TrialRecord,
  type TrialState,
} from "./types.ts";

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema: experiments, runs, params, metrics, tags, artifacts, registry, audit, trials",
    sql: `
CREATE TABLE experiments (
  experiment_id BIGSERIAL PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  created_at    BIGINT NOT NULL
);

CREATE TABLE runs (
  seq           BIGSERIAL UNIQUE,
  run_id        TEXT PRIMARY KEY,
  experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),
  parent_run_id TEXT REFERENCES runs(run_id),
  name          TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('RUNNING','FINISHED','FAILED','KILLED')),
  start_time    BIGINT NOT NULL,
  end_time      BIGINT
);
CREATE INDEX runs_by_experiment ON runs(experiment_id, start_time);
CREATE INDEX runs_by_parent ON runs(parent_run_id);

CREATE TABLE params (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);

-- DOUBLE PRECISION holds NaN and ±Infinity as themselves.
CREATE TABLE metrics (
  id        BIGSERIAL PRIMARY KEY,
  run_id    TEXT NOT NULL REFERENCES runs(run_id),
  key       TEXT NOT NULL,
  value     DOUBLE PRECISION NOT NULL,
  step      BIGINT NOT NULL,
  timestamp BIGINT NOT NULL
);
CREATE INDEX metrics_by_run_key ON metrics(run_id, key, step, timestamp);

CREATE TABLE run_tags (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);

CREATE TABLE run_artifacts (
  run_id     TEXT NOT NULL REFERENCES runs(run_id),
  path       TEXT NOT NULL,
  sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
  size       BIGINT NOT NULL CHECK (size >= 0),
  media_type TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (run_id, path)
);
CREATE INDEX run_artifacts_by_sha ON run_artifacts(sha256);

CREATE TABLE registered_models (
  model_id    BIGSERIAL PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  description TEXT,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);

CREATE TABLE model_versions (
  model_id      BIGINT NOT NULL REFERENCES registered_models(model_id),
  version       INTEGER NOT NULL CHECK (version >= 1),
  run_id        TEXT REFERENCES runs(run_id),
  artifact_sha  TEXT NOT NULL CHECK (length(artifact_sha) = 64),
  status        TEXT NOT NULL CHECK (status IN ('PENDING_REGISTRATION','FAILED_REGISTRATION','READY')),
  metrics       TEXT NOT NULL,
  lineage       TEXT NOT NULL,
  input_example TEXT,
  tags          TEXT NOT NULL,
  description   TEXT,
  created_at    BIGINT NOT NULL,
  PRIMARY KEY (model_id, version)
);
CREATE INDEX model_versions_by_run ON model_versions(run_id);

CREATE TABLE model_aliases (
  model_id   BIGINT NOT NULL,
  alias      TEXT NOT NULL,
  version    INTEGER NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (model_id, alias),
  FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version)
);

CREATE TABLE alias_audit (
  id           BIGSERIAL PRIMARY KEY,
  model_id     BIGINT NOT NULL REFERENCES registered_models(model_id),
  alias        TEXT NOT NULL,
  action       TEXT NOT NULL CHECK (action IN ('set','promote','force_promote','rollback','delete','promote_refused')),
  from_version INTEGER,
  to_version   INTEGER,
  actor        TEXT NOT NULL,
  reason       TEXT,
  at           BIGINT NOT NULL,
  gate_results TEXT
);
CREATE INDEX alias_audit_by_model_alias ON alias_audit(model_id, alias, id);

CREATE TABLE trials (
  study_name   TEXT NOT NULL,
  number       INTEGER NOT NULL CHECK (number >= 0),
  state        TEXT NOT NULL CHECK (state IN ('RUNNING','COMPLETE','PRUNED','FAIL')),
  value        DOUBLE PRECISION,
  params       TEXT NOT NULL,
  intermediate TEXT NOT NULL,
  user_attrs   TEXT,
  payload      TEXT,
  updated_at   BIGINT NOT NULL,
  owner        TEXT,
  lease_until  BIGINT,
  PRIMARY KEY (study_name, number)
);
`,
  },
];

/** Advisory lock key of the migration step ("mlopsmig" as 8 ASCII bytes, big-endian, fits a signed bigint). */
const MIGRATION_LOCK = "7885694547599206759";

/** int8 → number (ids and millisecond timestamps are far below 2^53); every other type as pg parses it. */
const TYPES = new pg.TypeOverrides();
TYPES.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

export interface PostgresStoreOptions {
  /** Pool size (default 4). */
  maxConnections?: number;
  /** How long to wait for a connection (default 10 s). */
  connectTimeoutMs?: number;
  /** statement_timeout for every query (default 30 s). */
  statementTimeoutMs?: number;
}

export function isPostgresUri(uri: string | null | undefined): boolean {
  return !!uri && /^postgres(ql)?:\/\//i.test(uri);
}

/** `postgres://user@host:port/db` without the password (for messages and `location`). */
export function redactPostgresUri(uri: string): string {
  try {
    const u = new URL(uri);
    u.password = "";
    return u.toString();
  } catch {
    return "postgres://(unparseable URI)";
  }
}

const RETRY_CODES = new Set(["40001", "40P01"]);
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

type Q = pg.PoolClient | pg.Pool;

export class PostgresStore extends AbstractTrackingStore {
  readonly kind = "postgres";
  readonly location: string;
  private readonly pool: pg.Pool;
  private ready: Promise<void> | null = null;
  private closed = false;

  private constructor(uri: string, opts: PostgresStoreOptions) {
    super();
    this.location = redactPostgresUri(uri);
    let parsed: URL;
    try {
      parsed = new URL(uri);
    } catch {
      throw new TrackingError("INVALID", `invalid postgres URI ${JSON.stringify(this.location)}`);
    }
    if (parsed.pathname.length <= 1) {
      throw new TrackingError(
        "INVALID",
        `postgres URI ${this.location} names no database (postgres://host/DB)`,
      );
    }
    this.pool = new pg.Pool({
      connectionString: uri,
      max: opts.maxConnections ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      statement_timeout: opts.statementTimeoutMs ?? 30_000,
      types: TYPES,
    });
    // an idle client losing its connection must not crash the process; the next query reports it
    this.pool.on("error", () => {});
  }

  /** Open a store on `postgres://user[:password]@host[:port]/database`; the schema is applied on first use. */
  static open(uri: string, opts: PostgresStoreOptions = {}): PostgresStore {
    return new PostgresStore(uri, opts);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** Applied schema versions, ascending. */
  async schemaVersions(): Promise<number[]> {
    await this.init();
    const r = await this.q<{ version: number }>(
      this.pool,
      "SELECT version FROM schema_migrations ORDER BY version",
    );
    return r.map((x) => x.version);
  }

  // ---------------------------------------------------------------- plumbing

  private init(): Promise<void> {
    if (this.closed) return Promise.reject(new TrackingError("INVALID", `store ${this.location} is closed`));
    this.ready ??= this.migrate(POSTGRES_MIGRATIONS).catch((e) => {
      this.ready = null; // a later call tries again (the server may come back)
      throw e;
    });
    return this.ready;
  }

  private async migrate(migrations: readonly Migration[]): Promise<void> {
    await this.tx(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      const applied = (await this.q<{ version: number }>(c, "SELECT version FROM schema_migrations")).map(
        (r) => r.version,
      );
      for (const m of pendingMigrations(migrations, applied, this.location)) {
        await c.query(m.sql);
        await c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [
          m.version,
          m.name,
          Date.now(),
        ]);
      }
    }, false);
  }

  /** Map driver errors to TrackingError (connection → UNAVAILABLE, constraint violations → their codes). */
  private wrap(e: unknown): unknown {
    if (e instanceof TrackingError) return e;
    const err = e as { code?: string; message?: string; detail?: string };
    const msg = `${err.message ?? String(e)}${err.detail ? ` (${err.detail})` : ""}`;
    if (err.code && CONNECTION_CODES.has(err.code))
      return new TrackingError("UNAVAILABLE", `postgres store ${this.location} unreachable: ${msg}`, {
        cause: e,
      });
    if (/timeout|terminat|Connection/i.test(err.message ?? "") && !err.code?.match(/^[0-9A-Z]{5}$/))
      return new TrackingError("UNAVAILABLE", `postgres store ${this.location}: ${msg}`, { cause: e });
    switch (err.code) {
      case "23505":
        return new TrackingError("ALREADY_EXISTS", `postgres store ${this.location}: ${msg}`, { cause: e });
      case "23503":
        return new TrackingError("NOT_FOUND", `postgres store ${this.location}: ${msg}`, { cause: e });
      case "23514":
      case "22P02":
      case "22003":
        return new TrackingError("INVALID", `postgres store ${this.location}: ${msg}`, { cause: e });
      case "3D000": // database does not exist
      case "28000": // authorisation
      case "28P01": // password
      case "57014": // statement_timeout
      case "57P01": // server shutting down
      case "57P02":
      case "57P03":
      case "08000": // connection exceptions
      case "08003":
      case "08006":
        return new TrackingError("UNAVAILABLE", `postgres store ${this.location}: ${msg}`, { cause: e });
      default:
        return e;
    }
  }

  private async q<T>(c: Q, sql: string, args: unknown[] = []): Promise<T[]> {
    try {
      return (await c.query(sql, args)).rows as T[];
    } catch (e) {
      throw this.wrap(e);
    }
  }

  private async one<T>(c: Q, sql: string, args: unknown[] = []): Promise<T | undefined> {
    return (await this.q<T>(c, sql, args))[0];
  }

  /**
   * Run `fn` in one transaction on one pooled client (READ COMMITTED for writes, REPEATABLE READ READ ONLY for
   * multi-query reads), retried on serialization failures and deadlocks.
   */
  private async tx<T>(
    fn: (c: pg.PoolClient) => Promise<T>,
    ensureSchema = true,
    readOnly = false,
  ): Promise<T> {
    if (ensureSchema) await this.init();
    for (let attempt = 0; ; attempt++) {
      let c: pg.PoolClient;
      try {
        c = await this.pool.connect();
      } catch (e) {
        throw this.wrap(e);
      }
      let broken = false;
      try {
        await c.query(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
        const out = await fn(c);
        await c.query("COMMIT");
        return out;
      } catch (e) {
        try {
          await c.query("ROLLBACK");
        } catch {
          broken = true;
        }
        const code = (e as { code?: string }).code;
        if (code && RETRY_CODES.has(code) && attempt < 4) {
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
          continue;
        }
        throw this.wrap(e);
      } finally {
        c.release(broken);
      }
    }
  }

  private read<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.tx(fn, true, true);
  }

  // ---------------------------------------------------------------- experiments

  private async experiment(c: Q, name: string, create: boolean): Promise<Experiment | null> {
    validateExperimentName(name);
    if (create) {
      await this.q(
        c,
        "INSERT INTO experiments (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        [name, Date.now()],
      );
    }
    const row = await this.one<{ experiment_id: number; name: string; created_at: number }>(
      c,
      "SELECT experiment_id, name, created_at FROM experiments WHERE name = $1",
      [name],
    );
    return row ? { experimentId: row.experiment_id, name: row.name, createdAt: row.created_at } : null;
  }

  async getOrCreateExperiment(name: string): Promise<Experiment> {
    validateExperimentName(name);
    return (await this.tx((c) => this.experiment(c, name, true)))!;
  }

  async getExperiment(name: string): Promise<Experiment | null> {
    validateExperimentName(name);
    await this.init();
    return this.experiment(this.pool, name, false);
  }

  async listExperiments(): Promise<Experiment[]> {
    await this.init();
    const rows = await this.q<{ experiment_id: number; name: string; created_at: number }>(
      this.pool,
      "SELECT experiment_id, name, created_at FROM experiments ORDER BY experiment_id",
    );
    return rows.map((r) => ({ experimentId: r.experiment_id, name: r.name, createdAt: r.created_at }));
  }

  // ---------------------------------------------------------------- runs

  private async runRow(c: Q, runId: string, lock = false): Promise<RunRow> {
    validateRunId(runId);
    const row = await this.one<RunRow>(
      c,
      `${RUN_SELECT} WHERE r.run_id = $1${lock ? " FOR SHARE OF r" : ""}`,
      [runId],
    );
    if (!row) throw new TrackingError("NOT_FOUND", `run ${runId} not found in ${this.location}`);
    return row;
  }

  async createRun(input: CreateRunInput): Promise<RunInfo> {
    const { runId, name, start, tags } = prepareRun(input);
    return this.tx(async (c) => {
      const exp = (await this.experiment(c, input.experiment, true))!;
      if (input.parentRunId != null) await this.runRow(c, input.parentRunId, true);
      await this.q(
        c,
        `INSERT INTO runs (run_id, experiment_id, parent_run_id, name, status, start_time, end_time)
         VALUES ($1, $2, $3, $4, 'RUNNING', $5, NULL)`,
        [runId, exp.experimentId, input.parentRunId ?? null, name, start],
      );
      for (const [k, v] of tags) await this.upsertTag(c, runId, k, v);
      return toRunInfo(await this.runRow(c, runId));
    });
  }

  private async upsertTag(c: Q, runId: string, key: string, value: string): Promise<void> {
    await this.q(
      c,
      "INSERT INTO run_tags (run_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
      [runId, key, value],
    );
  }

  /** Params, tags and latest metrics of the given runs (one query each), in the rows' order. */
  private async runsOf(c: Q, rows: RunRow[]): Promise<Run[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.run_id);
    const params = await this.q<{ run_id: string; key: string; value: string }>(
      c,
      "SELECT run_id, key, value FROM params WHERE run_id = ANY($1) ORDER BY run_id, key",
      [ids],
    );
    const tags = await this.q<{ run_id: string; key: string; value: string }>(
      c,
      "SELECT run_id, key, value FROM run_tags WHERE run_id = ANY($1) ORDER BY run_id, key",
      [ids],
    );
    // the latest value per key: highest step, then timestamp, then insertion order (as the SQLite store)
    const metrics = await this.q<{
      run_id: string;
      key: string;
      value: number;
      step: number;
      timestamp: number;
    }>(
      c,
      `SELECT DISTINCT ON (run_id, key) run_id, key, value, step, timestamp FROM metrics
       WHERE run_id = ANY($1) ORDER BY run_id, key, step DESC, timestamp DESC, id DESC`,
      [ids],
    );
    type Parts = {
      params: Record<string, string>;
      tags: Record<string, string>;
      metrics: Record<string, Metric>;
    };
    const parts = new Map<string, Parts>();
    for (const r of rows) parts.set(r.run_id, { params: {}, tags: {}, metrics: {} });
    for (const p of params) parts.get(p.run_id)!.params[p.key] = p.value;
    for (const t of tags) parts.get(t.run_id)!.tags[t.key] = t.value;
    for (const m of metrics)
      parts.get(m.run_id)!.metrics[m.key] = {
        key: m.key,
        value: m.value,
        step: m.step,
        timestamp: m.timestamp,
      };
    return rows.map((r) => ({ ...toRunInfo(r), ...parts.get(r.run_id)! }));
  }

  async getRun(runId: string): Promise<Run> {
    validateRunId(runId);
    return this.read(async (c) => (await this.runsOf(c, [await this.runRow(c, runId)]))[0]);
  }

  async endRun(
    runId: string,
    status: Exclude<RunStatus, "RUNNING"> = "FINISHED",
    endTime?: number,
  ): Promise<RunInfo> {
    validateEndStatus(status);
    validateRunId(runId);
    return this.tx(async (c) => {
      await this.runRow(c, runId);
      await this.q(c, "UPDATE runs SET status = $1, end_time = $2 WHERE run_id = $3", [
        status,
        endTime ?? Date.now(),
        runId,
      ]);
      return toRunInfo(await this.runRow(c, runId));
    });
  }

  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    const { params, metrics, tags } = prepareLogBatch(batch);
    validateRunId(runId);
    await this.tx(async (c) => {
      await this.runRow(c, runId, true);
      for (const [k, v] of params) {
        // write-once: insert if absent, then compare with what is stored (also under concurrent writers)
        await this.q(
          c,
          "INSERT INTO params (run_id, key, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
          [runId, k, v],
        );
        const prev = await this.one<{ value: string }>(
          c,
          "SELECT value FROM params WHERE run_id = $1 AND key = $2",
          [runId, k],
        );
        if (prev && prev.value !== v) throw paramConflict(runId, k, prev.value, v);
      }
      if (metrics.length > 0) {
        // one statement for the whole batch (a sweep logs hundreds of values at once)
        await this.q(
          c,
          `INSERT INTO metrics (run_id, key, value, step, timestamp)
           SELECT $1, u.k, u.v, u.s, u.t
           FROM unnest($2::text[], $3::float8[], $4::bigint[], $5::bigint[]) WITH ORDINALITY AS u(k, v, s, t, i)
           ORDER BY u.i`,
          [
            runId,
            metrics.map((m) => m.key),
            metrics.map((m) => floatText(m.value)),
            metrics.map((m) => m.step),
            metrics.map((m) => m.ts),
          ],
        );
      }
      for (const [k, v] of tags) await this.upsertTag(c, runId, k, v);
    });
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    validateRunId(runId);
    return this.read(async (c) => {
      await this.runRow(c, runId);
      return this.q<Metric>(
        c,
        "SELECT key, value, step, timestamp FROM metrics WHERE run_id = $1 AND key = $2 ORDER BY step, timestamp, id",
        [runId, key],
      );
    });
  }

  async recordArtifact(runId: string, input: RunArtifactInput): Promise<RunArtifact> {
    const a = prepareArtifact(input);
    validateRunId(runId);
    const now = Date.now();
    return this.tx(async (c) => {
      await this.runRow(c, runId, true);
      await this.q(
        c,
        `INSERT INTO run_artifacts (run_id, path, sha256, size, media_type, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (run_id, path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
           media_type = excluded.media_type, created_at = excluded.created_at`,
        [runId, a.path, a.sha256, a.size, a.mediaType, now],
      );
      return { runId, path: a.path, sha256: a.sha256, size: a.size, mediaType: a.mediaType, createdAt: now };
    });
  }

  async listArtifacts(runId: string): Promise<RunArtifact[]> {
    validateRunId(runId);
    return this.read(async (c) => {
      await this.runRow(c, runId);
      const rows = await this.q<ArtifactRow>(c, `${ARTIFACT_SELECT} WHERE run_id = $1 ORDER BY path`, [
        runId,
      ]);
      return rows.map(artifactFromRow);
    });
  }

  async searchRuns(query: SearchRunsQuery = {}): Promise<Run[]> {
    const { limit, offset, order } = searchBounds(query);
    const { where, args } = searchWhere(query, (i) => `$${i}`);
    const sql = `${RUN_SELECT}${where} ORDER BY r.start_time ${order}, r.seq ${order}
      LIMIT $${args.length + 1} OFFSET $${args.length + 2}`;
    args.push(limit, offset);
    return this.read(async (c) => this.runsOf(c, await this.q<RunRow>(c, sql, args)));
  }

  // ---------------------------------------------------------------- registry

  private async modelRow(
    c: Q,
    name: string,
    lock = false,
  ): Promise<{
    model_id: number;
    name: string;
    description: string | null;
    created_at: number;
    updated_at: number;
  }> {
    validateModelName(name);
    const row = await this.one<{
      model_id: number;
      name: string;
      description: string | null;
      created_at: number;
      updated_at: number;
    }>(
      c,
      `SELECT model_id, name, description, created_at, updated_at FROM registered_models WHERE name = $1${lock ? " FOR UPDATE" : ""}`,
      [name],
    );
    if (!row)
      throw new TrackingError("NOT_FOUND", `registered model '${name}' not found in ${this.location}`);
    return row;
  }

  private async model(c: Q, name: string): Promise<RegisteredModel | null> {
    validateModelName(name);
    let row: Awaited<ReturnType<PostgresStore["modelRow"]>>;
    try {
      row = await this.modelRow(c, name);
    } catch (e) {
      if (e instanceof TrackingError && e.code === "NOT_FOUND") return null;
      throw e;
    }
    const latest = await this.one<{ v: number | null }>(
      c,
      "SELECT MAX(version) AS v FROM model_versions WHERE model_id = $1",
      [row.model_id],
    );
    const aliases: Record<string, number> = {};
    for (const a of await this.q<{ alias: string; version: number }>(
      c,
      "SELECT alias, version FROM model_aliases WHERE model_id = $1 ORDER BY alias",
      [row.model_id],
    ))
      aliases[a.alias] = a.version;
    return {
      name: row.name,
      description: row.description,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      latestVersion: latest?.v ?? null,
      aliases,
    };
  }

  /** Creates the model when missing; returns its id with its row locked (FOR UPDATE) until commit. */
  private async ensureModel(c: Q, name: string, description?: string | null): Promise<number> {
    validateModelName(name);
    const now = Date.now();
    await this.q(
      c,
      `INSERT INTO registered_models (name, description, created_at, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO NOTHING`,
      [name, description ?? null, now, now],
    );
    const id = (await this.modelRow(c, name, true)).model_id;
    if (description != null) {
      await this.q(
        c,
        "UPDATE registered_models SET description = $1 WHERE model_id = $2 AND description IS NULL",
        [description, id],
      );
    }
    return id;
  }

  async getOrCreateRegisteredModel(name: string, description?: string | null): Promise<RegisteredModel> {
    validateModelName(name);
    return this.tx(async (c) => {
      await this.ensureModel(c, name, description);
      return (await this.model(c, name))!;
    });
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel | null> {
    validateModelName(name);
    return this.read((c) => this.model(c, name));
  }

  async listRegisteredModels(): Promise<RegisteredModel[]> {
    return this.read(async (c) => {
      const names = await this.q<{ name: string }>(c, "SELECT name FROM registered_models ORDER BY name");
      const out: RegisteredModel[] = [];
      for (const r of names) out.push((await this.model(c, r.name))!);
      return out;
    });
  }

  private async versionsOf(c: Q, rows: VersionRow[]): Promise<ModelVersion[]> {
    const out: ModelVersion[] = [];
    for (const r of rows) {
      const aliases = (
        await this.q<{ alias: string }>(
          c,
          "SELECT alias FROM model_aliases WHERE model_id = $1 AND version = $2 ORDER BY alias",
          [r.model_id, r.version],
        )
      ).map((a) => a.alias);
      out.push(versionFromRow(r, aliases));
    }
    return out;
  }

  private async version(c: Q, name: string, version: number): Promise<ModelVersion | null> {
    validateModelName(name);
    validateVersion(version);
    const row = await this.one<VersionRow>(c, `${VERSION_SELECT} WHERE m.name = $1 AND v.version = $2`, [
      name,
      version,
    ]);
    return row ? (await this.versionsOf(c, [row]))[0] : null;
  }

  async createModelVersion(input: CreateModelVersionInput): Promise<ModelVersion> {
    const { status, metricsJson, lineageJson, exampleJson, tagsJson } = prepareModelVersion(input);
    return this.tx(async (c) => {
      if (input.runId != null) await this.runRow(c, input.runId, true);
      // the model row stays locked until commit: concurrent registrations of this model queue here
      const modelId = await this.ensureModel(c, input.name);
      if (input.registrationKey !== undefined) {
        const rows = await this.q<{ version: number; tags: string }>(
          c,
          "SELECT version, tags FROM model_versions WHERE model_id = $1 ORDER BY version",
          [modelId],
        );
        const existing = versionWithKey(rows, input.registrationKey);
        if (existing !== null) return (await this.version(c, input.name, existing))!;
      }
      const next =
        ((
          await this.one<{ v: number | null }>(
            c,
            "SELECT MAX(version) AS v FROM model_versions WHERE model_id = $1",
            [modelId],
          )
        )?.v ?? 0) + 1;
      const now = Date.now();
      await this.q(
        c,
        `INSERT INTO model_versions (model_id, version, run_id, artifact_sha, status, metrics, lineage, input_example,
           tags, description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          modelId,
          next,
          input.runId ?? null,
          input.artifactSha,
          status,
          metricsJson,
          lineageJson,
          exampleJson,
          tagsJson,
          input.description ?? null,
          now,
        ],
      );
      await this.q(c, "UPDATE registered_models SET updated_at = $1 WHERE model_id = $2", [now, modelId]);
      return (await this.version(c, input.name, next))!;
    });
  }

  async getModelVersion(name: string, version: number): Promise<ModelVersion | null> {
    validateModelName(name);
    validateVersion(version);
    return this.read((c) => this.version(c, name, version));
  }

  async listModelVersions(name: string): Promise<ModelVersion[]> {
    validateModelName(name);
    return this.read(async (c) => {
      await this.modelRow(c, name);
      const rows = await this.q<VersionRow>(c, `${VERSION_SELECT} WHERE m.name = $1 ORDER BY v.version`, [
        name,
      ]);
      return this.versionsOf(c, rows);
    });
  }

  async setModelVersionStatus(name: string, version: number, status: ModelVersionStatus): Promise<void> {
    validateVersionStatus(status);
    validateModelName(name);
    validateVersion(version);
    await this.tx(async (c) => {
      const m = await this.modelRow(c, name);
      const r = await c
        .query("UPDATE model_versions SET status = $1 WHERE model_id = $2 AND version = $3", [
          status,
          m.model_id,
          version,
        ])
        .catch((e) => {
          throw this.wrap(e);
        });
      if (r.rowCount === 0) throw new TrackingError("NOT_FOUND", `model '${name}' has no version ${version}`);
    });
  }

  private async alias(c: Q, modelId: number, alias: string): Promise<number | null> {
    const row = await this.one<{ version: number }>(
      c,
      "SELECT version FROM model_aliases WHERE model_id = $1 AND alias = $2",
      [modelId, alias],
    );
    return row ? row.version : null;
  }

  async getAlias(name: string, alias: string): Promise<number | null> {
    validateAlias(alias);
    validateModelName(name);
    return this.read(async (c) => this.alias(c, (await this.modelRow(c, name)).model_id, alias));
  }

  private async insertAudit(
    c: Q,
    modelId: number,
    alias: string,
    e: AuditInput & { fromVersion: number | null; toVersion: number | null },
  ): Promise<AuditEntry> {
    validateAuditActor(e.actor);
    const r = await this.one<{ id: number }>(
      c,
      `INSERT INTO alias_audit (model_id, alias, action, from_version, to_version, actor, reason, at, gate_results)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [
        modelId,
        alias,
        e.action,
        e.fromVersion,
        e.toVersion,
        e.actor,
        e.reason ?? null,
        Date.now(),
        e.gateResults ? JSON.stringify(e.gateResults) : null,
      ],
    );
    return toAudit((await this.one<AuditRow>(c, `${AUDIT_SELECT} WHERE a.id = $1`, [r!.id]))!);
  }

  async setAlias(input: SetAliasInput): Promise<AuditEntry> {
    validateAlias(input.alias);
    validateModelName(input.name);
    if (input.version !== null) validateVersion(input.version);
    return this.tx(async (c) => {
      // lock the model row: concurrent moves of its aliases serialise, and the compare-and-set sees the latest
      const m = await this.modelRow(c, input.name, true);
      if (input.version !== null) {
        const exists = await this.one(
          c,
          "SELECT 1 FROM model_versions WHERE model_id = $1 AND version = $2",
          [m.model_id, input.version],
        );
        if (!exists)
          throw new TrackingError("NOT_FOUND", `model '${input.name}' has no version ${input.version}`);
      }
      const current = await this.alias(c, m.model_id, input.alias);
      if (input.expectedCurrent !== undefined && current !== input.expectedCurrent)
        throw aliasConflict(input, current);
      const now = Date.now();
      if (input.version === null) {
        if (current === null)
          throw new TrackingError(
            "NOT_FOUND",
            `model '${input.name}' has no alias '${input.alias}' to delete`,
          );
        await this.q(c, "DELETE FROM model_aliases WHERE model_id = $1 AND alias = $2", [
          m.model_id,
          input.alias,
        ]);
      } else {
        await this.q(
          c,
          `INSERT INTO model_aliases (model_id, alias, version, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
          [m.model_id, input.alias, input.version, now],
        );
      }
      await this.q(c, "UPDATE registered_models SET updated_at = $1 WHERE model_id = $2", [now, m.model_id]);
      return this.insertAudit(c, m.model_id, input.alias, {
        ...input.audit,
        fromVersion: current,
        toVersion: input.version,
      });
    });
  }

  async appendAudit(
    name: string,
    alias: string,
    entry: AuditInput & { fromVersion: number | null; toVersion: number | null },
  ): Promise<AuditEntry> {
    validateAlias(alias);
    validateModelName(name);
    return this.tx(async (c) =>
      this.insertAudit(c, (await this.modelRow(c, name, true)).model_id, alias, entry),
    );
  }

  async listAudit(name: string, alias?: string): Promise<AuditEntry[]> {
    validateModelName(name);
    if (alias !== undefined) validateAlias(alias);
    return this.read(async (c) => {
      const m = await this.modelRow(c, name);
      const rows =
        alias === undefined
          ? await this.q<AuditRow>(c, `${AUDIT_SELECT} WHERE a.model_id = $1 ORDER BY a.id`, [m.model_id])
          : await this.q<AuditRow>(
              c,
              `${AUDIT_SELECT} WHERE a.model_id = $1 AND a.alias = $2 ORDER BY a.id`,
              [m.model_id, alias],
            );
      return rows.map(toAudit);
    });
  }

  // ---------------------------------------------------------------- trials

  async saveTrial(studyName: string, trial: TrialRecord): Promise<void> {
    const t = prepareTrial(studyName, trial);
    await this.tx(async (c) => {
      await this.q(
        c,
        `INSERT INTO trials (study_name, number, state, value, params, intermediate, user_attrs, payload, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (study_name, number) DO UPDATE SET state = excluded.state, value = excluded.value,
           params = excluded.params, intermediate = excluded.intermediate, user_attrs = excluded.user_attrs,
           payload = excluded.payload, updated_at = excluded.updated_at, owner = NULL, lease_until = NULL`,
        [
          studyName,
          t.number,
          t.state,
          t.value === null ? null : floatText(t.value),
          t.params,
          t.intermediate,
          t.user_attrs,
          t.payload,
          Date.now(),
        ],
      );
    });
  }

  async loadTrials(studyName: string): Promise<TrialRecord[]> {
    await this.init();
    const rows = await this.q<TrialRow>(
      this.pool,
      "SELECT number, state, value, params, intermediate, user_attrs, payload FROM trials WHERE study_name = $1 ORDER BY number",
      [studyName],
    );
    return rows.map(trialFromRow);
  }
  async claimTrial(studyName: string, number: number, owner: string, leaseMs: number): Promise<boolean> {
    validateClaim(studyName, number, owner, leaseMs);
    return this.tx(async (c) => {
      const now = Date.now();
      // create the claim row if absent, then decide on the locked row (concurrent claimers queue on the lock)
      await this.q(
        c,
        `INSERT INTO trials (study_name, number, state, value, params, intermediate, updated_at, owner, lease_until)
         VALUES ($1, $2, 'RUNNING', NULL, '{}', '[]', $3, NULL, NULL) ON CONFLICT DO NOTHING`,
        [studyName, number, now],
      );
      const row = await this.one<{ state: TrialState; owner: string | null; lease_until: number | null }>(
        c,
        "SELECT state, owner, lease_until FROM trials WHERE study_name = $1 AND number = $2 FOR UPDATE",
        [studyName, number],
      );
      if (!claimable(row, owner, now)) return false;
      await this.q(
        c,
        "UPDATE trials SET owner = $3, lease_until = $4, updated_at = $5 WHERE study_name = $1 AND number = $2",
        [studyName, number, owner, now + Math.ceil(leaseMs), now],
      );
      return true;
    });
  }
}

/** A float8 parameter as text that round-trips exactly (shortest repr; NaN and ±Infinity by name). */
function floatText(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "Infinity";
  if (v === Number.NEGATIVE_INFINITY) return "-Infinity";
  return Object.is(v, -0) ? "-0" : String(v);
}
