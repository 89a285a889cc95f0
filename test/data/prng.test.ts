import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Rng, deriveSeed } from '../../src/data/prng.ts';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xa = Array.from({ length: 10 }, () => a.next());
    const xb = Array.from({ length: 10 }, () => b.next());
    const xc = Array.from({ length: 10 }, () => c.next());
    assert.deepEqual(xa, xb);
    assert.notDeepEqual(xa, xc);
  });

  it('next() stays in [0,1) and int(n) in [0,n)', () => {
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

  it('is roughly uniform (chi-square over 10 buckets)', () => {
    const r = new Rng(7);
    const counts = new Array(10).fill(0);
    const N = 100_000;
    for (let i = 0; i < N; i++) counts[Math.floor(r.next() * 10)]++;
    const e = N / 10;
    const chi = counts.reduce((s, c) => s + ((c - e) * (c - e)) / e, 0);
    assert.ok(chi < 27.88, `chi2=${chi} (df=9, p=0.001 critical 27.88)`);
  });

  it('normal() has mean ~0 and variance ~1', () => {
    const r = new Rng(1);
    let s = 0, s2 = 0;
    const N = 200_000;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    assert.ok(Math.abs(s / N) < 0.01);
    assert.ok(Math.abs(s2 / N - 1) < 0.02);
  });

  it('permutation is a permutation', () => {
    const p = new Rng(3).permutation(1000);
    assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  });

  it('rejects a non-finite seed', () => {
    assert.throws(() => new Rng(Number.NaN), /seed/);
  });

  it('deriveSeed is stable and stream-dependent', () => {
    assert.equal(deriveSeed(42, 1), deriveSeed(42, 1));
    assert.notEqual(deriveSeed(42, 1), deriveSeed(42, 2));
  });
});
