/**
 * Entities and errors of experiment tracking and the model registry.
 * Entities are plain read-only value objects; backends map their rows onto them.
 * All timestamps are milliseconds since the Unix epoch.
 */

export type RunStatus = "RUNNING" | "FINISHED" | "FAILED" | "KILLED";
export const RUN_STATUSES: readonly RunStatus[] = ["RUNNING", "FINISHED", "FAILED", "KILLED"];

export interface Experiment {
  readonly experimentId: number;
  readonly name: string;
  readonly createdAt: number;
}

export interface RunInfo {
  readonly runId: string;
  readonly experimentId: number;
  readonly experimentName: string;
  readonly parentRunId: string | null;
  readonly name: string;
  readonly status: RunStatus;
  readonly startTime: number;
  readonly endTime: number | null;
}

export interface Metric {
  readonly key: string;
  readonly value: number;
  readonly step: number;
  readonly timestamp: number;
}

/** A run with its params, tags and the latest value of every metric (highest step, then latest timestamp). */
export interface Run extends RunInfo {
  readonly params: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, Metric>>;
}

export interface MetricInput {
  key: string;
  value: number;
  /** Default 0. Must be a non-negative integer. */
  step?: number;
  /** Default Date.now(). */
  timestamp?: number;
}

export type ParamValue = string | number | boolean;

export interface LogBatch {
  params?: Readonly<Record<string, ParamValue>>;
  metrics?: readonly MetricInput[];
  tags?: Readonly<Record<string, string>>;
}

export interface CreateRunInput {
  /** Experiment name; created when missing. */
  experiment: string;
  /** Default: `run-<first 8 chars of the id>`. */
  name?: string;
  parentRunId?: string | null;
  tags?: Readonly<Record<string, string>>;
  startTime?: number;
}

export interface RunArtifact {
  readonly runId: string;
  /** Logical path inside the run, e.g. `model/model.json`. */
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly mediaType: string;
  readonly createdAt: number;
}

export interface RunArtifactInput {
  path: string;
  sha256: string;
  size: number;
  mediaType?: string;
}

export interface SearchRunsQuery {
  /** Experiment name. */
  experiment?: string;
  status?: RunStatus;
  /** `null` = only top-level runs; a run id = only its direct children. */
  parentRunId?: string | null;
  /** Every tag must match exactly. */
  tags?: Readonly<Record<string, string>>;
  /** Default 1000. */
  limit?: number;
  offset?: number;
  /** Default 'start_time_desc'. */
  order?: "start_time_desc" | "start_time_asc";
}

// ---------------------------------------------------------------- registry

export type ModelVersionStatus = "PENDING_REGISTRATION" | "FAILED_REGISTRATION" | "READY";

/**
 * Where a model version came from. Known keys are typed; extra keys are kept as-is.
 * `testSetHash` lets promotion compare stored test metrics of two versions only when both were
 * evaluated on the same test set.
 */
export interface ModelLineage {
  dataHash?: string;
  configHash?: string;
  resolvedConfig?: unknown;
  gitCommit?: string | null;
  /** sha256 of the fitted feature-pipeline artifact. */
  featurePipelineSha?: string;
  params?: Readonly<Record<string, unknown>>;
  testSetHash?: string;
  [key: string]: unknown;
}

export interface RegisteredModel {
  readonly name: string;
  readonly description: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly latestVersion: number | null;
  readonly aliases: Readonly<Record<string, number>>;
}

export interface ModelVersion {
  readonly name: string;
  readonly version: number;
  readonly runId: string | null;
  /** sha256 of the model artifact in the artifact store. */
  readonly artifactSha: string;
  readonly status: ModelVersionStatus;
  readonly metrics: Readonly<Record<string, number>>;
  readonly lineage: Readonly<ModelLineage>;
  readonly inputExample: unknown;
  readonly tags: Readonly<Record<string, string>>;
  readonly description: string | null;
  readonly createdAt: number;
  /** Aliases currently pointing at this version. */
  readonly aliases: readonly string[];
}

