/**
 * Model registry over a TrackingStore: versions, aliases with an audit log, gated promotion and
 * one-call rollback.
 *
 * Alias semantics follow MLflow aliases (`champion`, `production`, ...): an alias points to exactly one
 * version; every move is recorded (who, when, from, to, why, gate results) in the same transaction.
 */
import type { ArtifactStore } from "./artifacts.ts";
import {
  defaultActor,
  validateAlias,
  validateModelName,
  validateVersion,
  type TrackingStore,
} from "./store.ts";
import {
  ALIAS_MOVING_ACTIONS,
  PromotionRefused,
  TrackingError,
  type AuditEntry,
  type GateResult,
  type ModelLineage,
  type ModelVersion,
  type RegisteredModel,
} from "./types.ts";

export interface RegisterModelVersionInput {
  name: string;
  runId?: string | null;
  /** sha256 of the model artifact; must exist in the artifact store when the registry has one. */
  artifactSha: string;
  /** Test-set metrics, e.g. `{ r2: 0.84, mape: 16.5, rmse: 45076 }` (MAPE in percent). */
  metrics?: Readonly<Record<string, number>>;
  lineage?: ModelLineage;
  inputExample?: unknown;
  tags?: Readonly<Record<string, string>>;
  description?: string | null;
  /** Idempotent registration: a version of this model with the same key is returned instead (see the store). */
  registrationKey?: string;
}

export interface ActorOptions {
  /** Default `process.env.USER ?? os.userInfo().username`. */
  actor?: string;
  reason?: string;
}

export interface PromotionGates {
  /** Minimum R² (metric `r2Key`). Default 0.8; `null` disables the gate. */
  minR2?: number | null;
  /** Maximum MAPE in percent (metric `mapeKey`). Default 20; `null` disables the gate. */
  maxMape?: number | null;
  /** Candidate must not be worse than the version currently at the target alias. Default true. */
  notWorseThanProduction?: boolean;
  /** Metric compared by the not-worse gate. Default 'r2'. */
  compareMetric?: string;
  /** Default: true for r2-like metrics (r2, r2_score, explained_variance, within_10pct), else false. */
  greaterIsBetter?: boolean;
  /** Absolute slack allowed by the not-worse gate. Default 0.001. */
  tolerance?: number;
  /** Metric names. Defaults 'r2' and 'mape'. */
  r2Key?: string;
  mapeKey?: string;
}

export const DEFAULT_PROMOTION_GATES = {
  minR2: 0.8,
  maxMape: 20,
  notWorseThanProduction: true,
  compareMetric: "r2",
  tolerance: 0.001,
  r2Key: "r2",
  mapeKey: "mape",
} as const;

/**
 * Re-evaluates a version on the caller's current test set. Needed by the not-worse gate when the
 * candidate and the production version were evaluated on different test sets (different `testSetHash`).
 */
export type EvaluateVersion = (version: ModelVersion) => Promise<Readonly<Record<string, number>>>;

export interface PromoteOptions extends ActorOptions {
  /** Target alias. Default 'production'. */
  to?: string;
  gates?: PromotionGates;
  /** Promote even when gates fail; requires `reason`; audited as `force_promote`. */
  force?: boolean;
  evaluate?: EvaluateVersion;
}

export interface PromotionResult {
  readonly name: string;
  readonly version: number;
  readonly alias: string;
  readonly previousVersion: number | null;
  /** false when the version already was at the alias (nothing changed, nothing audited). */
  readonly promoted: boolean;
  readonly forced: boolean;
  readonly gates: readonly GateResult[];
  readonly audit: AuditEntry | null;
}

const HIGHER_IS_BETTER = new Set(["r2", "r2_score", "explained_variance", "within_10pct"]);

