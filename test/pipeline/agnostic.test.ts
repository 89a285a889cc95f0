/**
 * The pipeline is dataset-agnostic: a different regression dataset (no geo columns, no stratification, no ratio
 * features, an integer column, missing values in a column) trains end to end from its own contract YAML.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Rng } from "../../src/data/prng.ts";
import { type TrainResult, train } from "../../src/pipeline/pipeline.ts";
import type { FeaturesOutput } from "../../src/pipeline/steps/features.ts";
import type { RegisterOutput } from "../../src/pipeline/steps/register.ts";
import type { SplitOutput } from "../../src/pipeline/steps/split.ts";
import { fastConfig } from "../helpers/pipeline.ts";

const CONTRACT = join(import.meta.dirname, "..", "fixtures", "datasets", "synthetic_flats.yaml");

/** Seeded synthetic flats: price = nonlinear(size, rooms, age, district) × lognormal noise; ~5 % of ages missing. */
export function writeFlats(path: string, n: number, seed: number): void {
  const rng = new Rng(seed);
  const lines = ["size_m2,rooms,age,district,price"];
  const mult: Record<string, number> = { a: 1.6, b: 1.0, c: 0.7 };
  for (let i = 0; i < n; i++) {
    const size = 20 + 160 * rng.next() ** 1.5;
    const rooms = Math.max(1, Math.min(10, Math.round(size / 28 + rng.normal() * 0.6)));
    const age = 100 * rng.next() ** 2;
    const district = ["a", "b", "c"][rng.int(3)];
    const base =
      2500 * size ** 0.9 * (1 + 0.05 * rooms) * (1.25 - 0.5 * Math.tanh(age / 40)) * mult[district];
    const price = base * Math.exp(0.08 * rng.normal());
    const ageCell = rng.next() < 0.05 ? "" : age.toFixed(1);
    lines.push(`${size.toFixed(1)},${rooms},${ageCell},${district},${price.toFixed(0)}`);
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
}

describe("dataset-agnostic pipeline (synthetic flats, no geo/stratify/ratios)", { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "agnostic-"));
  const csv = join(dir, "flats.csv");
  let r: TrainResult;
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    writeFlats(csv, 800, 2024);
    const loaded = fastConfig(csv, join(dir, "home"), [
      `data.dataset=${CONTRACT}`,
      "features.geo_clusters.enabled=false",
      "features.geo_neighbors.enabled=false",
      "promote.auto=false",
    ]);
    r = await train({ loaded, nJobs: 1 });
  });

  it("registers a model with sane test metrics", () => {
    const reg = r.registered as RegisterOutput;
    assert.ok(reg, "no model registered");
    assert.equal(reg.version, 1);
    assert.equal(reg.trainRows + reg.testRows, 800);
    assert.ok(reg.metrics.r2 > 0.5, `test R² ${reg.metrics.r2}`);
    assert.ok(Number.isFinite(reg.metrics.mae) && reg.metrics.mae > 0);
    const split = r.outputs["02_split"] as SplitOutput;
    assert.equal(split.stratified, false);
    assert.deepEqual(split.strata, {});
  });

  it("uses the contract's own columns: district segments and no geo / ratio features", () => {
    const reg = r.registered as RegisterOutput;
    const districts = reg.segments.filter((s) => s.segment === "district").map((s) => s.value);
    assert.deepEqual([...districts].sort(), ["a", "b", "c"]);
    const feats = r.outputs["04_features"] as FeaturesOutput;
    assert.equal(feats.k, null);
    assert.deepEqual(feats.featureNames, [
      "size_m2",
      "rooms",
      "age",
      "district_a",
      "district_b",
      "district_c",
    ]);
  });

  it("writes a report for the run", () => {
    const html = readFileSync(r.reportPath as string, "utf8");
    assert.ok(html.includes("synthetic_flats"));
    assert.ok(html.includes("geo clusters disabled"));
  });
});