export interface CreateModelVersionInput {
  name: string;
  runId?: string | null;
  artifactSha: string;
  metrics?: Readonly<Record<string, number>>;
  lineage?: ModelLineage;
  inputExample?: unknown;
  tags?: Readonly<Record<string, string>>;
  description?: string | null;
  status?: ModelVersionStatus;
  /**
   * Makes the registration idempotent: when a version of this model already carries the same key (tag
   * `REGISTRATION_KEY_TAG`), that version is returned and nothing is added, atomically with version numbering, so
   * concurrent registrations with one key (the workers of a shared sweep) make one version.
   */
  registrationKey?: string;
}

/** The tag that holds a version's `registrationKey`. */
export const REGISTRATION_KEY_TAG = "mlops.registration_key";

/** What happened in an audit row. Only `set`, `promote`, `force_promote`, `rollback`, `delete` move aliases. */
export type AuditAction = "set" | "promote" | "force_promote" | "rollback" | "delete" | "promote_refused";
export const ALIAS_MOVING_ACTIONS: readonly AuditAction[] = [
  "set",
  "promote",
  "force_promote",
  "rollback",
  "delete",
];

export interface GateResult {
  readonly name: string;
  readonly passed: boolean;
  /** The measured value (null when missing). */
  readonly actual: number | null;
  /** The threshold it was compared with (null when not applicable). */
  readonly threshold: number | null;
  readonly detail?: string;
}

export interface AuditEntry {
  readonly id: number;
  readonly name: string;
  readonly alias: string;
  readonly action: AuditAction;
  readonly fromVersion: number | null;
  readonly toVersion: number | null;
  readonly actor: string;
  readonly reason: string | null;
  readonly at: number;
  readonly gateResults: readonly GateResult[] | null;
}

export interface AuditInput {
  action: AuditAction;
  actor: string;
  reason?: string | null;
  gateResults?: readonly GateResult[] | null;
}

export interface SetAliasInput {
  name: string;
  alias: string;
  /** Target version; `null` deletes the alias. */
  version: number | null;
  /**
   * Compare-and-set: when given (a version or `null` = "alias unset"), the write fails with a CONFLICT
   * error unless the alias currently has exactly this value.
   */
  expectedCurrent?: number | null;
  audit: AuditInput;
}

// ---------------------------------------------------------------- trials (resumable sweeps)

export type TrialState = "RUNNING" | "COMPLETE" | "PRUNED" | "FAIL";

export interface TrialRecord {
  number: number;
  params: Record<string, unknown>;
  state: TrialState;
  value: number | null;
  /** step → reported value */
  intermediateValues: Record<number, number>;
  /** Optional extra attributes (e.g. run id of the trial run). */
  userAttrs?: Record<string, unknown>;
  /** Optional complete trial document (JSON-safe), returned exactly as saved. */
  payload?: unknown;
}

// ---------------------------------------------------------------- errors

export type TrackingErrorCode =
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "INVALID"
  | "CONFLICT"
  | "INTEGRITY"
  | "SCHEMA"
  | "PROMOTION_REFUSED"
  /** a remote store (S3) could not be reached or refused the request */
  | "UNAVAILABLE";

/** Every error thrown on purpose by src/tracking carries a stable `code`. */
export class TrackingError extends Error {
  readonly code: TrackingErrorCode;
  constructor(code: TrackingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TrackingError";
    this.code = code;
  }
}

/** A stored artifact's bytes do not hash to its address. */
export class ArtifactIntegrityError extends TrackingError {
  readonly expected: string;
  readonly actual: string;
  readonly path: string;
  constructor(path: string, expected: string, actual: string) {
    super(
      "INTEGRITY",
      `artifact ${path} is corrupt: content hashes to sha256 ${actual}, expected ${expected}`,
    );
    this.name = "ArtifactIntegrityError";
    this.expected = expected;
    this.actual = actual;
    this.path = path;
  }
}

/** Promotion refused because at least one gate failed (and `force` was not given). */
export class PromotionRefused extends TrackingError {
  readonly modelName: string;
  readonly version: number;
  readonly alias: string;
  readonly results: readonly GateResult[];
  constructor(modelName: string, version: number, alias: string, results: readonly GateResult[]) {
    const failed = results.filter((r) => !r.passed).map((r) => r.name);
    super(
      "PROMOTION_REFUSED",
      `promotion of ${modelName} v${version} to '${alias}' refused: failed gate(s) ${failed.join(", ")}`,
    );
    this.name = "PromotionRefused";
    this.modelName = modelName;
    this.version = version;
    this.alias = alias;
    this.results = results;
  }
}
