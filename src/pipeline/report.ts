/**
 * Self-contained run report: one HTML file (inline CSS, inline SVG charts, no scripts, no external resources)
 * and a Markdown variant (tables only), rendered from the step outputs of a pipeline run.
 * Every piece of text is escaped; missing step outputs are skipped with a note.
 */
import type { FeaturesOutput } from "./steps/features.ts";
import type { ImputeOutput } from "./steps/impute.ts";
import type { IngestOutput } from "./steps/ingest.ts";
import type { RegisterOutput } from "./steps/register.ts";
import type { SelectOutput } from "./steps/select.ts";
import type { SplitOutput } from "./steps/split.ts";
import type { SweepOutput } from "./steps/sweep.ts";

export interface ReportMeta {
  runId: string;
  configHash: string;
  dataset: string;
  startedAt: string;
  seconds: number;
}

type Cell = string | number | null | undefined;
interface Table {
  title: string;
  head: string[];
  rows: Cell[][];
}
interface Section {
  id: string;
  title: string;
  tables: Table[];
  charts: string[];
  notes: string[];
}

export function escapeHtml(s: unknown): string {
  return String(s)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

function fmt(v: Cell): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 1 ? v.toFixed(3) : v.toPrecision(4);
}

const W = 640;
const H = 300;
const M = { l: 64, r: 16, t: 24, b: 44 };
const COLORS = ["#2b6cb0", "#c05621", "#2f855a", "#9b2c2c", "#6b46c1", "#b7791f"];

function scale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  const d = hi - lo || 1;
  return (v) => a + ((v - lo) / d) * (b - a);
}

function extent(vals: number[]): [number, number] {
  const f = vals.filter(Number.isFinite);
  if (f.length === 0) return [0, 1];
  let lo = Math.min(...f);
  let hi = Math.max(...f);
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  return [lo, hi];
}

function svgOpen(title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}"><title>${escapeHtml(title)}</title><text x="${W / 2}" y="16" text-anchor="middle" class="ct">${escapeHtml(title)}</text>`;
}

function axes(xl: string, yl: string, y: [number, number], ys: (v: number) => number): string {
  let s = `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" class="ax"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" class="ax"/>`;
  for (let i = 0; i <= 4; i++) {
    const v = y[0] + ((y[1] - y[0]) * i) / 4;
    s += `<text x="${M.l - 4}" y="${ys(v) + 4}" text-anchor="end" class="tk">${escapeHtml(fmt(v))}</text>`;
  }
  s += `<text x="${W / 2}" y="${H - 6}" text-anchor="middle" class="lb">${escapeHtml(xl)}</text>`;
  s += `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" class="lb">${escapeHtml(yl)}</text>`;
  return s;
}

/** Horizontal-free vertical bar chart; bars optionally with ± error. */
export function barChart(
  title: string,
  labels: string[],
  values: number[],
  yl: string,
  err?: number[],
): string {
  if (labels.length === 0) return "";
  const hi = Math.max(0, ...values.map((v, i) => v + (err?.[i] ?? 0)).filter(Number.isFinite));
  const lo = Math.min(0, ...values.filter(Number.isFinite));
  const ys = scale(lo, hi || 1, H - M.b, M.t + 8);
  const bw = (W - M.l - M.r) / labels.length;
  let s = svgOpen(title) + axes("", yl, [lo, hi || 1], ys);
  labels.forEach((lab, i) => {
    const v = Number.isFinite(values[i]) ? values[i] : 0;
    const x = M.l + i * bw + bw * 0.15;
    const y0 = ys(0);
    const y1 = ys(v);
    s += `<rect x="${x.toFixed(1)}" y="${Math.min(y0, y1).toFixed(1)}" width="${(bw * 0.7).toFixed(1)}" height="${Math.abs(y0 - y1).toFixed(1)}" fill="${COLORS[i % COLORS.length]}"><title>${escapeHtml(`${lab}: ${fmt(values[i])}`)}</title></rect>`;
    const e = err?.[i];
    if (e !== undefined && Number.isFinite(e) && e > 0) {
      const cx = x + bw * 0.35;
      s += `<line x1="${cx.toFixed(1)}" x2="${cx.toFixed(1)}" y1="${ys(v - e).toFixed(1)}" y2="${ys(v + e).toFixed(1)}" class="er"/>`;
    }
    s += `<text x="${(x + bw * 0.35).toFixed(1)}" y="${H - M.b + 14}" text-anchor="middle" class="tk">${escapeHtml(lab.length > 16 ? `${lab.slice(0, 15)}…` : lab)}</text>`;
  });
  return `${s}</svg>`;
}

