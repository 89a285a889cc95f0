/**
 * Interpolation of string values, resolved once after the config file and all overrides are merged:
 *
 *   ${env:VAR}            the environment variable VAR (error if unset)
 *   ${env:VAR,default}    VAR, or `default` when VAR is unset (the default is typed like an override value:
 *                         `null`, `8000`, `true`, `'text'`; it may itself contain interpolations)
 *   ${a.b.c}              the (resolved) value of another config key; numeric segments index lists
 *   \${                   a literal "${"
 *
 * A string that is exactly one interpolation takes the referenced value with its type (a number, a map, ...);
 * an interpolation embedded in a longer string is converted to text (maps/lists cannot be embedded).
 * Values taken from environment variables are strings; load.ts converts them to the type the schema expects.
 */
import { ConfigError } from "./errors.ts";
import { parseOverrideValue } from "./overrides.ts";

export type Env = Readonly<Record<string, string | undefined>>;

export interface InterpolationResult {
  /** The resolved deep copy of the input. */
  value: Record<string, unknown>;
  /** Environment variables referenced, with the value used (null = unset, default taken). */
  envVars: Record<string, string | null>;
  /** Dotted key paths whose whole value came from an environment variable (a string to be type-converted). */
  envPaths: string[];
}

interface Token {
  kind: "text" | "interp";
  text: string;
}

/** Splits a string into text and `${...}` parts (nested braces allowed inside an interpolation). */
function tokenize(s: string, where: string): Token[] {
  const out: Token[] = [];
  let buf = "";
  let i = 0;
  while (i < s.length) {
    if (s[i] === "\\" && s.startsWith("${", i + 1)) {
      buf += "${";
      i += 3;
      continue;
    }
    if (s.startsWith("${", i)) {
      let depth = 1;
      let j = i + 2;
      while (j < s.length && depth > 0) {
        if (s.startsWith("${", j)) {
          depth++;
          j += 2;
          continue;
        }
        if (s[j] === "}") depth--;
        j++;
      }
      if (depth > 0)
        throw new ConfigError(`config: ${where}: unterminated interpolation in ${JSON.stringify(s)}`);
      if (buf) out.push({ kind: "text", text: buf });
      buf = "";
      out.push({ kind: "interp", text: s.slice(i + 2, j - 1) });
      i = j;
      continue;
    }
    buf += s[i];
    i++;
  }
  if (buf) out.push({ kind: "text", text: buf });
  return out;
}

export function hasInterpolation(s: string): boolean {
  return s.includes("${");
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === "object" && v !== null;
}

const KEY_REF = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.(?:[A-Za-z_][A-Za-z0-9_-]*|\d+))*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Resolves every interpolation in `root`; throws ConfigError listing the key path on any problem. */
export function resolveInterpolations(root: Record<string, unknown>, env: Env): InterpolationResult {
  const envVars: Record<string, string | null> = {};
  const envPaths = new Set<string>();
  const done = new Map<string, unknown>();
  const active: string[] = [];

  const lookupRaw = (path: string[]): { found: boolean; value: unknown } => {
    let node: unknown = root;
    for (const seg of path) {
      if (!isContainer(node)) return { found: false, value: undefined };
      if (Array.isArray(node)) {
        if (!/^\d+$/.test(seg) || Number(seg) >= node.length) return { found: false, value: undefined };
        node = node[Number(seg)];
      } else {
        if (!Object.hasOwn(node, seg)) return { found: false, value: undefined };
        node = node[seg];
      }
    }
    return { found: true, value: node };
  };

  /** Resolves the node at `path` (memoised; detects cycles). */
  const resolvePath = (path: string[]): unknown => {
    const key = path.join(".");
    if (done.has(key)) return done.get(key);
    if (active.includes(key)) {
      throw new ConfigError(`config: ${key}: interpolation cycle: ${[...active, key].join(" -> ")}`);
    }
    active.push(key);
    const { value } = lookupRaw(path);
    let out: unknown;
    if (typeof value === "string") out = resolveString(value, key);
    else if (Array.isArray(value)) out = value.map((_, i) => resolvePath([...path, String(i)]));
    else if (isContainer(value)) {
      const obj: Record<string, unknown> = {};
      for (const k of Object.keys(value)) obj[k] = resolvePath([...path, k]);
      out = obj;
    } else out = value;
    active.pop();
    done.set(key, out);
    return out;
  };

  /** Evaluates the inside of one `${...}`; `whole` = the string is exactly this interpolation. */
  const evaluate = (expr: string, where: string, whole: boolean): unknown => {
    const e = expr.trim();
    if (e.startsWith("env:")) {
      const body = e.slice(4);
      const comma = body.indexOf(",");
      const name = (comma < 0 ? body : body.slice(0, comma)).trim();
      if (!ENV_NAME.test(name)) {
        throw new ConfigError(`config: ${where}: invalid environment variable name in \${${expr}}`);
      }
      const v = env[name];
      if (v !== undefined) {
        envVars[name] = v;
        if (whole) envPaths.add(where);
        return v;
      }
      envVars[name] = null;
      if (comma < 0) {
        throw new ConfigError(
          `config: ${where}: environment variable ${name} is not set and \${${expr}} has no default (write \${env:${name},<default>})`,
        );
      }
      const def = body.slice(comma + 1);
      const typed = parseOverrideValue(def, `\${${expr}}`);
      return typeof typed === "string" && hasInterpolation(typed) ? resolveString(typed, where) : typed;
    }
    if (e.includes(":")) {
      throw new ConfigError(
        `config: ${where}: unknown interpolation \${${expr}} (supported: \${env:VAR}, \${env:VAR,default}, \${path.to.key})`,
      );
    }
    if (!KEY_REF.test(e)) throw new ConfigError(`config: ${where}: invalid key reference \${${expr}}`);
    const path = e.split(".");
    if (!lookupRaw(path).found) {
      throw new ConfigError(`config: ${where}: interpolation \${${expr}} refers to a missing key ${e}`);
    }
    const v = resolvePath(path);
    if (whole && envPaths.has(e)) envPaths.add(where);
    return structuredClone(v);
  };

  const resolveString = (s: string, where: string): unknown => {
    if (!hasInterpolation(s)) return s;
    const tokens = tokenize(s, where);
    if (tokens.length === 1 && tokens[0]!.kind === "interp") return evaluate(tokens[0]!.text, where, true);
    let out = "";
    for (const t of tokens) {
      if (t.kind === "text") {
        out += t.text;
        continue;
      }
      const v = evaluate(t.text, where, false);
      if (isContainer(v)) {
        throw new ConfigError(
          `config: ${where}: \${${t.text}} is a ${Array.isArray(v) ? "list" : "map"} and cannot be embedded in a string`,
        );
      }
      out += v === null ? "null" : String(v);
    }
    return out;
  };

  const value: Record<string, unknown> = {};
  for (const k of Object.keys(root)) value[k] = resolvePath([k]);
  return { value, envVars, envPaths: [...envPaths] };
}
