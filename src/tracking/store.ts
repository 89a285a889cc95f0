/**
 * Tracking + registry metadata store.
 *
 * `TrackingStore` is the backend contract (async); `AbstractTrackingStore` adds the conveniences
 * (`logParam`, `logMetric`, ...) on top of the one write primitive `logBatch`; the input preparation and row
 * conversions below are shared by both backends. `SqliteStore` is the embedded default (better-sqlite3, WAL,
 * busy timeout, versioned migrations, every multi-statement write in one IMMEDIATE transaction);
 * `PostgresStore` (postgres-store.ts) is the shared-server backend.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { SQLITE_MIGRATIONS } from "./sqlite-migrations.ts";
import type { Migration } from "./sqlite-migrations.ts";
import {
  REGISTRATION_KEY_TAG,
  RUN_STATUSES,
  TrackingError,
  type AuditAction,
  type AuditEntry,
  type AuditInput,
  type CreateModelVersionInput,
  type CreateRunInput,
  type Experiment,
  type GateResult,
  type LogBatch,
  type Metric,
  type MetricInput,
  type ModelVersion,
  type ModelVersionStatus,
  type ParamValue,
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

// ---------------------------------------------------------------- contract

export interface TrackingStore {
  /** 'sqlite' or 'postgres'. */
  readonly kind: string;
  /** Human-readable location (file path, URI without credentials). */
  readonly location: string;
  close(): Promise<void>;

  // experiments
  getOrCreateExperiment(name: string): Promise<Experiment>;
  getExperiment(name: string): Promise<Experiment | null>;
  listExperiments(): Promise<Experiment[]>;

  // runs
  createRun(input: CreateRunInput): Promise<RunInfo>;
  /** Throws NOT_FOUND. */
  getRun(runId: string): Promise<Run>;
  endRun(runId: string, status?: Exclude<RunStatus, "RUNNING">, endTime?: number): Promise<RunInfo>;
  /** The one write primitive for params, metrics and tags: all or nothing. Params are write-once. */
  logBatch(runId: string, batch: LogBatch): Promise<void>;
  logParam(runId: string, key: string, value: ParamValue): Promise<void>;
  logParams(runId: string, params: Readonly<Record<string, ParamValue>>): Promise<void>;
  logMetric(runId: string, key: string, value: number, step?: number, timestamp?: number): Promise<void>;
  logMetrics(runId: string, metrics: readonly MetricInput[]): Promise<void>;
  setTag(runId: string, key: string, value: string): Promise<void>;
  setTags(runId: string, tags: Readonly<Record<string, string>>): Promise<void>;
  /** Every logged value of a metric, ordered by step then timestamp. */
  getMetricHistory(runId: string, key: string): Promise<Metric[]>;
  recordArtifact(runId: string, artifact: RunArtifactInput): Promise<RunArtifact>;
  listArtifacts(runId: string): Promise<RunArtifact[]>;
  searchRuns(query?: SearchRunsQuery): Promise<Run[]>;

  // registry
  getOrCreateRegisteredModel(name: string, description?: string | null): Promise<RegisteredModel>;
  getRegisteredModel(name: string): Promise<RegisteredModel | null>;
  listRegisteredModels(): Promise<RegisteredModel[]>;
  /** Creates the registered model if missing; version = previous max + 1, atomically. */
  createModelVersion(input: CreateModelVersionInput): Promise<ModelVersion>;
  getModelVersion(name: string, version: number): Promise<ModelVersion | null>;
  /** Ascending by version. Throws NOT_FOUND for an unknown model. */
  listModelVersions(name: string): Promise<ModelVersion[]>;
  setModelVersionStatus(name: string, version: number, status: ModelVersionStatus): Promise<void>;
  getAlias(name: string, alias: string): Promise<number | null>;
  /** Moves (or deletes) an alias and appends the audit row in the same transaction. */
  setAlias(input: SetAliasInput): Promise<AuditEntry>;
  /** Appends an audit row that does not move an alias (e.g. `promote_refused`). */
  appendAudit(
    name: string,
    alias: string,
    entry: AuditInput & { fromVersion: number | null; toVersion: number | null },
  ): Promise<AuditEntry>;
  /** Oldest first. */
  listAudit(name: string, alias?: string): Promise<AuditEntry[]>;

  // sweep trials
  /** Insert or replace a trial; a finished trial also ends any claim on it. */
  saveTrial(studyName: string, trial: TrialRecord): Promise<void>;
  /** Ascending by trial number (claimed, unfinished trials are rows in state RUNNING). */
  loadTrials(studyName: string): Promise<TrialRecord[]>;
  /**
   * Claim trial `number` of a study shared by several workers, for `leaseMs` (see src/ml/search Study, shared
   * mode): true when no row exists (a RUNNING row is created), the row is RUNNING and claimed by `owner` or its
   * lease expired (the lease is renewed / taken over); false when it is finished or another worker's claim is live.
   */
  claimTrial(studyName: string, number: number, owner: string, leaseMs: number): Promise<boolean>;
}

/** Conveniences implemented once on top of the primitives. */
export abstract class AbstractTrackingStore implements TrackingStore {
  abstract readonly kind: string;
  abstract readonly location: string;
  abstract close(): Promise<void>;
  abstract getOrCreateExperiment(name: string): Promise<Experiment>;
  abstract getExperiment(name: string): Promise<Experiment | null>;
  abstract listExperiments(): Promise<Experiment[]>;
  abstract createRun(input: CreateRunInput): Promise<RunInfo>;
  abstract getRun(runId: string): Promise<Run>;
  abstract endRun(runId: string, status?: Exclude<RunStatus, "RUNNING">, endTime?: number): Promise<RunInfo>;
  abstract logBatch(runId: string, batch: LogBatch): Promise<void>;
  abstract getMetricHistory(runId: string, key: string): Promise<Metric[]>;
  abstract recordArtifact(runId: string, artifact: RunArtifactInput): Promise<RunArtifact>;
  abstract listArtifacts(runId: string): Promise<RunArtifact[]>;
  abstract searchRuns(query?: SearchRunsQuery): Promise<Run[]>;
  abstract getOrCreateRegisteredModel(name: string, description?: string | null): Promise<RegisteredModel>;
  abstract getRegisteredModel(name: string): Promise<RegisteredModel | null>;
  abstract listRegisteredModels(): Promise<RegisteredModel[]>;
  abstract createModelVersion(input: CreateModelVersionInput): Promise<ModelVersion>;
  abstract getModelVersion(name: string, version: number): Promise<ModelVersion | null>;
  abstract listModelVersions(name: string): Promise<ModelVersion[]>;
  abstract setModelVersionStatus(name: string, version: number, status: ModelVersionStatus): Promise<void>;
  abstract getAlias(name: string, alias: string): Promise<number | null>;
  abstract setAlias(input: SetAliasInput): Promise<AuditEntry>;
  abstract appendAudit(
    name: string,
    alias: string,
    entry: AuditInput & { fromVersion: number | null; toVersion: number | null },
  ): Promise<AuditEntry>;
  abstract listAudit(name: string, alias?: string): Promise<AuditEntry[]>;
  abstract saveTrial(studyName: string, trial: TrialRecord): Promise<void>;
  abstract loadTrials(studyName: string): Promise<TrialRecord[]>;
  abstract claimTrial(studyName: string, number: number, owner: string, leaseMs: number): Promise<boolean>;

