import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { CsvError, parseCsv, readCsv, writeCsv } from "../../src/data/csv.ts";
import { categoricalFromStrings, Frame, numericColumn } from "../../src/data/frame.ts";

const FIX = "test/fixtures/csv";
const tmp = mkdtempSync(join(tmpdir(), "csv-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cats(f: Frame, name: string): (string | null)[] {
  const c = f.categorical(name);
  return Array.from(c.codes, (k) => (k < 0 ? null : c.levels[k]));
}

describe("readCsv: real-world files", () => {
  it("strips a UTF-8 BOM from the first header name", async () => {
    const r = await readCsv(`${FIX}/bom.csv`);
    assert.deepEqual(r.frame.names, ["id", "name", "score"]);
    assert.equal(r.stats.bom, true);
    assert.deepEqual(Array.from(r.frame.numeric("id")), [1, 2]);
    assert.deepEqual(Array.from(r.frame.numeric("score")), [1.5, 2.5]);
  });

  it("handles quoted commas, newlines and escaped quotes, and maps rows to lines", async () => {
    const r = await readCsv(`${FIX}/quoted.csv`);
    assert.equal(r.frame.nRows, 4);
    assert.deepEqual(cats(r.frame, "text"), ["hello, world", "line one\nline two", 'she said "hi"', "plain"]);
    assert.deepEqual(Array.from(r.frame.numeric("value")), [10, 20, 30, 40]);
    assert.deepEqual([0, 1, 2, 3].map(r.lineOf), [2, 3, 5, 6]);
    assert.equal(r.stats.lines, 6);
  });

  it("reads CRLF line ends and skips blank lines", async () => {
    const r = await readCsv(`${FIX}/crlf.csv`);
    assert.deepEqual(r.frame.names, ["a", "b", "c"]);
    assert.deepEqual(Array.from(r.frame.numeric("a")), [1, 3, 5]);
    assert.deepEqual(cats(r.frame, "b"), ["x", "y", "z"]);
    assert.deepEqual(Array.from(r.frame.numeric("c")), [2.5, 4.5, 6.5]);
    assert.equal(r.lineOf(2), 5); // the blank line 4 is skipped
  });

  it('treats "", NA, NaN, null, None, N/A (any case, quoted or not) as missing', async () => {
    const r = await readCsv(`${FIX}/na_tokens.csv`);
    const num = Array.from(r.frame.numeric("num"));
    assert.equal(r.frame.col("num").kind, "numeric");
    assert.deepEqual(
      num.map((v) => (Number.isNaN(v) ? null : v)),
      [1, null, null, null, null, null, null, null, 2, 3, 4],
    );
    assert.deepEqual(cats(r.frame, "cat"), ["a", "b", "c", "d", "e", "f", "g", null, null, null, null]);
  });

  it("trims whitespace around fields and header names (not inside quotes) and skips whitespace-only lines", async () => {
    const r = await readCsv(`${FIX}/whitespace.csv`);
    assert.deepEqual(r.frame.names, ["id", "name", "value"]);
    assert.deepEqual(Array.from(r.frame.numeric("id")), [1, 2, 3]);
    assert.deepEqual(cats(r.frame, "name"), ["alpha", "beta", "  gamma "]);
    assert.deepEqual(Array.from(r.frame.numeric("value")), [1.25, 3, 4]);
  });

  it("falls back to latin-1 when the bytes are not valid UTF-8", async () => {
    const r = await readCsv(`${FIX}/latin1.csv`);
    assert.equal(r.stats.encoding, "latin1");
    assert.deepEqual(cats(r.frame, "city"), ["São José", "Curaçao", "München"]);
    const u = await readCsv(`${FIX}/utf8.csv`);
    assert.equal(u.stats.encoding, "utf-8");
    assert.deepEqual(cats(u.frame, "city"), ["São José", "München"]);
  });

  it("names file, line and column for a row with too few fields", async () => {
    await assert.rejects(readCsv(`${FIX}/bad_field_count.csv`), (e: unknown) => {
      assert.ok(e instanceof CsvError);
      assert.equal(e.line, 4);
      assert.equal(e.column, "c");
      assert.match(e.message, /bad_field_count\.csv: line 4, column 'c': expected 3 fields, got 2/);
      return true;
    });
  });

  it("names the line of a row with too many fields", async () => {
    await assert.rejects(
      readCsv(`${FIX}/extra_field.csv`),
      /extra_field\.csv: line 3: expected 3 fields, got 4/,
    );
  });

  it("onBadRow: 'skip' drops wrong-width rows but reports each one", async () => {
    const r = await readCsv(`${FIX}/bad_field_count.csv`, { onBadRow: "skip" });
    assert.deepEqual(Array.from(r.frame.numeric("a")), [1, 4, 9]);
    assert.equal(r.stats.badRows.count, 1);
    assert.deepEqual(r.stats.badRows.samples, [{ line: 4, fields: 2, expected: 3 }]);
    assert.equal(r.lineOf(2), 5);
  });

  it("reports an unterminated quote with the line where it opened", async () => {
    await assert.rejects(readCsv(`${FIX}/unterminated.csv`), (e: unknown) => {
      assert.ok(e instanceof CsvError);
      assert.equal(e.column, "b");
      assert.match(
        e.message,
        /unterminated\.csv: line \d+, column 'b': unterminated quoted field \(opened on line 3\)/,
      );
      return true;
    });
  });

  it("rejects text after a closing quote", async () => {
    await assert.rejects(
      parseCsv('a,b\n"x"y,1\n'),
      /line 2, column 'a': unexpected character 'y' after closing quote/,
    );
  });

  it("infers a column with any non-number token as categorical, keeping exact tokens (second pass)", async () => {
    const r = await readCsv(`${FIX}/mixed_types.csv`);
    assert.equal(r.frame.col("code").kind, "categorical");
    assert.deepEqual(cats(r.frame, "code"), ["001", "002", "A17", null]);
    assert.deepEqual(r.stats.reparsedColumns, ["code"]);
    assert.deepEqual(Array.from(r.frame.numeric("amount")), [1.5, 2, 3, 4]);
  });

  it("with a type map, a non-number in a numeric column becomes NaN plus an InvalidToken (not a failure)", async () => {
    const r = await readCsv(`${FIX}/mixed_types.csv`, { types: { code: "numeric" } });
    assert.deepEqual(
      Array.from(r.frame.numeric("code")).map((v) => (Number.isNaN(v) ? null : v)),
      [1, 2, null, null],
    );
    assert.deepEqual(r.invalid, [{ row: 2, line: 4, column: "code", raw: "A17" }]);
  });

  it("keeps only the requested columns and errors on unknown ones", async () => {
    const r = await readCsv(`${FIX}/quoted.csv`, { columns: ["value"] });
    assert.deepEqual(r.frame.names, ["value"]);
    await assert.rejects(
      readCsv(`${FIX}/quoted.csv`, { columns: ["nope"] }),
      /requested column\(s\) not in header: 'nope'/,
    );
  });

  it("errors on an empty file and on duplicate header names", async () => {
    await assert.rejects(parseCsv(""), /empty file/);
    await assert.rejects(parseCsv("a,b,a\n1,2,3\n"), /duplicate column name/);
  });

  it("parses numbers exactly like Number() (sign, exponent, leading dot, long mantissas)", async () => {
    const toks = [
      "0",
      "-0.5",
      "+3",
      ".25",
      "1.",
      "1e3",
      "-2.5E-3",
      "123456789012345678901",
      "0.1",
      "9007199254740993",
    ];
    const r = await parseCsv(`x\n${toks.join("\n")}\n`);
    assert.deepEqual(Array.from(r.frame.numeric("x")), toks.map(Number));
    // not numbers: hex, inf, stray text
    for (const bad of ["0x10", "inf", "1e", "1.2.3", "--1"]) {
      const b = await parseCsv(`x\n1\n${bad}\n`);
      assert.equal(b.frame.col("x").kind, "categorical", bad);
    }
  });

  it("property: any finite double written with String() reads back identically", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 50 }),
        async (xs) => {
          const r = await parseCsv(`x\n${xs.map(String).join("\n")}\n`);
          const got = r.frame.numeric("x");
          assert.equal(got.length, xs.length);
          for (let i = 0; i < xs.length; i++)
            assert.ok(Object.is(got[i], xs[i]) || (got[i] === 0 && xs[i] === 0));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("gives the same result whatever the chunk size (records split across chunks)", async () => {
    const text = readFileSync(`${FIX}/quoted.csv`);
    const ref = await parseCsv(text);
    for (const step of [1, 2, 3, 5, 8, 13]) {
      const r = await readCsvChunks(text, step);
      assert.deepEqual(cats(r.frame, "text"), cats(ref.frame, "text"), `step ${step}`);
      assert.deepEqual(Array.from(r.frame.numeric("value")), Array.from(ref.frame.numeric("value")));
    }
  });
});

async function readCsvChunks(bytes: Uint8Array, step: number) {
  const { readCsvSource } = await import("../../src/data/csv.ts");
  return readCsvSource(
    async function* () {
      for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, i + step);
    },
    { label: "chunks" },
  );
}

