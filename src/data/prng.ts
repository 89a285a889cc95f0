/**
 * The one seeded PRNG of the project. Everything random (splits, bootstraps, feature sampling,
 * k-means++ seeding, search samplers, masking) draws from an `Rng` built from an explicit seed,
 * so the same config + data + seed gives the same result bit for bit.
 *
 * Generator: sfc32 (Small Fast Counter, 128-bit state), seeded through splitmix32 so that nearby
 * integer seeds give unrelated streams. Doubles use 53 random bits.
 */

function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t = t ^ (t >>> 15);
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng seed must be a finite number, got ${seed}`);
    const sm = splitmix32(Math.floor(seed) | (0 ^ Math.floor(seed / 4294967296)));
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const a = this.a,
      b = this.b,
      c = this.c,
      d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    this.d = (d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    let cc = (c << 21) | (c >>> 11);
    cc = (cc + t) | 0;
    this.c = cc;
    return t >>> 0;
  }

  /** Uniform double in [0, 1) with 53 bits of randomness. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). Unbiased (rejection sampling). */
  int(n: number): number {
    if (!(n > 0) || n > 4294967296 || !Number.isInteger(n))
      throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    if (n === 1) return 0;
    if (n === 4294967296) return this.nextUint32();
    // 2^32 − (2^32 mod n), with 2^32 mod n = (2^32 − n) mod n computed in uint32 arithmetic (no float modulo)
    const m = n >>> 0;
    const limit = 4294967296 - (((-m >>> 0) % m) >>> 0);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return (x % m) >>> 0;
  }

  /**
   * `shuffle` for a Uint32Array, drawing exactly the numbers `int(i + 1)` draws (same rejection limit, same
   * modulo), with the generator inlined and integer arithmetic: index sampling (permutations, bootstraps,
   * subsamples) sits on hot paths such as every boosting stage.
   */
  private shuffleU32(arr: Uint32Array): void {
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    for (let i = arr.length - 1; i > 0; i--) {
      const n = (i + 1) >>> 0;
      // 2^32 − (2^32 mod n) as in int(n); (2^32 − n) mod n = 2^32 mod n, in uint32 arithmetic
      const limit = 4294967296 - (((-n >>> 0) % n) >>> 0);
      let x: number;
      do {
        const t = (((a + b) | 0) + d) | 0;
        d = (d + 1) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (((c << 21) | (c >>> 11)) + t) | 0;
        x = t >>> 0;
      } while (x >= limit);
      const j = (x % n) >>> 0;
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** Uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.spareNormal !== null) {
      const s = this.spareNormal;
      this.spareNormal = null;
      return s;
    }
    let u = 0,
      v = 0,
      s = 0;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * m;
    return u * m;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    if (arr instanceof Uint32Array) {
      this.shuffleU32(arr);
      return arr;
    }
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** k distinct indices from 0..n-1 (partial Fisher–Yates), in draw order. */
  sampleWithoutReplacement(n: number, k: number): Uint32Array {
    if (k > n) throw new Error(`Rng.sampleWithoutReplacement: k=${k} > n=${n}`);
    const p = this.permutation(n);
    return p.slice(0, k);
  }

  /** A derived, independent generator (e.g. one per tree / per fold / per worker). */
  fork(stream: number): Rng {
    return new Rng((this.nextUint32() ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0);
  }
}

/** Derive a child seed deterministically from a parent seed and a stream index (no shared state). */
export function deriveSeed(seed: number, stream: number): number {
  const sm = splitmix32((seed ^ Math.imul(stream + 0x632be5ab, 0x9e3779b1)) | 0);
  sm();
  return sm();
}
