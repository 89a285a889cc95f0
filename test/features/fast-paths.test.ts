/**
 * The serving fast paths give the general paths' results bit for bit: the KNN imputer's "nothing to impute" path,
 * the FeaturePipeline's one-hot slots (cached per levels array) and its inline ratio features.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { contractTypes, loadContract } from "../../src/data/contract.ts";
import { type CategoricalColumn, categoricalColumn, Frame, numericColumn } from "../../src/data/frame.ts";
import { readTable } from "../../src/data/io.ts";
import { Rng } from "../../src/data/prng.ts";
import { NumericImputer } from "../../src/features/impute.ts";
import { canonicalCategory, type FeatureOptions, FeaturePipeline } from "../../src/features/pipeline.ts";
import { OneHotEncoder } from "../../src/ml/preprocessing.ts";
import { type BundlePart, packBundle, unpackBundle } from "../../src/ml/codec.ts";
import { type Matrix, type ModelState, matrix } from "../../src/ml/types.ts";

const contract = loadContract("config/datasets/california_housing.yaml");
const frame = (await readTable("data/california_housing.csv", { types: contractTypes(contract) })).frame;
const idx = new Rng(5).permutation(frame.nRows);
// every category in the training rows (ISLAND is rare), so that the general-path twin below never meets an unknown
const oceanCodes = frame.categorical("ocean_proximity");
const island = oceanCodes.levels.indexOf("ISLAND");
const islandRows = Array.from(oceanCodes.codes.keys()).filter((i) => oceanCodes.codes[i] === island);
const trainIdx = [...idx.subarray(0, 1500)].filter((i) => oceanCodes.codes[i] !== island);
const train = frame.take([...trainIdx, ...islandRows]);
const fresh = frame.take(idx.subarray(1500, 1700));
const y = Float64Array.from(train.numeric("median_house_value"), (v) => Math.log1p(v));
const numeric = contract.columns.filter((c) => c.type !== "categorical" && c.name !== contract.target);
const numNames = numeric.map((c) => c.name);

function sameBits(a: Matrix, b: Matrix, what: string): void {
  assert.equal(a.rows, b.rows, `${what}: rows`);
  assert.equal(a.cols, b.cols, `${what}: cols`);
  assert.deepEqual(a.featureNames, b.featureNames, `${what}: feature names`);
  for (let i = 0; i < a.data.length; i++)
    if (!Object.is(a.data[i], b.data[i]))
      assert.fail(
        `${what}: cell ${i} (row ${Math.floor(i / a.cols)}) is ${a.data[i]}, expected ${b.data[i]}`,
      );
}

function rowsOf(X: Matrix, from: number, to: number): Matrix {
  return matrix(to - from, X.cols, X.data.slice(from * X.cols, to * X.cols), X.featureNames);
}

describe("NumericImputer (knn): rows without missing values", () => {
  const imputer = new NumericImputer({ strategy: "knn", knnK: 5 }).fit(train.toMatrix(numNames));
  const complete = fresh.toMatrix(numNames);
  for (let i = 0; i < complete.data.length; i++) if (Number.isNaN(complete.data[i])) complete.data[i] = 100; // every row complete
  const gap = (X: Matrix) => {
    // one extra row with a missing value sends the whole batch through the general (scale → KNN → unscale) path
    const d = new Float64Array(X.data.length + X.cols);
    d.set(X.data);
    d.set(X.data.subarray(0, X.cols), X.data.length);
    d[X.data.length + 4] = Number.NaN;
    return matrix(X.rows + 1, X.cols, d, X.featureNames);
  };

  it("equal the general path's result bit for bit, and own their data", () => {
    const fast = imputer.transform(complete);
    const general = imputer.transform(gap(complete));
    sameBits(fast, rowsOf(general, 0, complete.rows), "fast vs general");
    sameBits(fast, complete, "fast vs input");
    assert.notEqual(fast.data, complete.data);
    fast.data[0] = -1;
    assert.notEqual(complete.data[0], -1);
  });

  it("equal the general path for any complete rows (property)", () => {
    const lo = numeric.map((c) => (c.type !== "categorical" ? (c.min ?? -1e4) : 0));
    const row = fc.tuple(...lo.map((l) => fc.double({ min: Math.max(l, -1e5), max: 1e5, noNaN: true })));
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 4 }), (rows) => {
        const X = matrix(rows.length, numNames.length, Float64Array.from(rows.flat()), numNames);
        sameBits(imputer.transform(X), rowsOf(imputer.transform(gap(X)), 0, rows.length), "property");
      }),
      { numRuns: 60 },
    );
  });

  it("reject what the general path rejects, with the same errors", () => {
    const wrongWidth = matrix(1, 3, Float64Array.of(1, 2, 3), numNames.slice(0, 3));
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as Error).message;
      }
      assert.fail("expected an error");
    };
    const general = err(() =>
      imputer.transform(matrix(1, 3, Float64Array.of(1, Number.NaN, 3), wrongWidth.featureNames)),
    );
    assert.equal(
      err(() => imputer.transform(wrongWidth)),
      general,
    );
    assert.match(general, /features/);
    const renamed = matrix(complete.rows, complete.cols, complete.data, [...numNames].reverse());
    assert.equal(
      err(() => imputer.transform(renamed)),
      err(() => imputer.transform(gap(renamed))),
    );
    const inf = matrix(1, numNames.length, complete.data.slice(0, numNames.length), numNames);
    inf.data[2] = Number.POSITIVE_INFINITY;
    assert.match(
      err(() => imputer.transform(inf)),
      /KNNImputer: X has Infinity at row 0, column 2/,
    );
    assert.throws(
      () => imputer.transform(matrix(0, numNames.length, new Float64Array(0), numNames)),
      /0 rows/,
    );
  });
});

const options: FeatureOptions = {
  imputer: { strategy: "median" },
  ratios: true,
  oneHot: true,
  geo: { k: 4, gamma: 0.5, seed: 4, nInit: 2 },
  scale: false,
  neighbors: null,
};

/** The same fitted pipeline with its one-hot encoders set to handle_unknown 'error': the general encoder path. */
function generalPathTwin(p: FeaturePipeline): FeaturePipeline {
  const parts = unpackBundle(p.toState());
  const out: Record<string, BundlePart> = {};
  for (const [name, part] of Object.entries(parts)) {
    out[name] = name.startsWith("onehot_")
      ? { ...(part as ModelState), params: { ...(part as ModelState).params, handle_unknown: "error" } }
      : part;
  }
  return FeaturePipeline.fromState(packBundle(out, { component: "FeaturePipeline" }));
}

