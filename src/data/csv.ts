/**
 * Streaming CSV reader (hand-written byte-level state machine) and atomic CSV writer.
 *
 * - Reads the file in chunks (plain files through one reusable buffer; .gz through zlib) and builds typed
 *   columns incrementally, so memory is bounded by the kept columns, not by the file text. Plain files up to
 *   8 MiB (`syncReadMaxBytes`) are read with synchronous 64 KiB reads (no stream, no promise per chunk: the
 *   small-file fast path); larger ones with async 1 MiB reads. Same parser, same results.
 * - Hot loop: unquoted plain decimals in numeric columns are parsed while they are scanned (no second pass
 *   over their bytes, no strings), unquoted known levels of categorical columns are hashed while scanned;
 *   everything else (quotes, blanks, exponents, long mantissas, new levels) takes the general path.
 * - For plain files the first column block is sized from the file size and the average record length
 *   (usually the only block, returned without a copy); otherwise blocks grow up to 65,536 values and are
 *   concatenated column by column at the end (peak = columns + one column).
 * - RFC 4180 quoting (commas, newlines and "" escapes inside quotes), CRLF / LF / CR line ends, UTF-8 BOM,
 *   surrounding whitespace trimmed (outside quotes), blank lines skipped.
 * - Missing-value tokens: "", NA, NaN, null, None, N/A (case-insensitive, quoted or not).
 * - Numbers are parsed from bytes (Clinger fast path, correctly rounded; long mantissas fall back to Number()).
 * - Encoding: bytes are kept as-is until the end; strings that matter (header, category levels, raw bad
 *   tokens) are decoded as UTF-8 if all of them are valid UTF-8, otherwise the file is read as latin-1.
 * - Type of each column: from `types` (e.g. a contract), else inferred: numeric when every non-missing
 *   token is a finite number, otherwise categorical (dictionary-encoded). A column whose first non-missing
 *   token is not a number switches to categorical in place; one that turns out not to be numeric after some
 *   numbers is re-read as categorical in a second pass so its exact tokens are kept.
 * - With `types`, a non-numeric token in a numeric column becomes NaN plus an `InvalidToken` record (row,
 *   line, raw value), so contract validation can reject that row instead of the whole file failing.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { writeFileAtomicStreaming } from "./atomic.ts";
import { type Column, categoricalColumn, Frame, numericColumn } from "./frame.ts";

export type ColumnKind = "numeric" | "categorical";

/** A re-openable stream of bytes (each call starts from the beginning). */
export type ByteSource = () => AsyncIterable<Uint8Array>;

/** What readCsvSource reads: a byte stream, or a plain (uncompressed) file read with a reusable buffer. */
export type CsvInput = ByteSource | { path: string };

export interface CsvReadOptions {
  /** Keep only these columns (in file order). Unknown names are an error. */
  columns?: readonly string[];
  /** Column kinds by name (e.g. from a contract); other columns are inferred. */
  types?: Readonly<Record<string, ColumnKind>>;
  /** Wrong field count: throw (default) or skip the row and report it in `stats.badRows`. */
  onBadRow?: "error" | "skip";
  /** 'auto' (default): UTF-8, falling back to latin-1 when the bytes are not valid UTF-8. */
  encoding?: "auto" | "utf-8" | "latin1";
  /** Field delimiter (one ASCII character). Default ','. */
  delimiter?: string;
  /** Read chunk size in bytes (default 1 MiB). */
  chunkSize?: number;
  /** Name used in error messages (default: the path). */
  label?: string;
  /**
   * Plain files up to this size (bytes) are read synchronously in small chunks: the small-file fast path,
   * no stream or promise per chunk. Larger files stream with async reads of `chunkSize`. Default 8 MiB;
   * 0 always streams. Results are identical either way.
   */
  syncReadMaxBytes?: number;
}

export interface BadRow {
  line: number;
  fields: number;
  expected: number;
}

export interface CsvStats {
  file: string;
  format: "csv";
  rows: number;
  /** Bytes of CSV text parsed (uncompressed). */
  bytes: number;
  /** Physical lines (including header and blank lines). */
  lines: number;
  encoding: "utf-8" | "latin1";
  bom: boolean;
  /** Rows with a wrong field count (only when onBadRow = 'skip'; samples capped at 1000). */
  badRows: { count: number; samples: BadRow[] };
  /** Inferred columns that were re-read as categorical in a second pass. */
  reparsedColumns: string[];
  ms: number;
}

/** A token that is not a number in a column typed numeric (kept raw for reports). */
export interface InvalidToken {
  /** 0-based data row */
  row: number;
  /** 1-based physical line of the start of the record (CSV only) */
  line?: number;
  column: string;
  raw: string;
}

export interface CsvResult {
  frame: Frame;
  stats: CsvStats;
  invalid: InvalidToken[];
  /** 1-based physical line where data row `row` (0-based) starts. */
  lineOf: (row: number) => number;
}

