/**
 * Pure helpers of the Monitoring page: the shapes of GET /api/v1/monitoring/summary (mirroring
 * src/monitoring/{drift,prediction-log,checks,alerts}.ts as they arrive over JSON, where NaN becomes null),
 * histogram → proportions, p-value / distance formatting, drift verdict text and error classification.
 */
import { formatNumber } from "./format.ts";

/** A number from the API: NaN / ±Infinity are serialised as null. */
export type Num = number | null;

export type Histogram =
  | { kind: "numeric"; edges: Num[]; counts: number[]; under: number; over: number }
  | { kind: "categorical"; labels: string[]; counts: number[] };

export type DriftTestName = "ks" | "chisquare" | "z" | "wasserstein" | "jensenshannon" | "psi";

export interface FeatureDrift {
  name: string;
  type: "numeric" | "categorical";
  test: DriftTestName;
  statistic: Num;
  threshold: number;
  direction: "p_le" | "score_ge";
  drifted: boolean;
  psi: Num;
  psiLevel: "none" | "moderate" | "major";
  nReference: number;
  nCurrent: number;
  missingCurrent?: number;
  outOfRange?: { below: number; above: number } | null;
  refHist: Histogram;
  curHist: Histogram;
}

export interface DriftReport {
  features: FeatureDrift[];
  prediction: FeatureDrift | null;
  share: Num;
  nDrifted: number;
  nTested: number;
  datasetDrift: boolean;
  driftShare: number;
  nReference: number;
  nCurrent: number;
  psiThresholds: [number, number];
  computedAt: string;
}

export interface AccuracyMetrics {
  n: number;
  mae: Num;
  mape: Num;
  wmape: Num;
  within10pct: Num;
}

export interface AccuracyReport {
  sinceMs: number;
  untilMs: number;
  by: string | null;
  versions: (AccuracyMetrics & { modelVersion: string; segments: Record<string, AccuracyMetrics> })[];
}

export interface PredictionChecks {
  n: number;
  mean: Num;
  std: Num;
  referenceStd: Num;
  stdRatio: Num;
  stdCollapsed: boolean;
  targetRange: [number, number] | null;
  belowRange: number;
  aboveRange: number;
  outOfRangeShare: Num;
  nonFinite: number;
}

export interface InputCheck {
  name: string;
  kind: "numeric" | "categorical";
  n: number;
  missing: number;
  range: [Num, Num] | null;
  below: number;
  above: number;
  unseen: Record<string, number>;
  share: Num;
}

export interface LatencyStats {
  n: number;
  p50: Num;
  p90: Num;
  p99: Num;
  max: Num;
}

export type Severity = "info" | "warning" | "critical";

export interface Alert {
  rule: string;
  severity: Severity;
  metric: string;
  labels: Record<string, string>;
  value: Num;
  op: string;
  threshold: number;
  message: string;
  at: string;
}

export interface MonitoringSummary {
  model_name: string;
  model_version: string;
  at: string;
  /** n = rows logged in the window; analysed = rows read (an even sample when the window is larger) */
  window: { since_ms: number; until_ms: number; n: number; analysed?: number };
  drift: DriftReport | null;
  drift_skipped?: string;
  accuracy: AccuracyReport;
  checks: { prediction: PredictionChecks | null; inputs: InputCheck[]; latency: LatencyStats };
  alerts: Alert[];
  log: { written?: number; dropped?: number; queued?: number; total?: number; withFeedback?: number };
}

/** Window choices of the page (values accepted by the API's `window` query). */
export const WINDOWS = [
  { value: "1h", label: "1 hour" },
  { value: "24h", label: "24 hours" },
  { value: "7d", label: "7 days" },
] as const;
export type WindowValue = (typeof WINDOWS)[number]["value"];

export function isWindow(v: string): v is WindowValue {
  return WINDOWS.some((w) => w.value === v);
}

export function summaryUrl(window: WindowValue): string {
  return `/api/v1/monitoring/summary?window=${encodeURIComponent(window)}`;
}

export function driftReportUrl(window: WindowValue): string {
  return `/api/v1/monitoring/drift?window=${encodeURIComponent(window)}&format=html`;
}

/** null / undefined / non-finite → NaN, so the format helpers print "—". */
export function num(v: Num | undefined): number {
  return typeof v === "number" && Number.isFinite(v) ? v : Number.NaN;
}

/** counts / Σ counts (all zeros when the total is 0). */
export function proportions(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + (Number.isFinite(b) && b > 0 ? b : 0), 0);
  return counts.map((c) => (total > 0 && Number.isFinite(c) && c > 0 ? c / total : 0));
}

export interface ComparedHistogram {
  labels: string[];
  reference: number[];
  current: number[];
}

