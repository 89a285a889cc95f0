/**
 * `readTable`: one entry point for tabular files. The format is detected from the content (magic bytes),
 * so a misnamed file still reads: Parquet ("PAR1"), gzip (then tar or CSV inside), ustar tar, else CSV.
 * A tar(.gz) archive must contain exactly one .csv / .csv.gz / .parquet member (other files such as
 * README.txt, directories and macOS "._*" / __MACOSX entries are ignored).
 */
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { basename } from "node:path";
import { createGunzip, gunzipSync } from "node:zlib";
import type { ByteSource, ColumnKind, CsvStats, InvalidToken } from "./csv.ts";
import { readCsvSource } from "./csv.ts";
import type { Frame } from "./frame.ts";
import { type ParquetStats, readParquet, readParquetBytes } from "./parquet.ts";
import { tarEvents } from "./tar.ts";

export interface ReadTableOptions {
  /** Keep only these columns. */
  columns?: readonly string[];
  /** Column kinds (e.g. from `contractTypes(contract)`); other columns are inferred. */
  types?: Readonly<Record<string, ColumnKind>>;
  /** CSV rows with a wrong field count: throw (default) or skip and report in stats.badRows. */
  onBadRow?: "error" | "skip";
  encoding?: "auto" | "utf-8" | "latin1";
  chunkSize?: number;
}

export type TableFormat = "csv" | "csv.gz" | "parquet" | "tar" | "tar.gz";

export interface TableResult {
  frame: Frame;
  stats: CsvStats | ParquetStats;
  /** Non-numeric tokens found in columns typed numeric (row 0-based). */
  invalid: InvalidToken[];
  /** 1-based line of a data row (CSV), or null (Parquet has no lines). */
  lineOf: ((row: number) => number) | null;
  /** Container format and, for archives, the member that was read. */
  source: { path: string; format: TableFormat; member?: string };
}

export const VALID_TABLE_EXTENSIONS = [".csv", ".parquet"] as const;

/** The first n bytes (synchronous: a few microseconds, no thread-pool round trips for a 4 KiB read). */
function head(path: string, n: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT" ? `${path}: file not found` : `${path}: cannot open (${(e as Error).message})`,
    );
  }
  try {
    const b = Buffer.alloc(n);
    const bytesRead = readSync(fd, b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally {
    closeSync(fd);
  }
}

function isTarHeader(b: Uint8Array): boolean {
  return b.length >= 262 && Buffer.from(b.subarray(257, 262)).toString("latin1") === "ustar";
}

/** Detect the container format from the first bytes. */
export async function detectFormat(path: string): Promise<TableFormat> {
  const b = head(path, 4096);
  if (b.length >= 4 && b.toString("latin1", 0, 4) === "PAR1") return "parquet";
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
    // peek into the gzip stream: tar or plain text?
    let inner: Buffer;
    try {
      inner = gunzipSync(b, { finishFlush: 2 /* Z_SYNC_FLUSH: allow truncated input */ });
    } catch {
      inner = Buffer.alloc(0);
    }
    return isTarHeader(inner) ? "tar.gz" : "csv.gz";
  }
  if (isTarHeader(b)) return "tar";
  return "csv";
}

function rawSource(path: string, chunkSize: number, gz: boolean): ByteSource {
  return async function* () {
    const raw = createReadStream(path, { highWaterMark: chunkSize });
    if (!gz) {
      yield* raw as AsyncIterable<Uint8Array>;
      return;
    }
    const gunzip = createGunzip({ chunkSize: 1 << 18 });
    raw.on("error", (e) => gunzip.destroy(e));
    yield* raw.pipe(gunzip) as AsyncIterable<Uint8Array>;
  };
}

function memberKind(name: string): "csv" | "csv.gz" | "parquet" | null {
  const base = basename(name);
  if (base.startsWith("._") || name.includes("__MACOSX/")) return null;
  const lower = base.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".csv.gz")) return "csv.gz";
  if (lower.endsWith(".parquet")) return "parquet";
  return null;
}

/** Names of the data members of a tar(.gz) archive. */
export async function listTableMembers(path: string, gz: boolean): Promise<string[]> {
  const found: string[] = [];
  for await (const ev of tarEvents(rawSource(path, 1 << 20, gz)(), path)) {
    if (ev.kind === "entry" && memberKind(ev.entry.name)) found.push(ev.entry.name);
  }
  return found;
}

function memberSource(path: string, gz: boolean, member: string): ByteSource {
  return async function* () {
    let seen = false;
    for await (const ev of tarEvents(rawSource(path, 1 << 20, gz)(), path)) {
      if (ev.kind === "entry") {
        if (seen) return;
        seen = ev.entry.name === member;
      } else if (seen) yield ev.chunk;
    }
  };
}

function gunzipSource(inner: ByteSource): ByteSource {
  return async function* () {
    const gunzip = createGunzip({ chunkSize: 1 << 18 });
    const feed = (async () => {
      try {
        for await (const c of inner())
          if (!gunzip.write(c)) await new Promise((r) => gunzip.once("drain", r));
        gunzip.end();
      } catch (e) {
        gunzip.destroy(e as Error);
      }
    })();
    yield* gunzip as AsyncIterable<Uint8Array>;
    await feed;
  };
}

/** Read a table from .csv, .csv.gz, .parquet, or a .tar/.tar.gz/.tgz holding exactly one of those. */
export async function readTable(path: string, opts: ReadTableOptions = {}): Promise<TableResult> {
  const format = await detectFormat(path);
  const chunkSize = opts.chunkSize ?? 1 << 20;
  const csvOpts = { ...opts, label: path };
  if (format === "parquet") {
    const r = await readParquet(path, { columns: opts.columns, types: opts.types, label: path });
    return { ...r, lineOf: null, source: { path, format } };
  }
  if (format === "csv" || format === "csv.gz") {
    const input = format === "csv" ? { path } : rawSource(path, chunkSize, true);
    const r = await readCsvSource(input, csvOpts);
    return { ...r, source: { path, format } };
  }
  const gz = format === "tar.gz";
  const members = await listTableMembers(path, gz);
  if (members.length === 0) {
    throw new Error(
      `${path}: No file found with valid extensions (${VALID_TABLE_EXTENSIONS.join(", ")}) in the archive`,
    );
  }
  if (members.length > 1) {
    throw new Error(
      `${path}: the archive holds ${members.length} data files, expected exactly one: ${members.join(", ")}`,
    );
  }
  const member = members[0];
  const label = `${path}:${member}`;
  const kind = memberKind(member);
  if (kind === "parquet") {
    const parts: Uint8Array[] = [];
    for await (const c of memberSource(path, gz, member)()) parts.push(Buffer.from(c));
    const r = await readParquetBytes(Buffer.concat(parts), {
      columns: opts.columns,
      types: opts.types,
      label,
    });
    return { ...r, lineOf: null, source: { path, format, member } };
  }
  let src = memberSource(path, gz, member);
  if (kind === "csv.gz") src = gunzipSource(src);
  const r = await readCsvSource(src, { ...csvOpts, label });
  return { ...r, source: { path, format, member } };
}
