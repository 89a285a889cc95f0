/**
 * Parquet read/write (hyparquet + hyparquet-compressors, hyparquet-writer).
 * Numeric columns are written as nullable DOUBLE (NaN -> null), categorical as nullable UTF8 strings.
 * Reading maps numeric physical types (DOUBLE/FLOAT/INT32/INT64, also with a contract type map strings)
 * to numeric columns and strings/booleans to categorical; null -> NaN / missing.
 */
import { promises as fsp } from "node:fs";
import type { AsyncBuffer, FileMetaData, SchemaElement } from "hyparquet";
import { parquetMetadataAsync, parquetRead } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { type ColumnSource, parquetWriteBuffer } from "hyparquet-writer";
import { writeFileAtomicSync } from "./atomic.ts";
import type { ColumnKind, InvalidToken } from "./csv.ts";
import { isMissingToken } from "./csv.ts";
import { type Column, categoricalFromStrings, Frame, numericColumn } from "./frame.ts";

export interface ParquetReadOptions {
  columns?: readonly string[];
  /** Column kinds by name (e.g. from a contract): strings in a numeric column become NaN + InvalidToken. */
  types?: Readonly<Record<string, ColumnKind>>;
  label?: string;
}

export interface ParquetStats {
  file: string;
  format: "parquet";
  rows: number;
  bytes: number;
  rowGroups: number;
  ms: number;
}

export interface ParquetResult {
  frame: Frame;
  stats: ParquetStats;
  invalid: InvalidToken[];
}

function bufferFromBytes(bytes: Uint8Array): AsyncBuffer {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { byteLength: ab.byteLength, slice: (s: number, e?: number) => ab.slice(s, e) };
}

function leafKind(el: SchemaElement): ColumnKind | "unsupported" {
  switch (el.type) {
    case "DOUBLE":
    case "FLOAT":
    case "INT32":
    case "INT64":
      return "numeric";
    case "BYTE_ARRAY":
    case "BOOLEAN":
    case "FIXED_LEN_BYTE_ARRAY":
      return "categorical";
    default:
      return "unsupported";
  }
}

/** Read a Parquet file from disk. */
export async function readParquet(path: string, opts: ParquetReadOptions = {}): Promise<ParquetResult> {
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(path);
  } catch {
    throw new Error(`${opts.label ?? path}: file not found or unreadable`);
  }
  return readParquetBytes(bytes, { ...opts, label: opts.label ?? path });
}