function binLabels(h: Histogram, fmt: (v: number) => string): string[] {
  if (h.kind === "categorical") return [...h.labels];
  const e = h.edges.map(num);
  return h.counts.map((_, i) => `${fmt(e[i])}–${fmt(e[i + 1])}`);
}

/**
 * Reference and current histograms of one feature as aligned proportions. Numeric histograms share the
 * reference edges; the under/overflow bins of the current data (values outside the training range) are
 * added as "< min" / "> max" only when non-empty. Categorical histograms are aligned by label.
 */
export function compareHistograms(
  ref: Histogram,
  cur: Histogram,
  fmt: (v: number) => string = (v) => formatNumber(v, 2),
): ComparedHistogram {
  if (ref.kind === "numeric" && cur.kind === "numeric") {
    const labels = binLabels(ref, fmt);
    const r = [...ref.counts];
    const c = ref.counts.map((_, i) => cur.counts[i] ?? 0);
    const e = ref.edges.map(num);
    const under = (ref.under ?? 0) + (cur.under ?? 0) > 0;
    const over = (ref.over ?? 0) + (cur.over ?? 0) > 0;
    if (under) {
      labels.unshift(`< ${fmt(e[0])}`);
      r.unshift(ref.under ?? 0);
      c.unshift(cur.under ?? 0);
    }
    if (over) {
      labels.push(`> ${fmt(e[e.length - 1])}`);
      r.push(ref.over ?? 0);
      c.push(cur.over ?? 0);
    }
    return { labels, reference: proportions(r), current: proportions(c) };
  }
  const labels: string[] = [];
  const rc = new Map<string, number>();
  const cc = new Map<string, number>();
  const add = (h: Histogram, m: Map<string, number>) => {
    binLabels(h, fmt).forEach((l, i) => {
      if (!labels.includes(l)) labels.push(l);
      m.set(l, (m.get(l) ?? 0) + (h.counts[i] ?? 0));
    });
  };
  add(ref, rc);
  add(cur, cc);
  return {
    labels,
    reference: proportions(labels.map((l) => rc.get(l) ?? 0)),
    current: proportions(labels.map((l) => cc.get(l) ?? 0)),
  };
}

/** A p-value: "< 0.0001" for tiny ones, two significant digits otherwise ("—" when missing). */
export function formatPValue(p: Num | undefined): string {
  const v = num(p);
  if (Number.isNaN(v)) return "—";
  if (v < 1e-4) return "< 0.0001";
  if (v >= 0.01) return String(Number(v.toFixed(v >= 0.1 ? 2 : 3)));
  return String(Number(v.toPrecision(2)));
}

/** A distance / PSI with 3 decimals (exponent for very small or huge values). */
export function formatDistance(d: Num | undefined): string {
  return formatNumber(num(d), 3);
}

const TEST_LABELS: Record<DriftTestName, string> = {
  ks: "Kolmogorov–Smirnov",
  chisquare: "χ² homogeneity",
  z: "two-proportion z",
  wasserstein: "Wasserstein (norm.)",
  jensenshannon: "Jensen–Shannon",
  psi: "PSI",
};

export function testLabel(t: string): string {
  return TEST_LABELS[t as DriftTestName] ?? t;
}

/** "p = 0.003 ≤ 0.05" or "0.231 ≥ 0.1": the test's score against its threshold, with the drift comparison. */
export function formatTestScore(
  f: Pick<FeatureDrift, "statistic" | "threshold" | "direction" | "drifted">,
): string {
  if (f.direction === "p_le") {
    const s = formatPValue(f.statistic);
    const p = s.startsWith("<") ? `p ${s}` : `p = ${s}`;
    return `${p} ${f.drifted ? "≤" : ">"} ${formatPValue(f.threshold)}`;
  }
  return `${formatDistance(f.statistic)} ${f.drifted ? "≥" : "<"} ${formatDistance(f.threshold)}`;
}

/** Largest −log10(p) drawn (p-values below 1e-10 are drawn at the cap). */
export const P_CAP = 10;

/**
 * The test score on a "bigger = more drift" scale for a bar: distances as they are, p-values as −log10(p)
 * (capped at P_CAP), with the threshold on the same scale.
 */
export function scoreBar(f: Pick<FeatureDrift, "statistic" | "threshold" | "direction">): {
  value: number;
  threshold: number;
  unit: "-log10 p" | "distance";
} {
  if (f.direction === "p_le") {
    const p = num(f.statistic);
    const lg = (x: number) => (x <= 0 ? P_CAP : Math.min(P_CAP, -Math.log10(x)));
    return { value: Number.isNaN(p) ? Number.NaN : lg(p), threshold: lg(f.threshold), unit: "-log10 p" };
  }
  return { value: num(f.statistic), threshold: f.threshold, unit: "distance" };
}

