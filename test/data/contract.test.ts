import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { stringify } from "yaml";
import {
  ContractError,
  contractTypes,
  HeaderMismatchError,
  loadContract,
  parseContract,
  validateFrame,
} from "../../src/data/contract.ts";
import { readCsv, writeCsv } from "../../src/data/csv.ts";
import { Frame, numericColumn } from "../../src/data/frame.ts";
import { readTable } from "../../src/data/io.ts";

const CONTRACT = "config/datasets/california_housing.yaml";
const tmp = mkdtempSync(join(tmpdir(), "contract-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function yamlFile(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

const baseDoc = () => ({
  name: "t",
  target: "y",
  columns: [
    { name: "x", type: "float", min: 0, max: 10 },
    { name: "y", type: "float" },
    { name: "c", type: "categorical", categories: ["A", "B"] },
  ],
});

describe("loadContract", () => {
  it("loads the bundled contract, with .inf as Infinity", () => {
    const c = loadContract(CONTRACT);
    assert.equal(c.name, "california_housing");
    assert.equal(c.target, "median_house_value");
    assert.equal(c.columns.length, 10);
    assert.deepEqual(c.stratify, {
      column: "median_income",
      bins: [0, 1.5, 3, 4.5, 6, Number.POSITIVE_INFINITY],
    });
    assert.deepEqual(c.geo, { latitude: "latitude", longitude: "longitude" });
    assert.equal(c.ratios?.length, 3);
    assert.equal(c.examples?.[0].values.ocean_proximity, "NEAR BAY");
    const tb = c.columns.find((x) => x.name === "total_bedrooms");
    assert.equal(tb?.nullable, true);
    assert.equal(contractTypes(c).ocean_proximity, "categorical");
    assert.equal(contractTypes(c).median_income, "numeric");
  });

  it("names the file, key path, bad value and expectation", () => {
    const doc = baseDoc();
    (doc.columns[0] as Record<string, unknown>).min = "abc";
    const p = yamlFile("bad-min.yaml", stringify(doc));
    assert.throws(
      () => loadContract(p),
      (e: unknown) => {
        assert.ok(e instanceof ContractError);
        assert.equal(e.message, `${p}: columns[0].min: expected a number, got 'abc'`);
        return true;
      },
    );
  });

  const cases: [string, (d: ReturnType<typeof baseDoc>) => unknown, RegExp][] = [
    [
      "bad type",
      (d) => ((d.columns[1] as Record<string, unknown>).type = "double"),
      /columns\[1\]\.type: expected one of 'float', 'integer', 'categorical', got 'double'/,
    ],
    [
      "unknown key",
      (d) => ((d.columns[0] as Record<string, unknown>).nulable = true),
      /columns\[0\]\.nulable: unknown key/,
    ],
    [
      "min > max",
      (d) => ((d.columns[0] as Record<string, unknown>).min = 20),
      /columns\[0\]\.max: max 10 is below min 20/,
    ],
    [
      "target unknown",
      (d) => ((d as Record<string, unknown>).target = "zzz"),
      /target: 'zzz' is not a column/,
    ],
    [
      "target categorical",
      (d) => ((d as Record<string, unknown>).target = "c"),
      /target: 'c' must be a numeric column/,
    ],
    [
      "no categories",
      (d) => delete (d.columns[2] as Record<string, unknown>).categories,
      /columns\[2\]\.categories: expected a list, got nothing/,
    ],
    [
      "duplicate category",
      (d) => ((d.columns[2] as Record<string, unknown>).categories = ["A", " a "]),
      /columns\[2\]\.categories\[1\]: ' a ' duplicates 'A'/,
    ],
    [
      "duplicate column",
      (d) => d.columns.push({ name: "x", type: "float" } as never),
      /columns\[3\]\.name: duplicate column name 'x'/,
    ],
    [
      "bins not increasing",
      (d) => ((d as Record<string, unknown>).stratify = { column: "x", bins: [0, 2, 1] }),
      /stratify\.bins\[2\]: edges must increase strictly/,
    ],
    [
      "example out of range",
      (d) => ((d as Record<string, unknown>).examples = [{ name: "e", values: { x: 11 } }]),
      /examples\[0\]\.values\.x: 11 is above max 10/,
    ],
    [
      "example bad category",
      (d) => ((d as Record<string, unknown>).examples = [{ name: "e", values: { c: "Z" } }]),
      /examples\[0\]\.values\.c: expected one of A, B, got 'Z'/,
    ],
    [
      "columns not a list",
      (d) => ((d as Record<string, unknown>).columns = { a: 1 }),
      /columns: expected a list, got a mapping/,
    ],
  ];
  for (const [name, mutate, re] of cases) {
    it(`rejects: ${name}`, () => {
      const d = baseDoc();
      mutate(d);
      assert.throws(
        () => parseContract(d, "c.yaml"),
        (e: unknown) => e instanceof ContractError && re.test(e.message),
      );
    });
  }

  it("reports invalid YAML and a missing file", () => {
    assert.throws(
      () => loadContract(yamlFile("broken.yaml", "name: [unclosed")),
      /broken\.yaml: invalid YAML/,
    );
    assert.throws(() => loadContract(join(tmp, "missing.yaml")), /missing\.yaml: contract file not found/);
  });
});

describe("validateFrame", () => {
  const contract = loadContract(CONTRACT);
  const types = contractTypes(contract);

  it("accepts the bundled data in full and normalises nothing away", async () => {
    const r = await readTable("data/california_housing.csv", { types });
    const v = validateFrame(r.frame, contract, { invalid: r.invalid, lineOf: r.lineOf });
    assert.equal(v.report.rows, 20640);
    assert.equal(v.report.validRows, 20640);
    assert.equal(v.report.rejectedRows, 0);
    assert.equal(v.valid.nRows, 20640);
    assert.deepEqual(
      v.valid.categorical("ocean_proximity").levels,
      contract.columns[9].type === "categorical" ? contract.columns[9].categories : [],
    );
  });

  it("reports each rule with row, line, column and value, and quarantines the failing rows", async () => {
    const file = "test/fixtures/csv/housing_dirty.csv";
    const r = await readCsv(file, { types });
    const { report, valid, rejects } = validateFrame(r.frame, contract, {
      invalid: r.invalid,
      lineOf: r.lineOf,
      label: file,
    });
    assert.equal(report.rows, 10);
    assert.equal(report.rejectedRows, 6);
    assert.equal(report.validRows, 4);
    const brief = report.violations.map((v) => [v.row, v.line, v.column, v.rule, v.value]);
    assert.deepEqual(brief, [
      [3, 4, "median_income", "type", "abc"],
      [4, 5, "total_rooms", "nullable", null],
      [5, 6, "housing_median_age", "max", 250],
      [5, 6, "households", "min", -5],
      [6, 7, "ocean_proximity", "categories", "MOON"],
      [8, 9, "ocean_proximity", "categories", "NEAR\nBAY"],
      [10, 12, "ocean_proximity", "nullable", null],
    ]);
    assert.match(report.violations[0].message, /'abc' is not a number/);
    assert.match(report.violations[2].message, /250 is above max 200/);
    assert.deepEqual(report.violationCounts.byRule, { type: 1, nullable: 2, max: 1, min: 1, categories: 2 });
    assert.equal(report.violationCounts.byColumn.ocean_proximity, 3);
    assert.equal(report.violationCounts.total, 7);
    // valid rows: categories normalised to the canonical spelling
    const op = valid.categorical("ocean_proximity");
    assert.deepEqual(
      Array.from(op.codes, (c) => op.levels[c]),
      ["NEAR BAY", "NEAR BAY", "INLAND", "<1H OCEAN"],
    );
    assert.ok(Number.isNaN(valid.numeric("total_bedrooms")[1]));
    // rejects: original values plus reasons
    assert.equal(rejects.nRows, 6);
    assert.equal(rejects.names.at(-1), "reject_reasons");
    assert.equal(rejects.cell(0, "reject_reasons"), "median_income: 'abc' is not a number");
    assert.equal(
      rejects.cell(2, "reject_reasons"),
      "housing_median_age: 250 is above max 200; households: -5 is below min 0",
    );
    assert.equal(rejects.cell(3, "ocean_proximity"), "MOON");
    // rejects written by the caller and readable again
    const out = join(tmp, "rejects.csv");
    await writeCsv(rejects, out);
    const back = await readCsv(out);
    assert.equal(back.frame.nRows, 6);
    assert.equal(
      back.frame.cell(3, "reject_reasons"),
      "ocean_proximity: 'MOON' is not one of: <1H OCEAN, INLAND, ISLAND, NEAR BAY, NEAR OCEAN",
    );
    assert.equal(back.frame.cell(4, "ocean_proximity"), "NEAR\nBAY");
  });

  it("throws a header mismatch listing missing and unexpected columns", async () => {
    const r = await readCsv("test/fixtures/csv/housing_header_mismatch.csv", { types });
    assert.throws(
      () => validateFrame(r.frame, contract, { label: "hm.csv" }),
      (e: unknown) => {
        assert.ok(e instanceof HeaderMismatchError);
        assert.deepEqual(e.missing, ["median_house_value"]);
        assert.deepEqual(e.unexpected, ["extra_col"]);
        assert.match(
          e.message,
          /hm\.csv: header does not match the contract: missing required column\(s\): median_house_value; unexpected column\(s\): extra_col/,
        );
        return true;
      },
    );
  });

  it("integer rule, optional columns, extra columns when allowed, and frames read without types", () => {
    const c = parseContract({
      name: "t",
      target: "y",
      columns: [
        { name: "n", type: "integer", min: 0 },
        { name: "y", type: "float" },
        { name: "opt", type: "float", required: false },
        { name: "c", type: "categorical", categories: ["A", "B"], nullable: true },
      ],
    });
    const f = Frame.fromRecords(
      [
        { n: 1, y: 1, c: "a", z: 1 },
        { n: 1.5, y: 2, c: null, z: 2 },
        { n: 2, y: "x7", c: "b", z: 3 },
      ],
      [
        { name: "n", kind: "numeric" },
        { name: "y", kind: "categorical" }, // read without a contract: strings, validated as numbers
        { name: "c", kind: "categorical" },
        { name: "z", kind: "numeric" },
      ],
    );
    assert.throws(() => validateFrame(f, c), /unexpected column\(s\): z/);
    const { report, valid } = validateFrame(f, c, { allowExtraColumns: true });
    assert.deepEqual(report.absentOptionalColumns, ["opt"]);
    assert.deepEqual(report.extraColumns, ["z"]);
    assert.deepEqual(
      report.violations.map((v) => [v.row, v.column, v.rule, v.value]),
      [
        [2, "n", "integer", 1.5],
        [3, "y", "type", "x7"],
      ],
    );
    assert.equal(report.violations[0].line, undefined);
    assert.deepEqual(valid.names, ["n", "y", "c", "z"]);
    assert.deepEqual(valid.row(0), { n: 1, y: 1, c: "A", z: 1 });
  });

  it("caps the listed violations but keeps complete counts", () => {
    const c = parseContract({ name: "t", target: "y", columns: [{ name: "y", type: "float", min: 0 }] });
    const f = new Frame([
      numericColumn(
        "y",
        Float64Array.from({ length: 50 }, () => -1),
      ),
    ]);
    const { report } = validateFrame(f, c, { maxViolations: 5 });
    assert.equal(report.violations.length, 5);
    assert.equal(report.violationsTruncated, true);
    assert.equal(report.violationCounts.total, 50);
    assert.equal(report.rejectedRows, 50);
    assert.deepEqual(
      report.violations.map((v) => v.row),
      [1, 2, 3, 4, 5],
    );
  });
});
