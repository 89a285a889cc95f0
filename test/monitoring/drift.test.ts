/**
 * Drift on the bundled California Housing data: 80/20 seeded split, reference = 80 %, current = 20 %.
 * A +30 % shift of median_income must be detected; bootstrap resamples of the unshifted 20 % must raise
 * dataset drift in ≤ 5 % of 100 seeded runs.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { loadContract } from "../../src/data/contract.ts";
import type { DatasetContract } from "../../src/data/contract-types.ts";
import { readCsv } from "../../src/data/csv.ts";
import { Frame, numericColumn } from "../../src/data/frame.ts";
import { Rng } from "../../src/data/prng.ts";
import { computeDrift } from "../../src/monitoring/drift.ts";
import {
  buildReferenceProfile,
  deserializeReferenceProfile,
  type ReferenceProfile,
  serializeReferenceProfile,
} from "../../src/monitoring/reference.ts";

let contract: DatasetContract;
let train: Frame;
let test: Frame;
let profile: ReferenceProfile;
/** a stand-in model: linear in median_income (enough to exercise prediction drift) */
const fakeModel = (f: Frame) => f.numeric("median_income").map((x) => 45_000 + 40_000 * x);

before(async () => {
  contract = loadContract("config/datasets/california_housing.yaml");
  const all = (await readCsv("data/california_housing.csv")).frame;
  const perm = new Rng(42).permutation(all.nRows);
  const nTrain = Math.round(all.nRows * 0.8);
  train = all.take(perm.subarray(0, nTrain));
  test = all.take(perm.subarray(nTrain));
  profile = buildReferenceProfile(train, contract, { predictions: fakeModel(train), seed: 1 });
});

describe("reference profile", () => {
  it("profiles the contract features (not the target), is small and round-trips through JSON", () => {
    assert.deepEqual(
      profile.features.map((f) => f.name),
      contract.columns.map((c) => c.name).filter((n) => n !== "median_house_value"),
    );
    assert.equal(profile.nRows, train.nRows);
    const text = serializeReferenceProfile(profile);
    assert.ok(text.length < 100_000, `profile is ${text.length} bytes`);
    const back = deserializeReferenceProfile(text);
    assert.deepEqual(
      back.features.map((f) => f.name),
      profile.features.map((f) => f.name),
    );
    const inc = profile.features.find((f) => f.name === "median_income");
    assert.ok(inc && inc.kind === "numeric");
    assert.equal(inc.sample.length, 1000);
    assert.equal(inc.sampleComplete, false);
    assert.equal(
      inc.counts.reduce((a, b) => a + b, 0),
      inc.n,
    );
    const bedrooms = profile.features.find((f) => f.name === "total_bedrooms");
    assert.ok(bedrooms && bedrooms.kind === "numeric" && bedrooms.missing > 100);
    const ocean = profile.features.find((f) => f.name === "ocean_proximity");
    assert.ok(ocean && ocean.kind === "categorical" && Object.keys(ocean.counts).length === 5);
    assert.ok(profile.target && profile.target.max === 500001);
  });
  it("rejects a document that is not a profile, naming the field", () => {
    assert.throws(() => deserializeReferenceProfile('{"format":"x"}', "p.json"), /p\.json: format is "x"/);
    const broken = JSON.parse(serializeReferenceProfile(profile));
    broken.features[2].edges = "nope";
    assert.throws(
      () => deserializeReferenceProfile(JSON.stringify(broken), "p.json"),
      /features\[2\] \('housing_median_age'\): field 'edges' must be an array/,
    );
  });
});

