/**
 * Convenience facade for pipelines: open the home (store + artifacts + registry) and log through an
 * `ActiveRun` handle that knows its run id and can start nested runs.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalArtifactStore, type ArtifactStore } from "./artifacts.ts";
import { isS3ArtifactUri, S3ArtifactStore } from "./s3-artifacts.ts";
import { isPostgresUri, PostgresStore, redactPostgresUri } from "./postgres-store.ts";
import { ModelRegistry } from "./registry.ts";
import { resolveHome, SqliteStore, type SqliteStoreOptions, type TrackingStore } from "./store.ts";
import { TrackingError } from "./types.ts";
import type {
  CreateRunInput,
  MetricInput,
  ParamValue,
  Run,
  RunArtifact,
  RunInfo,
  RunStatus,
} from "./types.ts";

export interface Tracking {
  /** Absolute home directory. */
  readonly home: string;
  readonly store: TrackingStore;
  readonly artifacts: ArtifactStore;
  readonly registry: ModelRegistry;
  close(): Promise<void>;
}

export interface OpenTrackingOptions extends Omit<SqliteStoreOptions, "home" | "path"> {
  /** Default: env MLOPS_HOME, else ./.mlops. */
  home?: string | null;
  /** Throw NOT_FOUND instead of creating a new store when `<home>/mlops.db` does not exist (read-only tools). */
  mustExist?: boolean;
  /**
   * Where runs and the registry live: `postgres://user[:password]@host[:port]/database` (a shared PostgreSQL
   * server) or `sqlite:<file>`. Default: env MLOPS_TRACKING_URI, else `<home>/mlops.db`.
   */
  trackingUri?: string;
  /**
   * Where artifacts live: `s3://bucket[/prefix]` (S3 or an S3-compatible store; endpoint and credentials from
   * the AWS_* environment variables) or a directory. Default: env MLOPS_ARTIFACTS_URI, else `<home>/artifacts`.
   */
  artifacts?: string;
}

/** The tracking store of `opts` (see OpenTrackingOptions.trackingUri); a home directory when no URI is set. */
function trackingUriOf(opts: { trackingUri?: string } = {}): string | undefined {
  return opts.trackingUri ?? (process.env.MLOPS_TRACKING_URI || undefined);
}

/**
 * Where a tracking URI points: a PostgreSQL store, or the SQLite file (`sqlite:<file>`, `sqlite:///abs/path.db`;
 * no URI = `<home>/mlops.db`); any other scheme is INVALID (the message never shows a password).
 */
function storeTarget(uri: string | undefined, home: string): { postgres: string } | { sqlite: string } {
  if (uri === undefined) return { sqlite: join(home, "mlops.db") };
  if (isPostgresUri(uri)) return { postgres: uri };
  if (uri.startsWith("sqlite:")) return { sqlite: resolve(uri.replace(/^sqlite:(\/\/)?/, "")) };
  throw new TrackingError(
    "INVALID",
    `tracking store '${uri.startsWith("postgres") ? redactPostgresUri(uri) : uri}': expected postgres://… or sqlite:<file>`,
  );
}

function openTarget(
  target: { postgres: string } | { sqlite: string },
  opts: Omit<SqliteStoreOptions, "home" | "path">,
): TrackingStore {
  if ("postgres" in target) return PostgresStore.open(target.postgres);
  return SqliteStore.open({
    busyTimeoutMs: opts.busyTimeoutMs,
    synchronous: opts.synchronous,
    path: target.sqlite,
  });
}

/**
 * Whether a tracking store exists for `home` (read-only tools check this before opening): always true for a
 * PostgreSQL store (its schema is created on first use), else whether the SQLite file exists.
 */
export function hasTrackingStore(home: string, opts: { trackingUri?: string } = {}): boolean {
  const target = storeTarget(trackingUriOf(opts), home);
  return "postgres" in target || existsSync(target.sqlite);
}

/**
 * Open a store by URI: `postgres://user[:password]@host[:port]/database` (PostgresStore; its schema is applied
 * on first use), `sqlite:<path-to-db>` / `sqlite:///abs/path.db`, or a home directory (its mlops.db).
 */
export async function openTrackingStore(
  uri?: string | null,
  opts: Omit<SqliteStoreOptions, "home" | "path"> = {},
): Promise<TrackingStore> {
  if (uri && (isPostgresUri(uri) || uri.startsWith("sqlite:")))
    return openTarget(storeTarget(uri, resolveHome()), opts);
  return SqliteStore.open({ ...opts, home: resolveHome(uri) });
}

/**
 * Open the tracking store (`<home>/mlops.db`, or the trackingUri / MLOPS_TRACKING_URI store) and the artifact
 * store (`<home>/artifacts/` unless configured), creating them when missing (unless `mustExist`).
 */
