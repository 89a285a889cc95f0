/**
 * Validation of a resolved config against PipelineConfigSchema (TypeBox compiled check), plus the
 * cross-key rules a JSON schema cannot express. Every problem becomes one line
 * `config: <key.path>: expected <type and range>, got <value>` (or a specific sentence), and all problems
 * are reported together in one ConfigError.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { Compile } from "typebox/compile";
import type { TSchema } from "typebox";
import Value from "typebox/value";
import { ConfigError, showValue } from "./errors.ts";
import { MODEL_NAMES, type PipelineConfig, PipelineConfigSchema, SECRET_PATHS } from "./schema.ts";

/** Repository root (where config/ and data/ live). */
export const REPO_ROOT = join(import.meta.dirname, "..", "..");

type JsonSchema = Record<string, unknown>;

let compiled: ReturnType<typeof Compile<typeof PipelineConfigSchema>> | undefined;
function validator() {
  compiled ??= Compile(PipelineConfigSchema);
  return compiled;
}

/** The sub-schema at a key path (descending through properties, maps, list items and unions), if any. */
export function schemaAt(
  path: readonly string[],
  root: object = PipelineConfigSchema,
): JsonSchema | undefined {
  let node: JsonSchema | undefined = root as JsonSchema;
  for (const seg of path) {
    if (!node) return undefined;
    node = childSchema(node, seg);
  }
  return node;
}

function childSchema(s: JsonSchema, seg: string): JsonSchema | undefined {
  const anyOf = s.anyOf as JsonSchema[] | undefined;
  if (anyOf) {
    for (const b of anyOf) {
      const c = childSchema(b, seg);
      if (c) return c;
    }
    return undefined;
  }
  if (s.type === "array") return /^\d+$/.test(seg) ? (s.items as JsonSchema | undefined) : undefined;
  if (s.type !== "object") return undefined;
  const props = s.properties as Record<string, JsonSchema> | undefined;
  if (props && Object.hasOwn(props, seg)) return props[seg];
  const pattern = s.patternProperties as Record<string, JsonSchema> | undefined;
  if (pattern) {
    for (const [re, sub] of Object.entries(pattern)) if (new RegExp(re).test(seg)) return sub;
  }
  if (typeof s.additionalProperties === "object") return s.additionalProperties as JsonSchema;
  return undefined;
}

function describeNumber(s: JsonSchema, kind: string): string {
  const lo =
    s.minimum !== undefined
      ? `>= ${s.minimum}`
      : s.exclusiveMinimum !== undefined
        ? `> ${s.exclusiveMinimum}`
        : "";
  const hi =
    s.maximum !== undefined
      ? `<= ${s.maximum}`
      : s.exclusiveMaximum !== undefined
        ? `< ${s.exclusiveMaximum}`
        : "";
  if (lo && hi) return `${kind} ${lo} and ${hi}`;
  return lo || hi ? `${kind} ${lo || hi}` : kind;
}

/** Human description of what a schema accepts, e.g. "integer >= 2", "one of mae|rmse", "null or string". */
export function describeSchema(s: JsonSchema | undefined): string {
  if (!s) return "nothing (unknown key)";
  if (Array.isArray(s.enum)) return `one of ${(s.enum as unknown[]).map((v) => String(v)).join("|")}`;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.anyOf)) {
    const parts = (s.anyOf as JsonSchema[]).map(describeSchema);
    return parts.join(" or ");
  }
  switch (s.type) {
    case "integer":
    case "number":
      return describeNumber(s, s.type);
    case "string": {
      const extra: string[] = [];
      if (typeof s.minLength === "number" && s.minLength > 1)
        extra.push(`at least ${s.minLength} characters`);
      else if (s.minLength === 1) extra.push("non-empty");
      if (typeof s.pattern === "string") extra.push(`matching ${s.pattern}`);
      return extra.length ? `string (${extra.join(", ")})` : "string";
    }
    case "boolean":
      return "boolean (true/false)";
    case "null":
      return "null";
    case "array": {
      const min = typeof s.minItems === "number" && s.minItems > 0 ? `non-empty ` : "";
      const uniq = s.uniqueItems ? " without duplicates" : "";
      return `${min}list of ${describeSchema(s.items as JsonSchema)}${uniq}`;
    }
    case "object": {
      if (s.properties) {
        const keys = Object.keys(s.properties as object);
        if (s.required && (s.required as string[]).includes("type") && (s.properties as JsonSchema).type) {
          const t = ((s.properties as Record<string, JsonSchema>).type as JsonSchema).const;
          return `{type: ${String(t)}, ${keys.filter((k) => k !== "type").join(", ")}}`;
        }
        return `map with keys ${keys.join(", ")}`;
      }
      const pattern = s.patternProperties as Record<string, JsonSchema> | undefined;
      const sub = pattern ? Object.values(pattern)[0] : undefined;
      return `map of name -> ${describeSchema(sub)}`;
    }
    default:
      return "a value";
  }
}

