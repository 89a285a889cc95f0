/**
 * Monitoring page, model part: drift verdict, per-feature PSI / test scores, prediction distribution,
 * rolling accuracy from feedback, traffic checks and fired alerts, from GET /api/v1/monitoring/summary
 * (polled every 15 s and on window change). Charts are plain SVG like charts.tsx.
 */
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { formatNumber, formatPercent, formatPrice } from "./lib/format.ts";
import {
  type AccuracyMetrics,
  type Alert,
  type ComparedHistogram,
  compareHistograms,
  driftReportUrl,
  driftVerdict,
  type FeatureDrift,
  formatCompactPrice,
  formatDistance,
  formatTestScore,
  type MonitoringSummary,
  monitoringError,
  num,
  psiAxisMax,
  scoreBar,
  sortAlerts,
  sortFeatures,
  summaryUrl,
  testLabel,
  WINDOWS,
  type WindowValue,
} from "./lib/monitoring.ts";

export const SUMMARY_POLL_MS = 15_000;
const SUMMARY_PATH = "/api/v1/monitoring/summary";

type State =
  | { status: "loading" }
  | { status: "ok"; data: MonitoringSummary; fetchedAt: number }
  | { status: "error"; kind: ReturnType<typeof monitoringError>["kind"]; message: string };

const COLORS = { ok: "#2e7d32", moderate: "#f0a500", major: "#c62828", ref: "#9aa4b0", cur: "#3b6ea5" };

/**
 * Does the server have the monitoring routes? Read from the OpenAPI document so that a server without
 * monitoring costs no failing request (browsers log every 404 on the console). null = could not tell.
 */
async function monitoringRoutesPresent(): Promise<boolean | null> {
  try {
    const r = await fetch("/openapi.json", { headers: { accept: "application/json" } });
    if (!r.ok) return null;
    const spec = (await r.json()) as { paths?: Record<string, unknown> };
    return spec.paths ? SUMMARY_PATH in spec.paths : null;
  } catch {
    return null;
  }
}

export function ModelMonitoring(): JSX.Element {
  const [win, setWin] = useState<WindowValue>("24h");
  const [routes, setRoutes] = useState<boolean | null | undefined>(undefined);
  const [state, setState] = useState<State>({ status: "loading" });
  const [busy, setBusy] = useState(false);
  const [nonce, setNonce] = useState(0);

  useEffect(() => {
    monitoringRoutesPresent().then(setRoutes);
  }, []);

  useEffect(() => {
    if (routes === undefined) return;
    if (routes === false) {
      setState({ status: "error", ...monitoringError(404, {}) });
      return;
    }
    let stop = false;
    const tick = async () => {
      setBusy(true);
      try {
        const r = await fetch(summaryUrl(win), { headers: { accept: "application/json" } });
        const body = await r.json().catch(() => ({}));
        if (stop) return;
        if (r.ok) setState({ status: "ok", data: body as MonitoringSummary, fetchedAt: Date.now() });
        else setState({ status: "error", ...monitoringError(r.status, body) });
      } catch (e) {
        if (!stop) setState({ status: "error", kind: "error", message: (e as Error).message });
      } finally {
        if (!stop) setBusy(false);
      }
    };
    tick();
    const id = setInterval(tick, SUMMARY_POLL_MS);
    return () => {
      stop = true;
      clearInterval(id);
    };
  }, [win, routes, nonce]);

  return (
    <section class="card" id="model-monitoring" aria-labelledby="mm-title">
      <h2 id="mm-title">Model monitoring</h2>
      {routes !== false && (
        <div class="row toolbar">
          <fieldset class="seg" aria-label="window">
            <legend class="muted">Window</legend>
            {WINDOWS.map((w) => (
              <button
                key={w.value}
                type="button"
                class={w.value === win ? "" : "secondary"}
                aria-pressed={w.value === win ? "true" : "false"}
                onClick={() => setWin(w.value)}
              >
                last {w.label}
              </button>
            ))}
          </fieldset>
          <button type="button" class="secondary" onClick={() => setNonce((n) => n + 1)} disabled={busy}>
            Refresh
          </button>
          <span class="muted" aria-live="polite">
            {busy
              ? "updating…"
              : state.status === "ok"
                ? `updated ${new Date(state.fetchedAt).toLocaleTimeString()} · every ${SUMMARY_POLL_MS / 1000} s`
                : ""}
          </span>
        </div>
      )}
      {state.status === "loading" && <p>Loading the monitoring summary…</p>}
      {state.status === "error" && (
        <div class={state.kind === "error" ? "err notice" : "notice"} role="status" id="monitoring-error">
          <p>
            <strong>{state.message}</strong>
          </p>
          {state.kind === "off" && (
            <p class="muted">
              Start the server with monitoring enabled (<code>monitoring.enabled: true</code>) to log
              predictions and see drift here; drift monitoring: see <code>mlops drift</code> for a one-off
              report from files.
            </p>
          )}
          {state.kind === "no-reference" && (
            <p class="muted">
              Reference profiles are stored with models registered by the pipeline (<code>mlops run</code>).
            </p>
          )}
        </div>
      )}
      {state.status === "ok" && <SummaryView s={state.data} win={win} />}
    </section>
  );
}

