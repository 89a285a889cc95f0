/**
 * Columnar data frame. Numeric columns are Float64Array with NaN for missing; categorical columns
 * are dictionary-encoded (Int32Array codes into `levels`, -1 for missing). Row selection by index
 * arrays copies only the columns' typed arrays; nothing creates per-row objects on hot paths.
 */
import { type Matrix, matrix } from "../ml/types.ts";

export interface NumericColumn {
  readonly kind: "numeric";
  readonly name: string;
  readonly values: Float64Array;
}

export interface CategoricalColumn {
  readonly kind: "categorical";
  readonly name: string;
  /** index into `levels`; -1 = missing */
  readonly codes: Int32Array;
  readonly levels: readonly string[];
}

export type Column = NumericColumn | CategoricalColumn;

export function numericColumn(name: string, values: Float64Array): NumericColumn {
  return { kind: "numeric", name, values };
}

export function categoricalColumn(
  name: string,
  codes: Int32Array,
  levels: readonly string[],
): CategoricalColumn {
  return { kind: "categorical", name, codes, levels };
}

/** Whether two categorical level lists are equal, element by element (caches keyed by a levels array check it). */
export function sameLevels(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Encode an array of strings (null/undefined = missing) as a categorical column; levels in first-seen order. */
export function categoricalFromStrings(
  name: string,
  values: ArrayLike<string | null | undefined>,
): CategoricalColumn {
  const levels: string[] = [];
  const index = new Map<string, number>();
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      codes[i] = -1;
      continue;
    }
    let c = index.get(v);
    if (c === undefined) {
      c = levels.length;
      levels.push(v);
      index.set(v, c);
    }
    codes[i] = c;
  }
  return categoricalColumn(name, codes, levels);
}

export class Frame {
  readonly nRows: number;
  readonly columns: readonly Column[];
  /** column name → position in `columns` (read-only: frames with the same column names may share one) */
  private readonly index: ReadonlyMap<string, number>;

  /**
   * `nameIndex` (optional) maps each column's name to its position, e.g. `Frame.nameIndex(names)` computed once for
   * a fixed column set, so that building many frames does not build a Map each time; it is checked, and ignored
   * (the frame builds its own) when it does not match `columns` exactly.
   */
  constructor(columns: readonly Column[], nRows?: number, nameIndex?: ReadonlyMap<string, number>) {
    const n = nRows ?? (columns.length > 0 ? columnLength(columns[0]) : 0);
    // a matching shared index already proves the names distinct; otherwise build one (same checks, same order)
    const own =
      nameIndex !== undefined && indexMatches(nameIndex, columns) ? null : new Map<string, number>();
    for (let j = 0; j < columns.length; j++) {
      const c = columns[j];
      if (own) {
        if (own.has(c.name)) throw new Error(`Frame: duplicate column name '${c.name}'`);
        own.set(c.name, j);
      }
      if (columnLength(c) !== n)
        throw new Error(`Frame: column '${c.name}' has ${columnLength(c)} rows, expected ${n}`);
    }
    this.nRows = n;
    this.columns = columns;
    this.index = own ?? (nameIndex as ReadonlyMap<string, number>);
  }

  /** Name → position map for columns with these names, in this order (shareable by frames with the same names). */
  static nameIndex(names: readonly string[]): Map<string, number> {
    const index = new Map<string, number>();
    for (let j = 0; j < names.length; j++) {
      if (index.has(names[j])) throw new Error(`Frame: duplicate column name '${names[j]}'`);
      index.set(names[j], j);
    }
    return index;
  }