export class CsvError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: string | undefined;
  constructor(file: string, line: number, column: string | undefined, message: string) {
    super(`${file}: line ${line}${column !== undefined ? `, column '${column}'` : ""}: ${message}`);
    this.name = "CsvError";
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

const MAX_BLOCK = 1 << 16;
const FIRST_BLOCK = 1 << 12;
const MAX_INVALID = 100_000;
/** Records parsed by the general path before the fast paths start (see parseRows). */
const WARM_ROWS = 32;
/**
 * The first read of the small-file path is this small, so the parser meets a record cut by the end of its
 * input (the "incomplete" exit) within the first rows, while the JIT is still collecting type feedback,
 * instead of deoptimizing the already optimized loop at the end of the first full chunk. (The streaming
 * path reads a full first chunk: it sizes the column blocks from it, and one more compile is noise there.)
 */
const FIRST_READ = 4096;
/** Plain files up to this size take the synchronous small-file path. */
const SYNC_READ_MAX = 8 << 20;
/** Read buffer of the synchronous path (small: a large fresh buffer costs page faults). */
const SYNC_CHUNK = 1 << 16;

const POW10 = new Float64Array(23);
for (let i = 0, p = 1; i < 23; i++, p *= 10) POW10[i] = p;

/** parseNumber status: 0 ok, 1 not a number (grammar failed). */
let numStatus = 0;

/** Parse a finite decimal number from bytes [s, e) (already trimmed, non-empty). Sets numStatus. */
function parseNumber(b: Uint8Array, s: number, e: number): number {
  let i = s;
  let c = b[i];
  let neg = false;
  if (c === 45) {
    neg = true;
    i++;
  } else if (c === 43) i++;
  let mant = 0;
  let digits = 0; // significant digits accumulated in mant
  let nd = 0; // total digits seen
  let exp10 = 0;
  let exact = true;
  while (i < e) {
    c = b[i] - 48;
    if (c < 0 || c > 9) break;
    nd++;
    if (digits < 19) {
      if (mant !== 0 || c !== 0) digits++;
      mant = mant * 10 + c;
    } else {
      exp10++;
      exact = false;
    }
    i++;
  }
  if (i < e && b[i] === 46) {
    i++;
    while (i < e) {
      c = b[i] - 48;
      if (c < 0 || c > 9) break;
      nd++;
      if (digits < 19) {
        if (mant !== 0 || c !== 0) digits++;
        mant = mant * 10 + c;
        exp10--;
      } else exact = false;
      i++;
    }
  }
  if (nd === 0) {
    numStatus = 1;
    return Number.NaN;
  }
  if (i < e && (b[i] === 101 || b[i] === 69)) {
    i++;
    let eneg = false;
    if (i < e && (b[i] === 45 || b[i] === 43)) {
      eneg = b[i] === 45;
      i++;
    }
    let ed = 0;
    let ev = 0;
    while (i < e) {
      c = b[i] - 48;
      if (c < 0 || c > 9) break;
      if (ev < 100000) ev = ev * 10 + c;
      ed++;
      i++;
    }
    if (ed === 0) {
      numStatus = 1;
      return Number.NaN;
    }
    exp10 += eneg ? -ev : ev;
  }
  if (i !== e) {
    numStatus = 1;
    return Number.NaN;
  }
  numStatus = 0;
  let v: number;
  if (exact && mant <= 9007199254740992 && exp10 >= -22 && exp10 <= 22) {
    v = exp10 < 0 ? mant / POW10[-exp10] : mant * POW10[exp10];
  } else {
    v = Number(latin1(b, s, e));
    if (!Number.isFinite(v)) {
      numStatus = 1;
      return Number.NaN;
    }
    return v;
  }
  return neg ? -v : v;
}

function latin1(b: Uint8Array, s: number, e: number): string {
  return Buffer.from(b.buffer, b.byteOffset + s, e - s).toString("latin1");
}

/** Missing-value token check on bytes [s, e): NA, NaN, null, None, N/A (case-insensitive). */
function isNaToken(b: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  if (n < 2 || n > 4) return false;
  const c0 = b[s] | 32;
  if (c0 !== 110) return false; // 'n'
  const c1 = b[s + 1] | 32;
  if (n === 2) return c1 === 97; // na
  const c2 = b[s + 2] | 32;
  if (n === 3) return (c1 === 97 && c2 === 110) || (b[s + 1] === 47 && c2 === 97); // nan, n/a
  const c3 = b[s + 3] | 32;
  return (c1 === 117 && c2 === 108 && c3 === 108) || (c1 === 111 && c2 === 110 && c3 === 101); // null, none
}

/** Missing-value token check for strings (used by other readers, e.g. Parquet strings). */
export function isMissingToken(s: string): boolean {
  const t = s.trim().toLowerCase();
  return t === "" || t === "na" || t === "nan" || t === "null" || t === "none" || t === "n/a";
}

// column modes
const SKIP = 0;
const NUM = 1; // typed numeric: bad tokens -> InvalidToken
const CAT = 2;
const INFER = 3; // numeric until a non-number shows up, then re-read as categorical

function concatBlocks<T extends Float64Array | Int32Array>(blocks: T[], n: number, out: T): T {
  let off = 0;
  for (const blk of blocks) {
    if (off >= n) break;
    const take = Math.min(blk.length, n - off);
    out.set(blk.length === take ? blk : blk.subarray(0, take), off);
    off += take;
  }
  return out;
}

/** First n values: a view when the unused tail is small (no copy), else a compact copy. */
function trim<T extends Float64Array | Int32Array>(a: T, n: number): T {
  if (a.length === n) return a;
  return (a.length - n <= a.length >> 3 ? a.subarray(0, n) : a.slice(0, n)) as T;
}

class NumStore {
  blocks: Float64Array[] = [];
  cur: Float64Array;
  constructor(size: number) {
    this.cur = new Float64Array(size);
    this.blocks.push(this.cur);
  }
  grow(size: number): void {
    this.cur = new Float64Array(size);
    this.blocks.push(this.cur);
  }
  /** True when the first n values are all NaN (missing). */
  allMissing(n: number): boolean {
    let left = n;
    for (const blk of this.blocks) {
      const k = Math.min(left, blk.length);
      for (let i = 0; i < k; i++) if (!Number.isNaN(blk[i])) return false;
      left -= k;
      if (left === 0) break;
    }
    return true;
  }
  finish(n: number): Float64Array {
    const out =
      this.blocks.length === 1 ? trim(this.cur, n) : concatBlocks(this.blocks, n, new Float64Array(n));
    this.blocks = [];
    return out;
  }
}

/**
 * Dictionary-encoded string column. Lookup is by a hash of the raw bytes verified against the stored
 * bytes, so the hot path creates no strings; a new level costs one string.
 */
class CatStore {
  blocks: Int32Array[] = [];
  cur: Int32Array;
  keys: string[] = [];
  private keyBytes: Uint8Array[] = [];
  private byHash = new Map<number, number>();
  private byString = new Map<string, number>();
  constructor(size: number) {
    this.cur = new Int32Array(size);
    this.blocks.push(this.cur);
  }
  grow(size: number): void {
    this.cur = new Int32Array(size);
    this.blocks.push(this.cur);
  }
  /** A store with the same block layout as `num`, every value missing (-1). */
  static like(num: NumStore): CatStore {
    const c = new CatStore(0);
    c.blocks = num.blocks.map((b) => new Int32Array(b.length).fill(-1));
    c.cur = c.blocks[c.blocks.length - 1];
    return c;
  }
  /** Code of the level with bytes [s, e), given their FNV-1a hash h (before the length mix), or -2. */
  known(buf: Uint8Array, s: number, e: number, h: number): number {
    const c = this.byHash.get(h ^ (e - s));
    if (c === undefined) return -2;
    const kb = this.keyBytes[c];
    if (kb.length !== e - s) return -2;
    for (let i = 0; i < kb.length; i++) if (kb[i] !== buf[s + i]) return -2;
    return c;
  }
  /** Code for bytes [s, e) of buf ('""' unescaped when esc). */
  code(buf: Uint8Array, s: number, e: number, esc: boolean): number {
    if (!esc) {
      let h = 0x811c9dc5;
      for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i], 0x01000193);
      h ^= e - s;
      const c = this.byHash.get(h);
      if (c !== undefined) {
        const kb = this.keyBytes[c];
        if (kb.length === e - s) {
          let same = true;
          for (let i = 0; i < kb.length; i++) {
            if (kb[i] !== buf[s + i]) {
              same = false;
              break;
            }
          }
          if (same) return c;
        }
      }
      const key = latin1(buf, s, e);
      const code = this.codeOfString(key);
      if (c === undefined) this.byHash.set(h, code);
      return code;
    }
    return this.codeOfString(latin1(buf, s, e).replaceAll('""', '"'));
  }
  private codeOfString(key: string): number {
    let c = this.byString.get(key);
    if (c === undefined) {
      c = this.keys.length;
      this.keys.push(key);
      this.keyBytes.push(Buffer.from(key, "latin1"));
      this.byString.set(key, c);
    }
    return c;
  }
  finish(n: number): Int32Array {
    const out =
      this.blocks.length === 1 ? trim(this.cur, n) : concatBlocks(this.blocks, n, new Int32Array(n));
    this.blocks = [];
    return out;
  }
}

