/**
 * BinnedDataset.fromMatrix (radix-sorted float32 keys, bins assigned from the sorted runs) must equal the plain
 * definition bit for bit: float32 values sorted numerically (-0 before +0), merged when within 1e-7, one bin per
 * group up to maxBins else quantile bins, and each value's code = the first bin whose hi >= value, NaN = nBins.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Rng } from "../../src/data/prng.ts";
import { BinnedDataset, clearBinningCache } from "../../src/ml/tree/binning.ts";
import { matrix } from "../../src/ml/types.ts";

function reference(data: Float64Array, n: number, p: number, maxBins: number) {
  const codes: number[] = new Array(n * p).fill(0);
  const nBins: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  const exact: number[] = [];
  for (let f = 0; f < p; f++) {
    const vals: number[] = [];
    for (let i = 0; i < n; i++) if (!Number.isNaN(data[i * p + f])) vals.push(Math.fround(data[i * p + f]));
    const sorted = Float64Array.from(vals).sort();
    const gLo: number[] = [];
    const gHi: number[] = [];
    const gCnt: number[] = [];
    for (const v of sorted) {
      const g = gHi.length - 1;
      if (g >= 0 && v <= gHi[g] + 1e-7) {
        gHi[g] = v;
        gCnt[g]++;
      } else {
        gLo.push(v);
        gHi.push(v);
        gCnt.push(1);
      }
    }
    let bl = gLo;
    let bh = gHi;
    exact.push(gLo.length <= maxBins ? 1 : 0);
    if (gLo.length > maxBins) {
      bl = [];
      bh = [];
      let cum = 0;
      let open = false;
      for (let g = 0; g < gLo.length; g++) {
        if (!open) {
          bl.push(gLo[g]);
          open = true;
        }
        cum += gCnt[g];
        if (cum >= (bl.length * sorted.length) / maxBins || g === gLo.length - 1) {
          bh.push(gHi[g]);
          open = false;
        }
      }
    }
    nBins.push(bl.length);
    lo.push(...bl);
    hi.push(...bh);
    for (let i = 0; i < n; i++) {
      const x = data[i * p + f];
      if (Number.isNaN(x)) codes[f * n + i] = bl.length;
      else {
        const v = Math.fround(x);
        let b = 0;
        while (bh[b] < v) b++;
        codes[f * n + i] = b;
      }
    }
  }
  return { codes, nBins, lo, hi, exact };
}

/** Arrays compared with -0 and +0 told apart. */
function bits(a: ArrayLike<number>): string[] {
  return Array.from(a, (v) => (Object.is(v, -0) ? "-0" : String(v)));
}

test("radix binning equals the sort + first-bin-whose-hi->=-value definition", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1e6 }),
      fc.integer({ min: 1, max: 400 }),
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom(2, 5, 64, 255, 300),
      (seed, n, p, maxBins) => {
        const rng = new Rng(seed);
        const X = new Float64Array(n * p);
        for (let i = 0; i < n * p; i++) {
          const t = rng.int(9);
          X[i] =
            t === 0
              ? Number.NaN
              : t === 1
                ? rng.next() < 0.5
                  ? -0
                  : 0
                : t === 2
                  ? rng.int(4) * 3e-8 // merged with neighbours (closer than 1e-7)
                  : t === 3
                    ? rng.next() < 0.5
                      ? Number.NEGATIVE_INFINITY
                      : Number.POSITIVE_INFINITY
                    : t === 4
                      ? rng.int(3)
                      : rng.normal() * 10 ** rng.int(7);
        }
        if (seed % 13 === 0) X.fill(Number.NaN, 0, n); // a leading run of missing values
        clearBinningCache();
        const b = BinnedDataset.fromMatrix(matrix(n, p, X), { maxBins });
        const r = reference(X, n, p, maxBins);
        assert.deepEqual(Array.from(b.codes), r.codes);
        assert.deepEqual(Array.from(b.nBins), r.nBins);
        assert.deepEqual(bits(b.binLo), bits(r.lo));
        assert.deepEqual(bits(b.binHi), bits(r.hi));
        assert.deepEqual(Array.from(b.exact), r.exact);
      },
    ),
    { numRuns: 150 },
  );
});

test("an all-missing column gets zero value bins and code 0 (= missing)", () => {
  clearBinningCache();
  const X = new Float64Array([Number.NaN, 1, Number.NaN, 2, Number.NaN, 3]);
  const b = BinnedDataset.fromMatrix(matrix(3, 2, X));
  assert.equal(b.nBins[0], 0);
  assert.deepEqual(Array.from(b.codes.subarray(0, 3)), [0, 0, 0]);
  assert.deepEqual(Array.from(b.codes.subarray(3, 6)), [0, 1, 2]);
});