  get names(): string[] {
    return this.columns.map((c) => c.name);
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  col(name: string): Column {
    const j = this.index.get(name);
    if (j === undefined) throw new Error(`Frame: no column '${name}' (columns: ${this.names.join(", ")})`);
    return this.columns[j];
  }

  numeric(name: string): Float64Array {
    const c = this.col(name);
    if (c.kind !== "numeric") throw new Error(`Frame: column '${name}' is categorical, expected numeric`);
    return c.values;
  }

  categorical(name: string): CategoricalColumn {
    const c = this.col(name);
    if (c.kind !== "categorical") throw new Error(`Frame: column '${name}' is numeric, expected categorical`);
    return c;
  }

  /** Rows by index (copies typed arrays; categorical levels are shared). */
  take(idx: ArrayLike<number>): Frame {
    const cols = this.columns.map((c): Column => {
      if (c.kind === "numeric") {
        const out = new Float64Array(idx.length);
        for (let k = 0; k < idx.length; k++) out[k] = c.values[idx[k]];
        return numericColumn(c.name, out);
      }
      const out = new Int32Array(idx.length);
      for (let k = 0; k < idx.length; k++) out[k] = c.codes[idx[k]];
      return categoricalColumn(c.name, out, c.levels);
    });
    return new Frame(cols, idx.length, this.index);
  }

  /** Contiguous row range [start, end). */
  slice(start: number, end: number = this.nRows): Frame {
    const s = Math.max(0, start),
      e = Math.min(this.nRows, end);
    const cols = this.columns.map(
      (c): Column =>
        c.kind === "numeric"
          ? numericColumn(c.name, c.values.slice(s, e))
          : categoricalColumn(c.name, c.codes.slice(s, e), c.levels),
    );
    return new Frame(cols, Math.max(0, e - s), this.index);
  }

  select(names: readonly string[]): Frame {
    return new Frame(
      names.map((n) => this.col(n)),
      this.nRows,
    );
  }

  drop(names: readonly string[]): Frame {
    const set = new Set(names);
    return new Frame(
      this.columns.filter((c) => !set.has(c.name)),
      this.nRows,
    );
  }

  /** Add or replace a column (same length). */
  withColumn(col: Column): Frame {
    const cols = this.columns.filter((c) => c.name !== col.name);
    const i = this.columns.findIndex((c) => c.name === col.name);
    if (i >= 0) cols.splice(i, 0, col);
    else cols.push(col);
    return new Frame(cols, this.nRows);
  }

  /** Value of a cell as a JS value (string for categorical, number for numeric, null for missing). For reports, not hot paths. */
  cell(row: number, name: string): string | number | null {
    const c = this.col(name);
    if (c.kind === "numeric") {
      const v = c.values[row];
      return Number.isNaN(v) ? null : v;
    }
    const code = c.codes[row];
    return code < 0 ? null : c.levels[code];
  }

  /** One row as a plain object (for error reports, rejects files, examples). */
  row(i: number): Record<string, string | number | null> {
    const o: Record<string, string | number | null> = {};
    for (const c of this.columns) o[c.name] = this.cell(i, c.name);
    return o;
  }

  /** Dense row-major matrix of the named numeric columns. */
  toMatrix(names: readonly string[]): Matrix {
    const cols = names.map((n) => this.numeric(n));
    const m = cols.length;
    const n = this.nRows;
    const data = new Float64Array(n * m);
    for (let j = 0; j < m; j++) {
      const v = cols[j];
      for (let i = 0; i < n; i++) data[i * m + j] = v[i];
    }
    return matrix(n, m, data, names);
  }

  /** Build from row objects (API payloads, tests). `categorical` names the string columns. */
  static fromRecords(
    records: readonly Record<string, unknown>[],
    columns: readonly { name: string; kind: "numeric" | "categorical" }[],
  ): Frame {
    const cols = columns.map((spec): Column => {
      if (spec.kind === "numeric") {
        const v = new Float64Array(records.length);
        for (let i = 0; i < records.length; i++) {
          const x = records[i][spec.name];
          v[i] = x === null || x === undefined || x === "" ? Number.NaN : Number(x);
        }
        return numericColumn(spec.name, v);
      }
      const s = new Array<string | null>(records.length);
      for (let i = 0; i < records.length; i++) {
        const x = records[i][spec.name];
        s[i] = x === null || x === undefined ? null : String(x);
      }
      return categoricalFromStrings(spec.name, s);
    });
    return new Frame(cols, records.length);
  }
}

/** Whether `index` maps exactly the names of `columns` to their positions. */
function indexMatches(index: ReadonlyMap<string, number>, columns: readonly Column[]): boolean {
  if (index.size !== columns.length) return false;
  for (let j = 0; j < columns.length; j++) if (index.get(columns[j].name) !== j) return false;
  return true;
}

export function columnLength(c: Column): number {
  return c.kind === "numeric" ? c.values.length : c.codes.length;
}

/**
 * Rows of `b` appended to `a`, column by column (by name; both frames must have the same columns and kinds).
 * Categorical levels are merged: `a`'s levels first, then levels only `b` has.
 */
export function concatFrames(a: Frame, b: Frame): Frame {
  const missing = a.names.filter((n) => !b.has(n));
  const extra = b.names.filter((n) => !a.has(n));
  if (missing.length || extra.length) {
    throw new Error(
      `concatFrames: column mismatch (${missing.length ? `second frame lacks ${missing.join(", ")}` : ""}${missing.length && extra.length ? "; " : ""}${extra.length ? `second frame has extra ${extra.join(", ")}` : ""})`,
    );
  }
  const n = a.nRows + b.nRows;
  const cols = a.names.map((name): Column => {
    const ca = a.col(name);
    const cb = b.col(name);
    if (ca.kind !== cb.kind)
      throw new Error(`concatFrames: column '${name}' is ${ca.kind} in one frame, ${cb.kind} in the other`);
    if (ca.kind === "numeric" && cb.kind === "numeric") {
      const v = new Float64Array(n);
      v.set(ca.values, 0);
      v.set(cb.values, a.nRows);
      return numericColumn(name, v);
    }
    const xa = ca as CategoricalColumn;
    const xb = cb as CategoricalColumn;
    const levels = [...xa.levels];
    const index = new Map(levels.map((l, i) => [l, i]));
    const remap = xb.levels.map((l) => {
      let k = index.get(l);
      if (k === undefined) {
        k = levels.length;
        levels.push(l);
        index.set(l, k);
      }
      return k;
    });
    const codes = new Int32Array(n);
    codes.set(xa.codes, 0);
    for (let i = 0; i < b.nRows; i++) codes[a.nRows + i] = xb.codes[i] < 0 ? -1 : remap[xb.codes[i]];
    return categoricalColumn(name, codes, levels);
  });
  return new Frame(cols, n);
}