/**
 * Upper end of a PSI axis: 1.5 × the major level at least, growing with the data up to 2.5 × the major level
 * (larger values are drawn clipped) so the level lines stay apart.
 */
export function psiAxisMax(values: readonly Num[], levels: readonly [number, number] = [0.1, 0.2]): number {
  const m = Math.max(0, ...values.map(num).filter((v) => !Number.isNaN(v)));
  return Math.min(Math.max(levels[1] * 1.5, m * 1.1), levels[1] * 2.5);
}

/** Drifted features first, then by PSI (largest first), then by name. */
export function sortFeatures<T extends Pick<FeatureDrift, "name" | "drifted" | "psi">>(
  fs: readonly T[],
): T[] {
  return [...fs].sort(
    (a, b) =>
      Number(b.drifted) - Number(a.drifted) ||
      (Number.isNaN(num(b.psi)) ? -1 : num(b.psi)) - (Number.isNaN(num(a.psi)) ? -1 : num(a.psi)) ||
      a.name.localeCompare(b.name),
  );
}

const SEVERITY_RANK: Record<string, number> = { critical: 0, warning: 1, info: 2 };

/** Critical first, then warning, then info; stable otherwise. */
export function sortAlerts<T extends Pick<Alert, "severity">>(alerts: readonly T[]): T[] {
  return alerts
    .map((a, i) => [a, i] as const)
    .sort((x, y) => (SEVERITY_RANK[x[0].severity] ?? 3) - (SEVERITY_RANK[y[0].severity] ?? 3) || x[1] - y[1])
    .map(([a]) => a);
}

export interface Verdict {
  level: "drift" | "ok" | "skipped";
  headline: string;
  detail: string;
}

function rows(n: number): string {
  return `${n.toLocaleString("en-US")} logged prediction${n === 1 ? "" : "s"}`;
}

/** "N rows in the window", and how many were analysed when the server read an even sample of them. */
export function windowRows(w: { n: number; analysed?: number }): string {
  const base = `${rows(w.n)} in the window`;
  return w.analysed !== undefined && w.analysed < w.n
    ? `${base} (an even sample of ${rows(w.analysed)} analysed)`
    : base;
}

/** The drift verdict of a summary: dataset drift yes/no with counts, or why drift was not computed. */
export function driftVerdict(s: Pick<MonitoringSummary, "drift" | "drift_skipped" | "window">): Verdict {
  const d = s.drift;
  if (!d) {
    return {
      level: "skipped",
      headline: "Dataset drift: not computed",
      detail: `${s.drift_skipped ?? "no drift report"} · ${windowRows(s.window)}`,
    };
  }
  const share = `${Math.round(num(d.share) * 100)}% ${d.datasetDrift ? "≥" : "<"} ${Math.round(d.driftShare * 100)}%`;
  return {
    level: d.datasetDrift ? "drift" : "ok",
    headline: `Dataset drift: ${d.datasetDrift ? "YES" : "no"}`,
    detail: `${d.nDrifted} of ${d.nTested} features drifted (${share}) · ${windowRows(s.window)}`,
  };
}

/** A user-facing message for a failed summary request (status and JSON body of the response). */
export function monitoringError(
  status: number,
  body: unknown,
): { kind: "off" | "no-reference" | "no-model" | "error"; message: string } {
  const detail =
    body && typeof body === "object" && "detail" in body ? (body as { detail: unknown }).detail : undefined;
  const text =
    typeof detail === "string"
      ? detail
      : Array.isArray(detail)
        ? String((detail[0] as { msg?: unknown })?.msg ?? "")
        : "";
  if (status === 404 && (!text || /^not found\b/i.test(text))) {
    return { kind: "off", message: "Monitoring is off on this server (no /api/v1/monitoring routes)." };
  }
  if (status === 404) {
    return { kind: "no-reference", message: `No reference profile for this model: ${text}` };
  }
  if (status === 503) {
    return {
      kind: "no-model",
      message: `No model is loaded, so there is nothing to monitor${text ? ` (${text})` : ""}.`,
    };
  }
  return { kind: "error", message: `Monitoring summary failed (HTTP ${status})${text ? `: ${text}` : ""}` };
}

/** Compact price for histogram bins: $85k, $1.2M. */
export function formatCompactPrice(v: number): string {
  if (!Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a >= 1e6) return `$${Number((v / 1e6).toFixed(1))}M`;
  if (a >= 1e3) return `$${Math.round(v / 1e3)}k`;
  return `$${Math.round(v)}`;
}