export function openTracking(opts: OpenTrackingOptions = {}): Tracking {
  const home = resolveHome(opts.home);
  const target = storeTarget(trackingUriOf(opts), home);
  if (opts.mustExist && "sqlite" in target && !existsSync(target.sqlite)) {
    throw new TrackingError(
      "NOT_FOUND",
      `no tracking store at ${target.sqlite} (use --home DIR, set MLOPS_HOME or MLOPS_TRACKING_URI)`,
    );
  }
  if ("sqlite" in target) mkdirSync(dirname(target.sqlite), { recursive: true });
  const store = openTarget(target, opts);
  const artifacts = openArtifactStore(home, opts.artifacts ?? (process.env.MLOPS_ARTIFACTS_URI || undefined));
  const registry = new ModelRegistry(store, artifacts);
  return { home, store, artifacts, registry, close: () => store.close() };
}

/** The artifact store of a URI (see OpenTrackingOptions.artifacts); `<home>/artifacts` when none is given. */
export function openArtifactStore(home: string, uri?: string): ArtifactStore {
  if (uri === undefined || uri === "") return LocalArtifactStore.forHome(home);
  if (isS3ArtifactUri(uri)) return new S3ArtifactStore(uri);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !/^file:\/\//i.test(uri)) {
    throw new TrackingError(
      "INVALID",
      `artifact store '${uri}': only s3:// URIs and directories are supported`,
    );
  }
  return new LocalArtifactStore(uri.startsWith("file://") ? fileURLToPath(uri) : resolve(uri));
}

export class ActiveRun {
  readonly store: TrackingStore;
  readonly artifacts: ArtifactStore;
  readonly info: RunInfo;

  constructor(store: TrackingStore, artifacts: ArtifactStore, info: RunInfo) {
    this.store = store;
    this.artifacts = artifacts;
    this.info = info;
  }

  get runId(): string {
    return this.info.runId;
  }

  logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    return this.store.logParams(this.runId, params);
  }

  logMetric(key: string, value: number, step?: number): Promise<void> {
    return this.store.logMetric(this.runId, key, value, step);
  }

  /** Several metrics at one step (one transaction). */
  logMetrics(
    values: Readonly<Record<string, number>> | readonly MetricInput[],
    step?: number,
  ): Promise<void> {
    const list: MetricInput[] = Array.isArray(values)
      ? [...(values as readonly MetricInput[])]
      : Object.entries(values as Record<string, number>).map(([key, value]) => ({ key, value, step }));
    return this.store.logMetrics(this.runId, list);
  }

  setTags(tags: Readonly<Record<string, string>>): Promise<void> {
    return this.store.setTags(this.runId, tags);
  }

  /** Store bytes (or a file, given its path) content-addressed and record it under `path` in this run. */
  async logArtifact(path: string, source: Uint8Array | string, mediaType?: string): Promise<RunArtifact> {
    const ref = await this.artifacts.put(source);
    return this.store.recordArtifact(this.runId, { path, sha256: ref.sha256, size: ref.size, mediaType });
  }

  logJson(path: string, value: unknown): Promise<RunArtifact> {
    return this.logArtifact(path, Buffer.from(`${JSON.stringify(value, null, 2)}\n`), "application/json");
  }

  /** Start a nested run in the same experiment. */
  async startChild(name: string, tags?: Readonly<Record<string, string>>): Promise<ActiveRun> {
    const info = await this.store.createRun({
      experiment: this.info.experimentName,
      name,
      parentRunId: this.runId,
      tags,
    });
    return new ActiveRun(this.store, this.artifacts, info);
  }

  end(status: Exclude<RunStatus, "RUNNING"> = "FINISHED"): Promise<RunInfo> {
    return this.store.endRun(this.runId, status);
  }

  get(): Promise<Run> {
    return this.store.getRun(this.runId);
  }
}

export async function startRun(
  t: Pick<Tracking, "store" | "artifacts">,
  input: CreateRunInput,
): Promise<ActiveRun> {
  return new ActiveRun(t.store, t.artifacts, await t.store.createRun(input));
}

/** Run `fn` inside a run: FINISHED when it resolves, FAILED (with tag `error`) when it throws (rethrown). */
export async function withRun<T>(
  t: Pick<Tracking, "store" | "artifacts">,
  input: CreateRunInput,
  fn: (run: ActiveRun) => Promise<T>,
): Promise<T> {
  const run = await startRun(t, input);
  try {
    const out = await fn(run);
    await run.end("FINISHED");
    return out;
  } catch (e) {
    await run.setTags({ error: String((e as Error)?.message ?? e).slice(0, 8000) }).catch(() => {});
    await run.end("FAILED").catch(() => {});
    throw e;
  }
}
