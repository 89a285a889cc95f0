/**
 * The small-file fast path (plain file read synchronously, numeric fast path, in-place categorical
 * inference) and the streaming paths (byte source in random chunks; async file reads) must give the same
 * Frame, stats and line mapping, and the values the writer meant: numbers exactly Number(text), strings
 * verbatim, missing tokens missing. (The reader sends its first 32 records through the general path and
 * only later ones through the fast paths, so the tables here go well past 32 rows.)
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { type CsvResult, parseCsv, readCsv, readCsvSource } from "../../src/data/csv.ts";
import type { Frame } from "../../src/data/frame.ts";
import { readTable } from "../../src/data/io.ts";

const tmp = mkdtempSync(join(tmpdir(), "csv-paths-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const MISSING = ["", "NA", "NaN", "null", "None", "N/A", "na", "nan", "NULL", "NONE", "n/a"];

/** A cell: the token as written, whether it must be quoted, and what it must read back as. */
interface Cell {
  token: string;
  /** number (numeric column), string (categorical), null (missing) */
  want: number | string | null;
  pad: string;
}

type ColKind = "num" | "text" | "lateText" | "earlyText";

const numToken = fc
  .oneof(
    fc.integer({ min: -1e9, max: 1e9 }).map(String),
    fc
      .tuple(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 20 }),
      )
      .map(([v, how, k]) => {
        switch (how) {
          case 0:
            return String(v);
          case 1:
            return Math.abs(v) < 1e20 ? v.toFixed(Math.min(k, 8)) : String(v);
          case 2:
            return v.toExponential(k);
          case 3:
            return v.toPrecision(k + 1);
          case 4:
            return String(Math.round(v * 1e4) / 1e4);
          default:
            return String(Math.fround(v));
        }
      }),
    fc.constantFrom("-0", "-0.0", "+3", "007.50", ".5", "5.", "-.25", "1e-7", "2.5E+3", "123456789012345678"),
    fc
      .tuple(fc.integer({ min: -99999, max: 99999 }), fc.integer({ min: 0, max: 9999 }))
      .map(([a, b]) => `${a}.${String(b).padStart(4, "0")}`),
  )
  .filter((tok) => Number.isFinite(Number(tok)));

// Text never starts with 'n'/'N' (so it is never a missing token) and always holds a letter (never a number).
const textChar = fc.constantFrom(..."abcxyzAB Z0123456789,;\"'\t\n\r-.é€ü".split(""));
const textToken = fc
  .tuple(fc.constantFrom(..."abcdefghijklmopqrstuvwxyzé".split("")), fc.array(textChar, { maxLength: 8 }))
  .map(([h, t]) => h + t.join(""));
const latinTextToken = fc
  .tuple(
    fc.constantFrom(..."abcdefghijklmopqrstuvwxyzé".split("")),
    fc.array(fc.constantFrom(...'abc xyz,"\nüßé'.split("")), { maxLength: 8 }),
  )
  .map(([h, t]) => h + t.join(""));

const pad = fc.constantFrom("", "", "", " ", "\t", "  ");

function numCell(missingRate: number) {
  return fc
    .tuple(fc.double({ min: 0, max: 1, noNaN: true }), numToken, fc.constantFrom(...MISSING), pad)
    .map(
      ([u, tok, miss, p]): Cell =>
        u < missingRate ? { token: miss, want: null, pad: "" } : { token: tok, want: Number(tok), pad: p },
    );
}

function textCell(latin: boolean) {
  return fc
    .tuple(
      fc.double({ min: 0, max: 1, noNaN: true }),
      latin ? latinTextToken : textToken,
      fc.constantFrom(...MISSING),
    )
    .map(
      ([u, tok, miss]): Cell =>
        u < 0.15 ? { token: miss, want: null, pad: "" } : { token: tok, want: tok, pad: "" },
    );
}

interface Table {
  names: string[];
  kinds: ColKind[];
  rows: Cell[][];
  quoteAll: boolean;
  crlf: boolean;
  bom: boolean;
  latin1: boolean;
  trailingNewline: boolean;
  blankAfter: boolean[];
}