describe("computeDrift (large reference → Wasserstein / Jensen–Shannon)", () => {
  it("finds no drift on the held-out 20 %", () => {
    const r = computeDrift(profile, test, { predictions: fakeModel(test) });
    assert.equal(r.datasetDrift, false);
    assert.equal(r.nDrifted, 0, JSON.stringify(r.features.map((f) => [f.name, f.statistic])));
    for (const f of r.features) {
      assert.equal(f.test, f.type === "numeric" ? "wasserstein" : "jensenshannon", f.name);
      assert.ok(f.statistic < 0.05, `${f.name}: ${f.statistic}`);
      assert.equal(f.psiLevel, "none", `${f.name} psi ${f.psi}`);
    }
    assert.ok(r.prediction && !r.prediction.drifted);
  });

  it("detects median_income × 1.3 (and the predictions that follow it), not the other features", () => {
    const shifted = test.withColumn(
      numericColumn(
        "median_income",
        test.numeric("median_income").map((x) => x * 1.3),
      ),
    );
    const r = computeDrift(profile, shifted, { predictions: fakeModel(shifted) });
    const inc = r.features.find((f) => f.name === "median_income")!;
    assert.equal(inc.drifted, true);
    assert.ok(inc.statistic > 0.4, `normed W1 ${inc.statistic}`);
    assert.equal(inc.psiLevel, "major");
    assert.equal(r.nDrifted, 1);
    assert.equal(r.datasetDrift, false); // 1 of 9 < 50 %
    assert.ok(r.prediction?.drifted);
    assert.ok(inc.outOfRange && inc.outOfRange.above > 0);
    // dataset drift follows the configurable share
    assert.equal(computeDrift(profile, shifted, { driftShare: 0.1 }).datasetDrift, true);
  });

  it("false-alarm rate of dataset drift over 100 seeded bootstrap resamples of the 20 % split is ≤ 5 %", () => {
    let alarms = 0,
      featureAlarms = 0;
    for (let s = 0; s < 100; s++) {
      const rng = new Rng(1000 + s);
      const idx = new Uint32Array(test.nRows);
      for (let i = 0; i < idx.length; i++) idx[i] = rng.int(test.nRows);
      const r = computeDrift(profile, test.take(idx));
      if (r.datasetDrift) alarms++;
      featureAlarms += r.nDrifted;
    }
    assert.ok(alarms <= 5, `dataset drift raised ${alarms}/100 times`);
    assert.ok(featureAlarms <= 45, `feature alarms ${featureAlarms}/900`);
  });

  it("respects per-feature test and threshold overrides and rejects a missing column", () => {
    const r = computeDrift(profile, test, {
      perFeature: { median_income: { test: "psi", threshold: 0 }, ocean_proximity: { test: "chisquare" } },
      features: ["median_income", "ocean_proximity"],
    });
    assert.equal(r.features.length, 2);
    assert.equal(r.features[0].test, "psi");
    assert.equal(r.features[0].drifted, true);
    assert.equal(r.features[1].test, "chisquare");
    assert.ok(r.features[1].statistic > 0.05);
    assert.throws(() => computeDrift(profile, test.drop(["latitude"])), /no column 'latitude'/);
    assert.throws(
      () => computeDrift(profile, test, { features: ["nope"] }),
      /'nope' is not in the reference/,
    );
  });
});

describe("computeDrift (reference ≤ 1,000 rows → KS / chi-square)", () => {
  it("uses KS and chi-square with p ≤ 0.05 and detects the shift", () => {
    const small = train.slice(0, 800);
    const p = buildReferenceProfile(small, contract, { seed: 3 });
    const cur = test.slice(0, 600);
    const none = computeDrift(p, cur);
    for (const f of none.features) assert.equal(f.test, f.type === "numeric" ? "ks" : "chisquare", f.name);
    assert.equal(none.datasetDrift, false);
    const shifted = cur.withColumn(
      numericColumn(
        "median_income",
        cur.numeric("median_income").map((x) => x * 1.3),
      ),
    );
    const r = computeDrift(p, shifted);
    const inc = r.features.find((f) => f.name === "median_income")!;
    assert.equal(inc.drifted, true);
    assert.ok(inc.statistic < 1e-6, `p=${inc.statistic}`);
    assert.equal(inc.details.method, "exact");
  });
  it("accepts plain per-feature arrays, including few-valued numerics (z-test / chi-square)", () => {
    const ref = buildReferenceProfile(
      new Frame([
        numericColumn(
          "flag",
          Float64Array.from({ length: 500 }, (_, i) => i % 2),
        ),
      ]),
      null,
    );
    const r = computeDrift(ref, { flag: Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 1 : 0)) });
    assert.equal(r.features[0].test, "z");
    assert.equal(r.features[0].drifted, true);
  });
});