interface PendingInvalid {
  col: number;
  raw: string;
}

/** The incremental parser. Feed it chunks with `push`, then call `end`. */
class CsvBuilder {
  readonly file: string;
  private readonly opts: CsvReadOptions;
  private readonly delim: number;
  private readonly onBadRow: "error" | "skip";

  // header / columns
  private inHeader = true;
  headerRaw: string[] = [];
  names: string[] = [];
  nCols = 0;
  private mode: Int8Array = new Int8Array(0);
  private num: (NumStore | null)[] = [];
  private cat: (CatStore | null)[] = [];
  converted: number[] = [];

  // progress
  rows = 0;
  private blockStart = 0;
  private blockEnd: number;
  private firstBlock: number;
  line = 1; // physical line of the next byte to parse
  bytes = 0;
  bom = false;
  private first = true;
  private skipLF = false;
  private work: Buffer = Buffer.allocUnsafe(0);
  private workLen = 0;
  /** Expected total bytes (file size) for sizing the column buffers; 0 = unknown. */
  sizeHint = 0;

  // reports
  badRows: BadRow[] = [];
  badRowCount = 0;
  invalid: { row: number; line: number; col: number; raw: string }[] = [];
  private pending: PendingInvalid[] = [];
  /** sparse row -> line mapping: rows where (line - row) changes */
  lineRows: number[] = [];
  lineDelta: number[] = [];
  private curDelta = 2;

  constructor(file: string, opts: CsvReadOptions, firstBlock = FIRST_BLOCK) {
    this.file = file;
    this.opts = opts;
    const d = opts.delimiter ?? ",";
    if (d.length !== 1 || d.charCodeAt(0) > 127 || d === '"' || d === "\n" || d === "\r") {
      throw new Error(
        `CSV delimiter must be one ASCII character other than quote/newline, got ${JSON.stringify(d)}`,
      );
    }
    this.delim = d.charCodeAt(0);
    this.onBadRow = opts.onBadRow ?? "error";
    this.firstBlock = firstBlock;
    this.blockEnd = firstBlock;
  }

  /** Parse buf[0, len) in place; returns bytes consumed (the caller keeps the rest for the next call). */
  consume(buf: Uint8Array, len: number, final: boolean): number {
    let start = 0;
    if (this.first) {
      if (len < 3 && !final) return 0;
      this.first = false;
      if (len >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        this.bom = true;
        start = 3;
      }
    }
    if (start >= len) return len;
    return this.parse(buf, start, len, final);
  }

  private ensureWork(n: number): void {
    if (this.work.length >= n) return;
    const nb = Buffer.allocUnsafe(Math.max(n, 2 * this.work.length, 1 << 16));
    nb.set(this.work.subarray(0, this.workLen));
    this.work = nb;
  }

