/**
 * Column profile of a Frame: counts, missing share, numeric summary (min/max/mean/std with ddof=1 like
 * pandas, quantiles with linear interpolation like numpy/pandas) and category counts.
 */
import type { Frame } from "./frame.ts";

export const PROFILE_QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;

export interface NumericProfile {
  name: string;
  kind: "numeric";
  count: number;
  missing: number;
  missingPct: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  /** sample standard deviation (ddof = 1); null when count < 2 */
  std: number | null;
  /** p01, p05, p25, p50, p75, p95, p99 (null when no values) */
  quantiles: Record<"p01" | "p05" | "p25" | "p50" | "p75" | "p95" | "p99", number | null>;
}

export interface CategoricalProfile {
  name: string;
  kind: "categorical";
  count: number;
  missing: number;
  missingPct: number;
  distinct: number;
  /** level -> count, most frequent first (ties by name) */
  categories: { value: string; count: number; pct: number }[];
}

export type ColumnProfile = NumericProfile | CategoricalProfile;

export interface FrameProfile {
  rows: number;
  columns: ColumnProfile[];
}

/** Linear-interpolated quantile of sorted values (numpy 'linear'). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const f = pos - lo;
  return f === 0 ? sorted[lo] : sorted[lo] + (sorted[hi] - sorted[lo]) * f;
}

const KEYS = ["p01", "p05", "p25", "p50", "p75", "p95", "p99"] as const;

export function profileFrame(frame: Frame): FrameProfile {
  const n = frame.nRows;
  const pct = (k: number) => (n === 0 ? 0 : (100 * k) / n);
  const columns = frame.columns.map((c): ColumnProfile => {
    if (c.kind === "numeric") {
      const vals = new Float64Array(n);
      let k = 0;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const v = c.values[i];
        if (!Number.isNaN(v)) {
          vals[k++] = v;
          sum += v;
        }
      }
      const sorted = vals.subarray(0, k).sort();
      const mean = k > 0 ? sum / k : Number.NaN;
      let ss = 0;
      for (let i = 0; i < k; i++) ss += (sorted[i] - mean) ** 2;
      const qs = {} as NumericProfile["quantiles"];
      PROFILE_QUANTILES.forEach((q, i) => {
        qs[KEYS[i]] = k > 0 ? quantileSorted(sorted, q) : null;
      });
      return {
        name: c.name,
        kind: "numeric",
        count: k,
        missing: n - k,
        missingPct: pct(n - k),
        min: k > 0 ? sorted[0] : null,
        max: k > 0 ? sorted[k - 1] : null,
        mean: k > 0 ? mean : null,
        std: k > 1 ? Math.sqrt(ss / (k - 1)) : null,
        quantiles: qs,
      };
    }
    const counts = new Float64Array(c.levels.length);
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const code = c.codes[i];
      if (code < 0) missing++;
      else counts[code]++;
    }
    const count = n - missing;
    const categories = c.levels
      .map((value, i) => ({ value, count: counts[i], pct: count === 0 ? 0 : (100 * counts[i]) / count }))
      .filter((x) => x.count > 0)
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    return {
      name: c.name,
      kind: "categorical",
      count,
      missing,
      missingPct: pct(missing),
      distinct: categories.length,
      categories,
    };
  });
  return { rows: n, columns };
}

function num(v: number | null, digits = 4): string {
  if (v === null) return "-";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return Number(v.toPrecision(digits + 2)).toString();
}

/** Human-readable table of a profile (for the CLI). */
export function formatProfile(p: FrameProfile): string {
  const lines: string[] = [`rows: ${p.rows}`, ""];
  const numeric = p.columns.filter((c): c is NumericProfile => c.kind === "numeric");
  if (numeric.length > 0) {
    const header = ["column", "missing", "min", "p01", "p25", "p50", "p75", "p99", "max", "mean", "std"];
    const rows = numeric.map((c) => [
      c.name,
      `${c.missing} (${c.missingPct.toFixed(2)}%)`,
      num(c.min),
      num(c.quantiles.p01),
      num(c.quantiles.p25),
      num(c.quantiles.p50),
      num(c.quantiles.p75),
      num(c.quantiles.p99),
      num(c.max),
      num(c.mean),
      num(c.std),
    ]);
    const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
    const line = (r: string[]) =>
      r.map((x, j) => (j === 0 ? x.padEnd(widths[j]) : x.padStart(widths[j]))).join("  ");
    lines.push(line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line), "");
  }
  for (const c of p.columns) {
    if (c.kind !== "categorical") continue;
    lines.push(
      `${c.name} (categorical, ${c.distinct} distinct, missing ${c.missing} (${c.missingPct.toFixed(2)}%))`,
    );
    const w = Math.max(...c.categories.map((x) => x.value.length), 5);
    for (const x of c.categories)
      lines.push(`  ${x.value.padEnd(w)}  ${String(x.count).padStart(8)}  ${x.pct.toFixed(2)}%`);
    lines.push("");
  }
  return lines.join("\n");
}