/** Line chart over numeric x; `marks` draws labelled markers (e.g. the chosen K, pruned trials). */
export function lineChart(
  title: string,
  xl: string,
  yl: string,
  series: { name: string; x: number[]; y: number[]; dots?: boolean }[],
  marks: { x: number; y: number; label: string; kind: "chosen" | "pruned" }[] = [],
  vline?: number,
): string {
  const xe = extent(series.flatMap((s) => s.x).concat(marks.map((m) => m.x)));
  const ye = extent(series.flatMap((s) => s.y).concat(marks.map((m) => m.y)));
  const xs = scale(xe[0], xe[1], M.l + 10, W - M.r - 10);
  const ys = scale(ye[0], ye[1], H - M.b, M.t + 8);
  let s = svgOpen(title) + axes(xl, yl, ye, ys);
  for (const v of [...new Set(series.flatMap((x) => x.x))].slice(0, 40)) {
    s += `<text x="${xs(v).toFixed(1)}" y="${H - M.b + 14}" text-anchor="middle" class="tk">${escapeHtml(fmt(v))}</text>`;
  }
  if (vline !== undefined)
    s += `<line x1="${xs(vline).toFixed(1)}" x2="${xs(vline).toFixed(1)}" y1="${M.t}" y2="${H - M.b}" class="vl"/>`;
  series.forEach((se, i) => {
    const pts = se.x
      .map((x, j) => [x, se.y[j]])
      .filter(([, y]) => Number.isFinite(y))
      .map(([x, y]) => `${xs(x).toFixed(1)},${ys(y).toFixed(1)}`);
    const c = COLORS[i % COLORS.length];
    s += `<polyline points="${pts.join(" ")}" fill="none" stroke="${c}" stroke-width="2"/>`;
    if (se.dots)
      for (const p of pts) s += `<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="3" fill="${c}"/>`;
    s += `<text x="${W - M.r - 4}" y="${M.t + 14 + i * 14}" text-anchor="end" fill="${c}" class="tk">${escapeHtml(se.name)}</text>`;
  });
  for (const m of marks) {
    if (!Number.isFinite(m.y)) continue;
    const cls = m.kind === "chosen" ? "mk" : "pr";
    s += `<circle cx="${xs(m.x).toFixed(1)}" cy="${ys(m.y).toFixed(1)}" r="6" class="${cls}"><title>${escapeHtml(m.label)}</title></circle>`;
  }
  return `${s}</svg>`;
}

function scatter(title: string, actual: number[], predicted: number[]): string {
  const e = extent(actual.concat(predicted));
  const xs = scale(e[0], e[1], M.l, W - M.r);
  const ys = scale(e[0], e[1], H - M.b, M.t + 8);
  let s = svgOpen(title) + axes("actual", "predicted", e, ys);
  s += `<line x1="${xs(e[0])}" y1="${ys(e[0])}" x2="${xs(e[1])}" y2="${ys(e[1])}" class="vl"/>`;
  const n = Math.min(actual.length, predicted.length, 2000);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(actual[i]) || !Number.isFinite(predicted[i])) continue;
    s += `<circle cx="${xs(actual[i]).toFixed(1)}" cy="${ys(predicted[i]).toFixed(1)}" r="1.8" class="pt"/>`;
  }
  return `${s}</svg>`;
}

function histogram(title: string, values: number[], bins = 30): string {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return "";
  const [lo, hi] = extent(v);
  const counts = new Array<number>(bins).fill(0);
  for (const x of v) counts[Math.min(bins - 1, Math.floor(((x - lo) / (hi - lo)) * bins))]++;
  const ys = scale(0, Math.max(...counts), H - M.b, M.t + 8);
  const bw = (W - M.l - M.r) / bins;
  let s = svgOpen(title) + axes("residual (actual − predicted)", "count", [0, Math.max(...counts)], ys);
  counts.forEach((c, i) => {
    s += `<rect x="${(M.l + i * bw).toFixed(1)}" y="${ys(c).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(H - M.b - ys(c)).toFixed(1)}" fill="#2b6cb0"/>`;
  });
  s += `<text x="${M.l}" y="${H - M.b + 14}" class="tk">${escapeHtml(fmt(lo))}</text><text x="${W - M.r}" y="${H - M.b + 14}" text-anchor="end" class="tk">${escapeHtml(fmt(hi))}</text>`;
  return `${s}</svg>`;
}