describe("bundled dataset", () => {
  it("loads 20,640 rows with 207 missing total_bedrooms", async () => {
    const r = await readCsv("data/california_housing.csv");
    assert.equal(r.frame.nRows, 20640);
    assert.equal(r.frame.columns.length, 10);
    const tb = r.frame.numeric("total_bedrooms");
    assert.equal(tb.filter(Number.isNaN).length, 207);
    assert.equal(r.frame.col("ocean_proximity").kind, "categorical");
    assert.deepEqual([...r.frame.categorical("ocean_proximity").levels].sort(), [
      "<1H OCEAN",
      "INLAND",
      "ISLAND",
      "NEAR BAY",
      "NEAR OCEAN",
    ]);
    assert.deepEqual(r.frame.row(0), {
      longitude: -122.23,
      latitude: 37.88,
      housing_median_age: 41,
      total_rooms: 880,
      total_bedrooms: 129,
      population: 322,
      households: 126,
      median_income: 8.3252,
      median_house_value: 452600,
      ocean_proximity: "NEAR BAY",
    });
    assert.equal(r.lineOf(20639), 20641);
  });
});

describe("writeCsv", () => {
  it("round-trips values that need quoting, missing values and numbers", async () => {
    const frame = new Frame([
      numericColumn("x", Float64Array.from([1.5, Number.NaN, -0.1, 1e21])),
      categoricalFromStrings("s", ["a,b", 'say "hi"', null, "two\nlines"]),
    ]);
    const path = join(tmp, "out.csv");
    await writeCsv(frame, path);
    const text = readFileSync(path, "utf8");
    assert.ok(text.startsWith('x,s\n1.5,"a,b"\n'));
    const r = await readCsv(path);
    assert.deepEqual(
      Array.from(r.frame.numeric("x")).map((v) => (Number.isNaN(v) ? null : v)),
      [1.5, null, -0.1, 1e21],
    );
    assert.deepEqual(cats(r.frame, "s"), ["a,b", 'say "hi"', null, "two\nlines"]);
  });
});