const tableArb: fc.Arbitrary<Table> = fc
  .record({
    nCols: fc.integer({ min: 1, max: 6 }),
    nRows: fc.integer({ min: 0, max: 90 }),
    latin1: fc.boolean(),
    quoteAll: fc.boolean(),
    crlf: fc.boolean(),
    bom: fc.boolean(),
    trailingNewline: fc.boolean(),
  })
  .chain((t) =>
    fc
      .tuple(
        fc.array(fc.constantFrom<ColKind>("num", "num", "text", "lateText", "earlyText"), {
          minLength: t.nCols,
          maxLength: t.nCols,
        }),
        fc.array(fc.boolean(), { minLength: t.nRows, maxLength: t.nRows }),
        fc.integer({ min: 0, max: Math.max(0, t.nRows - 1) }),
      )
      .chain(([kinds, blanks, switchRow]) => {
        const colArbs = kinds.map((k) => {
          if (k === "num") return fc.array(numCell(0.1), { minLength: t.nRows, maxLength: t.nRows });
          if (k === "text") return fc.array(textCell(t.latin1), { minLength: t.nRows, maxLength: t.nRows });
          // lateText: numbers up to switchRow, then text (second pass); earlyText: missing, then text (in place)
          return fc
            .tuple(
              fc.array(
                k === "lateText"
                  ? numCell(0)
                  : fc.constantFrom<Cell>(...MISSING.map((m) => ({ token: m, want: null, pad: "" }))),
                {
                  minLength: t.nRows,
                  maxLength: t.nRows,
                },
              ),
              fc.array(textCell(t.latin1), { minLength: t.nRows, maxLength: t.nRows }),
            )
            .map(([a, b]) => a.map((c, i) => (i < switchRow ? c : b[i])));
        });
        return fc.tuple(...colArbs).map((cols) => ({
          names: kinds.map((k, j) => (j % 3 === 2 ? `col ${j}, "${k}"` : `c${j}`)),
          kinds,
          rows: Array.from({ length: t.nRows }, (_, i) => cols.map((c) => c[i])),
          quoteAll: t.quoteAll,
          crlf: t.crlf,
          bom: t.bom,
          latin1: t.latin1,
          trailingNewline: t.trailingNewline,
          blankAfter: blanks.map((b, i) => b && i % 4 === 1),
        }));
      }),
  );