  /** Feed the next chunk of a stream (the chunk may be reused by the caller afterwards). */
  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.workLen === 0) {
      const used = this.consume(chunk, chunk.length, false);
      if (used < chunk.length) {
        this.ensureWork(chunk.length - used);
        this.work.set(chunk.subarray(used), 0);
        this.workLen = chunk.length - used;
      }
      return;
    }
    // leftover + chunk in the reusable work buffer (no per-chunk allocation)
    const len = this.workLen + chunk.length;
    this.ensureWork(len);
    this.work.set(chunk, this.workLen);
    const used = this.consume(this.work, len, false);
    this.work.copyWithin(0, used, len);
    this.workLen = len - used;
  }

  end(): void {
    const len = this.workLen;
    this.workLen = 0;
    this.consume(this.work, len, true);
    if (this.inHeader) throw new CsvError(this.file, 1, undefined, "empty file: no header row");
  }

  /** Read a plain file with one reusable buffer: leftover bytes move to its front, no per-chunk copies. */
  async feedFile(path: string, chunkSize: number): Promise<void> {
    const fh = await open(path, "r");
    try {
      let buf = Buffer.allocUnsafe(chunkSize);
      let have = 0;
      for (;;) {
        if (buf.length - have < (chunkSize + 1) >> 1) {
          const nb = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(nb, 0, 0, have);
          buf = nb;
        }
        const { bytesRead } = await fh.read(buf, have, buf.length - have, null);
        if (bytesRead === 0) break;
        this.bytes += bytesRead;
        const len = have + bytesRead;
        const used = this.consume(buf, len, false);
        buf.copyWithin(0, used, len);
        have = len - used;
      }
      this.consume(buf, have, true);
    } finally {
      await fh.close();
    }
    if (this.inHeader) throw new CsvError(this.file, 1, undefined, "empty file: no header row");
  }

  /**
   * Small-file fast path: synchronous reads (no stream, no promise per chunk) into one reusable buffer of
   * `chunkSize` bytes (grown only for a record longer than half of it); `chunkSize` >= the file size reads
   * the whole file at once. Same parser and results as the streaming path.
   */
  feedFileSync(path: string, chunkSize: number): void {
    const fd = openSync(path, "r");
    try {
      let buf = Buffer.allocUnsafe(chunkSize);
      let have = 0;
      for (;;) {
        if (buf.length - have < (chunkSize + 1) >> 1) {
          const nb = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(nb, 0, 0, have);
          buf = nb;
        }
        const want = this.bytes === 0 ? Math.min(FIRST_READ, buf.length) : buf.length - have;
        const n = readSync(fd, buf, have, want, null);
        if (n === 0) break;
        this.bytes += n;
        const len = have + n;
        const used = this.consume(buf, len, false);
        buf.copyWithin(0, used, len);
        have = len - used;
      }
      this.consume(buf, have, true);
    } finally {
      closeSync(fd);
    }
    if (this.inHeader) throw new CsvError(this.file, 1, undefined, "empty file: no header row");
  }

  private colName(i: number): string | undefined {
    if (this.inHeader) return undefined;
    return i < this.nCols ? this.names[i] : `#${i + 1} (beyond the ${this.nCols} header columns)`;
  }

  // Result slots of scanField (kept on the instance so the hot loop allocates nothing).
  private fS = 0;
  private fE = 0;
  private fQuoted = false;
  private fEsc = false;
  private fLines = 0;

  /**
   * Tokenize one field starting at `pos` (leading whitespace already skipped). Sets fS/fE (content bounds,
   * unquoted content right-trimmed), fQuoted, fEsc ('""' inside) and fLines (newlines inside quotes). Returns
   * the offset of the terminator (delimiter, CR, LF, or `end` at EOF), or -1 when more input is needed.
   */
  private scanField(buf: Uint8Array, pos: number, end: number, final: boolean, line: number, field: number) {
    const delim = this.delim;
    this.fLines = 0;
    this.fEsc = false;
    if (pos < end && buf[pos] === 34) {
      this.fQuoted = true;
      let p = pos + 1;
      const s = p;
      let lines = 0;
      for (;;) {
        while (p < end && buf[p] !== 34) {
          if (buf[p] === 10) lines++;
          p++;
        }
        if (p >= end) {
          if (!final) return -1;
          throw new CsvError(
            this.file,
            line + lines,
            this.colName(field),
            `unterminated quoted field (opened on line ${line}) reaches end of file`,
          );
        }
        if (p + 1 < end && buf[p + 1] === 34) {
          this.fEsc = true;
          p += 2;
          continue;
        }
        if (p + 1 >= end && !final) return -1;
        break;
      }
      this.fS = s;
      this.fE = p;
      this.fLines = lines;
      p++;
      while (p < end && (buf[p] === 32 || buf[p] === 9)) p++;
      if (p >= end) return final ? p : -1;
      const c = buf[p];
      if (c !== delim && c !== 10 && c !== 13) {
        throw new CsvError(
          this.file,
          line + lines,
          this.colName(field),
          `unexpected character '${String.fromCharCode(c)}' after closing quote (quotes inside a quoted field must be doubled: "")`,
        );
      }
      return p;
    }
    this.fQuoted = false;
    let p = pos;
    while (p < end) {
      const c = buf[p];
      if (c === delim || c === 10 || c === 13) break;
      p++;
    }
    if (p >= end && !final) return -1;
    let e = p;
    while (e > pos && (buf[e - 1] === 32 || buf[e - 1] === 9)) e--;
    this.fS = pos;
    this.fE = e;
    return p;
  }

  /**
   * At a record start: if the line is blank (only spaces/tabs), consume it and return the next offset;
   * return `pos` when it is not blank, -1 when more input is needed to tell.
   */
  private blankLine(buf: Uint8Array, pos: number, end: number, final: boolean): number {
    let q = pos;
    while (q < end && (buf[q] === 32 || buf[q] === 9)) q++;
    if (q === end && !final) return -1;
    if (q === end || buf[q] === 10 || buf[q] === 13) {
      if (q < end) {
        if (buf[q] === 13) this.skipLF = true;
        q++;
      }
      this.line++;
      return q;
    }
    return pos;
  }

  /** Parse records in buf[start, end). Returns the offset of the first byte not consumed. */
  private parse(buf: Uint8Array, start: number, end: number, final: boolean): number {
    if (!this.inHeader) return this.parseRows(buf, start, end, final);
    const pos = this.parseHeader(buf, start, end, final);
    if (this.inHeader) return pos;
    return this.parseRows(buf, pos, end, final);
  }

  /** The header record (after blank lines). Returns the offset after it, or where to resume when more input is needed. */
  private parseHeader(buf: Uint8Array, start: number, end: number, final: boolean): number {
    const delim = this.delim;
    let pos = start;
    for (;;) {
      if (pos >= end) return pos;
      if (this.skipLF) {
        this.skipLF = false;
        if (buf[pos] === 10) {
          pos++;
          continue;
        }
      }
      const q = this.blankLine(buf, pos, end, final);
      if (q < 0) return pos;
      if (q === pos) break;
      pos = q;
    }
    const recStart = pos;
    const recLine = this.line;
    const raw: string[] = [];
    let lines = 0;
    for (;;) {
      while (pos < end && (buf[pos] === 32 || buf[pos] === 9)) pos++;
      const p = this.scanField(buf, pos, end, final, recLine + lines, raw.length);
      if (p < 0) return recStart;
      lines += this.fLines;
      let v = latin1(buf, this.fS, this.fE);
      if (this.fEsc) v = v.replaceAll('""', '"');
      raw.push(v);
      pos = p;
      const term = p < end ? buf[p] : -1;
      if (term === delim) {
        pos++;
        if (pos >= end) {
          if (!final) return recStart;
          raw.push("");
          break;
        }
        continue;
      }
      if (term === 13) {
        pos++;
        this.skipLF = true;
      } else if (term === 10) pos++;
      break;
    }
    this.headerRaw = raw;
    this.line = recLine + 1 + lines;
    this.setupHeader(recLine, buf, pos, end);
    return pos;
  }

  /** Data records. The common case (unquoted fields, plain decimals) stays in this loop. */
  private parseRows(buf: Uint8Array, start: number, end: number, final: boolean): number {
    const delim = this.delim;
    const nCols = this.nCols;
    const mode = this.mode;
    const nums = this.num;
    const cats = this.cat;
    let pos = start;
    // On a record cut by the end of the input, every exit goes through the one `incomplete` block after the
    // loop (its type feedback is collected at the end of the small first read, see FIRST_READ).
    let incomplete = false;
    let recStart = pos;
    let recLine = this.line;
    records: while (pos < end) {
      if (this.skipLF) {
        this.skipLF = false;
        if (buf[pos] === 10) {
          pos++;
          continue;
        }
      }
      recStart = pos;
      recLine = this.line;
      let c = buf[pos];
      if (c === 32 || c === 9 || c === 10 || c === 13) {
        const q = this.blankLine(buf, pos, end, final);
        if (q < 0) {
          incomplete = true;
          break;
        }
        if (q !== pos) {
          pos = q;
          continue;
        }
      }
      const r = this.rows - this.blockStart;
      // The first WARM_ROWS records take the general path only, so that the JIT has type feedback for it
      // (and for the fast paths after it) before it optimizes this loop: otherwise the first missing value,
      // quoted field or new level after optimization deoptimizes it and costs another compile.
      const fastOk = this.rows >= WARM_ROWS;
      let field = 0;
      let extraLines = 0;
      for (;;) {
        while (pos < end && ((c = buf[pos]) === 32 || c === 9)) pos++;
        let term = -1; // -1 EOF, else the terminating byte
        let done = false;
        const ns = fastOk && field < nCols ? nums[field] : null;
        if (ns !== null) {
          // Fast path for numeric columns: an unquoted plain decimal (optional '-', at most 15 digits, no
          // exponent) directly followed by the delimiter or a line end is parsed while it is scanned.
          // m < 10^15 and 10^fd are exact doubles, so m / 10^fd is one correctly rounded operation: the same
          // double as Number(text) (Clinger's fast path). Anything else goes through scanField + parseNumber.
          let p = pos;
          let neg = false;
          if (p < end && buf[p] === 45) {
            neg = true;
            p++;
          }
          let m = 0;
          let nd = 0;
          let fd = 0;
          while (p < end) {
            c = buf[p] - 48;
            if (c < 0 || c > 9) break;
            m = m * 10 + c;
            nd++;
            p++;
          }
          if (p < end && buf[p] === 46) {
            p++;
            while (p < end) {
              c = buf[p] - 48;
              if (c < 0 || c > 9) break;
              m = m * 10 + c;
              nd++;
              fd++;
              p++;
            }
          }
          if (p < end && nd > 0 && nd <= 15) {
            c = buf[p];
            if (c === delim || c === 10 || c === 13) {
              const v = fd === 0 ? m : m / POW10[fd];
              ns.cur[r] = neg ? -v : v;
              term = c;
              pos = p;
              done = true;
            }
          }
        } else if (fastOk && field < nCols && c !== 34 && pos < end) {
          const cs = cats[field];
          if (cs !== null) {
            // Fast path for categorical columns: an unquoted token without trailing blanks, hashed while it
            // is scanned and found among the known levels (the general path below handles the rest).
            let p = pos;
            let h = 0x811c9dc5;
            while (p < end) {
              c = buf[p];
              if (c === delim || c === 10 || c === 13) break;
              h = Math.imul(h ^ c, 0x01000193);
              p++;
            }
            if (p < end && p > pos && buf[p - 1] !== 32 && buf[p - 1] !== 9) {
              const code = (buf[pos] | 32) === 110 && isNaToken(buf, pos, p) ? -1 : cs.known(buf, pos, p, h);
              if (code !== -2) {
                cs.cur[r] = code;
                term = buf[p];
                pos = p;
                done = true;
              }
            }
          }
        }
        if (!done) {
          const p = this.scanField(buf, pos, end, final, recLine + extraLines, field);
          if (p < 0) {
            incomplete = true;
            break records;
          }
          extraLines += this.fLines;
          if (field < nCols) {
            const md = mode[field];
            if (md !== SKIP) this.value(field, md, buf, this.fS, this.fE, this.fQuoted, this.fEsc);
          }
          pos = p;
          term = p < end ? buf[p] : -1;
        }
        field++;
        if (term === delim) {
          pos++;
          if (pos >= end) {
            if (!final) {
              incomplete = true;
              break records;
            }
            // trailing delimiter at EOF: one more empty field
            if (field < nCols && mode[field] !== SKIP)
              this.value(field, mode[field], buf, pos, pos, false, false);
            field++;
            break;
          }
          continue;
        }
        // newline or EOF
        if (term === 13) {
          pos++;
          this.skipLF = true;
        } else if (term === 10) pos++;
        break;
      }
      this.line = recLine + 1 + extraLines;
      if (field !== nCols) {
        this.badRow(recLine, field);
        continue;
      }
      // commit row
      const row = this.rows;
      if (this.pending.length > 0) this.commitPending(row, recLine);
      if (recLine - row !== this.curDelta) {
        this.curDelta = recLine - row;
        this.lineRows.push(row);
        this.lineDelta.push(this.curDelta);
      }
      this.rows = row + 1;
      if (this.rows === this.blockEnd) this.nextBlock();
    }
    if (incomplete) {
      this.pending.length = 0;
      this.line = recLine;
      return recStart;
    }
    return pos;
  }

  private badRow(recLine: number, field: number): void {
    const nCols = this.nCols;
    this.pending.length = 0;
    const msg =
      field < nCols
        ? `expected ${nCols} fields, got ${field} (missing column '${this.names[field]}' and after)`
        : `expected ${nCols} fields, got ${field} (extra field #${nCols + 1} after last column '${this.names[nCols - 1]}')`;
    if (this.onBadRow === "error")
      throw new CsvError(this.file, recLine, field < nCols ? this.names[field] : undefined, msg);
    this.badRowCount++;
    if (this.badRows.length < 1000) this.badRows.push({ line: recLine, fields: field, expected: nCols });
  }

  private commitPending(row: number, recLine: number): void {
    for (const p of this.pending) {
      if (this.invalid.length < MAX_INVALID)
        this.invalid.push({ row, line: recLine, col: p.col, raw: p.raw });
    }
    this.pending.length = 0;
  }

  private nextBlock(): void {
    const size = Math.min(MAX_BLOCK, this.rows);
    this.blockStart = this.rows;
    this.blockEnd = this.rows + size;
    for (let j = 0; j < this.nCols; j++) {
      this.num[j]?.grow(size);
      this.cat[j]?.grow(size);
    }
  }

  private value(
    j: number,
    m: number,
    buf: Uint8Array,
    s: number,
    e: number,
    quoted: boolean,
    esc: boolean,
  ): void {
    const r = this.rows - this.blockStart;
    const s0 = s;
    const e0 = e;
    if (m === CAT) {
      const store = this.cat[j]!;
      if (quoted) {
        // keep quoted content verbatim, except that an all-whitespace/NA token inside quotes is still missing
        let a = s,
          b = e;
        while (a < b && (buf[a] === 32 || buf[a] === 9)) a++;
        while (b > a && (buf[b - 1] === 32 || buf[b - 1] === 9)) b--;
        if (a === b || isNaToken(buf, a, b)) {
          store.cur[r] = -1;
          return;
        }
      } else if (s === e || isNaToken(buf, s, e)) {
        store.cur[r] = -1;
        return;
      }
      store.cur[r] = store.code(buf, s, e, esc);
      return;
    }
    // numeric
    if (quoted) {
      while (s < e && (buf[s] === 32 || buf[s] === 9)) s++;
      while (e > s && (buf[e - 1] === 32 || buf[e - 1] === 9)) e--;
    }
    const store = this.num[j];
    if (store === null) return;
    if (s === e) {
      store.cur[r] = Number.NaN;
      return;
    }
    const v = parseNumber(buf, s, e);
    if (numStatus === 0) {
      store.cur[r] = v;
      return;
    }
    store.cur[r] = Number.NaN;
    if (isNaToken(buf, s, e)) return;
    if (m === NUM) {
      let raw = latin1(buf, s, e);
      if (esc) raw = raw.replaceAll('""', '"');
      this.pending.push({ col: j, raw });
    } else if (store.allMissing(this.rows)) {
      // INFER, and every earlier row of this column was a missing token (typically: the first data row
      // already holds text): switch to categorical in place, earlier rows missing; no second pass.
      this.mode[j] = CAT;
      this.num[j] = null;
      this.cat[j] = CatStore.like(store);
      this.value(j, CAT, buf, s0, e0, quoted, esc);
    } else {
      // INFER: not numeric -> drop the numeric buffer and re-read this column as categorical later
      this.mode[j] = SKIP;
      this.num[j] = null;
      this.converted.push(j);
    }
  }

  private setupHeader(line: number, buf: Uint8Array, pos: number, end: number): void {
    this.inHeader = false;
    if (this.sizeHint > 0) {
      // size the first column block from the file size and the average record length of this chunk
      // (native memchr over at most the first 4096 lines, not a byte loop over the whole chunk)
      const bytes = Buffer.from(buf.buffer, buf.byteOffset, end);
      let nl = 0;
      let last = pos;
      for (let i = bytes.indexOf(10, pos); i >= 0 && nl < 4096; i = bytes.indexOf(10, i + 1)) {
        nl++;
        last = i + 1;
      }
      if (nl >= 16) {
        const est = Math.ceil((this.sizeHint / ((last - pos) / nl)) * 1.02) + 64;
        if (est > this.firstBlock && est < 2 ** 31) {
          this.firstBlock = est;
          this.blockEnd = est;
        }
      }
    }
    const raw = this.headerRaw;
    const names = decodeStrings(raw, this.opts.encoding ?? "auto").strings.map(
      (n, i) => n || `column_${i + 1}`,
    );
    const seen = new Map<string, number>();
    for (let i = 0; i < names.length; i++) {
      const prev = seen.get(names[i]);
      if (prev !== undefined) {
        throw new CsvError(
          this.file,
          line,
          names[i],
          `duplicate column name in header (columns ${prev + 1} and ${i + 1})`,
        );
      }
      seen.set(names[i], i);
    }
    this.names = names;
    this.nCols = names.length;
    const keep = this.opts.columns;
    if (keep) {
      const missing = keep.filter((k) => !seen.has(k));
      if (missing.length > 0) {
        throw new CsvError(
          this.file,
          line,
          undefined,
          `requested column(s) not in header: ${missing.map((m) => `'${m}'`).join(", ")} (header: ${names.join(", ")})`,
        );
      }
    }
    const keepSet = keep ? new Set(keep) : null;
    const types = this.opts.types ?? {};
    this.mode = new Int8Array(this.nCols);
    this.num = new Array(this.nCols).fill(null);
    this.cat = new Array(this.nCols).fill(null);
    for (let j = 0; j < this.nCols; j++) {
      if (keepSet && !keepSet.has(names[j])) continue;
      const t = Object.hasOwn(types, names[j]) ? types[names[j]] : undefined;
      if (t === "categorical") {
        this.mode[j] = CAT;
        this.cat[j] = new CatStore(this.firstBlock);
      } else {
        this.mode[j] = t === "numeric" ? NUM : INFER;
        this.num[j] = new NumStore(this.firstBlock);
      }
    }
  }

  /** Build columns. `encoding` is decided over header + levels + raw tokens. */
  /** Raw (latin1-mapped) strings whose bytes decide the encoding: header, category levels, bad tokens. */
  rawStrings(): string[] {
    const all: string[] = [...this.headerRaw];
    for (const c of this.cat) if (c) for (const k of c.keys) all.push(k);
    for (const t of this.invalid) all.push(t.raw);
    return all;
  }

  /** Build columns, decoding strings with the encoding decided over all passes. */
  finish(encoding: "utf-8" | "latin1"): {
    columns: Column[];
    keptIdx: number[];
    encoding: "utf-8" | "latin1";
    invalid: InvalidToken[];
  } {
    const n = this.rows;
    const decoded = decodeStrings([], encoding);
    const dec = decoded.decode;
    const columns: Column[] = [];
    const keptIdx: number[] = [];
    for (let j = 0; j < this.nCols; j++) {
      const m = this.mode[j];
      if (m === CAT) {
        const c = this.cat[j]!;
        columns.push(categoricalColumn(this.names[j], c.finish(n), c.keys.map(dec)));
        this.cat[j] = null;
        keptIdx.push(j);
      } else if (m === NUM || m === INFER) {
        columns.push(numericColumn(this.names[j], this.num[j]!.finish(n)));
        this.num[j] = null;
        keptIdx.push(j);
      }
    }
    const invalid = this.invalid.map((t) => ({
      row: t.row,
      line: t.line,
      column: this.names[t.col],
      raw: dec(t.raw),
    }));
    return { columns, keptIdx, encoding: decoded.encoding, invalid };
  }

  lineOf(): (row: number) => number {
    const rows = Int32Array.from(this.lineRows);
    const deltas = Int32Array.from(this.lineDelta);
    return (row: number) => {
      // last entry with rows[k] <= row
      let lo = 0,
        hi = rows.length - 1,
        k = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (rows[mid] <= row) {
          k = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return row + (k < 0 ? 2 : deltas[k]);
    };
  }
}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });

