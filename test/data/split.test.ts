import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import fc from "fast-check";
import { loadContract } from "../../src/data/contract.ts";
import { readCsv } from "../../src/data/csv.ts";
import {
  binLabels,
  kFold,
  type Split,
  stratifiedKFold,
  stratifiedSplit,
  testCount,
  trainTestSplit,
} from "../../src/data/split.ts";

function assertPartition(s: Split, n: number): void {
  const seen = new Uint8Array(n);
  for (const i of s.train) seen[i]++;
  for (const i of s.test) seen[i]++;
  assert.equal(s.train.length + s.test.length, n);
  assert.ok(
    seen.every((x) => x === 1),
    "every row exactly once in train or test",
  );
}

function shares(labels: Int32Array, idx: ArrayLike<number>): Map<number, number> {
  const m = new Map<number, number>();
  for (let k = 0; k < idx.length; k++) m.set(labels[idx[k]], (m.get(labels[idx[k]]) ?? 0) + 1);
  for (const [l, c] of m) m.set(l, c / idx.length);
  return m;
}

let income: Float64Array;
let strata: Int32Array;
before(async () => {
  const contract = loadContract("config/datasets/california_housing.yaml");
  const r = await readCsv("data/california_housing.csv", { columns: ["median_income"] });
  income = r.frame.numeric("median_income");
  strata = binLabels(income, contract.stratify!.bins, { column: "median_income" });
});

describe("trainTestSplit", () => {
  it("sizes like scikit-learn (test = ceil(fraction * n)), partitions, is deterministic per seed", () => {
    const s = trainTestSplit(20640, 0.2, 42);
    assert.equal(s.test.length, 4128);
    assert.equal(s.train.length, 16512);
    assertPartition(s, 20640);
    assert.deepEqual(trainTestSplit(20640, 0.2, 42), s);
    assert.notDeepEqual(trainTestSplit(20640, 0.2, 43).test, s.test);
    assert.equal(trainTestSplit(10, 0.25, 1).test.length, 3);
    assert.equal(trainTestSplit(10, 4, 1).test.length, 4);
  });

  it("rejects bad sizes", () => {
    assert.throws(() => testCount(10, 0), /testSize must be a fraction/);
    assert.throws(() => testCount(10, 1.5), /testSize must be a fraction/);
    assert.throws(() => testCount(10, 10), /leaves no training rows/);
    assert.throws(() => testCount(1, 0.5), /at least 2 rows/);
  });

  it("property: always a partition with the requested test size", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 500 }),
        fc.double({ min: 0.01, max: 0.9, noNaN: true }),
        fc.integer(),
        (n, t, seed) => {
          const k = Math.ceil(t * n);
          fc.pre(k < n);
          const s = trainTestSplit(n, t, seed);
          assert.equal(s.test.length, k);
          assertPartition(s, n);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("binLabels (income category)", () => {
  it("bins right-closed like pd.cut: (0,1.5] -> 1 ... (6,inf) -> 5", () => {
    const bins = [0, 1.5, 3, 4.5, 6, Number.POSITIVE_INFINITY];
    assert.deepEqual(
      Array.from(binLabels([0.1, 1.5, 1.5001, 3, 4.5, 6, 6.01, 15], bins)),
      [1, 1, 2, 2, 3, 4, 5, 5],
    );
    assert.throws(
      () => binLabels([0], bins, { column: "median_income" }),
      /value 0 in column 'median_income' at row 1 is outside the bins \(0, Infinity\]/,
    );
    assert.throws(() => binLabels([1, Number.NaN], bins), /missing value at row 2/);
    assert.deepEqual(Array.from(binLabels([-1, 0, 2], [0, 1, 2], { outOfRange: "clip" })), [1, 1, 2]);
    assert.deepEqual(Array.from(binLabels([5], [0, 1, 2], { outOfRange: "clip" })), [2]);
  });

  it("gives Géron's income-category counts on the real data", () => {
    const counts = [0, 0, 0, 0, 0, 0];
    for (const l of strata) counts[l]++;
    // pd.cut(housing.median_income, [0,1.5,3,4.5,6,inf], labels=[1..5]).value_counts()
    assert.deepEqual(counts.slice(1), [822, 6581, 7236, 3639, 2362]);
  });
});

describe("stratifiedSplit", () => {
  it("keeps each stratum share within 1 percentage point in train and test on the real data", () => {
    const s = stratifiedSplit(strata, 0.2, 42);
    assertPartition(s, strata.length);
    assert.equal(s.test.length, 4128);
    const all = shares(
      strata,
      Uint32Array.from({ length: strata.length }, (_, i) => i),
    );
    for (const part of [s.train, s.test]) {
      const sh = shares(strata, part);
      for (const [l, p] of all)
        assert.ok(Math.abs((sh.get(l) ?? 0) - p) < 0.01, `stratum ${l}: ${sh.get(l)} vs ${p}`);
    }
    assert.deepEqual(stratifiedSplit(strata, 0.2, 42), s);
    assert.notDeepEqual(stratifiedSplit(strata, 0.2, 7).test, s.test);
  });

  it("accepts string labels and tiny strata", () => {
    const labels = ["a", "a", "a", "a", "b", "b", "b", "b", "c", "c"];
    const s = stratifiedSplit(labels, 0.5, 3);
    assertPartition(s, 10);
    const testLabels = Array.from(s.test, (i) => labels[i]).sort();
    assert.deepEqual(testLabels, ["a", "a", "b", "b", "c"]);
  });
});

describe("kFold / stratifiedKFold", () => {
  it("kFold covers every row exactly once as test, with scikit-learn fold sizes", () => {
    for (const shuffle of [false, true]) {
      const folds = kFold(23, 5, { shuffle, seed: 1 });
      assert.deepEqual(
        folds.map((f) => f.test.length),
        [5, 5, 5, 4, 4],
      );
      const count = new Uint8Array(23);
      for (const f of folds) {
        assertPartition(f, 23);
        for (const i of f.test) count[i]++;
      }
      assert.ok(count.every((c) => c === 1));
    }
    assert.deepEqual(Array.from(kFold(6, 3)[1].test), [2, 3]);
    assert.deepEqual(kFold(100, 4, { shuffle: true, seed: 9 }), kFold(100, 4, { shuffle: true, seed: 9 }));
    assert.notDeepEqual(
      kFold(100, 4, { shuffle: true, seed: 9 })[0].test,
      kFold(100, 4, { shuffle: true, seed: 10 })[0].test,
    );
    assert.throws(() => kFold(3, 5), /larger than the number of rows/);
    assert.throws(() => kFold(10, 1), /k must be an integer >= 2/);
    assert.throws(() => kFold(10, 2, { shuffle: true }), /explicit seed/);
  });

  it("stratifiedKFold covers every row once and balances strata across folds on the real data", () => {
    const folds = stratifiedKFold(strata, 5, 42);
    const count = new Uint8Array(strata.length);
    const all = shares(
      strata,
      Uint32Array.from({ length: strata.length }, (_, i) => i),
    );
    for (const f of folds) {
      assertPartition(f, strata.length);
      for (const i of f.test) count[i]++;
      assert.ok(Math.abs(f.test.length - strata.length / 5) <= 1);
      const sh = shares(strata, f.test);
      for (const [l, p] of all) assert.ok(Math.abs((sh.get(l) ?? 0) - p) < 0.01);
    }
    assert.ok(count.every((c) => c === 1));
    assert.deepEqual(stratifiedKFold(strata, 5, 42), folds);
  });
});
