/**
 * Summary statistics shared by every bench suite (one definition, so that "median" means the same in every table).
 */

/** Median; the mean of the two middle values for an even count; NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Latency percentile by nearest rank on an ascending sample: the value at index ⌊q·n⌋ (clamped), as load generators
 * report them (a latency that some request actually had, never an interpolation); NaN for none.
 */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