function SummaryView({ s, win }: { s: MonitoringSummary; win: WindowValue }): JSX.Element {
  const v = driftVerdict(s);
  const d = s.drift;
  return (
    <>
      <div
        class={`verdict ${v.level}`}
        id="drift-verdict"
        role="status"
        data-level={v.level}
        aria-label="drift verdict"
      >
        <strong>{v.headline}</strong> <span>{v.detail}</span>
        <div class="muted">
          model {s.model_name} v{s.model_version}
          {d && (
            <>
              {" · "}
              <a href={driftReportUrl(win)} target="_blank" rel="noopener" id="drift-report-link">
                HTML drift report
              </a>
            </>
          )}
        </div>
      </div>
      <AlertsList alerts={s.alerts} />
      {d && (
        <>
          <h3>Feature and prediction drift</h3>
          <div class="charts">
            <PsiChart features={d.features} levels={d.psiThresholds} />
            {d.prediction ? (
              <PredictionDrift p={d.prediction} />
            ) : (
              <p class="muted">no prediction profile in the reference: prediction drift not computed</p>
            )}
          </div>
          <DriftTable features={d.features} levels={d.psiThresholds} />
        </>
      )}
      <Accuracy s={s} />
      <Checks s={s} />
      <p class="muted" id="log-stats">
        prediction log: {formatNumber(s.log.total ?? Number.NaN, 0)} logged,{" "}
        {formatNumber(s.log.withFeedback ?? Number.NaN, 0)} with feedback,{" "}
        {formatNumber(s.log.dropped ?? Number.NaN, 0)} dropped, {formatNumber(s.log.queued ?? Number.NaN, 0)}{" "}
        queued
      </p>
    </>
  );
}