function sections(outputs: Record<string, unknown>, meta: ReportMeta): Section[] {
  const out: Section[] = [];
  const sec = (id: string, title: string): Section => {
    const s: Section = { id, title, tables: [], charts: [], notes: [] };
    out.push(s);
    return s;
  };
  const ing = outputs["01_ingest"] as IngestOutput | undefined;
  const split = outputs["02_split"] as SplitOutput | undefined;
  const imp = outputs["03_impute"] as ImputeOutput | undefined;
  const feat = outputs["04_features"] as FeaturesOutput | undefined;
  const sel = outputs["05_select"] as SelectOutput | undefined;
  const sw = outputs["06_sweep"] as SweepOutput | undefined;
  const reg = outputs["07_register"] as RegisterOutput | undefined;

  const s0 = sec("summary", "Run summary and lineage");
  const lineage: Cell[][] = [
    ["run id", meta.runId],
    ["dataset", meta.dataset],
    ["config hash", meta.configHash],
    ["started at", meta.startedAt],
    ["duration (s)", meta.seconds],
  ];
  if (ing) lineage.push(["data source", ing.source], ["data hash", ing.dataHash]);
  if (split) lineage.push(["train hash", split.trainHash], ["test set hash", split.testSetHash]);
  if (reg)
    lineage.push(
      ["model", `${reg.modelName} v${reg.version} (${reg.family})`],
      ["alias", reg.alias],
      ["artifact sha256", reg.artifactSha],
      ["params", JSON.stringify(reg.params)],
    );
  s0.tables.push({ title: "Lineage", head: ["field", "value"], rows: lineage });

  const s1 = sec("ingest", "Ingestion and validation");
  if (ing) {
    s1.tables.push({
      title: "Row counts",
      head: ["rows read", "valid rows", "rejected rows"],
      rows: [[ing.rows, ing.validRows, ing.rejectedRows]],
    });
    const v = Object.entries(ing.violationCounts ?? {});
    if (v.length)
      s1.tables.push({
        title: "Violations",
        head: ["check", "count"],
        rows: v.map(([k, c]) => [k, typeof c === "number" ? c : JSON.stringify(c)]),
      });
  } else s1.notes.push("step 01_ingest output not available");

  const s2 = sec("split", "Train/test split");
  if (split) {
    s2.tables.push({
      title: "Split sizes",
      head: ["train rows", "test rows", "stratified"],
      rows: [[split.train.length, split.test.length, split.stratified ? "yes" : "no"]],
    });
    const st = Object.entries(split.strata ?? {});
    if (st.length)
      s2.tables.push({
        title: "Strata shares (%)",
        head: ["stratum", "full data", "train", "test"],
        rows: st.map(([k, [a, b, c]]) => [k, a, b, c]),
      });
  } else s2.notes.push("step 02_split output not available");

  const s3 = sec("impute", "Imputation comparison");
  if (imp) {
    s3.notes.push(`winner: ${imp.winner}`);
    if (imp.columnsWithMissing.length)
      s3.tables.push({
        title: "Columns with missing values (training rows)",
        head: ["column", "missing", "percent"],
        rows: imp.columnsWithMissing.map((c) => [c.column, c.missing, c.percent]),
      });
    const sm = Object.entries(imp.summary ?? {});
    if (sm.length) {
      s3.tables.push({
        title: "Strategy summary",
        head: ["strategy", "mean RMSE", "mean MAE", "mean normalised RMSE"],
        rows: sm.map(([k, v]) => [
          k === imp.winner ? `${k} (winner)` : k,
          v.meanRmse,
          v.meanMae,
          v.meanNormRmse,
        ]),
      });
      s3.charts.push(
        barChart(
          "Imputation: mean normalised RMSE by strategy (lower is better)",
          sm.map(([k]) => k),
          sm.map(([, v]) => v.meanNormRmse),
          "normalised RMSE",
        ),
      );
    } else s3.notes.push("no missing values in the training rows: nothing to compare");
  } else s3.notes.push("step 03_impute output not available");

  const s4 = sec("kselect", "K selection (geo clusters)");
  if (feat?.kScores.length) {
    s4.notes.push(`chosen K = ${feat.k}`);
    const ks = feat.kScores;
    s4.tables.push({
      title: "Scores per K",
      head: ["K", "silhouette", "Calinski-Harabasz", "Davies-Bouldin", "inertia"],
      rows: ks.map((s) => [
        s.k === feat.k ? `${s.k} (chosen)` : s.k,
        s.silhouette,
        s.calinskiHarabasz,
        s.daviesBouldin,
        s.inertia,
      ]),
    });
    const chosen = ks.find((s) => s.k === feat.k);
    const mark = (y: number) =>
      chosen ? [{ x: chosen.k, y, label: `chosen K = ${chosen.k}`, kind: "chosen" as const }] : [];
    s4.charts.push(
      lineChart(
        "Silhouette vs K",
        "K",
        "silhouette",
        [{ name: "silhouette", x: ks.map((s) => s.k), y: ks.map((s) => s.silhouette), dots: true }],
        mark(chosen?.silhouette ?? Number.NaN),
        feat.k ?? undefined,
      ),
      lineChart(
        "Inertia vs K (elbow)",
        "K",
        "inertia",
        [{ name: "inertia", x: ks.map((s) => s.k), y: ks.map((s) => s.inertia), dots: true }],
        mark(chosen?.inertia ?? Number.NaN),
        feat.k ?? undefined,
      ),
    );
  } else
    s4.notes.push(
      feat ? `geo clusters disabled (K = ${feat.k ?? "none"})` : "step 04_features output not available",
    );

  const s5 = sec("models", "Model comparison");
  if (sel) {
    s5.notes.push(`scoring: ${sel.scoring}, ${sel.folds} folds; winner: ${sel.winner}`);
    s5.tables.push({
      title: "Families (best grid point each)",
      head: [
        "family",
        "CV mean",
        "CV std",
        "train mean",
        "overfit ratio",
        "CV R²",
        "fits",
        "seconds",
        "best params",
      ],
      rows: sel.results.map((r) => [
        r.family === sel.winner ? `${r.family} (winner)` : r.family,
        r.cvMean,
        r.cvStd,
        r.trainMean,
        r.overfitRatio,
        r.cvR2,
        r.fits,
        r.seconds,
        JSON.stringify(r.bestParams),
      ]),
    });
    s5.charts.push(
      barChart(
        `CV ${sel.scoring} by family (± std)`,
        sel.results.map((r) => r.family),
        sel.results.map((r) => Math.abs(r.cvMean)),
        sel.scoring,
        sel.results.map((r) => r.cvStd),
      ),
    );
  } else s5.notes.push("step 05_select output not available");

  const s6 = sec("sweep", "Hyper-parameter sweep");
  if (sw?.enabled && sw.trials.length) {
    const pruned = sw.trials.filter((t) => t.state === "pruned").length;
    s6.notes.push(
      `${sw.family}: ${sw.trials.length} trials (${pruned} pruned), objective ${sw.objective}, best ${fmt(sw.bestValue)}`,
    );
    const done = sw.trials.filter((t) => t.value !== null && Number.isFinite(t.value));
    const best: number[] = [];
    let b = Number.POSITIVE_INFINITY;
    for (const t of done) {
      b = Math.min(b, t.value as number);
      best.push(b);
    }
    s6.charts.push(
      lineChart(
        "Sweep: objective per trial and best so far (pruned trials circled red)",
        "trial",
        sw.objective,
        [
          {
            name: "objective",
            x: done.map((t) => t.number),
            y: done.map((t) => t.value as number),
            dots: true,
          },
          { name: "best so far", x: done.map((t) => t.number), y: best },
        ],
        sw.trials
          .filter((t) => t.state === "pruned" && t.value !== null)
          .map((t) => ({
            x: t.number,
            y: t.value as number,
            label: `trial ${t.number} pruned`,
            kind: "pruned" as const,
          })),
      ),
    );
    s6.tables.push({
      title: "Trials",
      head: ["trial", "state", "objective", "seconds", "params"],
      rows: sw.trials.map((t) => [t.number, t.state, t.value, t.seconds, JSON.stringify(t.params)]),
    });
  } else s6.notes.push(sw ? "sweep disabled or no trials" : "step 06_sweep output not available");

  const s7 = sec("test", "Test metrics");
  if (reg) {
    s7.tables.push({
      title: "Held-out test split",
      head: ["metric", "value"],
      rows: Object.entries(reg.metrics).map(([k, v]) => [k, v]),
    });
    const s8 = sec("interval", "Interval calibration");
    s8.tables.push({
      title: "Prediction interval",
      head: ["method", "level", "test coverage", "mean width", "qhat"],
      rows: [
        [
          reg.interval.method,
          reg.interval.level,
          reg.interval.testCoverage,
          reg.interval.meanWidth,
          reg.interval.qhat,
        ],
      ],
    });
    const s9 = sec("residuals", "Predicted vs actual and residuals");
    s9.charts.push(scatter("Predicted vs actual (test split sample)", reg.plot.actual, reg.plot.predicted));
    s9.charts.push(
      histogram(
        "Residuals histogram",
        reg.plot.actual.map((a, i) => a - reg.plot.predicted[i]),
      ),
    );
    const s10 = sec("importance", "Feature importance");
    const fi = [...reg.featureImportance].sort((a, b2) => b2.importance - a.importance).slice(0, 20);
    if (fi.length) {
      s10.charts.push(
        barChart(
          "Feature importance (top 20)",
          fi.map((f) => f.feature),
          fi.map((f) => f.importance),
          "importance",
        ),
      );
      s10.tables.push({
        title: "Importances",
        head: ["feature", "importance"],
        rows: fi.map((f) => [f.feature, f.importance]),
      });
    } else s10.notes.push("the model exposes no feature importances");
    const s11 = sec("segments", "Error by segment");
    const bySeg = new Map<string, RegisterOutput["segments"]>();
    for (const s of reg.segments) bySeg.set(s.segment, [...(bySeg.get(s.segment) ?? []), s]);
    for (const [name, rows] of bySeg)
      s11.tables.push({
        title: name,
        head: ["value", "n", "MAE", "MAPE %", "wMAPE %", "within 10 %"],
        rows: rows.map((r) => [r.value, r.n, r.mae, r.mape, r.wmape, r.within_10pct]),
      });
  } else s7.notes.push("step 07_register output not available");
  return out;
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:980px;padding:16px;color:#1a202c}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #cbd5e0;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #e2e8f0;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#edf2f7}td.n{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:4px 0}
td{max-width:420px;overflow-wrap:anywhere}svg{display:block;margin:8px 0;max-width:100%;height:auto}
.ct{font-size:13px;font-weight:600}.tk{font-size:10px;fill:#4a5568}.lb{font-size:11px;fill:#2d3748}
.ax{stroke:#4a5568}.vl{stroke:#a0aec0;stroke-dasharray:4 3}.er{stroke:#1a202c;stroke-width:1.5}
.mk{fill:none;stroke:#e53e3e;stroke-width:2.5}.pr{fill:none;stroke:#e53e3e;stroke-width:1.5}.pt{fill:#2b6cb0;fill-opacity:.45}
nav a{margin-right:10px}.note{color:#4a5568}`;

function tableHtml(t: Table): string {
  const head = t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const rows = t.rows
    .map(
      (r) =>
        `<tr>${r.map((c) => `<td${typeof c === "number" ? ' class="n"' : ""}>${escapeHtml(fmt(c))}</td>`).join("")}</tr>`,
    )
    .join("\n");
  return `<table><caption>${escapeHtml(t.title)}</caption><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** The run report as one self-contained HTML document. */
export function renderRunReport(outputs: Record<string, unknown>, meta: ReportMeta): string {
  const secs = sections(outputs, meta);
  const nav = secs.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join(" ");
  const body = secs
    .map(
      (s) =>
        `<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>${s.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join("")}${s.charts.join("\n")}${s.tables.map(tableHtml).join("\n")}</section>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(`Run report ${meta.runId} — ${meta.dataset}`)}</title><style>${CSS}</style></head>
<body><h1>${escapeHtml(`Training run ${meta.runId}`)}</h1><p class="note">${escapeHtml(`dataset ${meta.dataset} · config ${meta.configHash} · started ${meta.startedAt} · ${meta.seconds.toFixed(1)} s`)}</p>
<nav>${nav}</nav>
${body}
</body></html>
`;
}

function mdEscape(s: string): string {
  return s
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/[\r\n]+/g, " ")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

/** The same report as Markdown (tables and notes only, no charts). */
export function renderRunReportMarkdown(outputs: Record<string, unknown>, meta: ReportMeta): string {
  const lines: string[] = [`# Training run ${mdEscape(meta.runId)}`, ""];
  for (const s of sections(outputs, meta)) {
    lines.push(`## ${mdEscape(s.title)}`, "");
    for (const n of s.notes) lines.push(mdEscape(n), "");
    for (const t of s.tables) {
      lines.push(`**${mdEscape(t.title)}**`, "");
      lines.push(`| ${t.head.map(mdEscape).join(" | ")} |`, `| ${t.head.map(() => "---").join(" | ")} |`);
      for (const r of t.rows) lines.push(`| ${r.map((c) => mdEscape(fmt(c))).join(" | ")} |`);
      lines.push("");
    }
  }
  return `${lines.join("\n")}\n`;
}