  logParam(runId: string, key: string, value: ParamValue): Promise<void> {
    return this.logBatch(runId, { params: { [key]: value } });
  }
  logParams(runId: string, params: Readonly<Record<string, ParamValue>>): Promise<void> {
    return this.logBatch(runId, { params });
  }
  logMetric(runId: string, key: string, value: number, step?: number, timestamp?: number): Promise<void> {
    return this.logBatch(runId, { metrics: [{ key, value, step, timestamp }] });
  }
  logMetrics(runId: string, metrics: readonly MetricInput[]): Promise<void> {
    return this.logBatch(runId, { metrics });
  }
  setTag(runId: string, key: string, value: string): Promise<void> {
    return this.logBatch(runId, { tags: { [key]: value } });
  }
  setTags(runId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    return this.logBatch(runId, { tags });
  }
}

// ---------------------------------------------------------------- validation (shared by backends)

const KEY_RE = /^[A-Za-z0-9_\-. /:]+$/;
const MODEL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ALIAS_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;
const SHA_RE = /^[0-9a-f]{64}$/;
export const MAX_PARAM_VALUE_LENGTH = 6000;
export const MAX_TAG_VALUE_LENGTH = 8000;

function invalid(message: string): TrackingError {
  return new TrackingError("INVALID", message);
}

export function validateKey(kind: string, key: unknown): string {
  if (typeof key !== "string" || key.length === 0 || key.length > 250 || !KEY_RE.test(key)) {
    throw invalid(
      `invalid ${kind} key ${JSON.stringify(key)}: use 1-250 chars of letters, digits, _ - . / : and space`,
    );
  }
  return key;
}

export function validateModelName(name: unknown): string {
  if (typeof name !== "string" || name.length > 200 || !MODEL_NAME_RE.test(name)) {
    throw invalid(
      `invalid model name ${JSON.stringify(name)}: use letters, digits, _ . - (start with a letter or digit)`,
    );
  }
  return name;
}

export function validateAlias(alias: unknown): string {
  if (typeof alias !== "string" || alias.length > 100 || !ALIAS_RE.test(alias)) {
    throw invalid(`invalid alias ${JSON.stringify(alias)}: use letters, digits, _ - (start with a letter)`);
  }
  if (alias.toLowerCase() === "latest") throw invalid(`alias 'latest' is reserved`);
  return alias;
}

export function validateSha(sha: unknown, what = "sha256"): string {
  if (typeof sha !== "string" || !SHA_RE.test(sha)) {
    throw invalid(`invalid ${what} ${JSON.stringify(sha)}: expected 64 lowercase hex characters`);
  }
  return sha;
}

export function validateVersion(version: unknown): number {
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw invalid(`invalid model version ${JSON.stringify(version)}: expected an integer >= 1`);
  }
  return version;
}

function paramToString(key: string, value: ParamValue): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw invalid(`param '${key}' has unsupported value ${JSON.stringify(value)} (type ${typeof value})`);
}

/** Runtime default for audit `actor`: `$USER`, else the OS user name, else 'unknown'. */
export function defaultActor(): string {
  if (process.env.USER) return process.env.USER;
  try {
    return userInfo().username || "unknown";
  } catch {
    return "unknown";
  }
}

/** `opt`, else env MLOPS_HOME, else `./.mlops`, as an absolute path. */
export function resolveHome(home?: string | null): string {
  return resolve(home ?? process.env.MLOPS_HOME ?? ".mlops");
}

// ---------------------------------------------------------------- SQLite

export interface SqliteStoreOptions {
  /** Home directory; the DB is `<home>/mlops.db`. Default: resolveHome(). Ignored when `path` is given. */
  home?: string;
  /** Explicit DB file path. */
  path?: string;
  /** How long a writer waits for the lock before SQLITE_BUSY. Default 15000 ms. */
  busyTimeoutMs?: number;
  /** SQLite `synchronous` pragma. Default NORMAL (safe with WAL: no corruption, last commit may be lost on power cut). */
  synchronous?: "NORMAL" | "FULL";
}

export interface RunRow {
  run_id: string;
  experiment_id: number;
  experiment_name: string;
  parent_run_id: string | null;
  name: string;
  status: RunStatus;
  start_time: number;
  end_time: number | null;
}

export interface VersionRow {
  name: string;
  model_id: number;
  version: number;
  run_id: string | null;
  artifact_sha: string;
  status: ModelVersionStatus;
  metrics: string;
  lineage: string;
  input_example: string | null;
  tags: string;
  description: string | null;
  created_at: number;
}

export interface AuditRow {
  id: number;
  name: string;
  alias: string;
  action: AuditAction;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  reason: string | null;
  at: number;
  gate_results: string | null;
}

export const RUN_SELECT = `SELECT r.run_id, r.experiment_id, e.name AS experiment_name, r.parent_run_id, r.name, r.status,
  r.start_time, r.end_time FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id`;

export const VERSION_SELECT = `SELECT m.name, v.model_id, v.version, v.run_id, v.artifact_sha, v.status, v.metrics, v.lineage,
  v.input_example, v.tags, v.description, v.created_at FROM model_versions v
  JOIN registered_models m ON m.model_id = v.model_id`;

