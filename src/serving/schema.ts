/**
 * Request schemas and input validation generated from the dataset contract, so serving can never disagree
 * with training on ranges or categories. JSON Schema (for ajv + OpenAPI) covers types, ranges, required and
 * unknown fields; categorical values are checked here afterwards (case-insensitive, normalised to the
 * canonical spelling), and the same checker builds the columnar `Frame` directly from request values.
 */
import { type TSchema, Type } from "typebox";
import { normalizeCategory } from "../data/contract.ts";
import type { ColumnSpec, DatasetContract } from "../data/contract-types.ts";
import { type Column, categoricalColumn, Frame, numericColumn } from "../data/frame.ts";

export type Loc = (string | number)[];

/** One validation problem, FastAPI-shaped: `{loc: ["body","instances",0,"latitude"], msg, type}`. */
export interface ErrorDetail {
  loc: Loc;
  msg: string;
  type: string;
  input?: unknown;
}

export interface NumericInput {
  kind: "numeric";
  name: string;
  integer: boolean;
  nullable: boolean;
  min?: number;
  max?: number;
}

export interface CategoricalInput {
  kind: "categorical";
  name: string;
  nullable: boolean;
  categories: readonly string[];
  /** exact spelling → code */
  exact: Map<string, number>;
  /** normalizeCategory(spelling) → code */
  folded: Map<string, number>;
}

export type InputColumn = NumericInput | CategoricalInput;

/** Input columns of a contract (target excluded), in contract order. */
export function inputColumns(contract: DatasetContract): InputColumn[] {
  const out: InputColumn[] = [];
  for (const c of contract.columns) {
    if (c.name === contract.target) continue;
    out.push(toInput(c));
  }
  return out;
}

function toInput(c: ColumnSpec): InputColumn {
  const nullable = c.nullable === true || c.required === false;
  if (c.type === "categorical") {
    const exact = new Map<string, number>();
    const folded = new Map<string, number>();
    c.categories.forEach((cat, i) => {
      exact.set(cat, i);
      folded.set(normalizeCategory(cat), i);
    });
    return { kind: "categorical", name: c.name, nullable, categories: c.categories.slice(), exact, folded };
  }
  return { kind: "numeric", name: c.name, integer: c.type === "integer", nullable, min: c.min, max: c.max };
}

/** Signature used to decide whether a newly loaded model accepts exactly the server's request schema. */
export function inputSignature(contract: DatasetContract): string {
  return inputColumns(contract)
    .map((c) =>
      c.kind === "numeric"
        ? `${c.name}:num`
        : `${c.name}:cat[${c.categories
            .map((s) => normalizeCategory(s))
            .sort()
            .join("|")}]`,
    )
    .sort()
    .join(",");
}

// ---------------------------------------------------------------- JSON schemas

export function instanceSchema(contract: DatasetContract): TSchema {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const c of inputColumns(contract)) {
    const spec = contract.columns.find((s) => s.name === c.name);
    const description = spec?.description ?? undefined;
    if (c.kind === "numeric") {
      const base = c.integer ? "integer" : "number";
      const s: Record<string, unknown> = { type: c.nullable ? [base, "null"] : base };
      if (c.min !== undefined && Number.isFinite(c.min)) s.minimum = c.min;
      if (c.max !== undefined && Number.isFinite(c.max)) s.maximum = c.max;
      if (description) s.description = description;
      properties[c.name] = s;
    } else {
      properties[c.name] = {
        type: c.nullable ? ["string", "null"] : "string",
        maxLength: 256,
        description: `${description ? `${description} ` : ""}One of ${c.categories.map((x) => JSON.stringify(x)).join(", ")} (case-insensitive).`,
        examples: [c.categories[0]],
      };
    }
    if (!c.nullable) required.push(c.name);
  }
  const example = contract.examples?.[0]?.values;
  return Type.Unsafe({
    type: "object",
    properties,
    required,
    additionalProperties: false,
    ...(example ? { examples: [example] } : {}),
  });
}

export function predictRequestSchema(contract: DatasetContract, maxBatch: number): TSchema {
  return Type.Unsafe({
    type: "object",
    properties: {
      instances: { type: "array", minItems: 1, maxItems: maxBatch, items: instanceSchema(contract) },
    },
    required: ["instances"],
    additionalProperties: false,
  });
}

// ---------------------------------------------------------------- validation + columnar build