/** Read Parquet from bytes in memory (e.g. a tar member). */
export async function readParquetBytes(
  bytes: Uint8Array,
  opts: ParquetReadOptions = {},
): Promise<ParquetResult> {
  const t0 = performance.now();
  const label = opts.label ?? "<memory>";
  const file = bufferFromBytes(bytes);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new Error(`${label}: not a valid Parquet file (${(e as Error).message})`);
  }
  const n = Number(metadata.num_rows);
  const root = metadata.schema[0];
  const leaves = metadata.schema.slice(1);
  if (leaves.some((el) => (el.num_children ?? 0) > 0) || (root.num_children ?? 0) !== leaves.length) {
    throw new Error(`${label}: nested Parquet schemas are not supported (flat tables only)`);
  }
  const names = leaves.map((el) => el.name);
  const keep = opts.columns;
  if (keep) {
    const missing = keep.filter((k) => !names.includes(k));
    if (missing.length > 0) {
      throw new Error(
        `${label}: requested column(s) not in file: ${missing.join(", ")} (columns: ${names.join(", ")})`,
      );
    }
  }
  const wanted = leaves.filter((el) => !keep || keep.includes(el.name));
  const types = opts.types ?? {};
  const raw = new Map<string, unknown[] | ArrayLike<unknown>>();
  const parts = new Map<string, { start: number; data: ArrayLike<unknown> }[]>();
  for (const el of wanted) {
    if (leafKind(el) === "unsupported") {
      throw new Error(`${label}: column '${el.name}' has unsupported Parquet type ${el.type ?? "group"}`);
    }
    parts.set(el.name, []);
  }
  await parquetRead({
    file,
    metadata,
    columns: wanted.map((el) => el.name),
    compressors,
    onChunk: (chunk) => {
      parts
        .get(chunk.columnName)
        ?.push({ start: chunk.rowStart, data: chunk.columnData as ArrayLike<unknown> });
    },
  });
  for (const [name, ps] of parts) {
    ps.sort((a, b) => a.start - b.start);
    if (ps.length === 1 && ps[0].start === 0) raw.set(name, ps[0].data);
    else {
      const all = new Array<unknown>(n);
      for (const p of ps)
        for (let i = 0; i < p.data.length && p.start + i < n; i++) all[p.start + i] = p.data[i];
      raw.set(name, all);
    }
  }
  const invalid: InvalidToken[] = [];
  const columns: Column[] = wanted.map((el) => {
    const data = raw.get(el.name) ?? [];
    const want: ColumnKind = Object.hasOwn(types, el.name) ? types[el.name] : (leafKind(el) as ColumnKind);
    if (want === "numeric") {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = data[i];
        if (v === null || v === undefined) out[i] = Number.NaN;
        else if (typeof v === "number") out[i] = v;
        else if (typeof v === "bigint") out[i] = Number(v);
        else if (typeof v === "boolean") out[i] = v ? 1 : 0;
        else {
          const s = String(v);
          const x = Number(s.trim());
          if (isMissingToken(s)) out[i] = Number.NaN;
          else if (s.trim() !== "" && Number.isFinite(x)) out[i] = x;
          else {
            out[i] = Number.NaN;
            invalid.push({ row: i, column: el.name, raw: s });
          }
        }
      }
      return numericColumn(el.name, out);
    }
    const strs = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (v === null || v === undefined) strs[i] = null;
      else if (typeof v === "number") strs[i] = Number.isNaN(v) ? null : String(v);
      else if (v instanceof Uint8Array) strs[i] = Buffer.from(v).toString("utf8");
      else strs[i] = String(v);
    }
    return categoricalFromStrings(el.name, strs);
  });
  return {
    frame: new Frame(columns, n),
    stats: {
      file: label,
      format: "parquet",
      rows: n,
      bytes: bytes.byteLength,
      rowGroups: metadata.row_groups.length,
      ms: performance.now() - t0,
    },
    invalid,
  };
}

/** Encode a Frame as Parquet bytes. */
export function frameToParquet(frame: Frame, opts: { rowGroupSize?: number } = {}): Uint8Array {
  const columnData: ColumnSource[] = frame.columns.map((c): ColumnSource => {
    if (c.kind === "numeric") {
      const v = c.values;
      let hasNaN = false;
      for (let i = 0; i < v.length; i++) {
        if (Number.isNaN(v[i])) {
          hasNaN = true;
          break;
        }
      }
      const data: Float64Array | (number | null)[] = hasNaN
        ? Array.from(v, (x) => (Number.isNaN(x) ? null : x))
        : v;
      return { name: c.name, data, type: "DOUBLE", nullable: true };
    }
    const data = new Array<string | null>(c.codes.length);
    for (let i = 0; i < c.codes.length; i++) data[i] = c.codes[i] < 0 ? null : c.levels[c.codes[i]];
    return { name: c.name, data, type: "STRING", nullable: true };
  });
  const ab = parquetWriteBuffer({ columnData, rowGroupSize: opts.rowGroupSize ?? 100_000 });
  return new Uint8Array(ab);
}

/** Write a Frame as Parquet (atomic: temp file + rename). */
export function writeParquet(frame: Frame, path: string, opts: { rowGroupSize?: number } = {}): void {
  writeFileAtomicSync(path, frameToParquet(frame, opts));
}