export const AUDIT_SELECT = `SELECT a.id, m.name, a.alias, a.action, a.from_version, a.to_version, a.actor, a.reason, a.at,
  a.gate_results FROM alias_audit a JOIN registered_models m ON m.model_id = a.model_id`;

const TRIAL_STATES: readonly TrialState[] = ["RUNNING", "COMPLETE", "PRUNED", "FAIL"];
const VERSION_STATUSES: readonly ModelVersionStatus[] = [
  "PENDING_REGISTRATION",
  "FAILED_REGISTRATION",
  "READY",
];

export function toRunInfo(r: RunRow): RunInfo {
  return {
    runId: r.run_id,
    experimentId: r.experiment_id,
    experimentName: r.experiment_name,
    parentRunId: r.parent_run_id,
    name: r.name,
    status: r.status,
    startTime: r.start_time,
    endTime: r.end_time,
  };
}

export function numOrNaN(v: number | null): number {
  return v === null ? Number.NaN : v;
}

function jsonOrThrow(what: string, value: unknown): string {
  try {
    const s = JSON.stringify(value);
    if (s === undefined) throw new Error("not JSON-serialisable");
    return s;
  } catch (e) {
    throw invalid(`${what} is not JSON-serialisable: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------- input preparation (shared by backends)

/**
 * The migrations still to apply, in version order, given the versions a database has recorded; a recorded
 * version newer than this build knows is a SCHEMA error naming `location` (the database is not misread).
 */
export function pendingMigrations(
  migrations: readonly Migration[],
  applied: Iterable<number>,
  location: string,
): Migration[] {
  const known = Math.max(0, ...migrations.map((m) => m.version));
  const done = new Set(applied);
  for (const v of done) {
    if (v > known) {
      throw new TrackingError(
        "SCHEMA",
        `${location} has schema version ${v}, newer than this build supports (${known}); upgrade tabular-mlops`,
      );
    }
  }
  return migrations.filter((m) => !done.has(m.version)).sort((a, b) => a.version - b.version);
}

export function validateExperimentName(name: unknown): string {
  if (typeof name !== "string" || name.trim().length === 0 || name.length > 200) {
    throw invalid(`invalid experiment name ${JSON.stringify(name)}: expected 1-200 characters`);
  }
  return name;
}

export function validateRunId(runId: unknown): string {
  if (typeof runId !== "string" || runId.length === 0)
    throw invalid(`invalid run id ${JSON.stringify(runId)}`);
  return runId;
}

export function checkTag(key: string, value: unknown): void {
  validateKey("tag", key);
  if (typeof value !== "string") throw invalid(`tag '${key}' must be a string, got ${typeof value}`);
  if (value.length > MAX_TAG_VALUE_LENGTH) {
    throw invalid(`tag '${key}' value has ${value.length} chars (max ${MAX_TAG_VALUE_LENGTH})`);
  }
}

/** A new run's id, name, start time and validated tags. */
export function prepareRun(input: CreateRunInput): {
  runId: string;
  name: string;
  start: number;
  tags: [string, string][];
} {
  const runId = randomUUID().replace(/-/g, "");
  const name = input.name ?? `run-${runId.slice(0, 8)}`;
  if (typeof name !== "string" || name.length === 0 || name.length > 250) {
    throw invalid(`invalid run name ${JSON.stringify(name)}: expected 1-250 characters`);
  }
  const tags = Object.entries(input.tags ?? {});
  for (const [k, v] of tags) checkTag(k, v);
  return { runId, name, start: input.startTime ?? Date.now(), tags };
}

export function validateEndStatus(status: unknown): Exclude<RunStatus, "RUNNING"> {
  if (!RUN_STATUSES.includes(status as RunStatus) || status === "RUNNING") {
    throw invalid(`invalid end status ${JSON.stringify(status)}: expected FINISHED, FAILED or KILLED`);
  }
  return status as Exclude<RunStatus, "RUNNING">;
}

export interface PreparedBatch {
  params: (readonly [string, string])[];
  metrics: { key: string; value: number; step: number; ts: number }[];
  tags: [string, string][];
}

/** Validate a whole batch before anything is written. */
export function prepareLogBatch(batch: LogBatch): PreparedBatch {
  const params = Object.entries(batch.params ?? {}).map(([k, v]) => {
    validateKey("param", k);
    const s = paramToString(k, v);
    if (s.length > MAX_PARAM_VALUE_LENGTH) {
      throw invalid(`param '${k}' value has ${s.length} chars (max ${MAX_PARAM_VALUE_LENGTH})`);
    }
    return [k, s] as const;
  });
  const now = Date.now();
  const metrics = (batch.metrics ?? []).map((m) => {
    validateKey("metric", m.key);
    if (typeof m.value !== "number") {
      throw invalid(`metric '${m.key}' value must be a number, got ${JSON.stringify(m.value)}`);
    }
    const step = m.step ?? 0;
    if (!Number.isSafeInteger(step) || step < 0) {
      throw invalid(`metric '${m.key}' step must be a non-negative integer, got ${JSON.stringify(m.step)}`);
    }
    const ts = m.timestamp ?? now;
    if (!Number.isFinite(ts)) throw invalid(`metric '${m.key}' timestamp must be finite, got ${ts}`);
    return { key: m.key, value: m.value, step, ts: Math.round(ts) };
  });
  const tags = Object.entries(batch.tags ?? {});
  for (const [k, v] of tags) checkTag(k, v);
  return { params, metrics, tags };
}

/** The error for a param logged again with a different value (params are write-once). */
export function paramConflict(runId: string, key: string, previous: string, value: string): TrackingError {
  return invalid(
    `param '${key}' of run ${runId} was already logged as ${JSON.stringify(previous)}; ` +
      `params are immutable, cannot change it to ${JSON.stringify(value)}`,
  );
}

export function prepareArtifact(a: RunArtifactInput): {
  path: string;
  sha256: string;
  size: number;
  mediaType: string;
} {
  if (typeof a.path !== "string" || a.path.length === 0 || a.path.length > 1000 || a.path.includes("\0")) {
    throw invalid(`invalid artifact path ${JSON.stringify(a.path)}`);
  }
  validateSha(a.sha256, `sha256 of artifact '${a.path}'`);
  if (!Number.isSafeInteger(a.size) || a.size < 0)
    throw invalid(`artifact '${a.path}' has invalid size ${a.size}`);
  return {
    path: a.path,
    sha256: a.sha256,
    size: a.size,
    mediaType: a.mediaType ?? "application/octet-stream",
  };
}

export interface ArtifactRow {
  run_id: string;
  path: string;
  sha256: string;
  size: number;
  media_type: string;
  created_at: number;
}

export const ARTIFACT_SELECT = "SELECT run_id, path, sha256, size, media_type, created_at FROM run_artifacts";

export function artifactFromRow(r: ArtifactRow): RunArtifact {
  return {
    runId: r.run_id,
    path: r.path,
    sha256: r.sha256,
    size: r.size,
    mediaType: r.media_type,
    createdAt: r.created_at,
  };
}

/**
 * The run search as SQL over RUN_SELECT: `WHERE …` (empty without filters) and its arguments, with the
 * backend's placeholder for argument i (1-based): SQLite `?`, PostgreSQL `$i`. The caller appends the order
 * (its tiebreak column) and LIMIT / OFFSET.
 */
export function searchWhere(
  query: SearchRunsQuery,
  placeholder: (i: number) => string,
): { where: string; args: unknown[] } {
  const clauses: string[] = [];
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return placeholder(args.length);
  };
  if (query.experiment !== undefined) clauses.push(`e.name = ${arg(query.experiment)}`);
  if (query.status !== undefined) clauses.push(`r.status = ${arg(query.status)}`);
  if (query.parentRunId === null) clauses.push("r.parent_run_id IS NULL");
  else if (query.parentRunId !== undefined) clauses.push(`r.parent_run_id = ${arg(query.parentRunId)}`);
  for (const [k, v] of Object.entries(query.tags ?? {})) {
    clauses.push(
      `EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = r.run_id AND t.key = ${arg(k)} AND t.value = ${arg(v)})`,
    );
  }
  return { where: clauses.length ? ` WHERE ${clauses.join(" AND ")}` : "", args };
}

export interface SearchBounds {
  limit: number;
  offset: number;
  order: "ASC" | "DESC";
}

export function searchBounds(query: SearchRunsQuery): SearchBounds {
  if (query.status !== undefined && !RUN_STATUSES.includes(query.status)) {
    throw invalid(
      `invalid run status ${JSON.stringify(query.status)}: expected one of ${RUN_STATUSES.join(", ")}`,
    );
  }
  const limit = query.limit ?? 1000;
  const offset = query.offset ?? 0;
  if (!Number.isSafeInteger(limit) || limit < 0) throw invalid(`invalid limit ${limit}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalid(`invalid offset ${offset}`);
  return { limit, offset, order: query.order === "start_time_asc" ? "ASC" : "DESC" };
}

export function validateVersionStatus(status: unknown): ModelVersionStatus {
  if (!VERSION_STATUSES.includes(status as ModelVersionStatus))
    throw invalid(`invalid model version status ${JSON.stringify(status)}`);
  return status as ModelVersionStatus;
}

/**
 * The version among `rows` (a model's versions with their stored tags JSON) whose registration key is `key`, or
 * null; both stores call it inside the transaction that numbers versions.
 */
export function versionWithKey(
  rows: readonly { version: number; tags: string }[],
  key: string,
): number | null {
  for (const r of rows) {
    const tags = JSON.parse(r.tags) as Record<string, string>;
    if (tags[REGISTRATION_KEY_TAG] === key) return r.version;
  }
  return null;
}

/** A new model version's validated documents, serialised as stored. */
export function prepareModelVersion(input: CreateModelVersionInput): {
  status: ModelVersionStatus;
  metricsJson: string;
  lineageJson: string;
  exampleJson: string | null;
  tagsJson: string;
} {
  validateModelName(input.name);
  validateSha(input.artifactSha, `artifactSha of model '${input.name}'`);
  const metrics = input.metrics ?? {};
  for (const [k, v] of Object.entries(metrics)) {
    validateKey("metric", k);
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw invalid(`model '${input.name}' metric '${k}' must be a finite number, got ${JSON.stringify(v)}`);
    }
  }
  if (input.registrationKey !== undefined && input.registrationKey.length === 0)
    throw invalid(`model '${input.name}': registrationKey must not be empty`);
  const tags: Record<string, string> = { ...(input.tags ?? {}) };
  if (input.registrationKey !== undefined) {
    if (REGISTRATION_KEY_TAG in tags && tags[REGISTRATION_KEY_TAG] !== input.registrationKey)
      throw invalid(`model '${input.name}': tag '${REGISTRATION_KEY_TAG}' differs from registrationKey`);
    tags[REGISTRATION_KEY_TAG] = input.registrationKey;
  }
  for (const [k, v] of Object.entries(tags)) checkTag(k, v);
  const status = validateVersionStatus(input.status ?? "READY");
  return {
    status,
    metricsJson: jsonOrThrow(`metrics of model '${input.name}'`, metrics),
    lineageJson: jsonOrThrow(`lineage of model '${input.name}'`, input.lineage ?? {}),
    exampleJson:
      input.inputExample === undefined
        ? null
        : jsonOrThrow(`inputExample of model '${input.name}'`, input.inputExample),
    tagsJson: JSON.stringify(tags),
  };
}

