import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { readCsv } from "../../src/data/csv.ts";
import { categoricalFromStrings, Frame, numericColumn } from "../../src/data/frame.ts";
import { hashFile, hashFrame } from "../../src/data/hash.ts";
import { detectFormat, readTable } from "../../src/data/io.ts";
import { frameToParquet, readParquet, writeParquet } from "../../src/data/parquet.ts";
import { profileFrame } from "../../src/data/profile.ts";
import { tarEvents, tarPack } from "../../src/data/tar.ts";

const BUNDLED = "data/california_housing.csv";
const tmp = mkdtempSync(join(tmpdir(), "io-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

let housing: Frame;
let housingHash: string;
const housingText = readFileSync(BUNDLED);
before(async () => {
  housing = (await readCsv(BUNDLED)).frame;
  housingHash = hashFrame(housing);
});

describe("Parquet", () => {
  it("round-trips the bundled data (numeric DOUBLE, categorical UTF8, NaN <-> null) with an equal hash", async () => {
    const path = join(tmp, "housing.parquet");
    writeParquet(housing, path);
    assert.equal(await detectFormat(path), "parquet");
    const r = await readTable(path);
    assert.equal(r.source.format, "parquet");
    assert.equal(r.lineOf, null);
    assert.deepEqual(r.frame.names, housing.names);
    assert.equal(r.frame.nRows, 20640);
    assert.equal(r.frame.numeric("total_bedrooms").filter(Number.isNaN).length, 207);
    assert.deepEqual(r.frame.row(20639), housing.row(20639));
    assert.equal(hashFrame(r.frame), housingHash);
  });

  it("round-trips missing categoricals and awkward strings", async () => {
    const f = new Frame([
      numericColumn("x", Float64Array.from([Number.NaN, -0, 1e-300, 2])),
      categoricalFromStrings("s", ["São José", null, "", 'a"b,c']),
    ]);
    const back = (await readParquet(join(tmp, "x.parquet")).catch(() => null)) ?? null;
    assert.equal(back, null); // not written yet: readParquet reports a missing file
    writeParquet(f, join(tmp, "x.parquet"));
    const r = await readParquet(join(tmp, "x.parquet"));
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => r.frame.row(i)),
      [0, 1, 2, 3].map((i) => f.row(i)),
    );
    assert.equal(hashFrame(r.frame), hashFrame(f));
  });

  it("with a contract type map, a string column read as numeric reports invalid tokens", async () => {
    const f = new Frame([categoricalFromStrings("v", ["1.5", "abc", null, " 2 "])]);
    const r = await readTable(await write("strs.parquet", frameToParquet(f)), { types: { v: "numeric" } });
    assert.deepEqual(
      Array.from(r.frame.numeric("v")).map((v) => (Number.isNaN(v) ? null : v)),
      [1.5, null, null, 2],
    );
    assert.deepEqual(r.invalid, [{ row: 1, column: "v", raw: "abc" }]);
  });

  it("rejects a corrupt Parquet file with a clear error", async () => {
    const p = await write("bad.parquet", Buffer.from("PAR1 this is not parquet PAR1"));
    await assert.rejects(readTable(p), /bad\.parquet: not a valid Parquet file/);
  });
});

async function write(name: string, data: Uint8Array | string): Promise<string> {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
}