function quote(s: string, all: boolean): string {
  const needs = s.length === 0 || /[",\r\n]/.test(s) || /^[ \t]|[ \t]$/.test(s);
  return all || needs ? `"${s.replaceAll('"', '""')}"` : s;
}

/** CSV bytes plus the expected 1-based line of each data row. */
function render(t: Table): { bytes: Buffer; lineOf: number[] } {
  const nl = t.crlf ? "\r\n" : "\n";
  const lines: string[] = [t.names.map((n) => quote(n, t.quoteAll)).join(",")];
  const lineOf: number[] = [];
  let line = 2; // physical line of the next record
  for (let i = 0; i < t.rows.length; i++) {
    const rec = t.rows[i]
      .map((c) => {
        if (c.want === null && c.token === "" && !t.quoteAll) return ""; // bare empty field
        const q = quote(c.token, t.quoteAll);
        return q === c.token ? `${c.pad}${c.token}${c.pad}` : q;
      })
      .join(",");
    // a record that is one empty unquoted field would be a blank line: quote it
    const text = rec === "" ? '""' : rec;
    lineOf.push(line);
    lines.push(text);
    line += 1 + (text.match(/\n/g)?.length ?? 0);
    if (t.blankAfter[i]) {
      lines.push(i % 2 ? "" : "  ");
      line++;
    }
  }
  let s = lines.join(nl);
  if (t.trailingNewline) s += nl;
  const body = Buffer.from(s, t.latin1 ? "latin1" : "utf8");
  return { bytes: t.bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body, lineOf };
}

/** The Frame as plain values: numbers (NaN and -0 kept), strings, null. */
function frameValues(f: Frame): { name: string; kind: string; values: (number | string | null)[] }[] {
  return f.columns.map((c) =>
    c.kind === "numeric"
      ? { name: c.name, kind: c.kind, values: Array.from(c.values) }
      : { name: c.name, kind: c.kind, values: Array.from(c.codes, (k) => (k < 0 ? null : c.levels[k])) },
  );
}

function snapshot(r: CsvResult | Awaited<ReturnType<typeof readTable>>) {
  const s = r.stats as CsvResult["stats"];
  return {
    cols: frameValues(r.frame),
    levels: r.frame.columns.map((c) => (c.kind === "categorical" ? [...c.levels] : null)),
    rows: s.rows,
    lines: s.lines,
    bytes: s.bytes,
    bom: s.bom,
    encoding: s.encoding,
    reparsed: s.reparsedColumns.length,
    lineOf: Array.from({ length: r.frame.nRows }, (_, i) => r.lineOf?.(i)),
  };
}

/** A byte source that yields `bytes` in pieces cut at the given (sorted, deduplicated) offsets. */
function chunked(bytes: Buffer, cuts: number[]) {
  return async function* () {
    let prev = 0;
    for (const c of cuts) {
      if (c <= prev || c >= bytes.length) continue;
      yield bytes.subarray(prev, c);
      prev = c;
    }
    yield bytes.subarray(prev);
  };
}

function expectOk(t: Table, got: ReturnType<typeof snapshot>, lineOf: number[]): void {
  assert.equal(got.rows, t.rows.length);
  assert.deepEqual(got.lineOf, lineOf);
  assert.equal(got.bom, t.bom);
  for (let j = 0; j < t.names.length; j++) {
    const col = got.cols[j];
    assert.equal(col.name, t.names[j]);
    const want = t.rows.map((r) => r[j].want);
    const anyText = want.some((w) => typeof w === "string");
    if (!anyText) {
      assert.equal(col.kind, "numeric", `column ${j}`);
      for (let i = 0; i < want.length; i++) {
        const w = want[i];
        if (w === null) assert.ok(Number.isNaN(col.values[i]), `row ${i} col ${j}: want missing`);
        else
          assert.ok(
            Object.is(col.values[i], w),
            `row ${i} col ${j}: ${col.values[i]} !== Number(${t.rows[i][j].token})`,
          );
      }
    } else {
      assert.equal(col.kind, "categorical", `column ${j}`);
      // categorical: the exact token, numbers included (a lateText column keeps "007.50" as written)
      const exp = t.rows.map((r) => (r[j].want === null ? null : r[j].token));
      assert.deepEqual(col.values, exp, `column ${j}`);
    }
  }
}

describe("CSV fast path vs streaming path (property)", () => {
  it("random tables (quoting, CRLF, BOM, blank lines, latin-1, missing tokens) read identically and exactly", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        tableArb,
        fc.array(fc.integer({ min: 1, max: 4000 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 97 }),
        async (t, cuts, small) => {
          const { bytes, lineOf } = render(t);
          const file = join(tmp, `t${n++}.csv`);
          writeFileSync(file, bytes);
          const fast = snapshot(await readTable(file));
          expectOk(t, fast, lineOf);
          // fast path with tiny read buffers (records straddle reads)
          assert.deepEqual(snapshot(await readCsv(file, { chunkSize: small })), fast);
          // streaming: async file reads, and an in-memory byte source cut at random offsets
          assert.deepEqual(
            snapshot(await readCsv(file, { syncReadMaxBytes: 0, chunkSize: small + 3 })),
            fast,
          );
          const sorted = [...new Set(cuts)].sort((a, b) => a - b);
          assert.deepEqual(snapshot(await readCsvSource(chunked(bytes, sorted), { label: file })), fast);
        },
      ),
      { numRuns: 250, seed: 20261127 },
    );
  });
});