function finite(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export class ModelRegistry {
  readonly store: TrackingStore;
  readonly artifacts: ArtifactStore | null;

  constructor(store: TrackingStore, artifacts?: ArtifactStore | null) {
    this.store = store;
    this.artifacts = artifacts ?? null;
  }

  async registerModelVersion(input: RegisterModelVersionInput): Promise<ModelVersion> {
    if (this.artifacts && !(await this.artifacts.has(input.artifactSha))) {
      throw new TrackingError(
        "NOT_FOUND",
        `cannot register ${input.name}: artifact sha256 ${input.artifactSha} is not in ${this.artifacts.location}`,
      );
    }
    return this.store.createModelVersion({ ...input, status: "READY" });
  }

  listModels(): Promise<RegisteredModel[]> {
    return this.store.listRegisteredModels();
  }

  async getModel(name: string): Promise<RegisteredModel> {
    const m = await this.store.getRegisteredModel(name);
    if (!m) throw new TrackingError("NOT_FOUND", `registered model '${name}' not found`);
    return m;
  }

  async getVersion(name: string, version: number): Promise<ModelVersion> {
    const v = await this.store.getModelVersion(name, version);
    if (!v) {
      await this.getModel(name);
      throw new TrackingError("NOT_FOUND", `model '${name}' has no version ${version}`);
    }
    return v;
  }

  listVersions(name: string): Promise<ModelVersion[]> {
    return this.store.listModelVersions(name);
  }

  /** null when the alias is not set; NOT_FOUND when the model does not exist. */
  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion | null> {
    const v = await this.store.getAlias(name, alias);
    return v === null ? null : this.getVersion(name, v);
  }

  /**
   * Resolve a model reference: `name@alias`, `name/<version>`, `name/latest`, optionally prefixed by
   * `models:/` (MLflow URI style). Throws NOT_FOUND when it does not resolve.
   */
  async resolve(ref: string): Promise<ModelVersion> {
    const s = ref.replace(/^models:\//, "");
    const at = s.indexOf("@");
    if (at > 0) {
      const name = s.slice(0, at);
      const alias = s.slice(at + 1);
      const v = await this.getVersionByAlias(name, alias);
      if (!v) throw new TrackingError("NOT_FOUND", `model '${name}' has no alias '${alias}'`);
      return v;
    }
    const slash = s.lastIndexOf("/");
    if (slash > 0) {
      const name = s.slice(0, slash);
      const tail = s.slice(slash + 1);
      if (tail === "latest") {
        const m = await this.getModel(name);
        if (m.latestVersion === null) throw new TrackingError("NOT_FOUND", `model '${name}' has no versions`);
        return this.getVersion(name, m.latestVersion);
      }
      if (/^\d+$/.test(tail)) return this.getVersion(name, Number(tail));
    }
    throw new TrackingError(
      "INVALID",
      `invalid model reference ${JSON.stringify(ref)}: expected name@alias, name/<version> or name/latest`,
    );
  }

  /** Point `alias` at `version` (audited as `set`). */
  setAlias(name: string, alias: string, version: number, opts: ActorOptions = {}): Promise<AuditEntry> {
    return this.store.setAlias({
      name,
      alias,
      version: validateVersion(version),
      audit: { action: "set", actor: opts.actor ?? defaultActor(), reason: opts.reason ?? null },
    });
  }

  /** Remove `alias` (audited as `delete`). */
  deleteAlias(name: string, alias: string, opts: ActorOptions = {}): Promise<AuditEntry> {
    return this.store.setAlias({
      name,
      alias,
      version: null,
      audit: { action: "delete", actor: opts.actor ?? defaultActor(), reason: opts.reason ?? null },
    });
  }

  /** Audit rows, oldest first. */
  history(name: string, alias?: string): Promise<AuditEntry[]> {
    return this.store.listAudit(name, alias);
  }

  /** Evaluate promotion gates for `version` against the version currently at `opts.to` (no side effects). */
  async evaluateGates(
    name: string,
    version: number,
    opts: Pick<PromoteOptions, "to" | "gates" | "evaluate"> = {},
  ): Promise<GateResult[]> {
    const alias = validateAlias(opts.to ?? "production");
    const g = { ...DEFAULT_PROMOTION_GATES, ...stripUndefined(opts.gates ?? {}) };
    const cand = await this.getVersion(name, version);
    const results: GateResult[] = [];

    if (g.minR2 !== null) {
      const actual = finite(cand.metrics[g.r2Key]);
      results.push({
        name: "min_r2",
        passed: actual !== null && actual >= g.minR2,
        actual,
        threshold: g.minR2,
        detail:
          actual === null ? `v${version} has no '${g.r2Key}' metric` : `${g.r2Key} ${actual} >= ${g.minR2}`,
      });
    }
    if (g.maxMape !== null) {
      const actual = finite(cand.metrics[g.mapeKey]);
      results.push({
        name: "max_mape",
        passed: actual !== null && actual <= g.maxMape,
        actual,
        threshold: g.maxMape,
        detail:
          actual === null
            ? `v${version} has no '${g.mapeKey}' metric`
            : `${g.mapeKey} ${actual} <= ${g.maxMape}`,
      });
    }
    if (g.notWorseThanProduction) {
      results.push(await this.notWorseGate(name, cand, alias, g, opts.evaluate));
    }
    return results;
  }

  private async notWorseGate(
    name: string,
    cand: ModelVersion,
    alias: string,
    g: { compareMetric: string; greaterIsBetter?: boolean; tolerance: number },
    evaluate: EvaluateVersion | undefined,
  ): Promise<GateResult> {
    const gate = "not_worse_than_production";
    const key = g.compareMetric;
    const higher = g.greaterIsBetter ?? HIGHER_IS_BETTER.has(key);
    const tol = g.tolerance;
    if (!Number.isFinite(tol) || tol < 0) {
      throw new TrackingError("INVALID", `promotion gate tolerance must be a finite number >= 0, got ${tol}`);
    }
    const currentV = await this.store.getAlias(name, alias);
    if (currentV === null || currentV === cand.version) {
      return {
        name: gate,
        passed: true,
        actual: finite(cand.metrics[key]),
        threshold: null,
        detail: currentV === null ? `no version at '${alias}' yet` : `v${cand.version} already at '${alias}'`,
      };
    }
    const prod = await this.getVersion(name, currentV);
    const ch = cand.lineage.testSetHash;
    const ph = prod.lineage.testSetHash;
    let candM: Readonly<Record<string, number>>;
    let prodM: Readonly<Record<string, number>>;
    let source: string;
    if (typeof ch === "string" && ch.length > 0 && ch === ph) {
      candM = cand.metrics;
      prodM = prod.metrics;
      source = `stored metrics on test set ${ch.slice(0, 12)}`;
    } else if (evaluate) {
      candM = await evaluate(cand);
      prodM = await evaluate(prod);
      source = "re-evaluated on the current test set";
    } else {
      return {
        name: gate,
        passed: false,
        actual: finite(cand.metrics[key]),
        threshold: null,
        detail:
          `v${cand.version} (test set ${ch ?? "unknown"}) and '${alias}' v${prod.version} (test set ${ph ?? "unknown"}) ` +
          "were not evaluated on the same test set and no evaluate() was supplied to re-evaluate them",
      };
    }
    const c = finite(candM[key]);
    const p = finite(prodM[key]);
    if (c === null || p === null) {
      return {
        name: gate,
        passed: false,
        actual: c,
        threshold: null,
        detail: `metric '${key}' missing for ${c === null ? `candidate v${cand.version}` : `'${alias}' v${prod.version}`} (${source})`,
      };
    }
    const threshold = higher ? p - tol : p + tol;
    const passed = higher ? c >= threshold : c <= threshold;
    return {
      name: gate,
      passed,
      actual: c,
      threshold,
      detail: `${key} ${c} vs '${alias}' v${prod.version} ${p} (${higher ? "higher" : "lower"} is better, tolerance ${tol}; ${source})`,
    };
  }

  /**
   * Move `opts.to` (default 'production') to `version` if every gate passes. Refusal throws
   * PromotionRefused (after auditing a `promote_refused` row). `force` + `reason` overrides failed gates
   * and is audited as `force_promote`. The alias move is compare-and-set against the version the gates
   * were evaluated against, so a concurrent promotion makes this call fail with CONFLICT instead of
   * silently overwriting.
   */
  async promote(name: string, version: number, opts: PromoteOptions = {}): Promise<PromotionResult> {
    validateModelName(name);
    validateVersion(version);
    const alias = validateAlias(opts.to ?? "production");
    const actor = opts.actor ?? defaultActor();
    const forced = opts.force === true;
    if (forced && !(opts.reason && opts.reason.trim().length > 0)) {
      throw new TrackingError("INVALID", `forced promotion of ${name} v${version} requires a reason`);
    }
    const cand = await this.getVersion(name, version);
    if (cand.status !== "READY") {
      throw new TrackingError(
        "INVALID",
        `${name} v${version} has status ${cand.status}; only READY versions can be promoted`,
      );
    }
    const previous = await this.store.getAlias(name, alias);
    if (previous === version) {
      return {
        name,
        version,
        alias,
        previousVersion: previous,
        promoted: false,
        forced: false,
        gates: [],
        audit: null,
      };
    }
    const gates = await this.evaluateGates(name, version, opts);
    const ok = gates.every((r) => r.passed);
    if (!ok && !forced) {
      await this.store.appendAudit(name, alias, {
        action: "promote_refused",
        actor,
        reason: opts.reason ?? null,
        gateResults: gates,
        fromVersion: previous,
        toVersion: version,
      });
      throw new PromotionRefused(name, version, alias, gates);
    }
    const audit = await this.store.setAlias({
      name,
      alias,
      version,
      expectedCurrent: previous,
      audit: {
        action: forced && !ok ? "force_promote" : "promote",
        actor,
        reason: opts.reason ?? null,
        gateResults: gates,
      },
    });
    return {
      name,
      version,
      alias,
      previousVersion: previous,
      promoted: true,
      forced: forced && !ok,
      gates,
      audit,
    };
  }

  /**
   * The versions an alias has pointed to, as a stack replayed from the audit log (a rollback pops).
   * The last element is the current version.
   */
  async aliasStack(name: string, alias: string): Promise<number[]> {
    const rows = (await this.store.listAudit(name, alias)).filter((r) =>
      ALIAS_MOVING_ACTIONS.includes(r.action),
    );
    let stack: number[] = [];
    for (const r of rows) {
      if (r.action === "delete" || r.toVersion === null) {
        stack = [];
      } else if (r.action === "rollback") {
        stack.pop();
        if (stack[stack.length - 1] !== r.toVersion) stack.push(r.toVersion);
      } else {
        if (stack.length === 0 && r.fromVersion !== null) stack.push(r.fromVersion);
        if (stack[stack.length - 1] !== r.toVersion) stack.push(r.toVersion);
      }
    }
    return stack;
  }

  /**
   * Move `alias` back to the version it pointed to before its latest move (repeated calls keep walking
   * back). Throws NOT_FOUND when there is no previous version, CONFLICT on a concurrent move.
   */
  async rollback(name: string, alias = "production", opts: ActorOptions = {}): Promise<AuditEntry> {
    validateAlias(alias);
    const current = await this.store.getAlias(name, alias);
    if (current === null)
      throw new TrackingError("NOT_FOUND", `model '${name}' has no alias '${alias}' to roll back`);
    const stack = await this.aliasStack(name, alias);
    const target = stack.length >= 2 ? stack[stack.length - 2] : undefined;
    if (target === undefined) {
      throw new TrackingError(
        "NOT_FOUND",
        `cannot roll back '${alias}' of model '${name}': v${current} has no previous version in the audit log`,
      );
    }
    return this.store.setAlias({
      name,
      alias,
      version: target,
      expectedCurrent: current,
      audit: { action: "rollback", actor: opts.actor ?? defaultActor(), reason: opts.reason ?? null },
    });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
