import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  KMeans,
  calinskiHarabaszScore,
  daviesBouldinScore,
  silhouetteSamples,
  silhouetteScore,
} from "../../src/ml/cluster.ts";
import { fromRows, matrix } from "../../src/ml/types.ts";
import { Rng } from "../../src/data/prng.ts";
import { fixture, housingMatrix, loadHousing, maxAbs } from "../helpers/housing.ts";

const Xgeo = housingMatrix(loadHousing(2000), ["latitude", "longitude"]);

describe("cluster scores vs sklearn (silhouette.json)", () => {
  const fx = fixture("silhouette.json");
  const labels: number[] = fx.input.labels;
  it("silhouette score/samples within the README tolerances", () => {
    const s = silhouetteSamples(Xgeo, labels);
    const score = silhouetteScore(Xgeo, labels);
    const dS = Math.abs(score - fx.expected.silhouette_score);
    const dSx = Math.abs(score - fx.checks.silhouette_score_exact_distances);
    const dSamp = maxAbs(s, fx.expected.silhouette_samples_all);
    const dSampX = maxAbs(s, fx.checks.silhouette_samples_exact_distances_all);
    console.log(
      `silhouette: score vs sklearn ${dS.toExponential(2)}, vs exact ${dSx.toExponential(2)}; samples vs sklearn ${dSamp.toExponential(2)}, vs exact ${dSampX.toExponential(2)}`,
    );
    assert.ok(dS <= 1e-9 && dSamp <= 1e-7 && dSx <= 1e-12 && dSampX <= 1e-12);
  });
  it("Calinski–Harabasz (1e-12 rel) and Davies–Bouldin (1e-11 rel)", () => {
    const ch = calinskiHarabaszScore(Xgeo, labels);
    const db = daviesBouldinScore(Xgeo, labels);
    const dch = Math.abs(ch - fx.expected.calinski_harabasz_score) / fx.expected.calinski_harabasz_score;
    const ddb = Math.abs(db - fx.expected.davies_bouldin_score) / fx.expected.davies_bouldin_score;
    console.log(`CH rel ${dch.toExponential(2)} DB rel ${ddb.toExponential(2)}`);
    assert.ok(dch <= 1e-12 && ddb <= 1e-11);
  });
  it("sampled silhouette is seeded and close to the full score", () => {
    const a = silhouetteScore(Xgeo, labels, { sampleSize: 1000, seed: 7 });
    const b = silhouetteScore(Xgeo, labels, { sampleSize: 1000, seed: 7 });
    const c = silhouetteScore(Xgeo, labels, { sampleSize: 1000, seed: 8 });
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.ok(Math.abs(a - fx.expected.silhouette_score) < 0.05);
  });
  it("singletons score 0; label count is validated", () => {
    const X = fromRows([[0], [1], [10], [11], [50]]);
    const s = silhouetteSamples(X, [0, 0, 1, 1, 2]);
    assert.equal(s[4], 0);
    assert.throws(() => silhouetteScore(X, [0, 0, 0, 0, 0]), /number of labels is 1/);
    assert.throws(() => silhouetteScore(X, [0, 1]), /length mismatch/);
  });
  it("is fast on 16k rows", () => {
    const rng = new Rng(1);
    const n = 16000;
    const d = new Float64Array(n * 2).map(() => rng.normal());
    const lab = Int32Array.from({ length: n }, (_, i) => i % 10);
    const t0 = performance.now();
    const s = silhouetteScore(matrix(n, 2, d), lab);
    const ms = performance.now() - t0;
    console.log(`silhouette 16k rows: ${ms.toFixed(0)} ms`);
    assert.ok(Number.isFinite(s) && ms < 15000);
  });
});

describe("KMeans vs sklearn (kmeans.json)", () => {
  const fx = fixture("kmeans.json");
  for (const e of fx.expected) {
    it(`k=${e.k}: inertia <= 1.01 × sklearn${[2, 3, 5].includes(e.k) ? " (two-sided)" : ""}`, () => {
      const km = new KMeans({ n_clusters: e.k, n_init: 10, random_state: 42 }).fit(Xgeo);
      const ratio = km.inertia_ / e.inertia_;
      console.log(
        `kmeans k=${e.k}: inertia ${km.inertia_} sklearn ${e.inertia_} ratio ${ratio.toFixed(9)} n_iter ${km.nIter_}`,
      );
      assert.ok(ratio <= 1.01, String(ratio));
      if ([2, 3, 5].includes(e.k)) assert.ok(ratio >= 0.99);
      // inertia_ is the sum of squared distances to the assigned centres, labels = predict
      const lab = km.predict(Xgeo);
      assert.deepEqual([...lab], [...km.labels_!]);
      const D = km.transform(Xgeo);
      let s = 0;
      for (let i = 0; i < Xgeo.rows; i++) s += D.data[i * e.k + lab[i]] ** 2;
      assert.ok(Math.abs(s - km.inertia_) < 1e-9 * km.inertia_);
      if (e.k === 5) {
        const cmp = maxAbs(
          Array.from({ length: 5 }, (_, c) => [km.clusterCenters_![2 * c], km.clusterCenters_![2 * c + 1]])
            .sort((a, b) => a[0] - b[0] || a[1] - b[1])
            .flat(),
          e.cluster_centers_sorted.flat(),
        );
        console.log(`kmeans k=5 sorted centres max abs diff ${cmp.toExponential(2)}`);
        assert.ok(cmp < 1e-6);
      }
    });
  }
  it("is deterministic per seed; random init works; state round trip predicts identically", () => {
    const a = new KMeans({ n_clusters: 4, random_state: 3, n_init: 2 }).fit(Xgeo);
    const b = new KMeans({ n_clusters: 4, random_state: 3, n_init: 2 }).fit(Xgeo);
    assert.deepEqual([...a.clusterCenters_!], [...b.clusterCenters_!]);
    const r = new KMeans({ n_clusters: 4, init: "random", random_state: 1 }).fit(Xgeo);
    assert.ok(r.inertia_ > 0);
    const back = KMeans.fromState(a.toState());
    assert.deepEqual([...back.predict(Xgeo)], [...a.predict(Xgeo)]);
    assert.deepEqual([...back.transform(Xgeo).data], [...a.transform(Xgeo).data]);
  });
  it("bad input", () => {
    assert.throws(
      () =>
        new KMeans().fit(
          fromRows([
            [1, Number.NaN],
            [2, 3],
          ]),
        ),
      /row 0, column 1.*impute/,
    );
    assert.throws(
      () => new KMeans({ n_clusters: 3 }).fit(fromRows([[1], [2]])),
      /n_samples=2 should be >= n_clusters=3/,
    );
    assert.throws(
      () => new KMeans({ k: 3 } as never),
      /unknown parameter 'k'; valid parameters are: n_clusters, init/,
    );
    assert.throws(() => new KMeans().fit(matrix(0, 2)), /0 rows/);
    assert.throws(() => new KMeans().predict(Xgeo), /not fitted/);
  });
});