export function versionFromRow(r: VersionRow, aliases: string[]): ModelVersion {
  return {
    name: r.name,
    version: r.version,
    runId: r.run_id,
    artifactSha: r.artifact_sha,
    status: r.status,
    metrics: JSON.parse(r.metrics) as Record<string, number>,
    lineage: JSON.parse(r.lineage) as Record<string, unknown>,
    inputExample: r.input_example === null ? null : (JSON.parse(r.input_example) as unknown),
    tags: JSON.parse(r.tags) as Record<string, string>,
    description: r.description,
    createdAt: r.created_at,
    aliases,
  };
}

export function validateAuditActor(actor: unknown): void {
  if (typeof actor !== "string" || actor.length === 0)
    throw invalid("audit actor must be a non-empty string");
}

/** The CONFLICT error of a compare-and-set alias move whose expectation no longer holds. */
export function aliasConflict(input: SetAliasInput, current: number | null): TrackingError {
  return new TrackingError(
    "CONFLICT",
    `alias '${input.alias}' of model '${input.name}' points to ${current === null ? "nothing" : `v${current}`}, ` +
      `expected ${input.expectedCurrent === null ? "nothing" : `v${input.expectedCurrent}`} (changed concurrently?)`,
  );
}

export interface TrialRow {
  number: number;
  state: TrialState;
  value: number | null;
  params: string;
  intermediate: string;
  user_attrs: string | null;
  payload: string | null;
}

