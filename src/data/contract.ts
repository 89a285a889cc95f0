/**
 * Dataset contract: load + validate the YAML (config/datasets/*.yaml) into `DatasetContract`, and
 * validate a Frame against it. Rows that break a rule are quarantined (returned as `rejects` with a
 * `reject_reasons` column) and counted — never silently dropped.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { ColumnKind, InvalidToken } from "./csv.ts";
import type {
  CategoricalColumnSpec,
  ColumnSpec,
  DatasetContract,
  NumericColumnSpec,
} from "./contract-types.ts";
import { type Column, categoricalColumn, categoricalFromStrings, Frame, numericColumn } from "./frame.ts";

export const DEFAULT_CONTRACT_PATH = "config/datasets/california_housing.yaml";

export class ContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContractError";
  }
}

/** The file's header does not match the contract (thrown by validateFrame). */
export class HeaderMismatchError extends Error {
  readonly missing: string[];
  readonly unexpected: string[];
  constructor(label: string, missing: string[], unexpected: string[]) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing required column(s): ${missing.join(", ")}`);
    if (unexpected.length > 0) parts.push(`unexpected column(s): ${unexpected.join(", ")}`);
    super(`${label}: header does not match the contract: ${parts.join("; ")}`);
    this.name = "HeaderMismatchError";
    this.missing = missing;
    this.unexpected = unexpected;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (typeof v === "string") return `'${v}'`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return "a list";
  return "a mapping";
}

class Checker {
  constructor(private readonly file: string) {}
  fail(path: string, expected: string, got: unknown): never {
    throw new ContractError(`${this.file}: ${path}: expected ${expected}, got ${describe(got)}`);
  }
  failMsg(path: string, msg: string): never {
    throw new ContractError(`${this.file}: ${path}: ${msg}`);
  }
  obj(v: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
    if (v === null || typeof v !== "object" || Array.isArray(v)) this.fail(path, "a mapping", v);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k))
        this.failMsg(path ? `${path}.${k}` : k, `unknown key (allowed: ${allowed.join(", ")})`);
    }
    return o;
  }
  str(v: unknown, path: string): string {
    if (typeof v !== "string" || v.trim() === "") this.fail(path, "a non-empty string", v);
    return v;
  }
  optStr(v: unknown, path: string): string | undefined {
    return v === undefined ? undefined : this.str(v, path);
  }
  num(v: unknown, path: string): number {
    if (typeof v !== "number" || Number.isNaN(v)) this.fail(path, "a number", v);
    return v;
  }
  optNum(v: unknown, path: string): number | undefined {
    return v === undefined || v === null ? undefined : this.num(v, path);
  }
  optBool(v: unknown, path: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") this.fail(path, "true or false", v);
    return v;
  }
  arr(v: unknown, path: string, nonEmpty = true): unknown[] {
    if (!Array.isArray(v)) this.fail(path, "a list", v);
    if (nonEmpty && v.length === 0) this.failMsg(path, "expected a non-empty list");
    return v;
  }
}

const COLUMN_KEYS = [
  "name",
  "type",
  "required",
  "nullable",
  "min",
  "max",
  "categories",
  "description",
  "unit",
];
const ROOT_KEYS = [
  "name",
  "description",
  "source",
  "columns",
  "target",
  "geo",
  "stratify",
  "ratios",
  "examples",
];

/** Validate a parsed YAML document as a DatasetContract. `file` names the source in errors. */
export function parseContract(doc: unknown, file = "<contract>"): DatasetContract {
  const c: Checker = new Checker(file);
  const root = c.obj(doc, "", ROOT_KEYS);
  const name = c.str(root.name, "name");
  const description = c.optStr(root.description, "description");
  let source: DatasetContract["source"];
  if (root.source !== undefined) {
    const s = c.obj(root.source, "source", ["path", "url", "citation"]);
    source = {};
    if (s.path !== undefined) source.path = c.str(s.path, "source.path");
    if (s.url !== undefined) source.url = c.str(s.url, "source.url");
    if (s.citation !== undefined) source.citation = c.str(s.citation, "source.citation");
  }
  const columns: ColumnSpec[] = [];
  const seen = new Set<string>();
  c.arr(root.columns, "columns").forEach((raw, i) => {
    const p = `columns[${i}]`;
    const o = c.obj(raw, p, COLUMN_KEYS);
    const colName = c.str(o.name, `${p}.name`);
    if (seen.has(colName)) c.failMsg(`${p}.name`, `duplicate column name '${colName}'`);
    seen.add(colName);
    const type = o.type;
    if (type !== "float" && type !== "integer" && type !== "categorical") {
      c.fail(`${p}.type`, "one of 'float', 'integer', 'categorical'", type);
    }
    const required = c.optBool(o.required, `${p}.required`);
    const nullable = c.optBool(o.nullable, `${p}.nullable`);
    const desc = c.optStr(o.description, `${p}.description`);
    if (type === "categorical") {
      if (o.min !== undefined) c.failMsg(`${p}.min`, "not allowed for a categorical column");
      if (o.max !== undefined) c.failMsg(`${p}.max`, "not allowed for a categorical column");
      if (o.unit !== undefined) c.failMsg(`${p}.unit`, "not allowed for a categorical column");
      const cats = c.arr(o.categories, `${p}.categories`).map((v, k) => {
        if (typeof v === "number") return String(v);
        return c.str(v, `${p}.categories[${k}]`);
      });
      const norm = new Map<string, string>();
      cats.forEach((cat, k) => {
        const key = normalizeCategory(cat);
        const prev = norm.get(key);
        if (prev !== undefined) {
          c.failMsg(
            `${p}.categories[${k}]`,
            `'${cat}' duplicates '${prev}' (matching is case-insensitive and trimmed)`,
          );
        }
        norm.set(key, cat);
      });
      const spec: CategoricalColumnSpec = { name: colName, type, categories: cats };
      if (required !== undefined) spec.required = required;
      if (nullable !== undefined) spec.nullable = nullable;
      if (desc !== undefined) spec.description = desc;
      columns.push(spec);
    } else {
      if (o.categories !== undefined) c.failMsg(`${p}.categories`, `not allowed for a ${type} column`);
      const min = c.optNum(o.min, `${p}.min`);
      const max = c.optNum(o.max, `${p}.max`);
      if (min !== undefined && max !== undefined && min > max)
        c.failMsg(`${p}.max`, `max ${max} is below min ${min}`);
      const spec: NumericColumnSpec = { name: colName, type };
      if (required !== undefined) spec.required = required;
      if (nullable !== undefined) spec.nullable = nullable;
      if (min !== undefined) spec.min = min;
      if (max !== undefined) spec.max = max;
      if (desc !== undefined) spec.description = desc;
      const unit = c.optStr(o.unit, `${p}.unit`);
      if (unit !== undefined) spec.unit = unit;
      columns.push(spec);
    }
  });
  const byName = new Map(columns.map((col) => [col.name, col]));
  const numericCol = (v: unknown, path: string): string => {
    const s = c.str(v, path);
    const col = byName.get(s);
    if (!col)
      c.failMsg(path, `'${s}' is not a column of the contract (columns: ${[...byName.keys()].join(", ")})`);
    if (col.type === "categorical") c.failMsg(path, `'${s}' must be a numeric column, but it is categorical`);
    return s;
  };
  const contract: DatasetContract = { name, columns, target: numericCol(root.target, "target") };
  if (description !== undefined) contract.description = description;
  if (source !== undefined) contract.source = source;
  if (root.geo !== undefined) {
    const g = c.obj(root.geo, "geo", ["latitude", "longitude"]);
    contract.geo = {
      latitude: numericCol(g.latitude, "geo.latitude"),
      longitude: numericCol(g.longitude, "geo.longitude"),
    };
  }
  if (root.stratify !== undefined) {
    const s = c.obj(root.stratify, "stratify", ["column", "bins"]);
    const column = numericCol(s.column, "stratify.column");
    const bins = c.arr(s.bins, "stratify.bins").map((v, k) => c.num(v, `stratify.bins[${k}]`));
    if (bins.length < 2) c.failMsg("stratify.bins", "expected at least 2 edges");
    for (let k = 1; k < bins.length; k++) {
      if (!(bins[k] > bins[k - 1])) {
        c.failMsg(`stratify.bins[${k}]`, `edges must increase strictly, got ${bins[k]} after ${bins[k - 1]}`);
      }
    }
    contract.stratify = { column, bins };
  }
  if (root.ratios !== undefined) {
    const names = new Set<string>();
    contract.ratios = c.arr(root.ratios, "ratios", false).map((raw, i) => {
      const p = `ratios[${i}]`;
      const o = c.obj(raw, p, ["name", "numerator", "denominator"]);
      const rn = c.str(o.name, `${p}.name`);
      if (byName.has(rn) || names.has(rn))
        c.failMsg(`${p}.name`, `'${rn}' clashes with an existing column or ratio`);
      names.add(rn);
      return {
        name: rn,
        numerator: numericCol(o.numerator, `${p}.numerator`),
        denominator: numericCol(o.denominator, `${p}.denominator`),
      };
    });
  }
  if (root.examples !== undefined) {
    contract.examples = c.arr(root.examples, "examples", false).map((raw, i) => {
      const p = `examples[${i}]`;
      const o = c.obj(raw, p, ["name", "values"]);
      const en = c.str(o.name, `${p}.name`);
      const vals = c.obj(
        o.values,
        `${p}.values`,
        columns.map((col) => col.name),
      );
      const values: Record<string, number | string> = {};
      for (const [k, v] of Object.entries(vals)) {
        const col = byName.get(k)!;
        const vp = `${p}.values.${k}`;
        if (col.type === "categorical") {
          const s = typeof v === "number" ? String(v) : c.str(v, vp);
          const canon = col.categories.find((cat) => normalizeCategory(cat) === normalizeCategory(s));
          if (canon === undefined) c.fail(vp, `one of ${col.categories.join(", ")}`, v);
          values[k] = canon;
        } else {
          const x = c.num(v, vp);
          if (col.min !== undefined && x < col.min) c.failMsg(vp, `${x} is below min ${col.min}`);
          if (col.max !== undefined && x > col.max) c.failMsg(vp, `${x} is above max ${col.max}`);
          values[k] = x;
        }
      }
      return { name: en, values };
    });
  }
  return contract;
}

/** Load and validate a contract YAML file. */
export function loadContract(path: string): DatasetContract {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ContractError(`${path}: contract file not found or unreadable`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ContractError(`${path}: invalid YAML: ${(e as Error).message}`);
  }
  return parseContract(doc, path);
}

/** Column kinds of a contract, for readers (`readTable(path, { types: contractTypes(c) })`). */
export function contractTypes(contract: DatasetContract): Record<string, ColumnKind> {
  const out: Record<string, ColumnKind> = {};
  for (const c of contract.columns) out[c.name] = c.type === "categorical" ? "categorical" : "numeric";
  return out;
}

/** The key categories are matched on: trimmed and lower-cased (so ' near bay ' matches 'NEAR BAY'). */
export function normalizeCategory(s: string): string {
  return s.trim().toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Validation

export type ViolationRule = "type" | "nullable" | "integer" | "min" | "max" | "categories";

export interface Violation {
  /** 1-based data row (header excluded). */
  row: number;
  /** 1-based physical file line, when known (CSV). */
  line?: number;
  column: string;
  value: string | number | null;
  rule: ViolationRule;
  message: string;
}

export interface ValidationReport {
  rows: number;
  validRows: number;
  rejectedRows: number;
  /** Up to `maxViolations` violations, sorted by row (a sample when truncated; counts are complete). */
  violations: Violation[];
  violationsTruncated: boolean;
  violationCounts: {
    total: number;
    byRule: Record<string, number>;
    byColumn: Record<string, number>;
  };
  /** Columns in the data but not in the contract (only when allowExtraColumns; otherwise an error). */
  extraColumns: string[];
  /** Optional columns (required: false) absent from the data. */
  absentOptionalColumns: string[];
}

export interface ValidateOptions {
  /** Non-numeric tokens the reader found in numeric columns (TableResult.invalid). */
  invalid?: readonly InvalidToken[];
  /** Row -> file line (TableResult.lineOf). */
  lineOf?: ((row: number) => number) | null;
  /** Keep columns not in the contract (appended after the contract columns) instead of throwing. */
  allowExtraColumns?: boolean;
  /** Cap on violations listed in the report (counts are always complete). Default 1000. */
  maxViolations?: number;
  /** Name of the data in error messages. */
  label?: string;
}

export interface ValidationResult {
  report: ValidationReport;
  /** Rows that pass: contract columns in contract order, categories normalised to canonical spellings. */
  valid: Frame;
  /** Rows that fail, with an extra categorical 'reject_reasons' column. */
  rejects: Frame;
}

/** Validate a frame against a contract. Throws HeaderMismatchError when columns are missing/unexpected. */
export function validateFrame(
  frame: Frame,
  contract: DatasetContract,
  opts: ValidateOptions = {},
): ValidationResult {
  const label = opts.label ?? "data";
  const maxV = opts.maxViolations ?? 1000;
  const specNames = new Set(contract.columns.map((c) => c.name));
  const missing = contract.columns
    .filter((c) => c.required !== false && !frame.has(c.name))
    .map((c) => c.name);
  const extra = frame.names.filter((n) => !specNames.has(n));
  if (missing.length > 0 || (extra.length > 0 && !opts.allowExtraColumns)) {
    throw new HeaderMismatchError(label, missing, opts.allowExtraColumns ? [] : extra);
  }
  const n = frame.nRows;
  const lineOf = opts.lineOf ?? null;
  const reasons = new Map<number, string[]>();
  const found: Violation[] = [];
  const byRule: Record<string, number> = {};
  const byColumn: Record<string, number> = {};
  let total = 0;
  const add = (
    row: number,
    column: string,
    value: string | number | null,
    rule: ViolationRule,
    message: string,
  ) => {
    total++;
    byRule[rule] = (byRule[rule] ?? 0) + 1;
    byColumn[column] = (byColumn[column] ?? 0) + 1;
    let r = reasons.get(row);
    if (!r) reasons.set(row, (r = []));
    r.push(`${column}: ${message}`);
    // keep a bounded sample (the earliest rows are kept after sorting below)
    if (found.length < maxV * 4) {
      const v: Violation = { row: row + 1, column, value, rule, message };
      if (lineOf) v.line = lineOf(row);
      found.push(v);
    }
  };
  // invalid tokens by column
  const invalidBy = new Map<string, Map<number, string>>();
  for (const t of opts.invalid ?? []) {
    let m = invalidBy.get(t.column);
    if (!m) invalidBy.set(t.column, (m = new Map()));
    m.set(t.row, t.raw);
  }
  const outCols: Column[] = [];
  const absent: string[] = [];
  for (const spec of contract.columns) {
    if (!frame.has(spec.name)) {
      absent.push(spec.name);
      continue;
    }
    const col = frame.col(spec.name);
    const nullable = spec.nullable === true;
    if (spec.type === "categorical") {
      // map each level to its canonical spelling (or -1 = unknown)
      let levels: readonly string[];
      let codes: Int32Array;
      if (col.kind === "categorical") {
        levels = col.levels;
        codes = col.codes;
      } else {
        const strs = Array.from(col.values, (v) => (Number.isNaN(v) ? null : String(v)));
        const cc = categoricalFromStrings(col.name, strs);
        levels = cc.levels;
        codes = cc.codes;
      }
      const canon = new Map(spec.categories.map((c, k) => [normalizeCategory(c), k]));
      const levelMap = levels.map((l) => canon.get(normalizeCategory(l)) ?? -1);
      const out = new Int32Array(n);
      const list = spec.categories.join(", ");
      for (let i = 0; i < n; i++) {
        const code = codes[i];
        if (code < 0) {
          out[i] = -1;
          if (!nullable) add(i, spec.name, null, "nullable", "missing value (column is not nullable)");
          continue;
        }
        const m = levelMap[code];
        out[i] = m;
        if (m < 0) add(i, spec.name, levels[code], "categories", `'${levels[code]}' is not one of: ${list}`);
      }
      outCols.push(categoricalColumn(spec.name, out, spec.categories));
      continue;
    }
    // numeric
    let values: Float64Array;
    const bad = new Map(invalidBy.get(spec.name) ?? []);
    if (col.kind === "numeric") values = col.values;
    else {
      values = new Float64Array(n);
      const parsed = col.levels.map((l) => {
        const t = l.trim();
        const x = Number(t);
        return t !== "" && Number.isFinite(x) ? x : Number.NaN;
      });
      for (let i = 0; i < n; i++) {
        const code = col.codes[i];
        if (code < 0) values[i] = Number.NaN;
        else {
          values[i] = parsed[code];
          if (Number.isNaN(parsed[code])) bad.set(i, col.levels[code]);
        }
      }
    }
    const integer = spec.type === "integer";
    const min = spec.min;
    const max = spec.max;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (Number.isNaN(v)) {
        const raw = bad.get(i);
        if (raw !== undefined) add(i, spec.name, raw, "type", `'${raw}' is not a number`);
        else if (!nullable) add(i, spec.name, null, "nullable", "missing value (column is not nullable)");
        continue;
      }
      if (integer && !Number.isInteger(v)) add(i, spec.name, v, "integer", `${v} is not an integer`);
      if (min !== undefined && v < min) add(i, spec.name, v, "min", `${v} is below min ${min}`);
      if (max !== undefined && v > max) add(i, spec.name, v, "max", `${v} is above max ${max}`);
    }
    outCols.push(numericColumn(spec.name, values));
  }
  if (opts.allowExtraColumns) for (const e of extra) outCols.push(frame.col(e));
  const checked = new Frame(outCols, n);
  const rejectedIdx = Uint32Array.from([...reasons.keys()].sort((a, b) => a - b));
  const validIdx = new Uint32Array(n - rejectedIdx.length);
  for (let i = 0, k = 0, r = 0; i < n; i++) {
    if (r < rejectedIdx.length && rejectedIdx[r] === i) r++;
    else validIdx[k++] = i;
  }
  // rejects keep the original spellings (frame values), not the normalised ones
  const rejectCols: Column[] = checked.columns.map((c) =>
    c.kind === "categorical" && frame.has(c.name) ? frame.col(c.name) : c,
  );
  const rejectBase = new Frame(rejectCols, n).take(rejectedIdx);
  const reasonStrs = Array.from(rejectedIdx, (i) => reasons.get(i)!.join("; "));
  const rejects = rejectBase.withColumn(categoricalFromStrings("reject_reasons", reasonStrs));
  found.sort((a, b) => a.row - b.row);
  const violations = found.slice(0, maxV);
  return {
    report: {
      rows: n,
      validRows: validIdx.length,
      rejectedRows: rejectedIdx.length,
      violations,
      violationsTruncated: total > violations.length,
      violationCounts: { total, byRule, byColumn },
      extraColumns: opts.allowExtraColumns ? extra : [],
      absentOptionalColumns: absent,
    },
    valid: checked.take(validIdx),
    rejects,
  };
}
