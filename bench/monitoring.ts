/**
 * Monitoring benchmark: PredictionLog append throughput (and dropped count, which must stay 0) for 1 M
 * predictions resampled from the bundled California Housing rows, then the drift check over all 1 M logged
 * predictions (window read + computeDrift vs the reference profile of an 80 % split), with time and RSS.
 *
 *   npx tsx bench/run.ts monitoring         (or: BENCH_MONITORING_N=200000 for a shorter run)
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadContract } from "../src/data/contract.ts";
import { readCsv } from "../src/data/csv.ts";
import { Rng } from "../src/data/prng.ts";
import { computeDrift } from "../src/monitoring/drift.ts";
import { PredictionLog, type PredictionRecord } from "../src/monitoring/prediction-log.ts";
import { buildReferenceProfile, serializeReferenceProfile } from "../src/monitoring/reference.ts";
import { renderDriftHtml } from "../src/monitoring/report-html.ts";
import { median } from "./stats.ts";

const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;

export async function benchMonitoring(opts: { runs: number }) {
  const N = Number(process.env.BENCH_MONITORING_N ?? 1_000_000);
  const runs = Math.max(1, opts.runs);
  const contract = loadContract("config/datasets/california_housing.yaml");
  const all = (await readCsv("data/california_housing.csv")).frame;
  const perm = new Rng(42).permutation(all.nRows);
  const train = all.take(perm.subarray(0, Math.round(all.nRows * 0.8)));
  const predict = (x: number) => 45_000 + 40_000 * x;
  const profile = buildReferenceProfile(train, contract, {
    predictions: train.numeric("median_income").map(predict),
    seed: 1,
  });
  const profileBytes = serializeReferenceProfile(profile).length;
  const features = profile.features.map((f) => f.name);
  const cols = features.map((name) => all.col(name));

  const dir = mkdtempSync(join(tmpdir(), "bench-monitoring-"));
  try {
    const log = new PredictionLog({ path: join(dir, "monitoring.db") });
    const rng = new Rng(7);
    const t0 = Date.now() - N;
    const CHUNK = 1000;
    let appendNs = 0n;
    const tStart = performance.now();
    for (let start = 0; start < N; start += CHUNK) {
      const m = Math.min(CHUNK, N - start);
      const batch: PredictionRecord[] = new Array(m);
      for (let k = 0; k < m; k++) {
        const row = rng.int(all.nRows);
        const inputs: Record<string, number | string | null> = {};
        for (const c of cols) {
          if (c.kind === "numeric") inputs[c.name] = Number.isNaN(c.values[row]) ? null : c.values[row];
          else inputs[c.name] = c.codes[row] < 0 ? null : c.levels[c.codes[row]];
        }
        const p = predict(all.numeric("median_income")[row]);
        batch[k] = {
          id: `b${start}-${k}`,
          ts: t0 + start + k,
          modelVersion: "1",
          inputs,
          prediction: p,
          lower: p * 0.8,
          upper: p * 1.2,
          latencyMs: 1.5,
        };
      }
      const a = process.hrtime.bigint();
      log.append(batch);
      appendNs += process.hrtime.bigint() - a;
      await new Promise((r) => setImmediate(r)); // let the background flush run, as between requests
    }
    await log.flush();
    const ingestSeconds = (performance.now() - tStart) / 1000;
    const st = log.stats();
    const dbBytes = statSync(join(dir, "monitoring.db")).size;

    const times: number[] = [];
    let peakRss = 0;
    let report: ReturnType<typeof computeDrift> | null = null;
    let windowMs = 0;
    for (let r = 0; r < runs; r++) {
      const a = performance.now();
      const w = log.window(0);
      windowMs = performance.now() - a;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      report = computeDrift(profile, w.inputs, { predictions: w.predictions });
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      times.push((performance.now() - a) / 1000);
      if (w.n !== N) throw new Error(`window returned ${w.n} rows, expected ${N}`);
    }
    const html = renderDriftHtml(report!);
    await log.close();

    const result = {
      n: N,
      append: {
        recordsPerSecondAppendCall: Math.round(N / (Number(appendNs) / 1e9)),
        recordsPerSecondEndToEnd: Math.round(N / ingestSeconds),
        ingestSeconds: Math.round(ingestSeconds * 100) / 100,
        dropped: st.dropped,
        flushes: st.flushes,
        lastFlushMs: Math.round(st.lastFlushMs * 10) / 10,
        dbMB: mb(dbBytes),
      },
      drift: {
        medianSeconds: Math.round(median(times) * 1000) / 1000,
        windowReadSeconds: Math.round(windowMs) / 1000,
        runs,
        peakRssMB: mb(peakRss),
        datasetDrift: report!.datasetDrift,
        nDrifted: report!.nDrifted,
      },
      profileBytes,
      htmlBytes: Buffer.byteLength(html),
      markdown: "",
    };
    result.markdown = [
      "| monitoring (N predictions) | value |",
      "|---|---|",
      `| logged predictions | ${N.toLocaleString("en-US")} |`,
      `| append() call throughput | ${result.append.recordsPerSecondAppendCall.toLocaleString("en-US")} rec/s |`,
      `| ingest end-to-end (append + batched SQLite writes) | ${result.append.recordsPerSecondEndToEnd.toLocaleString("en-US")} rec/s (${result.append.ingestSeconds} s) |`,
      `| dropped records | ${result.append.dropped} |`,
      `| monitoring.db size | ${result.append.dbMB} MB |`,
      `| drift check over all logged predictions (read window + 10 features + prediction) | ${result.drift.medianSeconds} s (window read ${result.drift.windowReadSeconds} s) |`,
      `| peak RSS during drift | ${result.drift.peakRssMB} MB |`,
      `| reference profile JSON | ${(profileBytes / 1024).toFixed(1)} kB |`,
      `| HTML report | ${(result.htmlBytes / 1024).toFixed(1)} kB |`,
    ].join("\n");
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchMonitoring({ runs: Number(process.env.BENCH_RUNS ?? 1) }).then((r) =>
    console.log(JSON.stringify(r, null, 2)),
  );
}