function AlertsList({ alerts }: { alerts: Alert[] }): JSX.Element {
  return (
    <>
      <h3>Alerts</h3>
      {alerts.length === 0 ? (
        <p class="muted" id="alerts-none">
          No alert rule fired in this window.
        </p>
      ) : (
        <ul class="alerts" id="alerts" aria-label="fired alerts">
          {sortAlerts(alerts).map((a, i) => (
            <li key={`${a.rule}-${i}`} data-severity={a.severity}>
              <span class={`sev sev-${a.severity}`}>{a.severity}</span> {a.message}{" "}
              <span class="muted">({a.rule})</span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

const BW = 400;

function psiColor(v: number, levels: readonly [number, number]): string {
  return v >= levels[1] ? COLORS.major : v >= levels[0] ? COLORS.moderate : COLORS.ok;
}

/** Horizontal PSI bars with the moderate / major level lines. */
function PsiChart({
  features,
  levels,
}: {
  features: FeatureDrift[];
  levels: readonly [number, number];
}): JSX.Element {
  const fs = sortFeatures(features);
  const max = psiAxisMax(
    fs.map((f) => f.psi),
    levels,
  );
  const x0 = 122;
  const x1 = BW - 40;
  const sx = (v: number) => x0 + (Math.min(v, max) / max) * (x1 - x0);
  const rowH = 18;
  const top = 14;
  const h = top + fs.length * rowH + 4;
  return (
    <figure style={{ margin: 0 }}>
      <figcaption>
        <strong>PSI per feature</strong>{" "}
        <span class="muted">
          lines at {levels[0]} (moderate) and {levels[1]} (major)
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${BW} ${h}`} width="100%" role="img" aria-label="PSI per feature">
        {levels.map((l, i) => (
          <g key={l}>
            <line
              x1={sx(l)}
              x2={sx(l)}
              y1={top - 4}
              y2={h - 2}
              stroke={i === 0 ? COLORS.moderate : COLORS.major}
              stroke-dasharray="3 2"
            />
            <text x={sx(l) + (i === 0 ? -2 : 2)} y={9} text-anchor={i === 0 ? "end" : "start"}>
              {l}
            </text>
          </g>
        ))}
        {fs.map((f, i) => {
          const p = num(f.psi);
          const y = top + i * rowH;
          return (
            <g key={f.name}>
              <text x={0} y={y + 12} font-weight={f.drifted ? "700" : undefined}>
                {f.name.slice(0, 22)}
              </text>
              <rect
                x={x0}
                y={y + 3}
                height={rowH - 6}
                width={Number.isNaN(p) ? 0 : Math.max(1, sx(p) - x0)}
                fill={Number.isNaN(p) ? COLORS.ref : psiColor(p, levels)}
              />
              <text x={BW - 2} y={y + 12} text-anchor="end">
                {formatDistance(f.psi)}
                {p > max ? "›" : ""}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** Small bar of a test score against its threshold (p-values on a −log10 scale). */
function ScoreBar({ f }: { f: FeatureDrift }): JSX.Element {
  const b = scoreBar(f);
  const max = Math.max(b.threshold * 2, Number.isNaN(b.value) ? 0 : b.value) || 1;
  const w = 90;
  const sx = (v: number) => (Math.min(v, max) / max) * w;
  return (
    <svg viewBox={`0 0 ${w + 2} 12`} width={w + 2} height="12" aria-hidden="true" class="mini">
      <rect x={0} y={2} width={w} height={8} fill="#eef2f6" />
      <rect
        x={0}
        y={2}
        width={Number.isNaN(b.value) ? 0 : sx(b.value)}
        height={8}
        fill={f.drifted ? COLORS.major : COLORS.cur}
      />
      <line x1={sx(b.threshold)} x2={sx(b.threshold)} y1={0} y2={12} stroke="#1b1f24" stroke-width="1.5" />
    </svg>
  );
}

function DriftTable({
  features,
  levels,
}: {
  features: FeatureDrift[];
  levels: readonly [number, number];
}): JSX.Element {
  return (
    <div class="scroll">
      <table id="drift-table">
        <caption class="muted">
          Test score vs threshold (bar: p-values as −log10 p, the black tick is the threshold); PSI level
          {` ${levels[0]}/${levels[1]}`}.
        </caption>
        <thead>
          <tr>
            <th scope="col">feature</th>
            <th scope="col">test</th>
            <th scope="col">score vs threshold</th>
            <th scope="col">PSI</th>
            <th scope="col">out of range</th>
            <th scope="col">drifted</th>
          </tr>
        </thead>
        <tbody>
          {sortFeatures(features).map((f) => (
            <tr
              key={f.name}
              class={f.drifted ? "drifted" : ""}
              data-feature={f.name}
              data-drifted={String(f.drifted)}
            >
              <th scope="row">{f.name}</th>
              <td>{testLabel(f.test)}</td>
              <td>
                <ScoreBar f={f} /> <span class="nowrap">{formatTestScore(f)}</span>
              </td>
              <td class={f.psiLevel === "major" ? "bad" : ""}>
                {formatDistance(f.psi)} <span class="muted">{f.psiLevel}</span>
              </td>
              <td>{f.outOfRange ? `${f.outOfRange.below + f.outOfRange.above} / ${f.nCurrent}` : "—"}</td>
              <td>{f.drifted ? <strong class="bad">drifted</strong> : "no"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Reference vs current proportions per bin, as paired horizontal bars. */
function HistogramCompare({ title, h }: { title: string; h: ComparedHistogram }): JSX.Element {
  const max = Math.max(1e-9, ...h.reference, ...h.current);
  const x0 = 96;
  const x1 = BW - 40;
  const rowH = 16;
  const height = h.labels.length * rowH + 4;
  const sx = (v: number) => (v / max) * (x1 - x0);
  return (
    <figure style={{ margin: 0 }}>
      <figcaption>
        <strong>{title}</strong> <span style={{ color: COLORS.ref }}>■ reference</span>{" "}
        <span style={{ color: COLORS.cur }}>■ current</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${BW} ${height}`}
        width="100%"
        role="img"
        aria-label={`${title}: share of predictions per bin, reference vs current`}
      >
        {h.labels.map((l, i) => {
          const y = i * rowH;
          return (
            <g key={l}>
              <text x={0} y={y + 11}>
                {l.slice(0, 18)}
              </text>
              <rect x={x0} y={y + 2} height={6} width={sx(h.reference[i])} fill={COLORS.ref} />
              <rect x={x0} y={y + 8} height={6} width={sx(h.current[i])} fill={COLORS.cur} />
              <text x={BW - 2} y={y + 11} text-anchor="end">
                {formatPercent(h.current[i], 0)}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

function PredictionDrift({ p }: { p: FeatureDrift }): JSX.Element {
  const h = compareHistograms(p.refHist, p.curHist, formatCompactPrice);
  return (
    <div id="prediction-distribution">
      <p style={{ marginTop: 0 }}>
        <strong>Prediction distribution</strong>:{" "}
        {p.drifted ? <strong class="bad">shifted</strong> : "no shift"} · {testLabel(p.test)}{" "}
        {formatTestScore(p)} · PSI {formatDistance(p.psi)} ({p.psiLevel}) · {p.nCurrent} current vs{" "}
        {p.nReference} reference (out-of-fold) predictions
      </p>
      <HistogramCompare title="Predicted price, share per bin" h={h} />
    </div>
  );
}

function AccuracyCells({ m }: { m: AccuracyMetrics }): JSX.Element {
  const pct = (v: number) => (Number.isNaN(v) ? "—" : `${formatNumber(v, 1)}%`);
  return (
    <>
      <td>{m.n}</td>
      <td>{formatPrice(num(m.mae))}</td>
      <td>{pct(num(m.mape))}</td>
      <td>{pct(num(m.wmape))}</td>
      <td>{pct(num(m.within10pct))}</td>
    </>
  );
}

const ACC_HEAD = ["labelled n", "MAE", "MAPE", "wMAPE", "within ±10 %"];

function Accuracy({ s }: { s: MonitoringSummary }): JSX.Element {
  const a = s.accuracy;
  const days = Math.round((a.untilMs - a.sinceMs) / 86_400_000);
  return (
    <div id="accuracy">
      <h3>Rolling accuracy from feedback</h3>
      <p class="muted">
        last {days >= 1 ? `${days} day${days === 1 ? "" : "s"}` : "day"} of predictions with an observed value
      </p>
      {a.versions.length === 0 ? (
        <p class="muted" id="accuracy-none">
          No feedback yet: post observed values to <code>/api/v1/feedback</code>.
        </p>
      ) : (
        <div class="scroll">
          <table id="accuracy-table">
            <thead>
              <tr>
                <th scope="col">version</th>
                {ACC_HEAD.map((x) => (
                  <th scope="col" key={x}>
                    {x}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {a.versions.map((v) => (
                <tr key={v.modelVersion} data-version={v.modelVersion}>
                  <th scope="row">v{v.modelVersion}</th>
                  <AccuracyCells m={v} />
                </tr>
              ))}
            </tbody>
          </table>
          {a.versions
            .filter((v) => Object.keys(v.segments).length > 0)
            .map((v) => (
              <table key={v.modelVersion} class="segments" data-version={v.modelVersion}>
                <caption class="muted">
                  v{v.modelVersion} by {a.by ?? "segment"}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">{a.by ?? "segment"}</th>
                    {ACC_HEAD.map((x) => (
                      <th scope="col" key={x}>
                        {x}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(v.segments)
                    .sort((x, y) => y[1].n - x[1].n)
                    .map(([k, m]) => (
                      <tr key={k}>
                        <th scope="row">{k}</th>
                        <AccuracyCells m={m} />
                      </tr>
                    ))}
                </tbody>
              </table>
            ))}
        </div>
      )}
    </div>
  );
}

function Checks({ s }: { s: MonitoringSummary }): JSX.Element {
  const p = s.checks.prediction;
  const l = s.checks.latency;
  const inputs = s.checks.inputs;
  const flagged = inputs.filter((c) => num(c.share) > 0);
  return (
    <div id="checks">
      <h3>Checks</h3>
      <div class="grid">
        <div>
          <h4>Predictions</h4>
          {p ? (
            <ul class="plain">
              <li>
                n {p.n} · mean {formatPrice(num(p.mean))} · std {formatPrice(num(p.std))}
              </li>
              <li class={p.stdCollapsed ? "bad" : ""}>
                std ratio vs reference {formatNumber(num(p.stdRatio), 2)}
                {p.stdCollapsed ? " (collapsed)" : ""}
              </li>
              <li class={num(p.outOfRangeShare) > 0 ? "bad" : ""}>
                outside training target range {formatPercent(num(p.outOfRangeShare))} ({p.belowRange} below,{" "}
                {p.aboveRange} above)
              </li>
            </ul>
          ) : (
            <p class="muted">no predictions in the window</p>
          )}
        </div>
        <div>
          <h4>Latency (logged)</h4>
          <p id="latency">
            p50 {formatNumber(num(l.p50), 1)} ms · p90 {formatNumber(num(l.p90), 1)} ms · p99{" "}
            {formatNumber(num(l.p99), 1)} ms · max {formatNumber(num(l.max), 1)} ms
          </p>
        </div>
      </div>
      <h4>Inputs outside the training data</h4>
      {inputs.length === 0 ? (
        <p class="muted">no inputs in the window</p>
      ) : flagged.length === 0 ? (
        <p class="muted">all {inputs.length} inputs within the training range / categories</p>
      ) : (
        <div class="scroll">
          <table id="input-checks">
            <thead>
              <tr>
                <th scope="col">feature</th>
                <th scope="col">training range</th>
                <th scope="col">below</th>
                <th scope="col">above</th>
                <th scope="col">unseen categories</th>
                <th scope="col">share</th>
              </tr>
            </thead>
            <tbody>
              {flagged.map((c) => (
                <tr key={c.name}>
                  <th scope="row">{c.name}</th>
                  <td>
                    {c.range
                      ? `${formatNumber(num(c.range[0]), 2)} – ${formatNumber(num(c.range[1]), 2)}`
                      : "—"}
                  </td>
                  <td>{c.below}</td>
                  <td>{c.above}</td>
                  <td>
                    {Object.entries(c.unseen)
                      .map(([k, n]) => `${k} (${n})`)
                      .join(", ") || "—"}
                  </td>
                  <td>{formatPercent(num(c.share))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
