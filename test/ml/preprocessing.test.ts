import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { OneHotEncoder, StandardScaler, mostFrequentCategory } from "../../src/ml/preprocessing.ts";
import { fromRows } from "../../src/ml/types.ts";
import { fillColumn, fixture, housingMatrix, loadHousing, maxRel } from "../helpers/housing.ts";

const h2000 = loadHousing(2000);

describe("StandardScaler vs sklearn (standard_scaler.json)", () => {
  const fx = fixture("standard_scaler.json");
  const X = fillColumn(housingMatrix(h2000), 4, fx.input.total_bedrooms_median_used);
  it("matches mean_, scale_, var_ and transformed rows to 1e-9 relative", () => {
    const s = new StandardScaler().fit(X);
    const dm = maxRel(s.mean_!, fx.expected.mean_);
    const ds = maxRel(s.scale_!, fx.expected.scale_);
    const dv = maxRel(s.var_!, fx.expected.var_);
    const Z = s.transform(X);
    const dz = maxRel(Z.data.subarray(0, 40), fx.expected.transformed_first_5_rows.flat());
    console.log(
      `scaler: mean ${dm.toExponential(2)} scale ${ds.toExponential(2)} var ${dv.toExponential(2)} z ${dz.toExponential(2)}`,
    );
    for (const d of [dm, ds, dv, dz]) assert.ok(d <= 1e-9, String(d));
    assert.deepEqual([...s.nSamplesSeen_!], new Array(8).fill(fx.expected.n_samples_seen_));
  });
  it("skips NaN in statistics and keeps NaN (knn_imputer.json scaler)", () => {
    const kx = fixture("knn_imputer.json");
    const X300 = housingMatrix(loadHousing(300));
    const s = new StandardScaler().fit(X300);
    assert.ok(maxRel(s.mean_!, kx.input.scaler_mean_) <= 1e-9);
    assert.ok(maxRel(s.scale_!, kx.input.scaler_scale_) <= 1e-9);
    assert.equal(s.nSamplesSeen_![4], 299);
    const Z = s.transform(X300);
    assert.ok(Number.isNaN(Z.data[290 * 8 + 4]));
    // equals the fixture's scenario matrix outside the injected cells
    const XA: (number | null)[][] = kx.expected.A_total_bedrooms_only.X;
    let worst = 0;
    for (let i = 0; i < XA.length; i++)
      for (let j = 0; j < 8; j++) {
        const v = XA[i][j];
        if (v !== null) worst = Math.max(worst, Math.abs(Z.data[i * 8 + j] - v));
      }
    assert.ok(worst <= 1e-12, String(worst));
  });
  it("constant column gets scale 1; with_std=false / with_mean=false", () => {
    const X = fromRows([
      [1, 5],
      [2, 5],
      [3, 5],
    ]);
    const s = new StandardScaler().fit(X);
    assert.deepEqual([...s.scale_!].slice(1), [1]);
    assert.deepEqual(
      [...s.transform(X).data].filter((_, k) => k % 2 === 1),
      [0, 0, 0],
    );
    const t = new StandardScaler({ with_std: false }).fit(X).transform(X);
    assert.deepEqual([...t.data], [-1, 0, 0, 0, 1, 0]);
    const u = new StandardScaler({ with_mean: false }).fit(X).transform(X);
    assert.ok(Math.abs(u.data[0] - 1 / Math.sqrt(2 / 3)) < 1e-15);
  });
  it("transform then inverse ≈ identity (property), state round trip identical", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 3, maxLength: 3 }), {
          minLength: 2,
          maxLength: 30,
        }),
        (rows) => {
          const X = fromRows(rows);
          const s = new StandardScaler().fit(X);
          const back = s.inverseTransform(s.transform(X));
          for (let k = 0; k < X.data.length; k++)
            if (Math.abs(back.data[k] - X.data[k]) > 1e-9 * Math.max(1, Math.abs(X.data[k]))) return false;
          const r = StandardScaler.fromState(s.toState());
          return r.transform(X).data.every((v, k) => Object.is(v, s.transform(X).data[k]));
        },
      ),
      { numRuns: 50 },
    );
  });
  it("bad input", () => {
    assert.throws(
      () => new StandardScaler({ with_mean: true, copy: true } as never),
      /unknown parameter 'copy'.*with_mean, with_std/,
    );
    assert.throws(() => new StandardScaler().fit(fromRows([])), /0 rows/);
    assert.throws(() => new StandardScaler().fit(fromRows([[Number.NaN], [Number.NaN]])), /no observed/);
    const s = new StandardScaler().fit(fromRows([[1, 2]]));
    assert.throws(() => s.transform(fromRows([[1, 2, 3]])), /3 features.*2/);
    assert.throws(() => new StandardScaler().transform(fromRows([[1]])), /not fitted/);
  });
});

describe("OneHotEncoder vs sklearn (one_hot.json)", () => {
  const fx = fixture("one_hot.json");
  it("categories, feature names and encodings are exact", () => {
    const enc = new OneHotEncoder({ handle_unknown: "ignore" }).fit(h2000.ocean, "ocean_proximity");
    assert.deepEqual(enc.categories_, fx.expected.categories_);
    assert.deepEqual(enc.getFeatureNamesOut(), fx.expected.feature_names_out);
    const P = enc.transform(fx.expected.probe_values);
    assert.deepEqual([...P.data], fx.expected.probe_encoding.flat());
    assert.deepEqual([...enc.transform(["ISLAND"]).data], fx.expected.unseen_category_encoding);
    const R = enc.transform(h2000.ocean.slice(0, 10));
    assert.deepEqual(h2000.ocean.slice(0, 10), fx.expected.first_10_rows_values);
    assert.deepEqual([...R.data], fx.expected.first_10_rows_encoding.flat());
    assert.deepEqual(R.featureNames, fx.expected.feature_names_out);
    const back = OneHotEncoder.fromState(JSON.parse(JSON.stringify(enc.toState())));
    assert.deepEqual([...back.transform(h2000.ocean).data], [...enc.transform(h2000.ocean).data]);
  });
  it("code-point order, errors on unknown by default, rejects missing at fit", () => {
    const enc = new OneHotEncoder().fit(["b", "a", "<x", "B"]);
    assert.deepEqual(enc.categories_, ["<x", "B", "a", "b"]);
    assert.throws(() => enc.transform(["zz"]), /row 0 has unknown category "zz"/);
    assert.throws(() => new OneHotEncoder().fit(["a", null], "c"), /column 'c' row 1 is missing/);
    assert.throws(
      () => new OneHotEncoder({ handle_unknwn: "x" } as never),
      /valid parameters are: handle_unknown/,
    );
  });
});

describe("most frequent category (simple_imputers.json)", () => {
  const fx = fixture("simple_imputers.json");
  it("NEAR BAY, ties to the smallest value", () => {
    assert.equal(mostFrequentCategory(h2000.ocean), fx.expected.ocean_proximity_most_frequent);
    const counts: Record<string, number> = {};
    for (const v of h2000.ocean) counts[v] = (counts[v] ?? 0) + 1;
    assert.deepEqual(counts, fx.expected.ocean_proximity_counts);
    assert.equal(mostFrequentCategory(["b", "a", "b", "a", null]), "a");
    assert.equal(mostFrequentCategory([null]), null);
  });
});