/** `base`'s rows with ocean_proximity spelled in other ways, unknown, missing and (for one row) a zero denominator. */
function variedFrame(base: Frame, rng: Rng): Frame {
  const spellings = (s: string) => [s, s.toLowerCase(), `  ${s.toLowerCase()} `, "MARS", null];
  const cat = base.categorical("ocean_proximity");
  const strings = Array.from(cat.codes, (c) => {
    const v = c < 0 ? null : cat.levels[c];
    return v === null ? null : spellings(v)[rng.int(5)];
  });
  const records = Array.from({ length: base.nRows }, (_, i) => {
    const r: Record<string, unknown> = base.row(i);
    r.ocean_proximity = strings[i];
    return r;
  });
  records[0].households = 0;
  records[1].total_rooms = null;
  return Frame.fromRecords(
    records,
    contract.columns
      .filter((c) => c.name !== contract.target)
      .map((c) => ({ name: c.name, kind: c.type === "categorical" ? "categorical" : "numeric" })),
  );
}

describe("FeaturePipeline one-hot slots and inline ratios", () => {
  const p = new FeaturePipeline(contract, options);
  const Xtrain = p.fitTransform(train, y);
  const general = generalPathTwin(p);

  it("transform equals fitTransform (precomputed ratios) on the training rows, bit for bit", () => {
    sameBits(p.transform(train), Xtrain, "transform vs fitTransform");
  });

  it("transform equals fitTransform with zero and missing ratio denominators", () => {
    const f = variedFrame(train, new Rng(2)); // households 0 in row 0, total_rooms missing in row 1
    const q = new FeaturePipeline(contract, options);
    const X = q.fitTransform(f, y);
    sameBits(q.transform(f), X, "transform vs fitTransform");
    const j = q.featureNames.indexOf("rooms_per_household");
    assert.ok(Number.isFinite(X.data[j]) && X.data[j] > 0, "row 0's ratio is the training median");
  });

  it("equal the encoders' general path for canonical, re-cased, unknown and missing categories", () => {
    const rng = new Rng(9);
    for (let k = 0; k < 3; k++) {
      const f = variedFrame(fresh, rng);
      sameBits(p.transform(f), general.transform(f), `frame ${k}`);
    }
  });

  it("never carry one frame's categories into the next (shared levels array, changed levels)", () => {
    const levels = ["<1H OCEAN", "INLAND", "ISLAND", "NEAR BAY", "NEAR OCEAN"];
    const base = fresh.slice(0, 6);
    const withCodes = (codes: number[], lv: readonly string[]) =>
      new Frame(
        base.columns.map((c) =>
          c.name === "ocean_proximity" ? categoricalColumn(c.name, Int32Array.from(codes), lv) : c,
        ),
        base.nRows,
      );
    const a = withCodes([0, 1, 2, 3, 4, -1], levels);
    const b = withCodes([4, 3, -1, 1, 0, 2], levels);
    const first = p.transform(a);
    sameBits(p.transform(b), general.transform(b), "second frame, same levels array");
    sameBits(p.transform(a), first, "first frame again");
    // the same levels array changed in place: slots must follow its new content
    const mutable = levels.slice();
    const c1 = withCodes([0, 1, 0, 1, -1, 0], mutable);
    sameBits(p.transform(c1), general.transform(c1), "before change");
    mutable[0] = "island";
    mutable[1] = "Atlantis";
    const c2 = withCodes([0, 1, 0, 1, -1, 0], mutable);
    sameBits(p.transform(c2), general.transform(c2), "after change");
    const oneHot = p.featureNames.indexOf("ocean_proximity_ISLAND");
    assert.ok(oneHot >= 0);
    assert.equal(p.transform(c2).data[oneHot], 1, "row 0 is ISLAND after the change");
    // codes outside the levels read as missing, as the general path reads them
    const odd = withCodes([7, -3, 0, 1, 2, 3], levels);
    sameBits(p.transform(odd), general.transform(odd), "codes outside the levels");
  });

  it("equal OneHotEncoder.transform of the filled canonical strings when a category was never seen in training", () => {
    const noIsland = new FeaturePipeline(contract, options);
    noIsland.fit(frame.take(trainIdx));
    const parts = unpackBundle(noIsland.toState());
    const enc = OneHotEncoder.fromState(parts.onehot_0 as ModelState);
    assert.ok(!enc.categories_?.includes("ISLAND"));
    const fill = (parts.spec as { json: { catFill: string[] } }).json.catFill[0];
    const spec = contract.columns.find((c) => c.name === "ocean_proximity")!;
    const f = variedFrame(fresh, new Rng(4));
    const col = f.categorical("ocean_proximity");
    const strings = Array.from(
      col.codes,
      (c) => (c < 0 ? null : canonicalCategory(spec, col.levels[c])) ?? fill,
    );
    strings[2] = "ISLAND"; // a contract category the encoder never saw: all zeros
    const codes = Int32Array.from(col.codes);
    codes[2] = col.levels.indexOf("ISLAND") >= 0 ? col.levels.indexOf("ISLAND") : col.levels.length;
    const levels = codes[2] === col.levels.length ? [...col.levels, "ISLAND"] : col.levels;
    const g = new Frame(
      f.columns.map((c) => (c.name === "ocean_proximity" ? categoricalColumn(c.name, codes, levels) : c)),
    );
    const expected = enc.transform(strings);
    const X = noIsland.transform(g);
    const off = noIsland.featureNames.indexOf(expected.featureNames![0]);
    assert.ok(off > 0);
    for (let i = 0; i < X.rows; i++)
      for (let j = 0; j < expected.cols; j++)
        assert.equal(
          X.data[i * X.cols + off + j],
          expected.data[i * expected.cols + j],
          `row ${i} one-hot ${j}`,
        );
    assert.ok(expected.data.subarray(2 * expected.cols, 3 * expected.cols).every((v) => v === 0));
  });

  it("a pipeline read back from its state transforms identically", () => {
    const again = FeaturePipeline.fromState(p.toState());
    const f = variedFrame(fresh, new Rng(3));
    sameBits(again.transform(f), p.transform(f), "fromState");
  });

  it("reports a missing input column as before", () => {
    const noCat = fresh.drop(["ocean_proximity", "population"]);
    assert.throws(() => p.transform(noCat), {
      message: "FeaturePipeline: input is missing column(s) population, ocean_proximity",
    });
    const numericCat = new Frame([
      ...fresh.columns.filter((c) => c.name !== "ocean_proximity"),
      numericColumn("ocean_proximity", new Float64Array(fresh.nRows)),
    ]);
    assert.throws(() => p.transform(numericCat), /column 'ocean_proximity' is numeric, expected categorical/);
    assert.equal((fresh.col("ocean_proximity") as CategoricalColumn).kind, "categorical");
  });
});
