import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SlidingWindow } from "../../src/serving/metrics.ts";

describe("SlidingWindow (input-feature quantiles on /metrics)", () => {
  it("matches numpy's linear quantiles and keeps only the last `capacity` values", () => {
    const w = new SlidingWindow(5, 1000);
    for (const v of [100, 1, 2, 3, 4, 5]) w.push(v, 0); // 100 is overwritten
    // numpy.quantile([1,2,3,4,5], [0.05, 0.5, 0.95]) = [1.2, 3, 4.8]
    assert.deepEqual(
      w.quantiles([0.05, 0.5, 0.95], 10)?.map((x) => Number(x.toFixed(12))),
      [1.2, 3, 4.8],
    );
  });
  it("forgets values older than maxAge", () => {
    const w = new SlidingWindow(10, 1000);
    w.push(1, 0);
    w.push(9, 900);
    assert.deepEqual(w.quantiles([0.5], 1500), [9]);
    assert.equal(w.quantiles([0.5], 5000), null);
  });
  it("quantiles are ordered and within [min, max] (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 50 }),
        (xs) => {
          const w = new SlidingWindow(64, 1e9);
          for (const x of xs) w.push(x, 0);
          const [a, b, c] = w.quantiles([0.05, 0.5, 0.95], 0) as number[];
          const lo = Math.min(...xs);
          const hi = Math.max(...xs);
          return lo <= a && a <= b && b <= c && c <= hi;
        },
      ),
    );
  });
});
