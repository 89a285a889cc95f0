/**
 * Hydra-style command-line overrides:
 *
 *   a.b=value     set an existing key (error if it does not exist: use +a.b=value to add one)
 *   +a.b=value    add a new key (intermediate maps are created; error if it already exists)
 *   ++a.b=value   set or add, whatever is there
 *   ~a.b          delete a key;  ~a.b=value  delete it only if its current value equals `value`
 *
 * Key paths are dot-separated identifiers (`[A-Za-z_][A-Za-z0-9_-]*`); a numeric segment indexes a list
 * (`selection.models.0=ridge`; `+list.N=v` with N = length appends). Values are YAML: `3` and `0.5` are
 * numbers, `true/false` booleans, `null` null, `'5'` or `"a b"` strings, `[1, 2, 'x']` lists (nested
 * allowed), `{a: 1, b: [2]}` maps; anything else is the string as typed (trimmed). A value replaces the old
 * one entirely (maps are not merged). `${env:VAR,default}` / `${a.b}` interpolations stay as strings here and
 * are resolved after all overrides are applied (see interpolate.ts).
 */
import { parse as parseYaml } from "yaml";
import { OverrideError, showValue } from "./errors.ts";

export type OverrideOp = "set" | "add" | "force" | "delete";

export interface Override {
  op: OverrideOp;
  /** Key path segments, e.g. ['selection', 'cv_folds']. */
  path: string[];
  /** The dotted key as typed. */
  key: string;
  /** Whether `=value` was given (always true except for a bare `~key`). */
  hasValue: boolean;
  /** The parsed (typed) value; undefined for a bare delete. */
  value: unknown;
  /** The override exactly as typed (used in error messages). */
  raw: string;
}

const SEGMENT = /^(?:[A-Za-z_][A-Za-z0-9_-]*|\d+)$/;

/** Parses one override string; throws OverrideError naming it when malformed. */
export function parseOverride(raw: string): Override {
  if (typeof raw !== "string") throw new OverrideError(String(raw), "not a string");
  let op: OverrideOp = "set";
  let rest = raw.trim();
  if (rest.startsWith("++")) {
    op = "force";
    rest = rest.slice(2);
  } else if (rest.startsWith("+")) {
    op = "add";
    rest = rest.slice(1);
  } else if (rest.startsWith("~")) {
    op = "delete";
    rest = rest.slice(1);
  }
  const eq = rest.indexOf("=");
  const key = (eq < 0 ? rest : rest.slice(0, eq)).trim();
  if (eq < 0 && op !== "delete") {
    throw new OverrideError(raw, "expected key=value (or ~key to delete, +key=value to add)");
  }
  if (key === "") throw new OverrideError(raw, 'missing key before "="');
  const path = key.split(".");
  for (const seg of path) {
    if (!SEGMENT.test(seg)) {
      throw new OverrideError(
        raw,
        `invalid key ${JSON.stringify(key)}: each dot-separated part must be an identifier ([A-Za-z_][A-Za-z0-9_-]*) or a list index`,
      );
    }
  }
  if (eq < 0) return { op, path, key, hasValue: false, value: undefined, raw };
  const value = parseOverrideValue(rest.slice(eq + 1), raw);
  return { op, path, key, hasValue: true, value, raw };
}

/**
 * Parses an override value (YAML flow syntax). `raw` is only used for error messages.
 * Plain text that YAML would read as a map/sequence or that is not valid YAML is kept as a string.
 */
export function parseOverrideValue(text: string, raw = text): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return "";
  const first = trimmed[0]!;
  const structured = first === "[" || first === "{" || first === "'" || first === '"';
  let parsed: unknown;
  try {
    parsed = parseYaml(trimmed, { schema: "core", uniqueKeys: true });
  } catch (err) {
    if (structured) {
      const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
      throw new OverrideError(raw, `invalid value ${JSON.stringify(trimmed)}: ${msg}`);
    }
    return trimmed;
  }
  if (structured) return parsed;
  // Plain scalars: keep numbers/booleans/null as typed, everything else verbatim (no YAML comment stripping,
  // no implicit `key: value` maps).
  if (parsed === null || typeof parsed === "number" || typeof parsed === "boolean") return parsed;
  return trimmed;
}

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === "object" && v !== null;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  return `a ${typeof v} (${showValue(v)})`;
}

function hasKey(c: Container, seg: string): boolean {
  if (Array.isArray(c)) return /^\d+$/.test(seg) && Number(seg) < c.length;
  return Object.hasOwn(c, seg);
}

function getKey(c: Container, seg: string): unknown {
  return Array.isArray(c) ? c[Number(seg)] : c[seg];
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual(getKey(a, k), getKey(b, k)));
}

/** Applies one override to `root` in place. */
export function applyOverride(root: Record<string, unknown>, ov: Override): void {
  const { op, path, raw } = ov;
  const creating = op === "add" || op === "force";
  let node: Container = root;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i]!;
    const here = path.slice(0, i + 1).join(".");
    if (!hasKey(node, seg)) {
      if (!creating) {
        throw new OverrideError(
          raw,
          op === "delete"
            ? `key ${here} does not exist`
            : `key ${ov.key} does not exist (${here} is missing; use +${ov.key}=... to add it)`,
        );
      }
      if (Array.isArray(node)) throw new OverrideError(raw, `${here}: list index out of range`);
      node[seg] = {};
    }
    const next = getKey(node, seg);
    if (!isContainer(next)) {
      throw new OverrideError(raw, `cannot descend into ${here}: it is ${kindOf(next)}, not a map or list`);
    }
    node = next;
  }
  const last = path[path.length - 1]!;
  const exists = hasKey(node, last);
  if (Array.isArray(node) && !/^\d+$/.test(last)) {
    throw new OverrideError(
      raw,
      `${path.slice(0, -1).join(".")} is a list: use a numeric index, not "${last}"`,
    );
  }
  switch (op) {
    case "set":
      if (!exists) {
        throw new OverrideError(raw, `key ${ov.key} does not exist (use +${ov.key}=... to add it)`);
      }
      break;
    case "add":
      if (exists) {
        throw new OverrideError(
          raw,
          `key ${ov.key} already exists (use ${ov.key}=... to change it or ++${ov.key}=... to force)`,
        );
      }
      break;
    case "force":
      break;
    case "delete": {
      if (!exists) throw new OverrideError(raw, `key ${ov.key} does not exist`);
      const current = getKey(node, last);
      if (ov.hasValue && !deepEqual(current, ov.value)) {
        throw new OverrideError(
          raw,
          `key ${ov.key} is ${showValue(current)}, not ${showValue(ov.value)}: not deleted`,
        );
      }
      if (Array.isArray(node)) node.splice(Number(last), 1);
      else delete node[last];
      return;
    }
  }
  if (Array.isArray(node)) {
    const idx = Number(last);
    if (idx > node.length) {
      throw new OverrideError(raw, `list index ${idx} out of range (length ${node.length})`);
    }
    node[idx] = structuredClone(ov.value);
  } else {
    node[last] = structuredClone(ov.value);
  }
}

/**
 * Applies overrides in order to a deep copy of `config` and returns the copy. Each element is either an
 * override string or an already parsed Override. Throws OverrideError on the first bad one.
 */
export function applyOverrides(
  config: Record<string, unknown>,
  overrides: readonly (string | Override)[],
): Record<string, unknown> {
  const out = structuredClone(config);
  for (const o of overrides) applyOverride(out, typeof o === "string" ? parseOverride(o) : o);
  return out;
}
