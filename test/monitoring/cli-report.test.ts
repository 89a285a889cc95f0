/** `mlops drift` in-process (file and --window variants) and the HTML report's size and content. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { Command } from "commander";
import { parseDuration, registerMonitorCommands } from "../../src/cli/commands/monitor.ts";
import { CliError, UsageError } from "../../src/cli/util.ts";
import { loadContract } from "../../src/data/contract.ts";
import { readCsv, writeCsv } from "../../src/data/csv.ts";
import { type Column, Frame, numericColumn } from "../../src/data/frame.ts";
import { Rng } from "../../src/data/prng.ts";
import { computeDrift } from "../../src/monitoring/drift.ts";
import { PredictionLog, type PredictionRecord } from "../../src/monitoring/prediction-log.ts";
import {
  buildReferenceProfile,
  type ReferenceProfile,
  saveReferenceProfile,
} from "../../src/monitoring/reference.ts";
import { renderDriftHtml } from "../../src/monitoring/report-html.ts";

const tmp = mkdtempSync(join(tmpdir(), "drift-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

let profile: ReferenceProfile;
let test: Frame;
const profilePath = join(tmp, "profile.json");
const NOW = 1_800_000_000_000;

function shiftAll(f: Frame, k: number): Frame {
  return new Frame(
    f.columns.map(
      (c): Column =>
        c.kind === "numeric"
          ? numericColumn(
              c.name,
              c.values.map((v) => v * k),
            )
          : c,
    ),
  );
}

async function runCli(args: string[]): Promise<{ out: string; err: unknown }> {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c) => (text += c));
  const program = new Command("mlops").option("--json").option("-q, --quiet").exitOverride();
  registerMonitorCommands(program, { out, now: () => NOW });
  for (const c of program.commands) c.exitOverride();
  let err: unknown = null;
  try {
    await program.parseAsync(["node", "mlops", ...args]);
  } catch (e) {
    err = e;
  }
  return { out: text, err };
}

before(async () => {
  const contract = loadContract("config/datasets/california_housing.yaml");
  const all = (await readCsv("data/california_housing.csv")).frame;
  const perm = new Rng(5).permutation(all.nRows);
  const train = all.take(perm.subarray(0, 16_000));
  test = all.take(perm.subarray(16_000, 18_000));
  profile = buildReferenceProfile(train, contract, { seed: 2, meta: { model: "housing", version: "3" } });
  saveReferenceProfile(profilePath, profile);
  await writeCsv(test, join(tmp, "current.csv"));
  await writeCsv(shiftAll(test, 1.3), join(tmp, "shifted.csv"));
});

describe("mlops drift --current", () => {
  it("prints a table, exits 0 without drift, writes the HTML report", async () => {
    const html = join(tmp, "r.html");
    const r = await runCli([
      "drift",
      "--current",
      join(tmp, "current.csv"),
      "--reference",
      profilePath,
      "--fail-on-drift",
      "--html",
      html,
    ]);
    assert.equal(r.err, null, String(r.err));
    assert.match(r.out, /median_income\s+wasserstein/);
    assert.match(r.out, /dataset drift: not detected \(0\/9/);
    assert.match(readFileSync(html, "utf8"), /^<!doctype html>/);
  });
  it("--json prints the report; --fail-on-drift exits 1 on dataset drift", async () => {
    const r = await runCli([
      "--json",
      "drift",
      "--current",
      join(tmp, "shifted.csv"),
      "--reference",
      profilePath,
      "--fail-on-drift",
    ]);
    assert.ok(r.err instanceof CliError && r.err.exitCode === 1, String(r.err));
    const rep = JSON.parse(r.out);
    assert.equal(rep.datasetDrift, true);
    assert.equal(rep.nReference, 16_000);
    assert.equal(rep.nCurrent, 2_000);
  });
  it("usage errors: both/neither source, missing profile, bad window", async () => {
    for (const args of [
      ["drift", "--reference", profilePath],
      ["drift", "--current", "x.csv", "--window", "1h", "--reference", profilePath],
      ["drift", "--current", join(tmp, "current.csv"), "--reference", join(tmp, "nope.json")],
      // no --reference and a home without a registry (not the working directory's default home)
      ["drift", "--current", join(tmp, "current.csv"), "--home", join(tmp, "no-registry-home")],
      ["drift", "--window", "yesterday", "--reference", profilePath, "--home", tmp],
      ["drift", "--window", "1h", "--reference", profilePath, "--home", join(tmp, "empty-home")],
    ]) {
      const r = await runCli(args);
      assert.ok(r.err instanceof UsageError, `${args.join(" ")} → ${String(r.err)}`);
    }
    assert.equal(parseDuration("24h"), 86_400_000);
    assert.equal(parseDuration("30m"), 1_800_000);
  });
});

describe("mlops drift --window (prediction log)", () => {
  it("reads the last N hours of logged predictions of one model version", async () => {
    const home = join(tmp, "home");
    const log = new PredictionLog({ home });
    const rows: PredictionRecord[] = [];
    for (let i = 0; i < test.nRows; i++) {
      rows.push({
        id: `r${i}`,
        ts: NOW - 60_000,
        modelVersion: "3",
        inputs: test.row(i) as PredictionRecord["inputs"],
        prediction: 1,
      });
      rows.push({
        id: `old${i}`,
        ts: NOW - 3 * 3_600_000,
        modelVersion: "3",
        inputs: test.row(i) as PredictionRecord["inputs"],
        prediction: 1,
      });
    }
    log.append(rows);
    await log.close();
    const r = await runCli([
      "--json",
      "drift",
      "--window",
      "1h",
      "--model",
      "3",
      "--home",
      home,
      "--reference",
      profilePath,
    ]);
    assert.equal(r.err, null, String(r.err));
    const rep = JSON.parse(r.out);
    assert.equal(rep.nCurrent, test.nRows);
    assert.equal(rep.datasetDrift, false);
    const none = await runCli([
      "drift",
      "--window",
      "1h",
      "--model",
      "9",
      "--home",
      home,
      "--reference",
      profilePath,
    ]);
    assert.ok(none.err instanceof UsageError && /no logged predictions/.test(none.err.message));
  });

  it("--max-rows (default monitoring.max_window_rows) reads a sample of the window; 'all' the whole window", async () => {
    const home = join(tmp, "home-sampled");
    const log = new PredictionLog({ home, batchSize: 100 });
    log.append(
      Array.from({ length: test.nRows }, (_, i) => ({
        id: `s${i}`,
        ts: NOW - 60_000 + i,
        modelVersion: "3",
        inputs: test.row(i) as PredictionRecord["inputs"],
        prediction: 1,
      })),
    );
    await log.close();
    const base = ["--json", "drift", "--window", "1h", "--home", home, "--reference", profilePath];
    const nCurrent = async (extra: string[]) => {
      const r = await runCli([...base, ...extra]);
      assert.equal(r.err, null, String(r.err));
      return (JSON.parse(r.out) as { nCurrent: number }).nCurrent;
    };
    const n500 = await nCurrent(["--max-rows", "500"]);
    assert.ok(n500 <= 500 && n500 >= 450, `n=${n500}`);
    assert.equal(await nCurrent(["--max-rows", "all"]), test.nRows);
    // the config's cap applies by default, as in the server's passes
    const nCfg = await nCurrent(["monitoring.max_window_rows=300"]);
    assert.ok(nCfg <= 300 && nCfg >= 250, `n=${nCfg}`);
    assert.equal(await nCurrent([]), test.nRows); // default cap 200,000 > 2,000 rows
    for (const bad of ["0", "-1", "2.5", "abc"]) {
      const r = await runCli([...base, "--max-rows", bad]);
      assert.ok(r.err instanceof UsageError, bad);
      assert.match(
        (r.err as Error).message,
        new RegExp(`--max-rows must be a positive integer or 'all', got "${bad}"`),
      );
    }
  });
});

describe("HTML report", () => {
  it("contains every feature with its histogram and stays < 1 MB for a 500k-row current set", () => {
    const rng = new Rng(9);
    const idx = new Uint32Array(500_000);
    for (let i = 0; i < idx.length; i++) idx[i] = rng.int(test.nRows);
    const big = shiftAll(test.take(idx), 1.1);
    const report = computeDrift(profile, big);
    const html = renderDriftHtml(report, { title: "big <test>" });
    assert.ok(Buffer.byteLength(html) < 1_000_000, `${Buffer.byteLength(html)} bytes`);
    for (const f of profile.features) assert.ok(html.includes(`<b>${f.name}</b>`), f.name);
    assert.equal((html.match(/<svg /g) ?? []).length, profile.features.length);
    assert.ok(html.includes("big &lt;test&gt;"));
    assert.ok(!/<script|<link|src="http/.test(html), "self-contained");
    assert.match(html, /Dataset drift<\/span><b>Detected/);
  });
  it("caps categorical histograms at 30 categories + other", () => {
    const labels = Array.from({ length: 200 }, (_, i) => `c${i}`);
    const ref = buildReferenceProfile(
      new Frame([
        {
          kind: "categorical",
          name: "cat",
          codes: Int32Array.from({ length: 2000 }, (_, i) => i % 200),
          levels: labels,
        },
      ]),
      null,
    );
    const html = renderDriftHtml(computeDrift(ref, { cat: labels.map((l) => l) }));
    assert.equal((html.match(/<g>/g) ?? []).length, 31);
    assert.ok(html.includes("other (170)"));
  });
});
