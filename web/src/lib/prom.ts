/** Prometheus text-format parsing and the derived serving stats the monitoring page plots (pure). */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    const l = line.trim();
    if (l === "" || l.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(l);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const v =
      m[4] === "+Inf" ? Number.POSITIVE_INFINITY : m[4] === "-Inf" ? Number.NEGATIVE_INFINITY : Number(m[4]);
    out.push({ name: m[1], labels, value: v });
  }
  return out;
}

/** Quantile from cumulative histogram buckets [{le, count}] (linear interpolation inside the bucket). */
export function histogramQuantile(q: number, buckets: readonly { le: number; count: number }[]): number {
  const b = [...buckets].sort((x, y) => x.le - y.le);
  if (b.length === 0) return Number.NaN;
  const total = b[b.length - 1].count;
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const { le, count } of b) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      const inBucket = count - prevCount;
      return inBucket > 0 ? prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket : le;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

export interface Snapshot {
  t: number;
  requests: number;
  errors: number;
  buckets: { le: number; count: number }[];
}

/** Totals from one scrape: request count (all http requests), 4xx/5xx count, latency histogram buckets. */
export function snapshot(
  samples: readonly Sample[],
  t: number,
  histogram = "http_request_duration_seconds",
): Snapshot {
  let requests = 0;
  let errors = 0;
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name === `${histogram}_count`) {
      requests += s.value;
      const code = s.labels.status_code ?? s.labels.code ?? s.labels.status ?? "";
      if (/^[45]/.test(code)) errors += s.value;
    } else if (s.name === `${histogram}_bucket`) {
      const le = s.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels.le);
      byLe.set(le, (byLe.get(le) ?? 0) + s.value);
    }
  }
  return { t, requests, errors, buckets: [...byLe].map(([le, count]) => ({ le, count })) };
}

/** Rate/latency/error stats between two scrapes (deltas; a counter reset yields the later totals). */
export function between(
  a: Snapshot,
  b: Snapshot,
): { rps: number; errorRate: number; p50: number; p95: number; p99: number } {
  const reset = b.requests < a.requests;
  const dt = Math.max(1e-3, (b.t - a.t) / 1000);
  const dReq = reset ? b.requests : b.requests - a.requests;
  const dErr = reset ? b.errors : b.errors - a.errors;
  const prev = new Map(a.buckets.map((x) => [x.le, x.count]));
  const d = b.buckets.map((x) => ({ le: x.le, count: reset ? x.count : x.count - (prev.get(x.le) ?? 0) }));
  return {
    rps: dReq / dt,
    errorRate: dReq > 0 ? dErr / dReq : 0,
    p50: histogramQuantile(0.5, d),
    p95: histogramQuantile(0.95, d),
    p99: histogramQuantile(0.99, d),
  };
}
