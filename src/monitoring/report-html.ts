/**
 * Self-contained HTML drift report: inline CSS, one inline SVG histogram per feature (reference vs current,
 * as shares of each sample, on the reference's quantile bins + under/overflow), the test statistic against its
 * threshold, PSI and its level. Only the report's binned summaries are used — never raw rows — so the page
 * stays small (~5 kB per feature; categorical features show at most 30 categories + "other") for any data size.
 */
import type { DriftReport, FeatureDrift, Histogram } from "./drift.ts";

const MAX_CATEGORIES = 30;

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

function fmt(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return "–";
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}

interface Bars {
  labels: string[];
  ref: number[];
  cur: number[];
}

function bars(ref: Histogram, cur: Histogram): Bars {
  if (ref.kind === "numeric" && cur.kind === "numeric") {
    const labels: string[] = [];
    const r: number[] = [],
      c: number[] = [];
    if (cur.under > 0) {
      labels.push(`< ${fmt(ref.edges[0])}`);
      r.push(0);
      c.push(cur.under);
    }
    for (let i = 0; i < ref.counts.length; i++) {
      labels.push(
        `[${fmt(ref.edges[i])}, ${fmt(ref.edges[i + 1])}${i === ref.counts.length - 1 ? "]" : ")"}`,
      );
      r.push(ref.counts[i]);
      c.push(cur.counts[i] ?? 0);
    }
    if (cur.over > 0) {
      labels.push(`> ${fmt(ref.edges[ref.edges.length - 1])}`);
      r.push(0);
      c.push(cur.over);
    }
    return { labels, ref: r, cur: c };
  }
  if (ref.kind === "categorical" && cur.kind === "categorical") {
    const order = ref.labels
      .map((_, i) => i)
      .sort((a, b) => ref.counts[b] + cur.counts[b] - (ref.counts[a] + cur.counts[a]));
    const keep = order.slice(0, MAX_CATEGORIES);
    const rest = order.slice(MAX_CATEGORIES);
    const labels = keep.map((i) => ref.labels[i]);
    const r = keep.map((i) => ref.counts[i]);
    const c = keep.map((i) => cur.counts[i]);
    if (rest.length > 0) {
      labels.push(`other (${rest.length})`);
      r.push(rest.reduce((s, i) => s + ref.counts[i], 0));
      c.push(rest.reduce((s, i) => s + cur.counts[i], 0));
    }
    return { labels, ref: r, cur: c };
  }
  return { labels: [], ref: [], cur: [] };
}

