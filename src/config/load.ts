/**
 * Loading the pipeline configuration: read the YAML file, apply command-line overrides, resolve
 * `${env:...}` / `${key}` interpolations, convert environment-derived strings to the schema's type, validate,
 * and hash the result.
 *
 * Order: file → overrides (in the order given) → interpolation → env type conversion → validation.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { TSchema } from "typebox";
import Value from "typebox/value";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { ConfigError } from "./errors.ts";
import { type Env, resolveInterpolations } from "./interpolate.ts";
import { applyOverrides } from "./overrides.ts";
import { type PipelineConfig, SECRET_PATHS } from "./schema.ts";
import { REPO_ROOT, schemaAt, validateConfig } from "./validate.ts";

export { ConfigError, OverrideError } from "./errors.ts";
export type { PipelineConfig } from "./schema.ts";
export { datasetContractPath, REPO_ROOT } from "./validate.ts";

/** The default config file: <repo>/config/pipeline.yaml. */
export const DEFAULT_CONFIG_PATH = join(REPO_ROOT, "config", "pipeline.yaml");

export interface LoadConfigOptions {
  /** Config file; default: env MLOPS_CONFIG, else config/pipeline.yaml in the repository. */
  configPath?: string;
  /** Hydra-style overrides, applied in order (see overrides.ts). */
  overrides?: readonly string[];
  /** Environment used for `${env:...}` and MLOPS_CONFIG; default process.env. */
  env?: Env;
  /** Check that files named by the config exist (dataset contract). Default true. */
  checkFiles?: boolean;
}

export interface ConfigSources {
  /** Absolute path of the config file read. */
  file: string;
  /** The overrides applied, as given. */
  overrides: string[];
  /** Environment variables referenced by interpolations: value used, or null when unset (default taken). Secrets are redacted. */
  env: Record<string, string | null>;
}

export interface LoadedConfig {
  /** The validated config (secrets included: serve.admin_api_key holds the real key). */
  config: PipelineConfig;
  /** Plain-JSON copy of the config with secrets replaced by "<redacted>": safe to print, log and store. */
  resolved: Record<string, unknown>;
  /** sha256 (hex) of canonicalJson(resolved): identical configs hash identically, key order is irrelevant. */
  hash: string;
  sources: ConfigSources;
}

export const REDACTED = "<redacted>";

/**
 * Canonical JSON: object keys sorted (code-unit order) at every level, no whitespace, `undefined` members
 * dropped. Non-finite numbers are rejected (JSON cannot hold them).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
      return JSON.stringify(value);
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value))
        return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}

/** sha256 hex of canonicalJson(value). */
export function configHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

/** A copy of `config` with every SECRET_PATHS value that is not null replaced by REDACTED. */
export function redactSecrets<T>(config: T): T {
  const out = structuredClone(config) as unknown;
  for (const p of SECRET_PATHS) {
    const segs = p.split(".");
    let node = out as Record<string, unknown> | undefined;
    for (const s of segs.slice(0, -1)) {
      const next = node?.[s];
      node = typeof next === "object" && next !== null ? (next as Record<string, unknown>) : undefined;
    }
    const last = segs[segs.length - 1]!;
    if (node && node[last] !== null && node[last] !== undefined) node[last] = REDACTED;
  }
  return out as T;
}

/** Parses config YAML text (one document whose root is a map); `label` names the file in errors. */
export function parseConfigText(text: string, label: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { schema: "core", uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      const at = pos ? `:${pos.line}:${pos.col}` : "";
      throw new ConfigError(`config: ${label}${at}: invalid YAML: ${err.message.split("\n")[0]}`, {
        cause: err,
      });
    }
    throw err;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new ConfigError(`config: ${label}: expected a YAML map at the top level`);
  }
  return doc as Record<string, unknown>;
}

const fileCache = new Map<string, { mtimeMs: number; size: number; doc: Record<string, unknown> }>();

/** Reads and parses a config file (no overrides, no interpolation, no validation). Cached by path + mtime. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    const st = statSync(path);
    const hit = fileCache.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return structuredClone(hit.doc);
    text = readFileSync(path, "utf8");
    const doc = parseConfigText(text, path);
    fileCache.set(path, { mtimeMs: st.mtimeMs, size: st.size, doc: structuredClone(doc) });
    return doc;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `config: cannot read config file ${path}${code === "ENOENT" ? " (no such file)" : `: ${String(err)}`}`,
      { cause: err },
    );
  }
}

function accepts(schema: object, value: unknown): boolean {
  return Value.Check(schema as TSchema, value);
}

/** Sets a dotted path in a plain object tree (the path must exist). */
function setAt(root: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> = root;
  for (const s of path.slice(0, -1)) node = node[s] as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
}

function getAt(root: unknown, path: string[]): unknown {
  let node = root;
  for (const s of path) node = (node as Record<string, unknown> | undefined)?.[s];
  return node;
}

/**
 * Environment variables are strings: where the schema does not accept a string at that key but the text
 * reads as a YAML scalar it does accept (`8000`, `true`, `null`), use the typed value.
 */
function convertEnvValues(root: Record<string, unknown>, envPaths: readonly string[]): void {
  for (const dotted of envPaths) {
    const path = dotted.split(".");
    const v = getAt(root, path);
    if (typeof v !== "string") continue;
    const schema = schemaAt(path);
    if (!schema || accepts(schema, v)) continue;
    let typed: unknown;
    try {
      typed = parseYaml(v.trim(), { schema: "core" });
    } catch {
      continue;
    }
    if (typed !== v && accepts(schema, typed)) setAt(root, path, typed);
  }
}

/** Loads, overrides, resolves, validates and hashes the pipeline config. Throws ConfigError / OverrideError. */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const configPath = resolve(options.configPath ?? env.MLOPS_CONFIG ?? DEFAULT_CONFIG_PATH);
  const overrides = [...(options.overrides ?? [])];
  const raw = readConfigFile(configPath);
  const merged = applyOverrides(raw, overrides);
  const { value, envVars, envPaths } = resolveInterpolations(merged, env);
  convertEnvValues(value, envPaths);
  const config = validateConfig(value, { checkFiles: options.checkFiles });
  const resolvedCopy = redactSecrets(config) as unknown as Record<string, unknown>;
  const secretEnv = new Set<string>();
  for (const p of SECRET_PATHS) {
    for (const m of String(getAt(merged, p.split(".")) ?? "").matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g)) {
      secretEnv.add(m[1]!);
    }
  }
  const sourcesEnv: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(envVars)) sourcesEnv[k] = v !== null && secretEnv.has(k) ? REDACTED : v;
  return {
    config,
    resolved: resolvedCopy,
    hash: configHash(resolvedCopy),
    sources: { file: configPath, overrides, env: sourcesEnv },
  };
}

/** Resolves `home` against `cwd` (default process.cwd()) to an absolute directory path. */
export function resolveHome(config: Pick<PipelineConfig, "home">, cwd: string = process.cwd()): string {
  return isAbsolute(config.home) ? config.home : resolve(cwd, config.home);
}
