/** Formatting helpers (pure). */

export function formatPrice(v: number): string {
  if (!Number.isFinite(v)) return "—";
  return `$${Math.round(v).toLocaleString("en-US")}`;
}

export function formatNumber(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toFixed(digits)).toLocaleString("en-US", { maximumFractionDigits: digits });
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatPercent(v: number, digits = 1): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(digits)}%` : "—";
}

/** Derived per-household values shown next to a prediction. */
export function perHousehold(x: Record<string, unknown>): {
  rooms: number;
  bedrooms: number;
  population: number;
} {
  const h = Number(x.households);
  const div = (k: string) => (h > 0 && Number.isFinite(Number(x[k])) ? Number(x[k]) / h : Number.NaN);
  return { rooms: div("total_rooms"), bedrooms: div("total_bedrooms"), population: div("population") };
}

/** Colour for a value in [lo, hi] on a blue→yellow→red ramp. */
export function priceColor(v: number, lo: number, hi: number): string {
  const t = Math.min(1, Math.max(0, (v - lo) / (hi - lo || 1)));
  const hue = 240 - 240 * t;
  return `hsl(${hue.toFixed(0)},75%,50%)`;
}
