import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

const tmp = mkdtempSync(join(tmpdir(), "data-cli-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/index.ts", ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("mlops data validate", () => {
  it("exits 0 on the bundled dataset", () => {
    const r = cli("data", "validate", "data/california_housing.csv");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /20640 rows, 20640 valid, 0 rejected/);
    assert.match(r.stdout, /OK: all rows pass the contract/);
  });

  it("exits 1 on violations, lists them, and writes the rejects CSV", () => {
    const rejects = join(tmp, "rejects.csv");
    const r = cli("data", "validate", "test/fixtures/csv/housing_dirty.csv", "--rejects", rejects);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /10 rows, 4 valid, 6 rejected \(7 violations\)/);
    assert.match(r.stdout, /row 3 \(line 4\): median_income \[type\] 'abc' is not a number/);
    const text = readFileSync(rejects, "utf8");
    assert.equal(text.split("\n")[0].split(",").at(-1), "reject_reasons");
    assert.match(text, /MOON/);
  });

  it("--json prints the full report", () => {
    const r = cli("data", "validate", "test/fixtures/csv/housing_dirty.csv", "--json");
    assert.equal(r.code, 1);
    const j = JSON.parse(r.stdout);
    assert.equal(j.valid, false);
    assert.equal(j.rejectedRows, 6);
    assert.equal(j.violations[0].column, "median_income");
    assert.equal(j.violations[0].value, "abc");
    assert.equal(j.violationCounts.byRule.categories, 2);
    assert.match(j.dataHash, /^[0-9a-f]{64}$/);
  });

  it("exits 1 with the missing and unexpected columns on a header mismatch", () => {
    const r = cli("data", "validate", "test/fixtures/csv/housing_header_mismatch.csv");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /error: .*header does not match the contract: missing required column\(s\): median_house_value; unexpected column\(s\): extra_col/,
    );
  });

  it("exits 2 for a missing file or a bad contract, with the problem on stderr", () => {
    const r = cli("data", "validate", join(tmp, "nope.csv"));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error: .*nope\.csv: file not found/);
    const bad = join(tmp, "bad.yaml");
    writeFileSync(bad, "name: x\ntarget: y\ncolumns:\n  - { name: y, type: float, min: abc }\n");
    const r2 = cli("data", "validate", "data/california_housing.csv", "--contract", bad);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /columns\[0\]\.min: expected a number, got 'abc'/);
  });
});

describe("mlops data profile", () => {
  it("prints a table with missing counts and category counts", () => {
    const r = cli("data", "profile", "data/california_housing.csv");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rows: 20640/);
    assert.match(r.stdout, /total_bedrooms\s+207 \(1\.00%\)/);
    assert.match(r.stdout, /ISLAND\s+5/);
  });

  it("--json prints the profile", () => {
    const r = cli("data", "profile", "data/california_housing.csv", "--json");
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.rows, 20640);
    const tb = j.columns.find((c: { name: string }) => c.name === "total_bedrooms");
    assert.equal(tb.missing, 207);
    assert.equal(tb.quantiles.p50, 435);
  });
});
