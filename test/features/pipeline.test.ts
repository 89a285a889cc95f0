import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contractTypes, loadContract } from "../../src/data/contract.ts";
import { readTable } from "../../src/data/io.ts";
import { Rng } from "../../src/data/prng.ts";
import { type FeatureOptions, FeaturePipeline } from "../../src/features/pipeline.ts";
import { encodeModel } from "../../src/ml/codec.ts";

const contract = loadContract("config/datasets/california_housing.yaml");
const frame = (await readTable("data/california_housing.csv", { types: contractTypes(contract) })).frame;
const idx = new Rng(11).permutation(frame.nRows);
const train = frame.take(idx.subarray(0, 3000));
const fresh = frame.take(idx.subarray(3000, 3400));
const y = Float64Array.from(train.numeric("median_house_value"), (v) => Math.log1p(v));

const options = (imputer: "median" | "knn", scale: boolean): FeatureOptions => ({
  imputer: { strategy: imputer, knnK: 5, iterativeMaxIter: 5, seed: 3 },
  ratios: true,
  oneHot: true,
  geo: { k: 6, gamma: 0.5, seed: 4, nInit: 3 },
  scale,
  neighbors: { k: 10 },
});

describe("FeaturePipeline.withScaling", () => {
  for (const imputer of ["median", "knn"] as const) {
    it(`equals a scale: true pipeline fitted directly (${imputer} imputer): training features, state and new rows`, () => {
      const raw = new FeaturePipeline(contract, options(imputer, false));
      const Xraw = raw.fitTransform(train, y);
      const direct = new FeaturePipeline(contract, options(imputer, true));
      const Xdirect = direct.fitTransform(train, y);
      const { pipeline, X } = raw.withScaling(Xraw);
      assert.deepEqual(X.featureNames, Xdirect.featureNames);
      assert.ok(
        X.data.every((v, i) => Object.is(v, Xdirect.data[i])),
        "scaled training features differ",
      );
      assert.deepEqual(
        Buffer.from(encodeModel(pipeline.toState())),
        Buffer.from(encodeModel(direct.toState())),
      );
      const a = pipeline.transform(fresh);
      const b = direct.transform(fresh);
      assert.ok(
        a.data.every((v, i) => Object.is(v, b.data[i])),
        "new-row features differ",
      );
      // the raw pipeline is left unscaled
      const r = raw.transform(fresh);
      assert.notDeepEqual([...r.data.subarray(0, 8)], [...a.data.subarray(0, 8)]);
      assert.throws(() => pipeline.withScaling(X), /unscaled/);
    });
  }
});
