import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { BarChart, GeoScatter, LineChart, ScatterChart } from "./charts.tsx";
import { parseCsv, recordsOf, toCsv } from "./lib/csv.ts";
import { formatDuration, formatNumber, formatPercent, formatPrice, perHousehold } from "./lib/format.ts";
import { between, parsePrometheus, type Snapshot, snapshot } from "./lib/prom.ts";
import { type FieldErrors, mapApiErrors, type UiColumn, validateRecord } from "./lib/validate.ts";
import { ModelMonitoring } from "./monitoring.tsx";
import "./style.css";

interface Contract {
  name: string;
  target: string;
  columns: UiColumn[];
  examples: { name: string; values: Record<string, number | string> }[];
  model_name: string;
}
type Json = Record<string, unknown>;

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { headers: { accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(String((body as Json).detail ?? (body as Json).message ?? `HTTP ${r.status}`));
  return body as T;
}

const PAGES = [
  ["predict", "Predict"],
  ["batch", "Batch"],
  ["experiments", "Experiments"],
  ["models", "Models"],
  ["monitoring", "Monitoring"],
] as const;

function useHash(): string {
  const [h, setH] = useState(location.hash.slice(1) || "predict");
  useEffect(() => {
    const on = () => setH(location.hash.slice(1) || "predict");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return h;
}

function useContract(): { contract: Contract | null; error: string | null } {
  const [contract, setC] = useState<Contract | null>(null);
  const [error, setE] = useState<string | null>(null);
  useEffect(() => {
    getJson<Contract>("/api/v1/ui/contract").then(setC, (e: Error) => setE(e.message));
  }, []);
  return { contract, error };
}

function toStrings(v: Record<string, number | string>): Record<string, string> {
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
}

function Predict({ contract }: { contract: Contract }) {
  const [values, setValues] = useState<Record<string, string>>(() =>
    toStrings(contract.examples[0]?.values ?? {}),
  );
  const [touched, setTouched] = useState(false);
  const [result, setResult] = useState<Json | null>(null);
  const [serverErr, setServerErr] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [geo, setGeo] = useState<[number, number, number][]>([]);
  useEffect(() => {
    getJson<{ points: [number, number, number][] }>("/api/v1/ui/geo").then(
      (b) => setGeo(b.points),
      () => setGeo([]),
    );
  }, []);
  const { instance, errors } = validateRecord(contract.columns, values);
  const shown = touched ? { ...serverErr, ...errors } : serverErr;
  async function submit(e: Event) {
    e.preventDefault();
    setTouched(true);
    if (!instance) return;
    setBusy(true);
    const t0 = performance.now();
    try {
      const r = await fetch("/api/v1/predict", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ instances: [instance] }),
      });
      const body = await r.json();
      const ms = performance.now() - t0;
      if (!r.ok) {
        setServerErr(mapApiErrors(body).get(0) ?? { _: String(body.detail ?? r.status) });
        setResult(null);
      } else {
        setServerErr({});
        setResult({ ...body, ms, instance });
      }
    } catch (err) {
      setServerErr({ _: (err as Error).message });
    } finally {
      setBusy(false);
    }
  }
  const pred = (result?.predictions as Json[] | undefined)?.[0];
  const ci = pred?.confidence_interval as { lower: number; upper: number; level: number } | undefined;
  const hh = result ? perHousehold(result.instance as Json) : null;
  return (
    <>
      <section class="card">
        <h2>Predict a district's median house value</h2>
        <fieldset class="row" aria-label="example scenarios" style={{ border: 0, padding: 0, margin: 0 }}>
          {contract.examples.map((ex) => (
            <button
              type="button"
              class="secondary"
              key={ex.name}
              onClick={() => {
                setValues(toStrings(ex.values));
                setServerErr({});
              }}
            >
              {ex.name}
            </button>
          ))}
        </fieldset>
        <form onSubmit={submit} noValidate>
          <div class="grid" style={{ marginTop: "0.75rem" }}>
            {contract.columns.map((c) => (
              <label key={c.name} htmlFor={`f-${c.name}`}>
                {c.name}
                {c.type === "categorical" ? (
                  <select
                    id={`f-${c.name}`}
                    name={c.name}
                    value={values[c.name] ?? ""}
                    onChange={(e) =>
                      setValues({ ...values, [c.name]: (e.target as HTMLSelectElement).value })
                    }
                  >
                    {(c.categories ?? []).map((x) => (
                      <option key={x}>{x}</option>
                    ))}
                  </select>
                ) : (
                  <input
                    id={`f-${c.name}`}
                    name={c.name}
                    inputMode="decimal"
                    value={values[c.name] ?? ""}
                    aria-invalid={shown[c.name] ? "true" : "false"}
                    aria-describedby={`err-${c.name}`}
                    onInput={(e) => {
                      setTouched(true);
                      setValues({ ...values, [c.name]: (e.target as HTMLInputElement).value });
                    }}
                  />
                )}
                <span class="err" id={`err-${c.name}`} data-field-error={c.name}>
                  {shown[c.name] ?? ""}
                </span>
              </label>
            ))}
          </div>
          {shown._ && <p class="err">{shown._}</p>}
          <p>
            <button type="submit" disabled={busy}>
              {busy ? "Predicting…" : "Predict"}
            </button>
          </p>
        </form>
      </section>
      {pred && ci && hh && (
        <section class="card" aria-live="polite" id="result">
          <div class="row" style={{ alignItems: "flex-start", gap: "1.5rem" }}>
            <div>
              <div class="big" data-testid="predicted-price">
                {formatPrice(pred.predicted_price as number)}
              </div>
              <div>
                {Math.round(ci.level * 100)}% interval: {formatPrice(ci.lower)} – {formatPrice(ci.upper)}
              </div>
              <div class="muted">
                model version {String(result?.model_version)} · {formatNumber(result?.ms as number, 1)} ms
              </div>
              <table style={{ marginTop: "0.5rem", width: "auto" }}>
                <tbody>
                  <tr>
                    <th>rooms / household</th>
                    <td>{formatNumber(hh.rooms, 2)}</td>
                    <td class="muted">typical ≈ 5.4</td>
                  </tr>
                  <tr>
                    <th>bedrooms / household</th>
                    <td>{formatNumber(hh.bedrooms, 2)}</td>
                    <td class="muted">typical ≈ 1.1</td>
                  </tr>
                  <tr>
                    <th>population / household</th>
                    <td>{formatNumber(hh.population, 2)}</td>
                    <td class="muted">typical ≈ 2.8</td>
                  </tr>
                </tbody>
              </table>
            </div>
            <GeoScatter
              points={geo}
              mark={{
                lat: Number((result?.instance as Json | undefined)?.latitude),
                lon: Number((result?.instance as Json | undefined)?.longitude),
              }}
            />
          </div>
        </section>
      )}
    </>
  );
}