function svgHistogram(h: Bars): string {
  const W = 340,
    H = 96,
    pad = 2;
  const k = h.labels.length;
  if (k === 0) return "";
  const sr = h.ref.reduce((a, b) => a + b, 0) || 1;
  const sc = h.cur.reduce((a, b) => a + b, 0) || 1;
  let max = 0;
  for (let i = 0; i < k; i++) max = Math.max(max, h.ref[i] / sr, h.cur[i] / sc);
  if (max === 0) max = 1;
  const bw = (W - 2 * pad) / k;
  const parts: string[] = [];
  for (let i = 0; i < k; i++) {
    const x = pad + i * bw;
    const rh = ((h.ref[i] / sr) * (H - 14)) / max;
    const ch = ((h.cur[i] / sc) * (H - 14)) / max;
    const title = `${esc(h.labels[i])}: reference ${fmt((100 * h.ref[i]) / sr, 3)}%, current ${fmt((100 * h.cur[i]) / sc, 3)}%`;
    parts.push(
      `<g><title>${title}</title><rect class="r" x="${x.toFixed(1)}" y="${(H - rh).toFixed(1)}" width="${(bw / 2).toFixed(1)}" height="${rh.toFixed(1)}"/>` +
        `<rect class="c" x="${(x + bw / 2).toFixed(1)}" y="${(H - ch).toFixed(1)}" width="${(bw / 2).toFixed(1)}" height="${ch.toFixed(1)}"/></g>`,
    );
  }
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="histogram">${parts.join("")}</svg>`;
}

function statBar(f: FeatureDrift): string {
  // position of the statistic relative to the threshold on a 0..2×threshold scale (p-values: log scale)
  let frac: number;
  if (!Number.isFinite(f.statistic)) frac = 0;
  else if (f.direction === "p_le") {
    const l = (v: number) => Math.log10(Math.max(v, 1e-12));
    frac = Math.min(
      1,
      Math.max(0, 0.5 + (l(f.threshold) - l(f.statistic)) / (2 * Math.max(1e-9, -l(f.threshold)))),
    );
  } else frac = Math.min(1, Math.max(0, f.statistic / (2 * (f.threshold || 1))));
  return `<div class="bar"><div class="fill ${f.drifted ? "bad" : "ok"}" style="width:${(frac * 100).toFixed(1)}%"></div><div class="thr"></div></div>`;
}

function row(f: FeatureDrift): string {
  const rule = f.direction === "p_le" ? `p ≤ ${fmt(f.threshold)}` : `≥ ${fmt(f.threshold)}`;
  const missing =
    f.missingCurrent > 0 || f.missingReference > 0
      ? `<div class="sub">missing ref ${f.missingReference} · cur ${f.missingCurrent}</div>`
      : "";
  const oor =
    f.outOfRange && (f.outOfRange.below > 0 || f.outOfRange.above > 0)
      ? `<div class="sub">outside training range: ${f.outOfRange.below} below, ${f.outOfRange.above} above</div>`
      : "";
  return `<tr class="${f.drifted ? "drift" : ""}">
<td><b>${esc(f.name)}</b><div class="sub">${f.type} · n ref ${f.nReference} · cur ${f.nCurrent}</div>${missing}${oor}</td>
<td>${esc(f.test)}</td>
<td>${fmt(f.statistic)} <span class="sub">(${rule})</span>${statBar(f)}</td>
<td class="${f.drifted ? "bad" : "ok"}">${f.drifted ? "Detected" : "Not detected"}</td>
<td>${fmt(f.psi, 3)} <span class="lvl ${f.psiLevel}">${f.psiLevel}</span></td>
<td>${svgHistogram(bars(f.refHist, f.curHist))}</td>
</tr>`;
}

const CSS = `body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2433;background:#fff}
h1{font-size:20px;margin:0 0 4px}.meta{color:#667;margin-bottom:16px}
.cards{display:flex;gap:12px;margin:12px 0 20px}.card{border:1px solid #dde;border-radius:8px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:22px}.card.bad b{color:#c62828}.card.ok b{color:#2e7d32}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #eee;padding:8px;text-align:left;vertical-align:top}
th{font-size:12px;text-transform:uppercase;color:#667}tr.drift{background:#fff5f5}.sub{color:#778;font-size:12px}
.bad{color:#c62828;font-weight:600}.ok{color:#2e7d32}.lvl{font-size:11px;border-radius:4px;padding:1px 5px;background:#eef}
.lvl.moderate{background:#fff3cd}.lvl.major{background:#f8d7da}
.bar{position:relative;width:140px;height:6px;background:#eee;border-radius:3px;margin-top:4px}
.fill{height:6px;border-radius:3px}.fill.ok{background:#66bb6a}.fill.bad{background:#e57373}
.thr{position:absolute;left:50%;top:-3px;width:2px;height:12px;background:#333}
svg rect.r{fill:#90a4ae}svg rect.c{fill:#ef6c00}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}`;

/** Render a drift report as one self-contained HTML page. */
export function renderDriftHtml(report: DriftReport, opts: { title?: string } = {}): string {
  const title = opts.title ?? "Data drift report";
  const sorted = [...report.features].sort((a, b) => Number(b.drifted) - Number(a.drifted));
  const meta = Object.entries(report.meta)
    .map(([k, v]) => `${esc(k)}: ${esc(String(v))}`)
    .join(" · ");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head><body>
<h1>${esc(title)}</h1>
<div class="meta">computed ${esc(report.computedAt)} · reference ${report.nReference} rows · current ${report.nCurrent} rows${meta ? ` · ${meta}` : ""}</div>
<div class="cards">
<div class="card ${report.datasetDrift ? "bad" : "ok"}"><span>Dataset drift</span><b>${report.datasetDrift ? "Detected" : "Not detected"}</b></div>
<div class="card"><span>Columns</span><b>${report.nTested}</b></div>
<div class="card"><span>Drifted columns</span><b>${report.nDrifted}</b></div>
<div class="card"><span>Share (threshold ${fmt(report.driftShare)})</span><b>${fmt(report.share, 3)}</b></div>
${report.prediction ? `<div class="card ${report.prediction.drifted ? "bad" : "ok"}"><span>Prediction drift</span><b>${report.prediction.drifted ? "Detected" : "Not detected"}</b></div>` : ""}
</div>
<div class="legend sub">Histograms: share of each sample per reference quantile bin<span style="background:#90a4ae"></span>reference<span style="background:#ef6c00"></span>current · PSI levels ${fmt(report.psiThresholds[0])} / ${fmt(report.psiThresholds[1])}</div>
<table><thead><tr><th>Feature</th><th>Test</th><th>Statistic vs threshold</th><th>Drift</th><th>PSI</th><th>Reference vs current</th></tr></thead>
<tbody>
${sorted.map(row).join("\n")}
${report.prediction ? row(report.prediction) : ""}
</tbody></table>
</body></html>
`;
}