/** A trial's validated columns, serialised as stored. */
export function prepareTrial(
  studyName: string,
  trial: TrialRecord,
): Omit<TrialRow, "state"> & { state: TrialState } {
  if (typeof studyName !== "string" || studyName.length === 0 || studyName.length > 250) {
    throw invalid(`invalid study name ${JSON.stringify(studyName)}`);
  }
  if (!Number.isSafeInteger(trial.number) || trial.number < 0) {
    throw invalid(`study '${studyName}': invalid trial number ${JSON.stringify(trial.number)}`);
  }
  if (!TRIAL_STATES.includes(trial.state)) {
    throw invalid(
      `study '${studyName}' trial ${trial.number}: invalid state ${JSON.stringify(trial.state)} (expected ${TRIAL_STATES.join(", ")})`,
    );
  }
  if (trial.value !== null && typeof trial.value !== "number") {
    throw invalid(`study '${studyName}' trial ${trial.number}: value must be a number or null`);
  }
  const inter: [number, number | null][] = [];
  for (const [k, v] of Object.entries(trial.intermediateValues ?? {})) {
    const step = Number(k);
    if (!Number.isSafeInteger(step) || step < 0 || typeof v !== "number") {
      throw invalid(
        `study '${studyName}' trial ${trial.number}: bad intermediate value ${k} → ${JSON.stringify(v)}`,
      );
    }
    inter.push([step, Number.isFinite(v) ? v : null]);
  }
  return {
    number: trial.number,
    state: trial.state,
    value: trial.value === null || Number.isNaN(trial.value) ? null : trial.value,
    params: jsonOrThrow(`study '${studyName}' trial ${trial.number} params`, trial.params ?? {}),
    intermediate: JSON.stringify(inter),
    user_attrs: trial.userAttrs === undefined ? null : jsonOrThrow("userAttrs", trial.userAttrs),
    payload:
      trial.payload === undefined
        ? null
        : jsonOrThrow(`study '${studyName}' trial ${trial.number} payload`, trial.payload),
  };
}

/** Validated arguments of claimTrial. */
export function validateClaim(studyName: unknown, number: unknown, owner: unknown, leaseMs: unknown): void {
  if (typeof studyName !== "string" || studyName.length === 0 || studyName.length > 250)
    throw invalid(`invalid study name ${JSON.stringify(studyName)}`);
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 0)
    throw invalid(`study '${studyName}': invalid trial number ${JSON.stringify(number)}`);
  if (typeof owner !== "string" || owner.length === 0 || owner.length > 200)
    throw invalid(`study '${studyName}' trial ${number}: invalid claim owner ${JSON.stringify(owner)}`);
  if (typeof leaseMs !== "number" || !Number.isFinite(leaseMs) || leaseMs <= 0)
    throw invalid(
      `study '${studyName}' trial ${number}: lease must be > 0 ms, got ${JSON.stringify(leaseMs)}`,
    );
}

/** Whether a stored trial row may be (re)claimed by `owner` at `now` (see TrackingStore.claimTrial). */
export function claimable(
  row: { state: TrialState; owner: string | null; lease_until: number | null } | undefined,
  owner: string,
  now: number,
): boolean {
  if (!row) return true;
  if (row.state !== "RUNNING") return false;
  return row.owner === null || row.owner === owner || (row.lease_until ?? 0) < now;
}

export function trialFromRow(r: TrialRow): TrialRecord {
  const intermediateValues: Record<number, number> = {};
  for (const [s, v] of JSON.parse(r.intermediate) as [number, number | null][]) {
    intermediateValues[s] = v === null ? Number.NaN : v;
  }
  const t: TrialRecord = {
    number: r.number,
    params: JSON.parse(r.params) as Record<string, unknown>,
    state: r.state,
    value: r.value,
    intermediateValues,
  };
  if (r.user_attrs !== null) t.userAttrs = JSON.parse(r.user_attrs) as Record<string, unknown>;
  if (r.payload !== null) t.payload = JSON.parse(r.payload) as unknown;
  return t;
}

export class SqliteStore extends AbstractTrackingStore {
  readonly kind = "sqlite";
  readonly location: string;
  /** Escape hatch for tests and diagnostics; do not write through it. */
  readonly db: Database.Database;