interface BatchRow {
  index: number;
  record: Record<string, string>;
  prediction?: Json;
  errors?: FieldErrors;
}

function Batch({ contract }: { contract: Contract }) {
  const [rows, setRows] = useState<BatchRow[]>([]);
  const [status, setStatus] = useState("");
  async function onFile(e: Event) {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    const { records, badRows } = recordsOf(parseCsv(await file.text()));
    const out: BatchRow[] = records.map((record, index) => ({ index, record }));
    for (const b of badRows) out[b.row].errors = { _: b.message };
    const valid: { row: BatchRow; instance: Json }[] = [];
    for (const r of out) {
      if (r.errors) continue;
      const v = validateRecord(contract.columns, r.record);
      if (v.instance) valid.push({ row: r, instance: v.instance });
      else r.errors = v.errors;
    }
    const CHUNK = 500;
    for (let i = 0; i < valid.length; i += CHUNK) {
      setStatus(`predicting rows ${i + 1}–${Math.min(valid.length, i + CHUNK)} of ${valid.length}…`);
      const chunk = valid.slice(i, i + CHUNK);
      const r = await fetch("/api/v1/predict", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ instances: chunk.map((c) => c.instance) }),
      });
      const body = await r.json().catch(() => ({}));
      if (r.ok)
        chunk.forEach((c, j) => {
          c.row.prediction = { ...body.predictions[j], model_version: body.model_version };
        });
      else {
        const errs = mapApiErrors(body);
        chunk.forEach((c, j) => {
          c.row.errors = errs.get(j) ?? errs.get(-1) ?? { _: `HTTP ${r.status}` };
        });
      }
    }
    setRows(out);
    const nErr = out.filter((r) => r.errors).length;
    setStatus(`${out.length} rows: ${out.length - nErr} predicted, ${nErr} with errors`);
  }
  function download() {
    const cols = contract.columns.map((c) => c.name);
    const csv = toCsv(
      [...cols, "predicted_price", "lower", "upper", "error"],
      rows.map((r) => {
        const ci = r.prediction?.confidence_interval as Json | undefined;
        return [
          ...cols.map((c) => r.record[c] ?? ""),
          (r.prediction?.predicted_price as number) ?? null,
          (ci?.lower as number) ?? null,
          (ci?.upper as number) ?? null,
          r.errors
            ? Object.entries(r.errors)
                .map(([k, v]) => (k === "_" ? v : `${k}: ${v}`))
                .join("; ")
            : null,
        ];
      }),
    );
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
    a.download = "predictions.csv";
    a.click();
  }
  return (
    <section class="card">
      <h2>Batch predictions</h2>
      <p class="muted">
        CSV with a header row and the columns {contract.columns.map((c) => c.name).join(", ")}.
      </p>
      <div class="row">
        <label>
          CSV file
          <input type="file" accept=".csv,text/csv" onChange={onFile} aria-label="CSV file" />
        </label>
        <button type="button" onClick={download} disabled={rows.length === 0}>
          Download results CSV
        </button>
      </div>
      <p role="status">{status}</p>
      {rows.length > 0 && (
        <div class="scroll">
          <table id="batch-table">
            <thead>
              <tr>
                <th>row</th>
                <th>predicted price</th>
                <th>interval</th>
                <th>errors</th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, 1000).map((r) => {
                const ci = r.prediction?.confidence_interval as Json | undefined;
                return (
                  <tr key={r.index} class={r.errors ? "bad" : ""} data-row={r.index + 1}>
                    <td>{r.index + 1}</td>
                    <td>{r.prediction ? formatPrice(r.prediction.predicted_price as number) : "—"}</td>
                    <td>
                      {ci ? `${formatPrice(ci.lower as number)} – ${formatPrice(ci.upper as number)}` : ""}
                    </td>
                    <td>
                      {r.errors
                        ? Object.entries(r.errors)
                            .map(([k, v]) => (k === "_" ? v : `${k}: ${v}`))
                            .join("; ")
                        : ""}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface RunSummary {
  run_id: string;
  name: string;
  status: string;
  start_time: number;
  duration_s: number | null;
}

function Experiments() {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [sel, setSel] = useState<string | null>(null);
  const [detail, setDetail] = useState<Json | null>(null);
  useEffect(() => {
    getJson<{ runs: RunSummary[] }>("/api/v1/ui/runs").then(
      (b) => setRuns(b.runs),
      (e: Error) => setErr(e.message),
    );
  }, []);
  useEffect(() => {
    if (!sel) return;
    setDetail(null);
    getJson<Json>(`/api/v1/ui/runs/${sel}`).then(setDetail, (e: Error) => setErr(e.message));
  }, [sel]);
  return (
    <>
      <section class="card">
        <h2>Pipeline runs</h2>
        {err && <p class="err">{err}</p>}
        {runs && runs.length === 0 && (
          <p>
            No runs yet: run <code>mlops run</code>.
          </p>
        )}
        {runs && runs.length > 0 && (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>run</th>
                  <th>status</th>
                  <th>started</th>
                  <th>duration</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <tr key={r.run_id}>
                    <td>
                      <button type="button" class="secondary" onClick={() => setSel(r.run_id)}>
                        {r.name || r.run_id.slice(0, 8)}
                      </button>
                    </td>
                    <td class={r.status === "FINISHED" ? "good" : r.status === "FAILED" ? "bad" : ""}>
                      {r.status}
                    </td>
                    <td>{new Date(r.start_time).toLocaleString()}</td>
                    <td>{formatDuration(r.duration_s)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {detail && <RunDetail detail={detail} />}
    </>
  );
}

function RunDetail({ detail }: { detail: Json }) {
  const a = detail.artifacts as Json;
  const cmp = (a["model_comparison.json"] as Json[] | undefined) ?? [];
  const imp = (a["imputation_scores.json"] as { scores?: Json[]; winner?: unknown } | undefined) ?? {};
  const ks = (a["k_selection.json"] as Json[] | undefined) ?? [];
  const trials = ((a["sweep_trials.json"] as Json[] | undefined) ?? []).filter(
    (t) => typeof t.value === "number",
  );
  const fi = (a["feature_importance.json"] as Json[] | undefined) ?? [];
  const seg = (a["segments.json"] as Json[] | undefined) ?? [];
  const pva = a["predictions_sample.json"] as { actual?: number[]; predicted?: number[] } | undefined;
  const pairs: [number, number][] =
    pva?.actual && pva.predicted ? pva.actual.map((y, i) => [y, (pva.predicted as number[])[i]]) : [];
  let best = Number.POSITIVE_INFINITY;
  const bestSoFar: [number, number][] = trials.map((t) => {
    best = Math.min(best, t.value as number);
    return [t.number as number, best];
  });
  const run = detail.run as RunSummary;
  return (
    <>
      <section class="card" id="run-detail">
        <h2>
          Run {run.name}{" "}
          <span class="muted">
            ({run.run_id.slice(0, 8)}, {run.status}, {formatDuration(run.duration_s)})
          </span>
        </h2>
        <h3>Model comparison</h3>
        {cmp.length === 0 ? (
          <p class="muted">no model comparison logged</p>
        ) : (
          <div class="scroll">
            <table id="comparison-table">
              <thead>
                <tr>
                  <th>family</th>
                  <th>CV MAE</th>
                  <th>± std</th>
                  <th>train MAE</th>
                  <th>CV R²</th>
                  <th>overfit ratio</th>
                  <th>fits</th>
                  <th>seconds</th>
                </tr>
              </thead>
              <tbody>
                {[...cmp]
                  .sort((x, y) => (x.cvMean as number) - (y.cvMean as number))
                  .map((m) => (
                    <tr key={String(m.family)}>
                      <td>{String(m.family)}</td>
                      <td>{formatNumber(m.cvMean as number, 0)}</td>
                      <td>{formatNumber(m.cvStd as number, 0)}</td>
                      <td>{formatNumber(m.trainMean as number, 0)}</td>
                      <td>{formatNumber(m.cvR2 as number, 3)}</td>
                      <td>{formatNumber(m.overfitRatio as number, 2)}</td>
                      <td>{String(m.fits ?? "")}</td>
                      <td>{formatNumber(m.seconds as number, 2)}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </div>
        )}
        <h3>Test metrics</h3>
        <p>
          {Object.entries(detail.metrics as Record<string, number>)
            .slice(0, 12)
            .map(([k, v]) => `${k} ${formatNumber(v)}`)
            .join(" · ") || "—"}
        </p>
      </section>
      <section class="card">
        <div class="charts">
          {trials.length > 0 && (
            <LineChart
              title="Sweep: objective per trial / best so far"
              series={[
                {
                  name: "trial",
                  color: "#999",
                  points: trials.map((t) => [t.number as number, t.value as number]),
                },
                { name: "best", color: "#c62828", points: bestSoFar },
              ]}
            />
          )}
          {ks.length > 0 && (
            <LineChart
              title="K selection: silhouette"
              series={[
                {
                  name: "silhouette",
                  color: "#2e7d32",
                  points: ks.map((k) => [k.k as number, k.silhouette as number]),
                },
              ]}
            />
          )}
          {ks.length > 0 && (
            <LineChart
              title="K selection: inertia (elbow)"
              series={[
                {
                  name: "inertia",
                  color: "#3b6ea5",
                  points: ks.map((k) => [k.k as number, k.inertia as number]),
                },
              ]}
            />
          )}
          {imp.scores && (
            <BarChart
              title={`Imputation RMSE (winner: ${String(imp.winner ?? "?")})`}
              bars={imp.scores.map((s) => ({ label: `${s.strategy} ${s.column}`, value: s.rmse as number }))}
            />
          )}
          {fi.length > 0 && (
            <BarChart
              title="Feature importance"
              bars={fi.slice(0, 15).map((f) => ({ label: String(f.feature), value: f.importance as number }))}
            />
          )}
          {seg.length > 0 && (
            <BarChart
              title="MAE by segment"
              bars={seg.map((s) => ({ label: `${s.value}`, value: s.mae as number }))}
            />
          )}
        </div>
        {pairs.length > 0 && (
          <div class="charts">
            <ScatterChart
              title={`Predicted vs actual (test split, ${pairs.length} points)`}
              points={pairs}
              xLabel="actual"
              yLabel="predicted"
              line="identity"
            />
            <ScatterChart
              title="Residuals (predicted − actual) vs predicted"
              points={pairs.map(([y, p]) => [p, p - y])}
              xLabel="predicted"
              yLabel="residual"
              line="zero"
            />
          </div>
        )}
      </section>
    </>
  );
}

interface Version {
  version: number;
  run_id: string | null;
  metrics: Record<string, number>;
  lineage: Json;
  aliases: string[];
  created_at: number;
}

function Models({ contract }: { contract: Contract }) {
  const [data, setData] = useState<{ versions: Version[]; history: Json[] } | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string; gates?: Json[] } | null>(null);
  const load = () =>
    getJson<{ versions: Version[]; history: Json[] }>(`/api/v1/ui/models/${contract.model_name}`).then(
      setData,
      (e: Error) => setErr(e.message),
    );
  useEffect(() => {
    load();
  }, []);
  async function act(kind: "promote" | "rollback", version?: number) {
    const key = prompt("Admin API key (x-api-key)");
    if (key === null) return;
    const r = await fetch(`/api/v1/admin/models/${contract.model_name}/${kind}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key, accept: "application/json" },
      body: JSON.stringify(kind === "promote" ? { version } : {}),
    });
    const b = await r.json().catch(() => ({}));
    if (r.ok) setMsg({ ok: true, text: `${kind} done: ${b.alias} → v${b.version}`, gates: b.gates });
    else
      setMsg({
        ok: false,
        text: `${kind} refused (HTTP ${r.status}): ${b.detail ?? b.message ?? ""}`,
        gates: b.gates,
      });
    load();
  }
  return (
    <>
      <section class="card">
        <h2>Model {contract.model_name}</h2>
        {err && <p class="err">{err}</p>}
        {msg && (
          <div role="alert" id="admin-result" class={msg.ok ? "good" : "bad"}>
            <p>{msg.text}</p>
            {msg.gates && msg.gates.length > 0 && (
              <ul>
                {msg.gates.map((g) => (
                  <li key={String(g.name)}>
                    {g.passed ? "✔" : "✘"} {String(g.name)}: {formatNumber(g.actual as number)} vs{" "}
                    {formatNumber(g.threshold as number)}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <button type="button" class="secondary" onClick={() => act("rollback")}>
          Roll back production
        </button>
        {data && (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>version</th>
                  <th>aliases</th>
                  <th>R²</th>
                  <th>MAE</th>
                  <th>MAPE</th>
                  <th>lineage</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                {data.versions.map((v) => (
                  <tr key={v.version}>
                    <td>
                      v{v.version}
                      <div class="muted">{new Date(v.created_at).toLocaleString()}</div>
                    </td>
                    <td>{v.aliases.join(", ") || "—"}</td>
                    <td>{formatNumber(v.metrics.r2)}</td>
                    <td>{formatNumber(v.metrics.mae, 0)}</td>
                    <td>{formatNumber(v.metrics.mape, 1)}%</td>
                    <td class="muted">
                      run {v.run_id?.slice(0, 8) ?? "—"}
                      <br />
                      data {String(v.lineage.dataHash ?? "").slice(0, 10)}
                      <br />
                      config {String(v.lineage.configHash ?? "").slice(0, 10)}
                    </td>
                    <td>
                      <button type="button" onClick={() => act("promote", v.version)}>
                        Promote v{v.version}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {data && (
        <section class="card">
          <h3>Audit log</h3>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>when</th>
                  <th>action</th>
                  <th>alias</th>
                  <th>from → to</th>
                  <th>actor</th>
                  <th>reason</th>
                </tr>
              </thead>
              <tbody>
                {data.history.map((h) => (
                  <tr key={String(h.id)}>
                    <td>{new Date(h.at as number).toLocaleString()}</td>
                    <td>{String(h.action)}</td>
                    <td>{String(h.alias)}</td>
                    <td>
                      {String(h.fromVersion ?? "—")} → {String(h.toVersion ?? "—")}
                    </td>
                    <td>{String(h.actor)}</td>
                    <td>{String(h.reason ?? "")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </>
  );
}

function Monitoring() {
  const [snaps, setSnaps] = useState<Snapshot[]>([]);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    let stop = false;
    const tick = async () => {
      try {
        const r = await fetch("/metrics");
        const text = await r.text();
        if (!stop) setSnaps((s) => [...s.slice(-59), snapshot(parsePrometheus(text), Date.now())]);
        setErr(null);
      } catch (e) {
        setErr((e as Error).message);
      }
    };
    tick();
    const id = setInterval(tick, 3000);
    return () => {
      stop = true;
      clearInterval(id);
    };
  }, []);
  const stats = useMemo(
    () => snaps.slice(1).map((s, i) => ({ t: (s.t - snaps[0].t) / 1000, ...between(snaps[i], s) })),
    [snaps],
  );
  const last = stats[stats.length - 1];
  return (
    <>
      <ModelMonitoring />
      <LiveTraffic last={last} stats={stats} err={err} />
    </>
  );
}

function LiveTraffic({
  last,
  stats,
  err,
}: {
  last: ReturnType<typeof between> | undefined;
  stats: (ReturnType<typeof between> & { t: number })[];
  err: string | null;
}) {
  return (
    <section class="card">
      <h2>Live traffic</h2>
      {err && <p class="err">{err}</p>}
      <p>
        {last
          ? `${formatNumber(last.rps, 2)} req/s · error rate ${formatPercent(last.errorRate)} · p95 ${formatNumber(last.p95 * 1000, 1)} ms`
          : "collecting (polls /metrics every 3 s)…"}
      </p>
      <div class="charts">
        <LineChart
          title="Requests / s"
          series={[{ name: "rps", color: "#3b6ea5", points: stats.map((s) => [s.t, s.rps]) }]}
        />
        <LineChart
          title="Latency (ms)"
          series={[
            { name: "p50", color: "#2e7d32", points: stats.map((s) => [s.t, s.p50 * 1000]) },
            { name: "p95", color: "#f0a500", points: stats.map((s) => [s.t, s.p95 * 1000]) },
            { name: "p99", color: "#c62828", points: stats.map((s) => [s.t, s.p99 * 1000]) },
          ]}
        />
        <LineChart
          title="Error rate"
          series={[{ name: "errors", color: "#c62828", points: stats.map((s) => [s.t, s.errorRate]) }]}
        />
      </div>
    </section>
  );
}

function App() {
  const page = useHash();
  const { contract, error } = useContract();
  useEffect(() => {
    document.title = `${PAGES.find((p) => p[0] === page)?.[1] ?? "Dashboard"} · housing model`;
  }, [page]);
  return (
    <>
      <header>
        <h1>Housing model</h1>
        <nav aria-label="pages">
          {PAGES.map(([id, label]) => (
            <a key={id} href={`#${id}`} aria-current={page === id ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {error && <p class="err">Could not load the dataset contract: {error}</p>}
        {!contract && !error && <p>Loading…</p>}
        {contract && page === "predict" && <Predict contract={contract} />}
        {contract && page === "batch" && <Batch contract={contract} />}
        {page === "experiments" && <Experiments />}
        {contract && page === "models" && <Models contract={contract} />}
        {page === "monitoring" && <Monitoring />}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
