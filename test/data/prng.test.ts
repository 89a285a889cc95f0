import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rng, deriveSeed } from "../../src/data/prng.ts";

describe("Rng", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = new Rng(42),
      b = new Rng(42),
      c = new Rng(43);
    const xa = Array.from({ length: 10 }, () => a.next());
    const xb = Array.from({ length: 10 }, () => b.next());
    const xc = Array.from({ length: 10 }, () => c.next());
    assert.deepEqual(xa, xb);
    assert.notDeepEqual(xa, xc);
  });

  it("next() stays in [0,1) and int(n) in [0,n)", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1_000_000 }), (seed, n) => {
        const r = new Rng(seed);
        for (let i = 0; i < 50; i++) {
          const x = r.next();
          if (!(x >= 0 && x < 1)) return false;
          const k = r.int(n);
          if (!(Number.isInteger(k) && k >= 0 && k < n)) return false;
        }
        return true;
      }),
    );
  });

  it("is roughly uniform (chi-square over 10 buckets)", () => {
    const r = new Rng(7);
    const counts = new Array(10).fill(0);
    const N = 100_000;
    for (let i = 0; i < N; i++) counts[Math.floor(r.next() * 10)]++;
    const e = N / 10;
    const chi = counts.reduce((s, c) => s + ((c - e) * (c - e)) / e, 0);
    assert.ok(chi < 27.88, `chi2=${chi} (df=9, p=0.001 critical 27.88)`);
  });

  it("normal() has mean ~0 and variance ~1", () => {
    const r = new Rng(1);
    let s = 0,
      s2 = 0;
    const N = 200_000;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    assert.ok(Math.abs(s / N) < 0.01);
    assert.ok(Math.abs(s2 / N - 1) < 0.02);
  });

  it("permutation is a permutation", () => {
    const p = new Rng(3).permutation(1000);
    assert.deepEqual(
      [...p].sort((a, b) => a - b),
      Array.from({ length: 1000 }, (_, i) => i),
    );
  });

  it("the Uint32Array shuffle draws exactly what the generic shuffle draws (same order, same state after)", () => {
    for (const seed of [0, 1, 42, 123456789, -5]) {
      for (const n of [0, 1, 2, 3, 17, 1000, 65537]) {
        const r1 = new Rng(seed);
        const r2 = new Rng(seed);
        const typed = r1.shuffle(Uint32Array.from({ length: n }, (_, i) => i));
        const plain = r2.shuffle(Array.from({ length: n }, (_, i) => i));
        assert.deepEqual(Array.from(typed), plain, `seed ${seed}, n ${n}`);
        assert.equal(r1.nextUint32(), r2.nextUint32());
        assert.equal(r1.int(1000), r2.int(1000));
      }
    }
  });

  it("int(n) equals the reference rejection sampler (float arithmetic) for small, odd and huge n", () => {
    const ref = (r: Rng, n: number) => {
      if (n === 1) return 0;
      const limit = 4294967296 - (4294967296 % n);
      let x = r.nextUint32();
      while (x >= limit) x = r.nextUint32();
      return x % n;
    };
    const ns = [
      1,
      2,
      3,
      7,
      1000,
      65537,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 31 + 1,
      3_000_000_000,
      2 ** 32 - 1,
      2 ** 32,
    ];
    for (const seed of [0, 9, 77]) {
      const a = new Rng(seed);
      const b = new Rng(seed);
      for (let t = 0; t < 2000; t++) {
        const n = ns[t % ns.length];
        assert.equal(a.int(n), ref(b, n), `seed ${seed}, draw ${t}, n ${n}`);
      }
    }
  });

  it("rejects a non-finite seed", () => {
    assert.throws(() => new Rng(Number.NaN), /seed/);
  });

  it("deriveSeed is stable and stream-dependent", () => {
    assert.equal(deriveSeed(42, 1), deriveSeed(42, 1));
    assert.notEqual(deriveSeed(42, 1), deriveSeed(42, 2));
  });
});