  private constructor(path: string, opts: SqliteStoreOptions) {
    super();
    this.location = path;
    this.db = new Database(path, { timeout: opts.busyTimeoutMs ?? 15_000 });
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 15_000))}`);
      const mode = this.db.pragma("journal_mode = WAL", { simple: true });
      if (String(mode).toLowerCase() !== "wal") {
        throw new TrackingError("SCHEMA", `could not enable WAL on ${path} (journal_mode=${String(mode)})`);
      }
      this.db.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
      this.db.pragma("foreign_keys = ON");
      this.migrate(SQLITE_MIGRATIONS);
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  /** Open (creating when missing) `<home>/mlops.db` or `opts.path`, and apply pending migrations. */
  static open(opts: SqliteStoreOptions = {}): SqliteStore {
    let path: string;
    if (opts.path) {
      path = resolve(opts.path);
    } else {
      const home = resolveHome(opts.home);
      mkdirSync(home, { recursive: true });
      path = join(home, "mlops.db");
    }
    return new SqliteStore(path, opts);
  }

  /** Applied schema versions, ascending. */
  schemaVersions(): number[] {
    return (
      this.db.prepare("SELECT version FROM schema_migrations ORDER BY version").all() as { version: number }[]
    ).map((r) => r.version);
  }

  private migrate(migrations: readonly Migration[]): void {
    this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applyAll = this.db.transaction(() => {
      const applied = (
        this.db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]
      ).map((r) => r.version);
      for (const m of pendingMigrations(migrations, applied, this.location)) {
        this.db.exec(m.sql);
        this.db
          .prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
          .run(m.version, m.name, Date.now());
      }
    });
    applyAll.immediate();
  }

  /** Run `fn` in one IMMEDIATE transaction (takes the write lock up front, so busy_timeout applies). */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  // ---------------------------------------------------------------- experiments

  private experimentSync(name: string, create: boolean): Experiment | null {
    validateExperimentName(name);
    const sel = () =>
      this.db.prepare("SELECT experiment_id, name, created_at FROM experiments WHERE name = ?").get(name) as
        | { experiment_id: number; name: string; created_at: number }
        | undefined;
    let row = sel();
    if (!row && create) {
      this.db
        .prepare("INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?, ?)")
        .run(name, Date.now());
      row = sel();
    }
    return row ? { experimentId: row.experiment_id, name: row.name, createdAt: row.created_at } : null;
  }

  async getOrCreateExperiment(name: string): Promise<Experiment> {
    return this.write(() => this.experimentSync(name, true)!);
  }

  async getExperiment(name: string): Promise<Experiment | null> {
    return this.experimentSync(name, false);
  }

  async listExperiments(): Promise<Experiment[]> {
    const rows = this.db
      .prepare("SELECT experiment_id, name, created_at FROM experiments ORDER BY experiment_id")
      .all() as {
      experiment_id: number;
      name: string;
      created_at: number;
    }[];
    return rows.map((r) => ({ experimentId: r.experiment_id, name: r.name, createdAt: r.created_at }));
  }

  // ---------------------------------------------------------------- runs

  private runRow(runId: string): RunRow {
    validateRunId(runId);
    const row = this.db.prepare(`${RUN_SELECT} WHERE r.run_id = ?`).get(runId) as RunRow | undefined;
    if (!row) throw new TrackingError("NOT_FOUND", `run ${runId} not found in ${this.location}`);
    return row;
  }

  async createRun(input: CreateRunInput): Promise<RunInfo> {
    const { runId, name, start, tags } = prepareRun(input);
    return this.write(() => {
      const exp = this.experimentSync(input.experiment, true)!;
      if (input.parentRunId != null) this.runRow(input.parentRunId);
      this.db
        .prepare(
          `INSERT INTO runs (run_id, experiment_id, parent_run_id, name, status, start_time, end_time)
           VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL)`,
        )
        .run(runId, exp.experimentId, input.parentRunId ?? null, name, start);
      const ins = this.db.prepare(
        "INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
      );
      for (const [k, v] of tags) ins.run(runId, k, v);
      return toRunInfo(this.runRow(runId));
    });
  }

  private runSync(row: RunRow): Run {
    const params: Record<string, string> = {};
    for (const p of this.db
      .prepare("SELECT key, value FROM params WHERE run_id = ? ORDER BY key")
      .all(row.run_id) as {
      key: string;
      value: string;
    }[])
      params[p.key] = p.value;
    const tags: Record<string, string> = {};
    for (const t of this.db
      .prepare("SELECT key, value FROM run_tags WHERE run_id = ? ORDER BY key")
      .all(row.run_id) as {
      key: string;
      value: string;
    }[])
      tags[t.key] = t.value;
    const metrics: Record<string, Metric> = {};
    const ms = this.db
      .prepare(
        "SELECT key, value, step, timestamp FROM metrics WHERE run_id = ? ORDER BY key, step, timestamp, id",
      )
      .all(row.run_id) as { key: string; value: number | null; step: number; timestamp: number }[];
    for (const m of ms)
      metrics[m.key] = { key: m.key, value: numOrNaN(m.value), step: m.step, timestamp: m.timestamp };
    return { ...toRunInfo(row), params, tags, metrics };
  }

  async getRun(runId: string): Promise<Run> {
    // one read transaction = one consistent snapshot of the run, its params, tags and metrics
    return this.db.transaction(() => this.runSync(this.runRow(runId))).deferred();
  }

  async endRun(
    runId: string,
    status: Exclude<RunStatus, "RUNNING"> = "FINISHED",
    endTime?: number,
  ): Promise<RunInfo> {
    validateEndStatus(status);
    return this.write(() => {
      this.runRow(runId);
      this.db
        .prepare("UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?")
        .run(status, endTime ?? Date.now(), runId);
      return toRunInfo(this.runRow(runId));
    });
  }

  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    const { params, metrics, tags } = prepareLogBatch(batch);
    this.write(() => {
      this.runRow(runId);
      const getParam = this.db.prepare("SELECT value FROM params WHERE run_id = ? AND key = ?");
      const insParam = this.db.prepare("INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)");
      for (const [k, v] of params) {
        const prev = getParam.get(runId, k) as { value: string } | undefined;
        if (prev) {
          if (prev.value !== v) throw paramConflict(runId, k, prev.value, v);
          continue;
        }
        insParam.run(runId, k, v);
      }
      const insMetric = this.db.prepare(
        "INSERT INTO metrics (run_id, key, value, step, timestamp) VALUES (?, ?, ?, ?, ?)",
      );
      for (const m of metrics)
        insMetric.run(runId, m.key, Number.isNaN(m.value) ? null : m.value, m.step, m.ts);
      const insTag = this.db.prepare(
        "INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
      );
      for (const [k, v] of tags) insTag.run(runId, k, v);
    });
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    this.runRow(runId);
    const rows = this.db
      .prepare(
        "SELECT key, value, step, timestamp FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, timestamp, id",
      )
      .all(runId, key) as { key: string; value: number | null; step: number; timestamp: number }[];
    return rows.map((m) => ({ key: m.key, value: numOrNaN(m.value), step: m.step, timestamp: m.timestamp }));
  }

  async recordArtifact(runId: string, input: RunArtifactInput): Promise<RunArtifact> {
    const a = prepareArtifact(input);
    const mediaType = a.mediaType;
    const now = Date.now();
    return this.write(() => {
      this.runRow(runId);
      this.db
        .prepare(
          `INSERT INTO run_artifacts (run_id, path, sha256, size, media_type, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
             media_type = excluded.media_type, created_at = excluded.created_at`,
        )
        .run(runId, a.path, a.sha256, a.size, mediaType, now);
      return { runId, path: a.path, sha256: a.sha256, size: a.size, mediaType, createdAt: now };
    });
  }

  async listArtifacts(runId: string): Promise<RunArtifact[]> {
    this.runRow(runId);
    const rows = this.db
      .prepare(`${ARTIFACT_SELECT} WHERE run_id = ? ORDER BY path`)
      .all(runId) as ArtifactRow[];
    return rows.map(artifactFromRow);
  }

  async searchRuns(query: SearchRunsQuery = {}): Promise<Run[]> {
    const { limit, offset, order } = searchBounds(query);
    const { where, args } = searchWhere(query, () => "?");
    const sql = `${RUN_SELECT}${where} ORDER BY r.start_time ${order}, r.rowid ${order} LIMIT ? OFFSET ?`;
    const read = this.db.transaction(() =>
      (this.db.prepare(sql).all(...args, limit, offset) as RunRow[]).map((r) => this.runSync(r)),
    );
    return read.deferred();
  }

  // ---------------------------------------------------------------- registry

  private modelRow(name: string): {
    model_id: number;
    name: string;
    description: string | null;
    created_at: number;
    updated_at: number;
  } {
    validateModelName(name);
    const row = this.db
      .prepare(
        "SELECT model_id, name, description, created_at, updated_at FROM registered_models WHERE name = ?",
      )
      .get(name) as
      | { model_id: number; name: string; description: string | null; created_at: number; updated_at: number }
      | undefined;
    if (!row)
      throw new TrackingError("NOT_FOUND", `registered model '${name}' not found in ${this.location}`);
    return row;
  }

  private modelSync(name: string): RegisteredModel | null {
    validateModelName(name);
    const row = this.db
      .prepare(
        "SELECT model_id, name, description, created_at, updated_at FROM registered_models WHERE name = ?",
      )
      .get(name) as
      | { model_id: number; name: string; description: string | null; created_at: number; updated_at: number }
      | undefined;
    if (!row) return null;
    const latest = this.db
      .prepare("SELECT MAX(version) AS v FROM model_versions WHERE model_id = ?")
      .get(row.model_id) as {
      v: number | null;
    };
    const aliases: Record<string, number> = {};
    for (const a of this.db
      .prepare("SELECT alias, version FROM model_aliases WHERE model_id = ? ORDER BY alias")
      .all(row.model_id) as { alias: string; version: number }[])
      aliases[a.alias] = a.version;
    return {
      name: row.name,
      description: row.description,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      latestVersion: latest.v,
      aliases,
    };
  }

  private ensureModelSync(name: string, description?: string | null): number {
    validateModelName(name);
    const now = Date.now();
    this.db
      .prepare(
        "INSERT OR IGNORE INTO registered_models (name, description, created_at, updated_at) VALUES (?, ?, ?, ?)",
      )
      .run(name, description ?? null, now, now);
    if (description != null) {
      this.db
        .prepare("UPDATE registered_models SET description = ? WHERE name = ? AND description IS NULL")
        .run(description, name);
    }
    return this.modelRow(name).model_id;
  }

  async getOrCreateRegisteredModel(name: string, description?: string | null): Promise<RegisteredModel> {
    return this.write(() => {
      this.ensureModelSync(name, description);
      return this.modelSync(name)!;
    });
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel | null> {
    return this.db.transaction(() => this.modelSync(name)).deferred();
  }

  async listRegisteredModels(): Promise<RegisteredModel[]> {
    return this.db
      .transaction(() =>
        (this.db.prepare("SELECT name FROM registered_models ORDER BY name").all() as { name: string }[]).map(
          (r) => this.modelSync(r.name)!,
        ),
      )
      .deferred();
  }

  private toVersion(r: VersionRow): ModelVersion {
    const aliases = (
      this.db
        .prepare("SELECT alias FROM model_aliases WHERE model_id = ? AND version = ? ORDER BY alias")
        .all(r.model_id, r.version) as { alias: string }[]
    ).map((a) => a.alias);
    return versionFromRow(r, aliases);
  }

  private versionSync(name: string, version: number): ModelVersion | null {
    validateModelName(name);
    validateVersion(version);
    const row = this.db.prepare(`${VERSION_SELECT} WHERE m.name = ? AND v.version = ?`).get(name, version) as
      | VersionRow
      | undefined;
    return row ? this.toVersion(row) : null;
  }

  async createModelVersion(input: CreateModelVersionInput): Promise<ModelVersion> {
    const { status, metricsJson, lineageJson, exampleJson, tagsJson } = prepareModelVersion(input);
    return this.write(() => {
      if (input.runId != null) this.runRow(input.runId);
      const modelId = this.ensureModelSync(input.name);
      if (input.registrationKey !== undefined) {
        const rows = this.db
          .prepare("SELECT version, tags FROM model_versions WHERE model_id = ? ORDER BY version")
          .all(modelId) as { version: number; tags: string }[];
        const existing = versionWithKey(rows, input.registrationKey);
        if (existing !== null) return this.versionSync(input.name, existing)!;
      }
      const next =
        (
          this.db
            .prepare("SELECT COALESCE(MAX(version), 0) AS v FROM model_versions WHERE model_id = ?")
            .get(modelId) as {
            v: number;
          }
        ).v + 1;
      const now = Date.now();
      this.db
        .prepare(
          `INSERT INTO model_versions (model_id, version, run_id, artifact_sha, status, metrics, lineage, input_example,
             tags, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
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
        );
      this.db.prepare("UPDATE registered_models SET updated_at = ? WHERE model_id = ?").run(now, modelId);
      return this.versionSync(input.name, next)!;
    });
  }

  async getModelVersion(name: string, version: number): Promise<ModelVersion | null> {
    return this.db.transaction(() => this.versionSync(name, version)).deferred();
  }

  async listModelVersions(name: string): Promise<ModelVersion[]> {
    return this.db
      .transaction(() => {
        this.modelRow(name);
        const rows = this.db
          .prepare(`${VERSION_SELECT} WHERE m.name = ? ORDER BY v.version`)
          .all(name) as VersionRow[];
        return rows.map((r) => this.toVersion(r));
      })
      .deferred();
  }

  async setModelVersionStatus(name: string, version: number, status: ModelVersionStatus): Promise<void> {
    validateVersionStatus(status);
    this.write(() => {
      const m = this.modelRow(name);
      const r = this.db
        .prepare("UPDATE model_versions SET status = ? WHERE model_id = ? AND version = ?")
        .run(status, m.model_id, validateVersion(version));
      if (r.changes === 0) throw new TrackingError("NOT_FOUND", `model '${name}' has no version ${version}`);
    });
  }

  private aliasSync(modelId: number, alias: string): number | null {
    const row = this.db
      .prepare("SELECT version FROM model_aliases WHERE model_id = ? AND alias = ?")
      .get(modelId, alias) as { version: number } | undefined;
    return row ? row.version : null;
  }

  async getAlias(name: string, alias: string): Promise<number | null> {
    validateAlias(alias);
    return this.aliasSync(this.modelRow(name).model_id, alias);
  }

  private auditSync(id: number): AuditEntry {
    const r = this.db.prepare(`${AUDIT_SELECT} WHERE a.id = ?`).get(id) as AuditRow;
    return toAudit(r);
  }

  private insertAudit(
    modelId: number,
    alias: string,
    e: AuditInput & { fromVersion: number | null; toVersion: number | null },
  ): number {
    validateAuditActor(e.actor);
    const r = this.db
      .prepare(
        `INSERT INTO alias_audit (model_id, alias, action, from_version, to_version, actor, reason, at, gate_results)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        modelId,
        alias,
        e.action,
        e.fromVersion,
        e.toVersion,
        e.actor,
        e.reason ?? null,
        Date.now(),
        e.gateResults ? JSON.stringify(e.gateResults) : null,
      );
    return Number(r.lastInsertRowid);
  }

  async setAlias(input: SetAliasInput): Promise<AuditEntry> {
    validateAlias(input.alias);
    if (input.version !== null) validateVersion(input.version);
    return this.write(() => {
      const m = this.modelRow(input.name);
      if (input.version !== null) {
        const exists = this.db
          .prepare("SELECT 1 FROM model_versions WHERE model_id = ? AND version = ?")
          .get(m.model_id, input.version);
        if (!exists)
          throw new TrackingError("NOT_FOUND", `model '${input.name}' has no version ${input.version}`);
      }
      const current = this.aliasSync(m.model_id, input.alias);
      if (input.expectedCurrent !== undefined && current !== input.expectedCurrent)
        throw aliasConflict(input, current);
      const now = Date.now();
      if (input.version === null) {
        if (current === null) {
          throw new TrackingError(
            "NOT_FOUND",
            `model '${input.name}' has no alias '${input.alias}' to delete`,
          );
        }
        this.db
          .prepare("DELETE FROM model_aliases WHERE model_id = ? AND alias = ?")
          .run(m.model_id, input.alias);
      } else {
        this.db
          .prepare(
            `INSERT INTO model_aliases (model_id, alias, version, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
          )
          .run(m.model_id, input.alias, input.version, now);
      }
      this.db.prepare("UPDATE registered_models SET updated_at = ? WHERE model_id = ?").run(now, m.model_id);
      const id = this.insertAudit(m.model_id, input.alias, {
        ...input.audit,
        fromVersion: current,
        toVersion: input.version,
      });
      return this.auditSync(id);
    });
  }

  async appendAudit(
    name: string,
    alias: string,
    entry: AuditInput & { fromVersion: number | null; toVersion: number | null },
  ): Promise<AuditEntry> {
    validateAlias(alias);
    return this.write(() => {
      const m = this.modelRow(name);
      return this.auditSync(this.insertAudit(m.model_id, alias, entry));
    });
  }

  async listAudit(name: string, alias?: string): Promise<AuditEntry[]> {
    const m = this.modelRow(name);
    const rows =
      alias === undefined
        ? (this.db
            .prepare(`${AUDIT_SELECT} WHERE a.model_id = ? ORDER BY a.id`)
            .all(m.model_id) as AuditRow[])
        : (this.db
            .prepare(`${AUDIT_SELECT} WHERE a.model_id = ? AND a.alias = ? ORDER BY a.id`)
            .all(m.model_id, validateAlias(alias)) as AuditRow[]);
    return rows.map(toAudit);
  }

  // ---------------------------------------------------------------- trials

  async saveTrial(studyName: string, trial: TrialRecord): Promise<void> {
    const t = prepareTrial(studyName, trial);
    this.write(() => {
      this.db
        .prepare(
          `INSERT INTO trials (study_name, number, state, value, params, intermediate, user_attrs, payload, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (study_name, number) DO UPDATE SET state = excluded.state, value = excluded.value,
             params = excluded.params, intermediate = excluded.intermediate, user_attrs = excluded.user_attrs,
             payload = excluded.payload, updated_at = excluded.updated_at, owner = NULL, lease_until = NULL`,
        )
        .run(
          studyName,
          t.number,
          t.state,
          t.value,
          t.params,
          t.intermediate,
          t.user_attrs,
          t.payload,
          Date.now(),
        );
    });
  }

  async loadTrials(studyName: string): Promise<TrialRecord[]> {
    const rows = this.db
      .prepare(
        "SELECT number, state, value, params, intermediate, user_attrs, payload FROM trials WHERE study_name = ? ORDER BY number",
      )
      .all(studyName) as TrialRow[];
    return rows.map(trialFromRow);
  }

  async claimTrial(studyName: string, number: number, owner: string, leaseMs: number): Promise<boolean> {
    validateClaim(studyName, number, owner, leaseMs);
    return this.write(() => {
      const now = Date.now();
      const row = this.db
        .prepare("SELECT state, owner, lease_until FROM trials WHERE study_name = ? AND number = ?")
        .get(studyName, number) as
        | { state: TrialState; owner: string | null; lease_until: number | null }
        | undefined;
      if (!claimable(row, owner, now)) return false;
      this.db
        .prepare(
          `INSERT INTO trials (study_name, number, state, value, params, intermediate, updated_at, owner, lease_until)
           VALUES (?, ?, 'RUNNING', NULL, '{}', '[]', ?, ?, ?)
           ON CONFLICT (study_name, number) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until,
             updated_at = excluded.updated_at`,
        )
        .run(studyName, number, now, owner, now + Math.ceil(leaseMs));
      return true;
    });
  }
}

export function toAudit(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    name: r.name,
    alias: r.alias,
    action: r.action,
    fromVersion: r.from_version,
    toVersion: r.to_version,
    actor: r.actor,
    reason: r.reason,
    at: r.at,
    gateResults: r.gate_results === null ? null : (JSON.parse(r.gate_results) as GateResult[]),
  };
}
