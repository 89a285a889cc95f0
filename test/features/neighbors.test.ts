import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rng } from "../../src/data/prng.ts";
import { contractTypes, loadContract } from "../../src/data/contract.ts";
import { readTable } from "../../src/data/io.ts";
import { GeoNeighborIndex } from "../../src/features/neighbors.ts";

function brute(
  lat: Float64Array,
  lon: Float64Array,
  y: Float64Array,
  k: number,
  qa: number,
  qo: number,
  exclude: number,
): number {
  const d = Array.from(lat, (_, i) => ({ i, d: (lat[i] - qa) ** 2 + (lon[i] - qo) ** 2 }))
    .filter((e) => e.i !== exclude)
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, k);
  return d.reduce((s, e) => s + y[e.i], 0) / k;
}

describe("GeoNeighborIndex (spatial-lag feature)", () => {
  it("equals a brute-force k-nearest-neighbour mean, with and without leave-one-out, inside and outside the grid", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 12 }), (seed, k) => {
        const r = new Rng(seed);
        const n = 300;
        const lat = Float64Array.from({ length: n }, () => 32 + r.next() * 10);
        const lon = Float64Array.from({ length: n }, () => -124 + r.next() * 10);
        const y = Float64Array.from({ length: n }, () => r.next() * 100);
        const idx = new GeoNeighborIndex(lat, lon, y, k);
        for (let q = 0; q < 20; q++) {
          const i = r.int(n);
          const a = idx.query(lat[i], lon[i], i),
            b = brute(lat, lon, y, k, lat[i], lon[i], i);
          if (!Object.is(a, b)) return false;
          const qa = 30 + r.next() * 14,
            qo = -126 + r.next() * 14; // may fall outside the data's box
          if (!Object.is(idx.query(qa, qo), brute(lat, lon, y, k, qa, qo, -1))) return false;
        }
        return true;
      }),
      { numRuns: 40 },
    );
  });

  it("breaks distance ties by the lower row index, bit for bit like a brute-force scan (duplicated and gridded points)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 20 }), (seed, k) => {
        const r = new Rng(seed);
        const n = 400;
        // coordinates on a coarse lattice: many exact duplicates and equal distances
        const lat = Float64Array.from({ length: n }, () => 34 + r.int(6) * 0.25);
        const lon = Float64Array.from({ length: n }, () => -118 + r.int(6) * 0.25);
        const y = Float64Array.from({ length: n }, () => r.next() * 1000);
        const idx = new GeoNeighborIndex(lat, lon, y, k);
        for (let q = 0; q < 25; q++) {
          const i = r.int(n);
          if (!Object.is(idx.query(lat[i], lon[i], i), brute(lat, lon, y, k, lat[i], lon[i], i)))
            return false;
          const qa = 33.5 + r.int(9) * 0.125,
            qo = -118.5 + r.int(9) * 0.125;
          if (!Object.is(idx.query(qa, qo), brute(lat, lon, y, k, qa, qo, -1))) return false;
        }
        return true;
      }),
      { numRuns: 40 },
    );
  });

  it("equals brute force on the real California coordinates (leave-one-out on every row of a 2,500-row sample)", async () => {
    const contract = loadContract("config/datasets/california_housing.yaml");
    const f = (await readTable("data/california_housing.csv", { types: contractTypes(contract) })).frame;
    const idx = new Rng(7).permutation(f.nRows).subarray(0, 2500);
    const la = Float64Array.from(idx, (i) => f.numeric("latitude")[i]);
    const lo = Float64Array.from(idx, (i) => f.numeric("longitude")[i]);
    const y = Float64Array.from(idx, (i) => Math.log1p(f.numeric("median_house_value")[i]));
    const index = new GeoNeighborIndex(la, lo, y, 10);
    let bad = 0;
    for (let i = 0; i < la.length; i++)
      if (!Object.is(index.query(la[i], lo[i], i), brute(la, lo, y, 10, la[i], lo[i], i))) bad++;
    assert.equal(bad, 0, `${bad} of ${la.length} rows differ from brute force`);
  });

  it("rejects bad input", () => {
    const a = new Float64Array([1, 2, 3]);
    assert.throws(() => new GeoNeighborIndex(a, a, a, 3), /k must be/);
    assert.throws(() => new GeoNeighborIndex(a, new Float64Array([1, Number.NaN, 3]), a, 1), /non-finite/);
    assert.ok(Number.isNaN(new GeoNeighborIndex(a, a, a, 1).query(Number.NaN, 1)));
  });
});