export const MAX_ERRORS = 1000;

/**
 * Accessor over a batch in any layout (records, columns, split, tensors). `get` returns `undefined` for an
 * absent field (missing), anything else as sent.
 */
export interface BatchView {
  n: number;
  get(col: number, row: number): unknown;
  /** Location of a cell for error messages. */
  loc(colName: string, row: number): Loc;
  /** Whether the field is present at all (records: key exists). Defaults to get() !== undefined. */
  has?(col: number, row: number): boolean;
}

export type BuildResult = { ok: true; frame: Frame } | { ok: false; errors: ErrorDetail[] };

function fmt(v: unknown): string {
  try {
    const s = typeof v === "string" ? JSON.stringify(v) : String(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return "?";
  }
}

function shortInput(v: unknown): unknown {
  if (v === null || typeof v === "number" || typeof v === "boolean") return v;
  if (typeof v === "string") return v.length > 100 ? `${v.slice(0, 97)}...` : v;
  return Array.isArray(v) ? "[array]" : typeof v === "object" ? "[object]" : String(v);
}

/**
 * Validate every cell against the contract and build the Frame's typed arrays directly (no row objects).
 * Numbers: finite, in [min, max] (inclusive), integers for integer columns; strings are never coerced.
 * Categories: trimmed, case-insensitive, normalised to the canonical spelling. Collects all errors
 * (capped at MAX_ERRORS).
 */
function pushCapped(errors: ErrorDetail[], e: ErrorDetail): void {
  if (errors.length < MAX_ERRORS) errors.push(e);
}

export function buildFrame(cols: readonly InputColumn[], view: BatchView): BuildResult {
  const n = view.n;
  const errors: ErrorDetail[] = [];
  const out: Column[] = new Array(cols.length);
  for (let j = 0; j < cols.length; j++) {
    const c = cols[j];
    if (c.kind === "numeric") {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.get(j, i);
        if (typeof v === "number") {
          if (!Number.isFinite(v)) {
            pushCapped(errors, {
              loc: view.loc(c.name, i),
              msg: "Input should be a finite number",
              type: "finite_number",
              input: null,
            });
          } else if (c.min !== undefined && v < c.min) {
            pushCapped(errors, {
              loc: view.loc(c.name, i),
              msg: `Input should be greater than or equal to ${c.min}`,
              type: "greater_than_equal",
              input: v,
            });
          } else if (c.max !== undefined && v > c.max) {
            pushCapped(errors, {
              loc: view.loc(c.name, i),
              msg: `Input should be less than or equal to ${c.max}`,
              type: "less_than_equal",
              input: v,
            });
          } else if (c.integer && !Number.isInteger(v)) {
            pushCapped(errors, {
              loc: view.loc(c.name, i),
              msg: "Input should be a valid integer",
              type: "int_type",
              input: v,
            });
          }
          values[i] = v;
        } else if (v === null || v === undefined) {
          values[i] = Number.NaN;
          if (!c.nullable) {
            const present = view.has ? view.has(j, i) : v !== undefined;
            pushCapped(
              errors,
              present
                ? {
                    loc: view.loc(c.name, i),
                    msg: "Input should be a valid number",
                    type: "float_type",
                    input: null,
                  }
                : { loc: view.loc(c.name, i), msg: "Field required", type: "missing" },
            );
          }
        } else {
          values[i] = Number.NaN;
          pushCapped(errors, {
            loc: view.loc(c.name, i),
            msg: `Input should be a valid number, got ${typeof v} ${fmt(v)}`,
            type: c.integer ? "int_type" : "float_type",
            input: shortInput(v),
          });
        }
      }
      out[j] = numericColumn(c.name, values);
    } else {
      const codes = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.get(j, i);
        if (typeof v === "string") {
          let code = c.exact.get(v);
          if (code === undefined) code = c.folded.get(normalizeCategory(v));
          if (code === undefined) {
            codes[i] = -1;
            pushCapped(errors, {
              loc: view.loc(c.name, i),
              msg: `Input should be one of ${c.categories.map((x) => `'${x}'`).join(", ")} (case-insensitive), got ${fmt(v)}`,
              type: "enum",
              input: shortInput(v),
            });
          } else codes[i] = code;
        } else if (v === null || v === undefined) {
          codes[i] = -1;
          if (!c.nullable) {
            const present = view.has ? view.has(j, i) : v !== undefined;
            pushCapped(
              errors,
              present
                ? {
                    loc: view.loc(c.name, i),
                    msg: "Input should be a valid string",
                    type: "string_type",
                    input: null,
                  }
                : { loc: view.loc(c.name, i), msg: "Field required", type: "missing" },
            );
          }
        } else {
          codes[i] = -1;
          pushCapped(errors, {
            loc: view.loc(c.name, i),
            msg: `Input should be a valid string, got ${typeof v} ${fmt(v)}`,
            type: "string_type",
            input: shortInput(v),
          });
        }
      }
      out[j] = categoricalColumn(c.name, codes, c.categories);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, frame: new Frame(out, n, namesOf(cols).frameIndex ?? undefined) };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * View over an array of row objects. Non-object rows produce a `model_attributes_type` error per row
 * (returned in `rowErrors`); their cells read as missing, which is reported separately only if the row is an
 * object. `rejectExtra` reports unknown keys (extra_forbidden).
 */
interface ColumnSetNames {
  names: string[];
  known: Set<string>;
  /** name → position for the Frames built from this column set (null if names repeat: Frame reports that) */
  frameIndex: Map<string, number> | null;
}

/** Column names of a column set, their Set and the Frames' name index, computed once per column set. */
const NAMES_OF = new WeakMap<readonly InputColumn[], ColumnSetNames>();
function namesOf(cols: readonly InputColumn[]): ColumnSetNames {
  let e = NAMES_OF.get(cols);
  if (!e) {
    const names = cols.map((c) => c.name);
    const known = new Set(names);
    e = { names, known, frameIndex: known.size === names.length ? Frame.nameIndex(names) : null };
    NAMES_OF.set(cols, e);
  }
  return e;
}

/** BatchView over row objects (a class, so that a request creates no closures). */
class RecordsView implements BatchView {
  readonly n: number;
  constructor(
    private readonly cols: readonly InputColumn[],
    private readonly names: readonly string[],
    private readonly rows: readonly unknown[],
    private readonly bad: Uint8Array | null,
    private readonly prefix: Loc,
  ) {
    this.n = rows.length;
  }
  get(j: number, i: number): unknown {
    return this.bad?.[i]
      ? skipMarker(this.cols[j])
      : (this.rows[i] as Record<string, unknown>)[this.names[j]];
  }
  has(j: number, i: number): boolean {
    return (this.bad !== null && this.bad[i] === 1) || Object.hasOwn(this.rows[i] as object, this.names[j]);
  }
  loc(name: string, i: number): Loc {
    return [...this.prefix, i, name];
  }
}

/**
 * View over an array of row objects. Non-object rows produce a `model_attributes_type` error per row
 * (returned in `rowErrors`); their cells read as missing, which is reported separately only if the row is an
 * object. `rejectExtra` reports unknown keys (extra_forbidden).
 */
export function recordsView(
  cols: readonly InputColumn[],
  rows: readonly unknown[],
  prefix: Loc,
  rejectExtra: boolean,
): { view: BatchView; rowErrors: ErrorDetail[] } {
  const rowErrors: ErrorDetail[] = [];
  const { names, known } = namesOf(cols);
  let bad: Uint8Array | null = null;
  for (let i = 0; i < rows.length && rowErrors.length < MAX_ERRORS; i++) {
    const r = rows[i];
    if (!isRecord(r)) {
      bad ??= new Uint8Array(rows.length);
      bad[i] = 1;
      rowErrors.push({
        loc: [...prefix, i],
        msg: "Input should be an object with the input fields",
        type: "model_attributes_type",
        input: shortInput(r),
      });
    } else if (rejectExtra) {
      for (const k in r) {
        if (!known.has(k)) {
          rowErrors.push({
            loc: [...prefix, i, k],
            msg: "Extra inputs are not permitted",
            type: "extra_forbidden",
          });
        }
      }
    }
  }
  // Rows that are not objects read as values that pass the checks, so each reports only its row-level error.
  return { view: new RecordsView(cols, names, rows, bad, prefix), rowErrors };
}

/** A value that passes the column's check (so a malformed row reports one error, not one per column). */
function skipMarker(c: InputColumn): unknown {
  if (c.kind === "numeric") return c.min ?? c.max ?? 0;
  return c.categories[0];
}

/** Records → Frame with full validation (row-level + cell-level errors). */
export function frameFromRecords(
  cols: readonly InputColumn[],
  rows: readonly unknown[],
  prefix: Loc,
  rejectExtra: boolean,
): BuildResult {
  const { view, rowErrors } = recordsView(cols, rows, prefix, rejectExtra);
  const r = buildFrame(cols, view);
  if (rowErrors.length === 0) return r;
  const errors = r.ok ? rowErrors : [...rowErrors, ...r.errors].slice(0, MAX_ERRORS);
  return { ok: false, errors };
}

// ---------------------------------------------------------------- ajv errors → detail

interface AjvErrorLike {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
}

const AJV_TYPE: Record<string, string> = {
  required: "missing",
  additionalProperties: "extra_forbidden",
  minimum: "greater_than_equal",
  maximum: "less_than_equal",
  exclusiveMinimum: "greater_than",
  exclusiveMaximum: "less_than",
  minItems: "too_short",
  maxItems: "too_long",
  maxLength: "string_too_long",
  enum: "enum",
};

export function ajvToDetail(errors: readonly AjvErrorLike[], root: string): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (out.length >= MAX_ERRORS) break;
    const loc: Loc = [root];
    if (e.instancePath) {
      for (const p of e.instancePath.split("/").slice(1)) {
        const s = p.replace(/~1/g, "/").replace(/~0/g, "~");
        loc.push(/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s);
      }
    }
    let type = AJV_TYPE[e.keyword] ?? e.keyword;
    let msg = e.message ?? e.keyword;
    if (e.keyword === "required") {
      loc.push(String(e.params.missingProperty));
      msg = "Field required";
    } else if (e.keyword === "additionalProperties") {
      loc.push(String(e.params.additionalProperty));
      msg = "Extra inputs are not permitted";
    } else if (e.keyword === "type") {
      const t = String(e.params.type);
      type = t.includes("number")
        ? "float_type"
        : t.includes("integer")
          ? "int_type"
          : `${t.split(",")[0]}_type`;
      msg = `Input should be a valid ${t.replace(",null", "").replace("null,", "")}`;
    } else if (e.keyword === "minimum") msg = `Input should be greater than or equal to ${e.params.limit}`;
    else if (e.keyword === "maximum") msg = `Input should be less than or equal to ${e.params.limit}`;
    else if (e.keyword === "minItems") msg = `List should have at least ${e.params.limit} item(s)`;
    else if (e.keyword === "maxItems") msg = `List should have at most ${e.params.limit} items`;
    const key = `${loc.join("\u0000")}|${type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const d: ErrorDetail = { loc, msg, type };
    if (e.keyword !== "required" && e.keyword !== "additionalProperties" && e.data !== undefined) {
      d.input = shortInput(e.data);
    }
    out.push(d);
  }
  return out;
}

// ---------------------------------------------------------------- non-finite JSON numbers

/**
 * Replace bare NaN / Infinity / -Infinity tokens (outside strings) by a marker string so the body can be
 * parsed and the offending fields reported by location. Returns null when there are none.
 */
export const NON_FINITE_MARKER = "\u0000non-finite\u0000";

export function replaceNonFiniteTokens(text: string): string | null {
  let out = "";
  let last = 0;
  let found = false;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inStr) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inStr = false;
      continue;
    }
    if (ch === 34) {
      inStr = true;
      continue;
    }
    let len = 0;
    if (text.startsWith("NaN", i)) len = 3;
    else if (text.startsWith("Infinity", i)) len = 8;
    else if (text.startsWith("-Infinity", i)) len = 9;
    else if (text.startsWith("+Infinity", i)) len = 9;
    if (len > 0) {
      found = true;
      out += text.slice(last, i) + JSON.stringify(NON_FINITE_MARKER);
      i += len - 1;
      last = i + 1;
    }
  }
  if (!found) return null;
  return out + text.slice(last);
}

/** Paths of marker strings inside a parsed value (bounded depth and count). */
export function findMarkers(value: unknown, root: string): Loc[] {
  const out: Loc[] = [];
  const walk = (v: unknown, path: Loc, depth: number) => {
    if (out.length >= MAX_ERRORS || depth > 64) return;
    if (v === NON_FINITE_MARKER) out.push(path);
    else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], [...path, i], depth + 1);
    } else if (isRecord(v)) for (const k of Object.keys(v)) walk(v[k], [...path, k], depth + 1);
  };
  walk(value, [root], 0);
  return out;
}
