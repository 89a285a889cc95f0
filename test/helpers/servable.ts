/**
 * A deterministic ServableModel for serving tests: price = intercept + slope·median_income, interval ±width·price.
 * Encoded as JSON so file/URL sources can be exercised end to end.
 */
import { loadContract } from "../../src/data/contract.ts";
import type { DatasetContract } from "../../src/data/contract-types.ts";
import type { Frame } from "../../src/data/frame.ts";
import type { ServableModel } from "../../src/serving/types.ts";

export const CONTRACT_PATH = "config/datasets/california_housing.yaml";
export const housingContract: DatasetContract = loadContract(CONTRACT_PATH);

export const SAMPLE = {
  longitude: -122.23,
  latitude: 37.88,
  housing_median_age: 41.0,
  total_rooms: 880.0,
  total_bedrooms: 129.0,
  population: 322.0,
  households: 126.0,
  median_income: 8.3252,
  ocean_proximity: "NEAR BAY",
};

export interface TestServableSpec {
  format?: "test-servable/1";
  name?: string;
  version?: string;
  intercept?: number;
  slope?: number;
  width?: number;
  /** Recorded example predictions are scaled by this (≠1 makes the warm-up check fail). */
  recordSkew?: number;
  /** Busy-wait per predict call (ms) — to make requests measurably long. */
  predictDelayMs?: number;
  contract?: DatasetContract;
  info?: ServableModel["info"];
}

export function makeTestServable(spec: TestServableSpec = {}): ServableModel {
  const intercept = spec.intercept ?? 50_000;
  const slope = spec.slope ?? 40_000;
  const width = spec.width ?? 0.1;
  const delay = spec.predictDelayMs ?? 0;
  const inputExample = [SAMPLE, { ...SAMPLE, median_income: 1.5, ocean_proximity: "INLAND" }];
  const skew = spec.recordSkew ?? 1;
  return {
    name: spec.name ?? "housing_price_model",
    version: spec.version ?? "1",
    contract: spec.contract ?? housingContract,
    info: spec.info ?? {
      alias: "production",
      runId: "run-test",
      trainedAt: "2026-11-01T00:00:00.000Z",
      dataHash: "sha256:test",
      metrics: { rmse: 1234.5, r2: 0.8 },
      modelKind: "test-linear",
    },
    inputExample,
    examplePredictions: inputExample.map((r) => (intercept + slope * r.median_income) * skew),
    predict(frame: Frame) {
      if (delay > 0) {
        const until = performance.now() + delay;
        while (performance.now() < until) {
          // busy wait
        }
      }
      const inc = frame.numeric("median_income");
      const n = frame.nRows;
      const predictions = new Float64Array(n);
      const lower = new Float64Array(n);
      const upper = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const p = intercept + slope * inc[i];
        predictions[i] = p;
        lower[i] = p * (1 - width);
        upper[i] = p * (1 + width);
      }
      return { predictions, lower, upper, level: 0.9 };
    },
  };
}

export function encodeTestServable(spec: TestServableSpec = {}): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ ...spec, format: "test-servable/1" }));
}

export function decodeTestServable(bytes: Uint8Array, origin = "<bytes>"): ServableModel {
  let doc: TestServableSpec;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${origin}: not a test servable (invalid JSON: ${(e as Error).message})`);
  }
  if (doc?.format !== "test-servable/1") throw new Error(`${origin}: not a test servable (format field)`);
  return makeTestServable(doc);
}