/** Decide the encoding over a set of byte strings (latin1-decoded) and return a decoder for them. */
function decodeStrings(
  raw: string[],
  mode: "auto" | "utf-8" | "latin1",
): { encoding: "utf-8" | "latin1"; decode: (s: string) => string; strings: string[] } {
  const identity = (s: string) => s;
  const hasHigh = (s: string) => {
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return true;
    return false;
  };
  const utf8 = (s: string) => (hasHigh(s) ? Buffer.from(s, "latin1").toString("utf8") : s);
  if (mode === "latin1") return { encoding: "latin1", decode: identity, strings: raw };
  if (mode === "utf-8") return { encoding: "utf-8", decode: utf8, strings: raw.map(utf8) };
  for (const s of raw) {
    if (!hasHigh(s)) continue;
    try {
      utf8Fatal.decode(Buffer.from(s, "latin1"));
    } catch {
      return { encoding: "latin1", decode: identity, strings: raw };
    }
  }
  return { encoding: "utf-8", decode: utf8, strings: raw.map(utf8) };
}

/** Bytes of a gzip file, decompressed. */
export function gzipFileSource(path: string, chunkSize = 1 << 20): ByteSource {
  return async function* () {
    const raw = createReadStream(path, { highWaterMark: chunkSize });
    const gunzip = createGunzip({ chunkSize: 1 << 18 });
    raw.on("error", (e) => gunzip.destroy(e));
    yield* raw.pipe(gunzip) as AsyncIterable<Uint8Array>;
  };
}