describe("hash", () => {
  it("differs when one value changes, and does not depend on category level order", () => {
    const a = new Frame([
      numericColumn("x", Float64Array.from([1, 2])),
      categoricalFromStrings("c", ["p", "q"]),
    ]);
    const b = new Frame([
      numericColumn("x", Float64Array.from([1, 2.0000001])),
      categoricalFromStrings("c", ["p", "q"]),
    ]);
    const c = a.withColumn({
      kind: "categorical",
      name: "c",
      codes: Int32Array.from([1, 0]),
      levels: ["q", "p"],
    });
    assert.notEqual(hashFrame(a), hashFrame(b));
    assert.equal(hashFrame(a), hashFrame(c));
    // NaN payloads are canonicalised
    const nan1 = new Float64Array([Number.NaN]);
    const nan2 = new Float64Array(1);
    new Uint32Array(nan2.buffer).set([1, 0x7ff80000]);
    assert.ok(Number.isNaN(nan2[0]));
    assert.equal(
      hashFrame(new Frame([numericColumn("x", nan1)])),
      hashFrame(new Frame([numericColumn("x", nan2)])),
    );
    // a numeric column and a categorical column of the same text differ (kind is hashed)
    assert.notEqual(
      hashFrame(new Frame([numericColumn("x", Float64Array.from([1]))])),
      hashFrame(new Frame([categoricalFromStrings("x", ["1"])])),
    );
  });

  it("hashFile is the sha256 of the bytes", async () => {
    const p = await write("h.txt", "abc");
    assert.equal(await hashFile(p), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("compressed and archived inputs", () => {
  it("reads .csv.gz with the same content as the CSV", async () => {
    const p = await write("housing.csv.gz", gzipSync(housingText));
    assert.equal(await detectFormat(p), "csv.gz");
    const r = await readTable(p);
    assert.equal(r.source.format, "csv.gz");
    assert.equal(hashFrame(r.frame), housingHash);
  });

  it("reads the one CSV inside a .tar.gz, ignoring README.txt and macOS metadata", async () => {
    const tar = tarPack([
      { name: "bundle/README.txt", data: "hello" },
      { name: "bundle/._housing.csv", data: "junk" },
      { name: "bundle/housing.csv", data: housingText },
    ]);
    const p = await write("housing.tgz", gzipSync(tar));
    assert.equal(await detectFormat(p), "tar.gz");
    const r = await readTable(p);
    assert.equal(r.source.member, "bundle/housing.csv");
    assert.equal(hashFrame(r.frame), housingHash);
    assert.equal(r.lineOf?.(0), 2);
  });

  it("reads a Parquet member of a .tar.gz and a .csv.gz member of a plain .tar", async () => {
    const pq = frameToParquet(housing.slice(0, 500));
    const p1 = await write("pq.tar.gz", gzipSync(tarPack([{ name: "data.parquet", data: pq }])));
    const r1 = await readTable(p1);
    assert.equal(hashFrame(r1.frame), hashFrame(housing.slice(0, 500)));
    const p2 = await write("gz.tar", tarPack([{ name: "d/housing.csv.gz", data: gzipSync(housingText) }]));
    assert.equal(await detectFormat(p2), "tar");
    const r2 = await readTable(p2);
    assert.equal(hashFrame(r2.frame), housingHash);
  });

  it("errors when an archive has no data file, or several", async () => {
    const none = await write("none.tar.gz", gzipSync(tarPack([{ name: "README.txt", data: "x" }])));
    await assert.rejects(readTable(none), /No file found with valid extensions \(\.csv, \.parquet\)/);
    const two = await write(
      "two.tar.gz",
      gzipSync(
        tarPack([
          { name: "a.csv", data: "x\n1\n" },
          { name: "b/c.parquet", data: "PAR1" },
          { name: "n.txt", data: "" },
        ]),
      ),
    );
    await assert.rejects(readTable(two), /2 data files, expected exactly one: a\.csv, b\/c\.parquet/);
  });

  it("tar reader: entries, sizes, padding and truncation", async () => {
    const tar = tarPack([
      { name: "a.txt", data: "x".repeat(512) },
      { name: "b.txt", data: "y".repeat(513) },
      { name: "empty.txt", data: "" },
    ]);
    const seen: Record<string, number> = {};
    async function* src(b: Uint8Array) {
      for (let i = 0; i < b.length; i += 100) yield b.subarray(i, i + 100);
    }
    for await (const ev of tarEvents(src(tar), "t.tar")) {
      if (ev.kind === "entry") seen[ev.entry.name] = 0;
      else seen[ev.entry.name] += ev.chunk.length;
    }
    assert.deepEqual(seen, { "a.txt": 512, "b.txt": 513, "empty.txt": 0 });
    await assert.rejects(async () => {
      for await (const _ of tarEvents(src(tar.subarray(0, 700)), "t.tar")) {
        // drain
      }
    }, /t\.tar: truncated tar archive/);
  });

  it("reports a missing file clearly", async () => {
    await assert.rejects(readTable(join(tmp, "nope.csv")), /nope\.csv: file not found/);
  });
});

describe("profile", () => {
  it("matches pandas describe() on the bundled data", () => {
    const p = profileFrame(housing);
    assert.equal(p.rows, 20640);
    const tb = p.columns.find((c) => c.name === "total_bedrooms");
    assert.ok(tb && tb.kind === "numeric");
    assert.equal(tb.missing, 207);
    assert.equal(tb.count, 20433);
    assert.ok(Math.abs(tb.missingPct - 1.0029) < 1e-3);
    // pandas: df.total_bedrooms.describe() -> mean 537.870553, std 421.385070, 25% 296, 50% 435, 75% 647
    assert.ok(Math.abs((tb.mean ?? 0) - 537.870553) < 1e-5);
    assert.ok(Math.abs((tb.std ?? 0) - 421.38507) < 1e-4);
    assert.deepEqual(
      [tb.quantiles.p25, tb.quantiles.p50, tb.quantiles.p75, tb.min, tb.max],
      [296, 435, 647, 1, 6445],
    );
    const mi = p.columns.find((c) => c.name === "median_income");
    assert.ok(mi && mi.kind === "numeric");
    // pandas 1.5.3: df.median_income.quantile([.25, .5, .75]) -> bit-identical (numpy 'linear' interpolation)
    assert.deepEqual(
      [mi.quantiles.p25, mi.quantiles.p50, mi.quantiles.p75],
      [2.5633999999999997, 3.5347999999999997, 4.74325],
    );
    const op = p.columns.find((c) => c.name === "ocean_proximity");
    assert.ok(op && op.kind === "categorical");
    assert.deepEqual(
      op.categories.map((c) => [c.value, c.count]),
      [
        ["<1H OCEAN", 9136],
        ["INLAND", 6551],
        ["NEAR OCEAN", 2658],
        ["NEAR BAY", 2290],
        ["ISLAND", 5],
      ],
    );
  });

  it("handles empty and all-missing columns", () => {
    const p = profileFrame(new Frame([numericColumn("x", Float64Array.from([Number.NaN, Number.NaN]))]));
    const x = p.columns[0];
    assert.ok(x.kind === "numeric");
    assert.equal(x.missing, 2);
    assert.equal(x.mean, null);
    assert.equal(x.quantiles.p50, null);
  });
});