describe("CSV fast path: numbers and conversions", () => {
  it("the numeric fast path gives the same double as Number(text) for plain decimals (15 digits and more)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.boolean(), fc.stringMatching(/^[0-9]{1,18}$/), fc.stringMatching(/^[0-9]{0,18}$/)),
          { minLength: 1, maxLength: 120 },
        ),
        async (parts) => {
          const toks = parts.map(([neg, a, b]) => `${neg ? "-" : ""}${a}${b ? `.${b}` : ""}`);
          const r = await parseCsv(`x\n${toks.join("\n")}\n`);
          const x = r.frame.numeric("x");
          for (const [i, t] of toks.entries())
            assert.ok(Object.is(x[i], Number(t)), `${t}: ${x[i]} vs ${Number(t)}`);
          // same file through the synchronous file path
          const file = join(tmp, "nums.csv");
          writeFileSync(file, `x\r\n${toks.join("\r\n")}`);
          const y = (await readTable(file)).frame.numeric("x");
          for (const [i, t] of toks.entries())
            assert.ok(Object.is(y[i], Number(t)), `${t}: ${y[i]} vs ${Number(t)}`);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it("a text column whose first rows are missing becomes categorical without a second pass", async () => {
    const r = await parseCsv("a,b\n1,\n2,NA\n3,x\n4,y\n5,x\n");
    assert.deepEqual(r.stats.reparsedColumns, []);
    const b = r.frame.categorical("b");
    assert.deepEqual([...b.levels], ["x", "y"]);
    assert.deepEqual(Array.from(b.codes), [-1, -1, 0, 1, 0]);
    // after a number it still needs the second pass (the exact tokens of the earlier rows)
    const r2 = await parseCsv("a,b\n1,07\n2,x\n");
    assert.deepEqual(r2.stats.reparsedColumns, ["b"]);
    assert.deepEqual([...r2.frame.categorical("b").levels], ["07", "x"]);
  });

  it("trims unquoted tokens and keeps quoted ones verbatim on the fast paths too (past the first 32 rows)", async () => {
    const head = Array.from({ length: 40 }, (_, i) => `${i},"x ",1.5`).join("\n");
    const r = await parseCsv(`a,b,c\n${head}\n40,x ,  2.5 \n41,"x ","3"\n42,  x,-0\n`);
    const b = r.frame.categorical("b");
    assert.deepEqual([...b.levels], ["x ", "x"]);
    assert.deepEqual(Array.from(b.codes.subarray(39)), [0, 1, 0, 1]);
    assert.deepEqual(Array.from(r.frame.numeric("c").subarray(39)), [1.5, 2.5, 3, -0]);
    assert.ok(Object.is(r.frame.numeric("c")[42], -0));
  });

  it("reads the bundled housing CSV the same through the fast and the streaming path", async () => {
    const path = "data/california_housing.csv";
    const fast = await readTable(path);
    const slow = await readCsv(path, { syncReadMaxBytes: 0 });
    assert.equal(fast.frame.nRows, 20640);
    assert.deepEqual((fast.stats as CsvResult["stats"]).reparsedColumns, []);
    assert.equal(fast.frame.col("ocean_proximity").kind, "categorical");
    assert.equal(Array.from(fast.frame.numeric("total_bedrooms")).filter(Number.isNaN).length, 207);
    assert.deepEqual(frameValues(fast.frame), frameValues(slow.frame));
  });

  it("keeps clear errors on the fast path (file, line, column, value)", async () => {
    const file = join(tmp, "bad.csv");
    writeFileSync(file, 'a,b\n1,2\n3,"x"y\n');
    await assert.rejects(
      readTable(file),
      /bad\.csv: line 3, column 'b': unexpected character 'y' after closing quote/,
    );
    writeFileSync(file, "a,b\n1,2\n3\n");
    await assert.rejects(readTable(file), /bad\.csv: line 3, column 'b': expected 2 fields, got 1/);
    writeFileSync(file, 'a,b\n1,"open\n');
    await assert.rejects(
      readTable(file),
      /bad\.csv: line \d+, column 'b': unterminated quoted field \(opened on line 2\)/,
    );
    writeFileSync(file, "a,b\n1,2\n3,oops\n");
    const r = await readTable(file, { types: { b: "numeric" } });
    assert.deepEqual(r.invalid, [{ row: 1, line: 3, column: "b", raw: "oops" }]);
    await assert.rejects(readCsv(file, { chunkSize: 0 }), /chunkSize must be a positive integer/);
  });
});