/** Branches of a union of objects told apart by a constant `type` property (e.g. sweep parameter spaces). */
function discriminatedBranches(s: JsonSchema | undefined): Map<unknown, JsonSchema> | undefined {
  const anyOf = s?.anyOf as JsonSchema[] | undefined;
  if (!anyOf) return undefined;
  const out = new Map<unknown, JsonSchema>();
  for (const b of anyOf) {
    const t = (b.properties as Record<string, JsonSchema> | undefined)?.type?.const;
    if (b.type !== "object" || t === undefined) return undefined;
    out.set(t, b);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function hasDuplicates(list: unknown[]): boolean {
  const seen = new Set(list.map((v) => JSON.stringify(v)));
  return seen.size !== list.length;
}

/**
 * Walks `value` along `schema` (objects, maps, lists, discriminated unions) and reports every problem with
 * its full key path; TypeBox's Check decides validity at each node, the walk only locates and words it.
 */
function collectIssues(schema: JsonSchema, value: unknown, path: readonly string[], out: string[]): void {
  const where = path.join(".") || "(root)";
  const secret = (SECRET_PATHS as readonly string[]).includes(path.join("."));
  const got = () => (secret ? "<redacted>" : showValue(value));
  const branches = discriminatedBranches(schema);
  if (branches) {
    if (!isPlainObject(value)) {
      out.push(`config: ${where}: expected ${describeSchema(schema)}, got ${got()}`);
      return;
    }
    const branch = branches.get(value.type);
    if (!branch) {
      const allowed = [...branches.keys()].map(String).join("|");
      out.push(
        `config: ${[...path, "type"].join(".")}: expected one of ${allowed}, got ${showValue(value.type)}`,
      );
      return;
    }
    collectIssues(branch, value, path, out);
    return;
  }
  if (schema.type === "object" && (schema.properties || schema.patternProperties)) {
    if (!isPlainObject(value)) {
      out.push(`config: ${where}: expected ${describeSchema(schema)}, got ${got()}`);
      return;
    }
    const props = (schema.properties as Record<string, JsonSchema> | undefined) ?? {};
    const required = (schema.required as string[] | undefined) ?? [];
    for (const req of required) {
      if (!Object.hasOwn(value, req)) {
        out.push(
          `config: ${[...path, req].join(".")}: missing required key (expected ${describeSchema(props[req])})`,
        );
      }
    }
    for (const [k, v] of Object.entries(value)) {
      const sub = childSchema(schema, k);
      if (!sub) {
        const allowed = Object.keys(props);
        const pattern = Object.keys((schema.patternProperties as object | undefined) ?? {});
        const hint = allowed.length
          ? ` (allowed here: ${allowed.join(", ")})`
          : pattern.length
            ? ` (names must match ${pattern.join(" or ")})`
            : "";
        out.push(`config: ${[...path, k].join(".")}: unknown key${hint}`);
        continue;
      }
      collectIssues(sub, v, [...path, k], out);
    }
    return;
  }
  if (schema.type === "array") {
    if (!Array.isArray(value)) {
      out.push(`config: ${where}: expected ${describeSchema(schema)}, got ${got()}`);
      return;
    }
    const before = out.length;
    const items = schema.items as JsonSchema | undefined;
    if (items) {
      for (let i = 0; i < value.length; i++) collectIssues(items, value[i], [...path, String(i)], out);
    }
    if (out.length === before && !Value.Check(schema as TSchema, value)) {
      const extra = schema.uniqueItems && hasDuplicates(value) ? " (duplicates)" : "";
      out.push(`config: ${where}: expected ${describeSchema(schema)}, got ${got()}${extra}`);
    }
    return;
  }
  if (!Value.Check(schema as TSchema, value)) {
    out.push(`config: ${where}: expected ${describeSchema(schema)}, got ${got()}`);
  }
}

/** Schema problems of `value`, one formatted line each (empty = valid). */
export function schemaIssues(value: unknown): string[] {
  if (validator().Check(value)) return [];
  const out: string[] = [];
  collectIssues(PipelineConfigSchema as unknown as JsonSchema, value, [], out);
  if (out.length === 0) out.push("config: (root): does not match the schema");
  return out;
}

/** Cross-key rules that the schema cannot express. `checkFiles` also checks the dataset contract exists. */
export function semanticIssues(
  c: PipelineConfig,
  options: { checkFiles?: boolean; root?: string } = {},
): string[] {
  const out: string[] = [];
  const known = MODEL_NAMES as readonly string[];
  const { selection: sel, sweep, features } = c;
  const profiles = Object.keys(sel.profiles);
  for (const [pname, grids] of Object.entries(sel.profiles)) {
    for (const model of Object.keys(grids)) {
      if (!known.includes(model)) {
        out.push(
          `config: selection.profiles.${pname}.${model}: unknown model "${model}" (known: ${known.join(", ")})`,
        );
      }
    }
  }
  const active = sel.profiles[sel.profile];
  if (!active) {
    out.push(
      `config: selection.profile: unknown profile "${sel.profile}" (defined: ${profiles.join(", ") || "none"})`,
    );
  } else {
    for (const m of sel.models) {
      if (!active[m]) {
        out.push(
          `config: selection.profiles.${sel.profile}: no grid for model "${m}" listed in selection.models (add +selection.profiles.${sel.profile}.${m}={...} or remove it from selection.models)`,
        );
      }
    }
  }
  for (const [model, space] of Object.entries(sweep.spaces)) {
    if (!known.includes(model)) {
      out.push(`config: sweep.spaces.${model}: unknown model "${model}" (known: ${known.join(", ")})`);
    }
    for (const [param, p] of Object.entries(space)) {
      if (p.type === "categorical") continue;
      const where = `sweep.spaces.${model}.${param}`;
      if (!(p.low < p.high))
        out.push(`config: ${where}: expected low < high, got low=${p.low}, high=${p.high}`);
      if (p.log && p.low <= 0)
        out.push(`config: ${where}: a log-scaled range needs low > 0, got low=${p.low}`);
    }
  }
  if (sweep.enabled) {
    if (!Object.hasOwn(sweep.n_trials, sel.profile)) {
      out.push(
        `config: sweep.n_trials: no trial count for profile "${sel.profile}" (defined: ${Object.keys(sweep.n_trials).join(", ") || "none"})`,
      );
    }
    const candidates = sweep.model ? [sweep.model] : sel.models;
    for (const m of candidates) {
      if (!sweep.spaces[m]) {
        out.push(
          `config: sweep.spaces: no search space for model "${m}"${sweep.model ? " (sweep.model)" : " (it may win model selection)"}`,
        );
      }
    }
    if (sweep.pruner_warmup_folds >= sweep.cv_folds && sweep.pruner !== "none") {
      out.push(
        `config: sweep.pruner_warmup_folds: expected < sweep.cv_folds (${sweep.cv_folds}), got ${sweep.pruner_warmup_folds}`,
      );
    }
  }
  const geo = features.geo_clusters;
  if (geo.k_min > geo.k_max) {
    out.push(`config: features.geo_clusters.k_min: expected <= k_max (${geo.k_max}), got ${geo.k_min}`);
  }
  if (geo.enabled && geo.selection === "fixed" && geo.k === null) {
    out.push("config: features.geo_clusters.k: expected an integer >= 1 when selection = fixed, got null");
  }
  const drift = c.monitoring.drift;
  if (drift.psi_warn > drift.psi_alert) {
    out.push(
      `config: monitoring.drift.psi_warn: expected <= psi_alert (${drift.psi_alert}), got ${drift.psi_warn}`,
    );
  }
  if (options.checkFiles !== false) {
    const file = datasetContractPath(c, options.root);
    if (!existsSync(file)) {
      out.push(`config: data.dataset: no dataset contract "${c.data.dataset}" (file ${file} does not exist)`);
    }
  }
  return out;
}

/**
 * Path of the dataset contract YAML named by `data.dataset`: a name resolves to config/datasets/<name>.yaml;
 * a value ending in .yaml/.yml is a path (absolute, or relative to the repository root).
 */
export function datasetContractPath(c: Pick<PipelineConfig, "data">, root: string = REPO_ROOT): string {
  const d = c.data.dataset;
  if (/\.ya?ml$/i.test(d)) return isAbsolute(d) ? d : join(root, d);
  return join(root, "config", "datasets", `${d}.yaml`);
}

/** Validates a resolved config; returns it typed or throws one ConfigError listing every problem. */
export function validateConfig(
  value: unknown,
  options: { checkFiles?: boolean; root?: string } = {},
): PipelineConfig {
  const issues = schemaIssues(value);
  if (issues.length) throw new ConfigError(issues);
  const config = value as PipelineConfig;
  const more = semanticIssues(config, options);
  if (more.length) throw new ConfigError(more);
  return config;
}