/** Gzip magic bytes? (synchronous 2-byte read: no thread-pool round trips) */
function isGzip(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(2);
    const bytesRead = readSync(fd, head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** Read a CSV (optionally gzipped, detected by magic bytes) file into a Frame. */
export async function readCsv(path: string, opts: CsvReadOptions = {}): Promise<CsvResult> {
  try {
    statSync(path);
  } catch {
    throw new Error(`${opts.label ?? path}: file not found`);
  }
  const input: CsvInput = isGzip(path) ? gzipFileSource(path, opts.chunkSize) : { path };
  return readCsvSource(input, { ...opts, label: opts.label ?? path });
}

/** Feed a builder from `input`; `chunkSize` undefined = the defaults (64 KiB sync path, 1 MiB streaming). */
async function feed(
  b: CsvBuilder,
  input: CsvInput,
  chunkSize: number | undefined,
  syncMax: number,
): Promise<void> {
  if (typeof input === "function") {
    for await (const chunk of input()) b.push(chunk);
    b.end();
    return;
  }
  const st = statSync(input.path);
  const size = st.size;
  b.sizeHint = size;
  if (st.isFile() && size <= syncMax) b.feedFileSync(input.path, chunkSize ?? SYNC_CHUNK);
  else await b.feedFile(input.path, chunkSize ?? 1 << 20);
}

/** Read CSV from a re-openable byte source. */
export async function readCsvSource(
  source: CsvInput,
  opts: CsvReadOptions & { label: string },
): Promise<CsvResult> {
  const t0 = performance.now();
  const chunkSize = opts.chunkSize;
  if (chunkSize !== undefined && !(Number.isInteger(chunkSize) && chunkSize >= 1))
    throw new Error(`${opts.label}: chunkSize must be a positive integer, got ${chunkSize}`);
  const syncMax = opts.syncReadMaxBytes ?? SYNC_READ_MAX;
  const b = new CsvBuilder(opts.label, opts);
  await feed(b, source, chunkSize, syncMax);
  let b2: CsvBuilder | null = null;
  if (b.converted.length > 0) {
    // second pass: re-read the columns that turned out not to be numeric, as categorical
    const types: Record<string, ColumnKind> = {};
    for (const j of b.converted) types[b.names[j]] = "categorical";
    b2 = new CsvBuilder(opts.label, { ...opts, columns: Object.keys(types), types, onBadRow: "skip" });
    await feed(b2, source, chunkSize, syncMax);
    if (b2.rows !== b.rows)
      throw new Error(`${opts.label}: second pass read ${b2.rows} rows, first pass ${b.rows}`);
  }
  const raw = b.rawStrings();
  if (b2) raw.push(...b2.rawStrings());
  const encoding = decodeStrings(raw, opts.encoding ?? "auto").encoding;
  const built = b.finish(encoding);
  let columns = built.columns;
  const reparsed: string[] = [];
  if (b2) {
    const second = b2.finish(encoding);
    const byName = new Map([...built.columns, ...second.columns].map((c) => [c.name, c]));
    columns = [];
    for (const nm of b.names) {
      const c = byName.get(nm);
      if (c) columns.push(c);
    }
    reparsed.push(...second.columns.map((c) => c.name));
  }
  const frame = new Frame(columns, b.rows);
  return {
    frame,
    stats: {
      file: opts.label,
      format: "csv",
      rows: b.rows,
      bytes: b.bytes,
      lines: b.line - 1,
      encoding: built.encoding,
      bom: b.bom,
      badRows: { count: b.badRowCount, samples: b.badRows },
      reparsedColumns: reparsed,
      ms: performance.now() - t0,
    },
    invalid: built.invalid,
    lineOf: b.lineOf(),
  };
}

/** Parse CSV text or bytes held in memory (tests, small payloads). */
export async function parseCsv(
  data: string | Uint8Array,
  opts: CsvReadOptions & { label?: string } = {},
): Promise<CsvResult> {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return readCsvSource(
    async function* () {
      yield bytes;
    },
    { ...opts, label: opts.label ?? "<memory>" },
  );
}

// ---------------------------------------------------------------------------------------------
// Writer

function needsQuote(s: string, delim: string): boolean {
  if (s.length === 0) return true;
  if (s.includes(delim) || s.includes('"') || s.includes("\n") || s.includes("\r")) return true;
  const c0 = s.charCodeAt(0),
    cl = s.charCodeAt(s.length - 1);
  return c0 === 32 || c0 === 9 || cl === 32 || cl === 9;
}

function quoteField(s: string, delim: string): string {
  return needsQuote(s, delim) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Format one numeric value: shortest round-trip representation, '' for NaN. */
export function formatNumber(v: number): string {
  return Number.isNaN(v) ? "" : String(v);
}

/** Write a Frame as UTF-8 CSV (LF line ends, header row, quoting when needed). Atomic: temp file + rename. */
export async function writeCsv(frame: Frame, path: string, opts: { delimiter?: string } = {}): Promise<void> {
  const delim = opts.delimiter ?? ",";
  const cols = frame.columns;
  const levelText = cols.map((c) =>
    c.kind === "categorical" ? c.levels.map((l) => quoteField(l, delim)) : null,
  );
  await writeFileAtomicStreaming(path, async (write) => {
    await write(`${cols.map((c) => quoteField(c.name, delim)).join(delim)}\n`);
    const n = frame.nRows;
    const step = 8192;
    for (let start = 0; start < n; start += step) {
      const end = Math.min(n, start + step);
      let out = "";
      for (let i = start; i < end; i++) {
        for (let j = 0; j < cols.length; j++) {
          if (j > 0) out += delim;
          const c = cols[j];
          if (c.kind === "numeric") out += formatNumber(c.values[i]);
          else {
            const code = c.codes[i];
            if (code >= 0) out += levelText[j]![code];
          }
        }
        out += "\n";
      }
      await write(out);
    }
  });
}
