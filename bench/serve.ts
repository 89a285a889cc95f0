/**
 * Serving benchmark (issue 5 "Performance", issue 7 "Benchmarks"): our server (bench/serve-child.mjs, a child
 * process per variant) serving the **real production model** — the ModelBundle the pipeline trains
 * (FeaturePipeline + tree ensemble + conformal intervals) — against the FastAPI reference (uvicorn +
 * scikit-learn, `async def` and `def` handlers) serving the same model family with the same hyperparameters,
 * loaded with autocannon on 127.0.0.1 in the same run.
 *
 *   npx tsx bench/serve.ts [--duration 10] [--connections 16] [--rounds 5] [--warmup 5]
 *                          [--half-peak-runs 5] [--half-peak-duration 6]
 *                          [--home DIR] [--train-home DIR] [--model-file BUNDLE] [--test-servable]
 *                          [--no-reference] [--python /usr/bin/python3] [--batch-rows 1000]
 *                          [--batch-requests 30] [--log-level warn] [--json]
 *
 * Model: --model-file (a bundle file), else the `production` version of the tracking home --home (default the
 * config's home: $MLOPS_HOME or <repo>/.mlops, when its registry has `<model_name>@production`), else one
 * trained now by the pipeline (fast profile) into --train-home (kept, reusable with --home) or a temp home
 * (deleted). --test-servable serves the linear
 * test servable instead (framework overhead only; no goals are judged).
 *
 * Measured:
 * - peak one-row throughput with the prediction log off and on, and of the FastAPI `async def` handler: three
 *   long-lived servers measured alternately (off, on, off, FastAPI, off, on, off, FastAPI, ..., off: each "on"
 *   and each FastAPI run right between two "off" runs) for --rounds rounds of --duration s × --connections after
 *   a --warmup s warm-up; medians, on/off = median over rounds of on / mean(bracketing off), and ours/FastAPI = median over
 *   rounds of mean(bracketing off) / FastAPI (the machine's speed moves by 1.5× within a minute, so the two sides
 *   of a ratio are measured in the same minute);
 *   after the run the "on" child is stopped and its PredictionLog.stats() (dropped, written) is compared with
 *   the rows it predicted (model_predictions_total);
 * - latency at half of the peak: --half-peak-runs (default 5) rounds of a steady stream of
 *   --half-peak-duration s (bench/open-loop.ts: evenly spaced requests, latency from the moment each request is
 *   issued, waits for a free connection included) against log off and log on, each at half of its own median
 *   peak (`mlops serve` logs by default), and a *floor* control (a bare Fastify
 *   app answering a constant body: what the machine, Node's HTTP stack and the generator cost alone), interleaved;
 *   the goal is judged on the median over rounds of each round's p99 (pooled p99 of all rounds reported too); then
 *   autocannon overallRate once for comparison (it sends each second's quota in a burst at the start of the
 *   second);
 * - 1,000-row batch server time (Server-Timing `total`) and round trip, real rows of the dataset;
 * - RSS (and peak RSS) of both children with the model loaded, after the load;
 * - FastAPI `def` peak throughput (once, not judged) and the `async def` 1,000-row batch round trip.
 * Goals (issue 5, issue 7) are judged from these numbers; benchmarks never assert.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";

import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { loadConfig, resolveHome } from "../src/config/load.ts";
import { contractTypes, loadContract } from "../src/data/contract.ts";
import { readTable } from "../src/data/io.ts";
import { Rng } from "../src/data/prng.ts";
import { ModelBundle } from "../src/features/bundle.ts";
import { train } from "../src/pipeline/pipeline.ts";
import { openTracking } from "../src/tracking/index.ts";
import { freePort } from "../test/helpers/net.ts";
import { encodeTestServable, SAMPLE } from "../test/helpers/servable.ts";
import { openLoopInChild } from "./open-loop.ts";
import { median, percentileSorted } from "./stats.ts";

const REPO = resolve(import.meta.dirname, "..");
const DATA_CSV = join(REPO, "data", "california_housing.csv");

export interface BenchServeOptions {
  /** A model bundle file to serve (skips the registry lookup / training). */
  modelFile?: string;
  /** Tracking home whose `<model_name>@production` is served (default: the config's home, i.e. $MLOPS_HOME or
   * <repo>/.mlops). */
  home?: string;
  /** When training is needed, train into this home and keep it (default: a temp home, deleted). */
  trainHome?: string;
  /** Serve the linear test servable instead of a real model (framework overhead only). */
  testServable?: boolean;
  /** Seconds of load per measured run (default 10). */
  durationSec?: number;
  /** Concurrent connections (default 16). */
  connections?: number;
  /** Alternating off/on rounds of the peak-throughput measurement (default max(5, runs)). */
  rounds?: number;
  /** Seconds of load before measuring, per server (default 5; throughput still rises after 2 s). */
  warmupSec?: number;
  /** Rounds of the steady half-peak stream per target (default 5) and seconds per round (default 6). */
  halfPeakRuns?: number;
  halfPeakSec?: number;
  /** From bench/run.ts (BENCH_RUNS). */
  runs?: number;
  /** Also run the FastAPI reference (default true; needs python3-fastapi/uvicorn/sklearn). */
  reference?: boolean;
  python?: string;
  /** Rows in the batch probe (default 1000) and number of probes (default 30; FastAPI 10). */
  batchRows?: number;
  batchRequests?: number;
  /** Our server's log level (default 'warn'; 'info' writes one JSON line per request). */
  logLevel?: string;
  log?: (msg: string) => void;
}

export interface ModelDescription {
  /** 'file PATH' | 'home DIR production vN' | 'trained now (...)' | 'test-servable' */
  source: string;
  name: string;
  version: string | null;
  family: string;
  kind: string;
  params: Record<string, unknown>;
  nTrees: number | null;
  maxDepth: number | null;
  nFeatures: number | null;
  intervalLevel: number | null;
  metrics: Record<string, number>;
  bundleBytes: number;
  trainSeconds?: number;
}

export interface LoadResult {
  target: string;
  reqPerSec: number;
  /** Per-response latency (ms), from autocannon's response events (µs resolution). */
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  /** Offered rate (req/s) for rate-limited runs. */
  rate?: number;
  /** How a rate-limited run offered its load: `steady` = open loop, evenly spaced requests, latency from each
   * request's issue time (bench/open-loop.ts; judged); `bursty` = autocannon overallRate (each second's quota sent
   * at full speed at the start of the second; shown for comparison). */
  arrivals?: "steady" | "bursty";
  /** Round of a repeated measurement (half-peak steady runs). */
  run?: number;
}

/** The steady half-peak rounds of one target, summarised. */
export interface HalfPeakSummary {
  target: string;
  rate: number;
  runs: number;
  p99Ms: number[];
  /** Median over rounds of each round's p99: what the goal is judged on. */
  medianP99Ms: number;
  /** p99 of all rounds' latencies together. */
  pooledP99Ms: number;
  medianP50Ms: number;
  non2xx: number;
  errors: number;
}

export interface BatchResult {
  target: string;
  rows: number;
  requests: number;
  /** Client round trip (ms), median and p90. */
  roundTripP50Ms: number;
  roundTripP90Ms: number;
  /** Server time from Server-Timing `total` (request start → response headers), ours only. */
  serverP50Ms?: number;
  serverP90Ms?: number;
  stagesP50Ms?: Record<string, number>;
}

export interface MemoryResult {
  target: string;
  rssMiB: number | null;
  peakRssMiB: number | null;
}

export interface LogCheck {
  /** PredictionLog.stats() of the log-on child after its graceful shutdown (flushed). */
  stats: Record<string, number> | null;
  /** Rows the log-on child predicted (model_predictions_total). */
  rowsPredicted: number | null;
  /** dropped = 0, rejected = 0, queued = 0 and written = rowsPredicted. */
  ok: boolean;
}

export interface Goal {
  issue: number;
  goal: string;
  value: string;
  /** null = not measured in this run. */
  met: boolean | null;
}

export interface BenchServeResult {
  mode: "real-model" | "test-servable";
  model: ModelDescription;
  durationSec: number;
  connections: number;
  rounds: number;
  warmupSec: number;
  peak: {
    off: LoadResult[];
    on: LoadResult[];
    offMedianReqPerSec: number;
    onMedianReqPerSec: number;
    /** median(on) / median(off) (off runs bracket every on and every FastAPI run). */
    ratioOnOffMedians: number;
    /** Median of `roundRatios`: the on/off ratio the goal is judged on. */
    ratioOnOff: number;
    /** Each on run / mean of the off runs just before and just after it. */
    roundRatios: number[];
    /** FastAPI `async def` runs, one per round between the off and the next off run (empty without reference). */
    ref: LoadResult[];
    refMedianReqPerSec: number | null;
    /** Mean of the off runs just before and just after each FastAPI run / that run: the throughput goal's ratio. */
    refRoundRatios: number[];
    /** Median of `refRoundRatios` (null without reference). */
    ratioOursRef: number | null;
  };
  halfPeak: LoadResult[];
  halfPeakSummary: HalfPeakSummary[];
  halfPeakSec: number;
  /** Peak one-row throughput of the floor control (autocannon, as ours). */
  floorPeakReqPerSec: number;
  /** Sequential one-row requests to the log-off server: where the server time of one row goes. */
  oneRow: BatchResult | null;
  reference: LoadResult[];
  referenceModel: string | null;
  batch: BatchResult[];
  memory: MemoryResult[];
  log: LogCheck;
  goals: Goal[];
  loadAvg: { start: number[]; end: number[] };
  notes: string[];
  /** BENCHMARKS.md section. */
  markdown?: string;
}

// ------------------------------------------------------------------------------------------------ helpers

function procStatusMiB(pid: number | undefined, field: "VmRSS" | "VmHWM"): number | null {
  if (!pid) return null;
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

const r2 = (x: number) => Number(x.toFixed(2));
const r3 = (x: number) => Number(x.toFixed(3));
const loadNow = () => loadavg().map((x) => r2(x));

async function waitHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early with code ${child.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server at ${url} not ready after ${timeoutMs} ms`);
}

function stopProcess(child: ChildProcess, killAfterMs = 30_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

// ------------------------------------------------------------------------------------------------ our child

interface OurServer {
  label: string;
  proc: ChildProcess;
  base: string;
  /** SIGTERM → drain → `LOGSTATS` line. */
  stop(): Promise<{ log: Record<string, number> | null; rowsPredicted: number } | null>;
}

async function startOurs(
  label: string,
  modelFile: string,
  o: { servable: "bundle" | "test" | "floor"; monitoring: "on" | "off"; logDb: string; logLevel: string },
): Promise<OurServer> {
  // the node flags and the compiled tree `mlops serve` runs with (bin/mlops.js, npm start; dist/ is rebuilt at
  // the start of the run); the test servable is TypeScript, so its runs use the sources through tsx
  const tree = o.servable === "test" ? "src" : "dist";
  const args = [
    "--min-semi-space-size=16",
    ...(tree === "src" ? ["--import", "tsx"] : []),
    join(REPO, "bench", "serve-child.mjs"),
    "--tree",
    tree,
    "--model-file",
    modelFile,
  ];
  args.push("--servable", o.servable, "--monitoring", o.monitoring, "--log-db", o.logDb);
  args.push("--port", "0", "--log-level", o.logLevel);
  const proc = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  proc.stdout?.setEncoding("utf8");
  proc.stdout?.on("data", (d: string) => {
    out += d;
    let i = out.indexOf("\n");
    while (i >= 0) {
      lines.push(out.slice(0, i));
      out = out.slice(i + 1);
      i = out.indexOf("\n");
    }
    for (const w of waiters.splice(0)) w();
  });
  const port = await new Promise<number>((res, rej) => {
    const check = () => {
      const l = lines.find((x) => x.startsWith("LISTENING "));
      if (l) return res(Number(l.slice("LISTENING ".length)));
      waiters.push(check);
    };
    proc.once("exit", (c) =>
      rej(new Error(`${label}: bench/serve-child.mjs exited with ${c} before listening`)),
    );
    check();
  });
  return {
    label,
    proc,
    base: `http://127.0.0.1:${port}`,
    async stop() {
      await stopProcess(proc);
      const l = lines.find((x) => x.startsWith("LOGSTATS "));
      return l ? JSON.parse(l.slice("LOGSTATS ".length)) : null;
    },
  };
}

// ------------------------------------------------------------------------------------------------ load

async function loadRun(
  target: string,
  url: string,
  body: string,
  o: { durationSec: number; connections: number; rate?: number },
): Promise<LoadResult> {
  const lat: number[] = [];
  const result = await new Promise<autocannon.Result>((res, rej) => {
    const inst = autocannon(
      {
        url,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections: o.connections,
        duration: o.durationSec,
        ...(o.rate ? { overallRate: o.rate } : {}),
      },
      (err, r) => (err ? rej(err) : res(r)),
    );
    // tracker 'response' event: (client, statusCode, resBytes, responseTime ms as a float)
    (inst as unknown as NodeJS.EventEmitter).on("response", (...a: unknown[]) => {
      lat.push(a[3] as number);
    });
  });
  const s = Float64Array.from(lat).sort();
  return {
    target,
    reqPerSec: Math.round(result.requests.total / o.durationSec),
    p50Ms: r3(percentileSorted(s, 0.5)),
    p99Ms: r3(percentileSorted(s, 0.99)),
    p999Ms: r3(percentileSorted(s, 0.999)),
    maxMs: r3(s.length ? s[s.length - 1] : Number.NaN),
    requests: result.requests.total,
    ok2xx: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    ...(o.rate ? { rate: o.rate } : {}),
  };
}

/** Latency at a steady offered rate (open loop, bench/open-loop.ts, in a child process of its own). */
async function openLoopRun(
  target: string,
  url: string,
  body: string,
  o: { durationSec: number; connections: number; rate: number },
): Promise<LoadResult & { latenciesMs: Float64Array }> {
  const r = await openLoopInChild(url, body, {
    rate: o.rate,
    durationSec: o.durationSec,
    connections: o.connections,
  });
  const s = r.latenciesMs;
  return {
    target,
    reqPerSec: r.reqPerSec,
    p50Ms: r3(percentileSorted(s, 0.5)),
    p99Ms: r3(percentileSorted(s, 0.99)),
    p999Ms: r3(percentileSorted(s, 0.999)),
    maxMs: r3(s.length ? s[s.length - 1] : Number.NaN),
    requests: r.requests,
    ok2xx: r.ok2xx,
    non2xx: r.non2xx,
    errors: r.errors,
    rate: o.rate,
    latenciesMs: s,
    arrivals: "steady",
  };
}

/** `n` dataset rows (seeded order, cycling) as request instances: the contract's input columns, as read by readTable. */
async function datasetRows(n: number, seed = 42): Promise<Record<string, unknown>[]> {
  const contract = loadContract(join(REPO, "config", "datasets", "california_housing.yaml"));
  const inputs = contract.columns.map((c) => c.name).filter((c) => c !== contract.target);
  const frame = (await readTable(DATA_CSV, { types: contractTypes(contract) })).frame.select(inputs);
  const idx = new Rng(seed).permutation(frame.nRows);
  return Array.from({ length: n }, (_, k) => frame.row(idx[k % frame.nRows]));
}

async function batchProbe(target: string, url: string, rows: number, n: number): Promise<BatchResult> {
  const body = JSON.stringify({ instances: await datasetRows(rows) });
  const rtt: number[] = [];
  const server: number[] = [];
  const stages: Record<string, number[]> = {};
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const post = () =>
    new Promise<{ status: number; timing: string | null; text: string }>((res, rej) => {
      const req = httpRequest(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (resp) => {
          let text = "";
          resp.setEncoding("utf8");
          resp.on("data", (d: string) => {
            if (text.length < 2000) text += d;
          });
          resp.on("end", () => {
            const st = resp.headers["server-timing"];
            res({ status: resp.statusCode ?? 0, timing: typeof st === "string" ? st : null, text });
          });
        },
      );
      req.on("socket", (s) => s.setNoDelay(true));
      req.on("error", rej);
      req.end(body);
    });
  for (let k = 0; k < n + 3; k++) {
    const t0 = performance.now();
    const r = await post();
    const dt = performance.now() - t0;
    if (r.status !== 200)
      throw new Error(`${target}: batch request returned ${r.status}: ${r.text.slice(0, 500)}`);
    if (k < 3) continue; // warm-up
    rtt.push(dt);
    if (r.timing) {
      let total = Number.NaN;
      for (const part of r.timing.split(",")) {
        const m = /^\s*([\w-]+);dur=([\d.]+)/.exec(part);
        if (!m) continue;
        const v = Number(m[2]);
        if (m[1] === "total") total = v;
        stages[m[1]] ??= [];
        stages[m[1]].push(v);
      }
      if (Number.isFinite(total)) server.push(total);
    }
  }
  agent.destroy();
  const sr = [...rtt].sort((a, b) => a - b);
  const out: BatchResult = {
    target,
    rows,
    requests: n,
    roundTripP50Ms: r2(percentileSorted(sr, 0.5)),
    roundTripP90Ms: r2(percentileSorted(sr, 0.9)),
  };
  if (server.length > 0) {
    const ss = [...server].sort((a, b) => a - b);
    out.serverP50Ms = r3(percentileSorted(ss, 0.5));
    out.serverP90Ms = r3(percentileSorted(ss, 0.9));
    out.stagesP50Ms = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, r3(median(v))]));
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ model

function num(x: unknown): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

function describeBundle(bytes: Uint8Array, source: string, version: string | null): ModelDescription {
  const b = ModelBundle.decode(bytes, source);
  const m = b.meta;
  const params = (m.params ?? {}) as Record<string, unknown>;
  return {
    source,
    name: String(m.modelName ?? "housing_price_model"),
    version: version ?? (m.version !== undefined ? String(m.version) : null),
    family: String(m.family ?? m.modelKind),
    kind: String(m.modelKind),
    params,
    nTrees: num(params.n_estimators),
    maxDepth: num(params.max_depth),
    nFeatures: b.pipeline.featureNames.length,
    intervalLevel: b.interval ? b.interval.level : null,
    metrics: (m.metrics ?? {}) as Record<string, number>,
    bundleBytes: bytes.byteLength,
  };
}

/** The production bundle of `home` (null when the home has no registry or no production alias). */
async function productionBundle(
  home: string,
  name: string,
): Promise<{ bytes: Uint8Array; version: number } | null> {
  if (!existsSync(join(home, "mlops.db"))) return null;
  const t = openTracking({ home, mustExist: true });
  try {
    const v = await t.registry.getVersionByAlias(name, "production");
    if (!v) return null;
    return { bytes: await t.artifacts.get(v.artifactSha), version: v.version };
  } finally {
    await t.close();
  }
}

async function obtainBundle(
  opts: BenchServeOptions,
  dir: string,
  log: (m: string) => void,
  notes: string[],
): Promise<{ bytes: Uint8Array; model: ModelDescription }> {
  if (opts.modelFile) {
    const bytes = new Uint8Array(readFileSync(opts.modelFile));
    return { bytes, model: describeBundle(bytes, `file ${opts.modelFile}`, null) };
  }
  const cfg = loadConfig().config;
  const modelName = cfg.model_name;
  const home = opts.home ? resolve(opts.home) : resolveHome(cfg, REPO);
  const prod = await productionBundle(home, modelName);
  if (prod) {
    log(`model: ${modelName}@production = v${prod.version} from ${home}`);
    return {
      bytes: prod.bytes,
      model: describeBundle(
        prod.bytes,
        `${home} ${modelName}@production v${prod.version}`,
        String(prod.version),
      ),
    };
  }
  const trainHome = opts.trainHome ? resolve(opts.trainHome) : join(dir, "home");
  if (opts.trainHome) {
    const again = await productionBundle(trainHome, modelName);
    if (again) {
      log(`model: ${modelName}@production = v${again.version} from --train-home ${trainHome}`);
      return {
        bytes: again.bytes,
        model: describeBundle(
          again.bytes,
          `${trainHome} ${modelName}@production v${again.version}`,
          String(again.version),
        ),
      };
    }
  }
  log(`model: no ${modelName}@production in ${home}; training one with the pipeline into ${trainHome}`);
  mkdirSync(trainHome, { recursive: true });
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
  const res = await train({
    loaded: loadConfig({ overrides: [`home=${trainHome}`] }),
    log: (m) => log(`  train [${elapsed()}] ${m}`),
    onEvent: (e) =>
      log(
        `  train [${elapsed()}] step ${e.step}: ${e.status}${e.durationMs !== undefined ? ` (${(e.durationMs / 1000).toFixed(1)} s)` : ""}`,
      ),
  });
  if (!res.registered) throw new Error("the pipeline registered no model version");
  const version = res.registered.version;
  if (!res.promotion?.promoted) {
    notes.push(
      `the freshly trained v${version} was not promoted (${res.promotionError ?? "promotion off"}); it is served anyway`,
    );
  }
  const t = openTracking({ home: trainHome, mustExist: true });
  let bytes: Uint8Array;
  try {
    bytes = await t.artifacts.get(res.registered.artifactSha);
  } finally {
    await t.close();
  }
  const model = describeBundle(
    bytes,
    `trained now by the pipeline (profile ${loadConfig().config.selection.profile}, ${res.seconds.toFixed(0)} s) into ${opts.trainHome ? trainHome : "a temp home"}, v${version}`,
    String(version),
  );
  model.trainSeconds = r2(res.seconds);
  return { bytes, model };
}

// ------------------------------------------------------------------------------------------------ bench

export async function benchServe(opts: BenchServeOptions = {}): Promise<BenchServeResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[serve] ${m}\n`));
  const durationSec = opts.durationSec ?? 10;
  const connections = opts.connections ?? 16;
  const rounds = opts.rounds ?? Math.max(5, opts.runs ?? 5);
  const warmupSec = opts.warmupSec ?? 5;
  const halfPeakRuns = opts.halfPeakRuns ?? 5;
  const halfPeakSec = opts.halfPeakSec ?? 6;
  const batchRows = opts.batchRows ?? 1000;
  const logLevel = opts.logLevel ?? "warn";
  const loadStart = loadNow();
  const dir = mkdtempSync(join(tmpdir(), "bench-serve-"));
  const notes: string[] = [];
  const testMode = opts.testServable ?? false;
  const children: ChildProcess[] = [];
  const one = JSON.stringify({ instances: [SAMPLE] });
  try {
    // ---- the compiled tree our servers run (bench/serve-child.mjs --tree dist), built from the current sources
    if (!testMode) {
      const built = spawnSync(process.execPath, [join(REPO, "scripts", "build.mjs")], {
        cwd: REPO,
        stdio: "inherit",
      });
      if (built.status !== 0) throw new Error(`scripts/build.mjs exited with ${built.status}`);
      notes.push("our servers run the compiled tree (dist/, rebuilt for this run), as `mlops serve` does");
    }
    // ---- model
    let model: ModelDescription;
    const modelFile = join(dir, testMode ? "test-servable.json" : "model.bundle");
    if (testMode) {
      const text = encodeTestServable({ version: "bench" });
      writeFileSync(modelFile, text);
      model = {
        source: "test-servable",
        name: "housing_price_model",
        version: "bench",
        family: "test-linear",
        kind: "test-linear",
        params: {},
        nTrees: null,
        maxDepth: null,
        nFeatures: 1,
        intervalLevel: null,
        metrics: {},
        bundleBytes: Buffer.byteLength(text),
      };
      notes.push(
        "our server serves the test servable (linear in median_income), not the trained model: framework/validation overhead only, no goals judged",
      );
    } else {
      const got = await obtainBundle(opts, dir, log, notes);
      writeFileSync(modelFile, got.bytes);
      model = got.model;
    }
    log(
      `model: ${model.family} (${model.kind}), ${model.nTrees ?? "–"} trees, max_depth ${model.maxDepth ?? "–"}, ${model.nFeatures} features, ${(model.bundleBytes / 2 ** 20).toFixed(1)} MiB`,
    );

    // ---- the FastAPI reference (trained and started first: its peak rounds alternate with ours)
    let ref: Reference | null = null;
    if (opts.reference ?? true) {
      try {
        ref = await startReference(opts, dir, model, testMode, log, children);
      } catch (e) {
        notes.push(`FastAPI reference failed: ${(e as Error).message}`);
        log(`reference failed: ${(e as Error).message}`);
      }
    }

    // ---- our two variants, alive side by side, measured alternately (and with the reference)
    const servable = testMode ? "test" : "bundle";
    const off = await startOurs("log off", modelFile, {
      servable,
      monitoring: "off",
      logDb: join(dir, "off.db"),
      logLevel,
    });
    children.push(off.proc);
    const on = await startOurs("log on", modelFile, {
      servable,
      monitoring: "on",
      logDb: join(dir, "monitoring.db"),
      logLevel,
    });
    children.push(on.proc);
    const lo = { durationSec, connections };
    const peakTargets = [
      { label: "ours, log off", url: `${off.base}/api/v1/predict` },
      { label: "ours, log on", url: `${on.base}/api/v1/predict` },
      ...(ref ? [{ label: "fastapi async def", url: `${ref.base}/api/v1/predict` }] : []),
    ];
    for (const t of peakTargets) {
      log(`${t.label}: ${t.url}; warm-up ${warmupSec} s`);
      await loadRun(`warm-up ${t.label}`, t.url, one, { ...lo, durationSec: warmupSec });
    }
    // off, on, off, FastAPI, off, on, off, FastAPI, ..., off: every "on" and every FastAPI run sits between two
    // "off" runs, right before and right after it, so a drift of the machine's speed during the measurement (JIT
    // still warming, other load coming and going, the VM's phases) cancels in the ratios.
    const offRuns: LoadResult[] = [];
    const onRuns: LoadResult[] = [];
    const refRuns: LoadResult[] = [];
    const runsOf = [offRuns, onRuns, refRuns];
    /** mean req/s of the off runs just before and just after run i of an on/FastAPI series */
    const brackets: [number[], number[], number[]] = [[], [], []];
    const measure = async (k: number, round: string) => {
      const t = peakTargets[k];
      const res = await loadRun(t.label, t.url, one, lo);
      runsOf[k].push(res);
      log(
        `${round} ${t.label}: ${res.reqPerSec} req/s, p50 ${res.p50Ms} ms, p99 ${res.p99Ms} ms, non-2xx ${res.non2xx}, errors ${res.errors}`,
      );
    };
    await measure(0, `round 1/${rounds}`);
    for (let r = 1; r <= rounds; r++) {
      for (let k = 1; k < peakTargets.length; k++) {
        const before = offRuns.length - 1;
        await measure(k, `round ${r}/${rounds}`);
        await measure(
          0,
          k === peakTargets.length - 1 && r === rounds ? "closing run" : `round ${r}/${rounds}`,
        );
        brackets[k].push((offRuns[before].reqPerSec + offRuns[before + 1].reqPerSec) / 2);
      }
    }
    const offMedian = median(offRuns.map((x) => x.reqPerSec));
    const onMedian = median(onRuns.map((x) => x.reqPerSec));
    const roundRatios = onRuns.map((x, i) => r3(x.reqPerSec / brackets[1][i]));
    const refRoundRatios = refRuns.map((x, i) => r3(brackets[2][i] / x.reqPerSec));

    // ---- latency at half of the peak: rounds of steady arrivals against log off and log on (each at half of its
    // own median peak: `mlops serve` runs with the log on by default) and the floor control, interleaved (judged:
    // median over rounds of each round's p99, log off and log on), then autocannon's bursty rate limit
    const rate = Math.max(1, Math.round(offMedian / 2));
    const onRate = Math.max(1, Math.round(onMedian / 2));
    const halfPeak: LoadResult[] = [];
    const floor = await startOurs("floor", modelFile, {
      servable: "floor",
      monitoring: "off",
      logDb: "",
      logLevel,
    });
    children.push(floor.proc);
    // the floor's own peak (same autocannon load as ours), so that it can also be measured at half of it
    await loadRun("warm-up floor", `${floor.base}/api/v1/predict`, one, { ...lo, durationSec: warmupSec });
    const floorPeak = await loadRun("floor peak", `${floor.base}/api/v1/predict`, one, lo);
    const floorRate = Math.max(1, Math.round(floorPeak.reqPerSec / 2));
    log(`floor peak: ${floorPeak.reqPerSec} req/s`);
    const targets = [
      { server: off, rate, target: `ours, log off @ ${rate} req/s, steady` },
      { server: on, rate: onRate, target: `ours, log on @ ${onRate} req/s = half of its own peak, steady` },
      { server: floor, rate, target: `floor (bare Fastify, constant body) @ ${rate} req/s, steady` },
      {
        server: floor,
        rate: floorRate,
        target: `floor @ ${floorRate} req/s = half of its own peak, steady`,
      },
    ];
    const pooled = new Map<string, Float64Array[]>();
    for (let k = 1; k <= halfPeakRuns; k++) {
      for (const { server, target, rate } of targets) {
        const { latenciesMs, ...res } = await openLoopRun(target, `${server.base}/api/v1/predict`, one, {
          ...lo,
          durationSec: halfPeakSec,
          rate,
        });
        halfPeak.push({ ...res, run: k });
        pooled.set(target, [...(pooled.get(target) ?? []), latenciesMs]);
        log(
          `half peak round ${k}/${halfPeakRuns} ${target}: got ${res.reqPerSec} req/s, p50 ${res.p50Ms} ms, p99 ${res.p99Ms} ms`,
        );
      }
    }
    await floor.stop();
    const halfPeakSummary: HalfPeakSummary[] = targets.map(({ target, rate }) => {
      const runs = halfPeak.filter((x) => x.target === target);
      const all = Float64Array.from(pooled.get(target)?.flatMap((a) => [...a]) ?? []).sort();
      return {
        target,
        rate,
        runs: runs.length,
        p99Ms: runs.map((x) => x.p99Ms),
        medianP99Ms: r3(median(runs.map((x) => x.p99Ms))),
        pooledP99Ms: r3(percentileSorted(all, 0.99)),
        medianP50Ms: r3(median(runs.map((x) => x.p50Ms))),
        non2xx: runs.reduce((a, x) => a + x.non2xx, 0),
        errors: runs.reduce((a, x) => a + x.errors, 0),
      };
    });
    for (const s of [off, on]) {
      const r = s === off ? rate : onRate;
      const target = `ours, log ${s === off ? "off" : "on"} @ ${r} req/s, bursty`;
      const bursty = await loadRun(target, `${s.base}/api/v1/predict`, one, { ...lo, rate: r });
      halfPeak.push({ ...bursty, arrivals: "bursty" });
      log(
        `half peak ${target}: got ${bursty.reqPerSec} req/s, p50 ${bursty.p50Ms} ms, p99 ${bursty.p99Ms} ms`,
      );
    }

    // ---- batch + memory
    const batch: BatchResult[] = [];
    for (const s of [off, on]) {
      const b = await batchProbe(
        `ours, log ${s === off ? "off" : "on"}`,
        `${s.base}/api/v1/predict`,
        batchRows,
        opts.batchRequests ?? 30,
      );
      batch.push(b);
      log(
        `batch ${s.label}: ${batchRows} rows, server p50 ${b.serverP50Ms} ms, round trip p50 ${b.roundTripP50Ms} ms`,
      );
    }
    const oneRow = await batchProbe("ours, log off, sequential", `${off.base}/api/v1/predict`, 1, 200);
    log(`one-row sequential: server p50 ${oneRow.serverP50Ms} ms ${JSON.stringify(oneRow.stagesP50Ms)}`);
    const memory: MemoryResult[] = [off, on].map((s) => ({
      target: `ours, log ${s === off ? "off" : "on"}`,
      rssMiB: procStatusMiB(s.proc.pid, "VmRSS"),
      peakRssMiB: procStatusMiB(s.proc.pid, "VmHWM"),
    }));

    // ---- stop; the log-on child reports its log counters after the drain (flush)
    await off.stop();
    const onStats = await on.stop();
    const stats = onStats?.log ?? null;
    const rowsPredicted = onStats?.rowsPredicted ?? null;
    const logOk =
      stats !== null &&
      rowsPredicted !== null &&
      stats.dropped === 0 &&
      stats.rejected === 0 &&
      stats.queued === 0 &&
      stats.written === rowsPredicted;
    log(`log-on child: rows predicted ${rowsPredicted}, log stats ${JSON.stringify(stats)}`);

    // ---- FastAPI reference: its `def` handler once (not judged), the batch, stop
    const reference: LoadResult[] = [];
    if (ref) {
      try {
        await finishReference(ref, one, { ...lo, warmupSec }, batchRows, reference, batch, log);
      } catch (e) {
        notes.push(`FastAPI reference failed: ${(e as Error).message}`);
        log(`reference failed: ${(e as Error).message}`);
      }
    }

    const result: BenchServeResult = {
      mode: testMode ? "test-servable" : "real-model",
      model,
      durationSec,
      connections,
      rounds,
      warmupSec,
      peak: {
        off: offRuns,
        on: onRuns,
        offMedianReqPerSec: offMedian,
        onMedianReqPerSec: onMedian,
        ratioOnOffMedians: r3(onMedian / offMedian),
        ratioOnOff: r3(median(roundRatios)),
        roundRatios,
        ref: refRuns,
        refMedianReqPerSec: refRuns.length ? median(refRuns.map((x) => x.reqPerSec)) : null,
        refRoundRatios,
        ratioOursRef: refRoundRatios.length ? r3(median(refRoundRatios)) : null,
      },
      halfPeak,
      halfPeakSummary,
      halfPeakSec,
      floorPeakReqPerSec: floorPeak.reqPerSec,
      oneRow,
      reference,
      referenceModel: ref?.model ?? null,
      batch,
      memory,
      log: { stats, rowsPredicted, ok: logOk },
      goals: [],
      loadAvg: { start: loadStart, end: loadNow() },
      notes,
    };
    result.goals = judgeGoals(result);
    return { ...result, markdown: serveMarkdown(result) };
  } finally {
    for (const c of children) await stopProcess(c, 5000);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Reference {
  base: string;
  proc: ChildProcess;
  /** What train_model.py trained (shown in BENCHMARKS.md). */
  model: string;
}

/** Train the scikit-learn model of the same family and hyperparameters and start the FastAPI app on it. */
async function startReference(
  opts: BenchServeOptions,
  dir: string,
  model: ModelDescription,
  testMode: boolean,
  log: (m: string) => void,
  children: ChildProcess[],
): Promise<Reference> {
  const python = opts.python ?? "/usr/bin/python3";
  const refModel = join(dir, "ref_model.pkl");
  const families = ["gradient_boosting", "random_forest", "decision_tree", "ridge", "lasso"];
  const same = !testMode && families.includes(model.family);
  const trainArgs = [join(REPO, "bench/reference/train_model.py"), "--data", DATA_CSV, "--out", refModel];
  if (same) trainArgs.push("--family", model.family, "--params", JSON.stringify(model.params));
  log(
    `reference: training scikit-learn ${same ? `${model.family} ${JSON.stringify(model.params)}` : "GradientBoostingRegressor (defaults)"}`,
  );
  let trainOut = "";
  const tr = spawn(python, trainArgs, { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
  tr.stdout?.on("data", (d) => {
    trainOut += d;
  });
  const code = await new Promise<number | null>((r) => tr.on("exit", r));
  if (code !== 0) throw new Error(`train_model.py exited with ${code}`);
  const referenceModel = (trainOut.trim().split("\n").pop() ?? "").replace(/ -> \S+/, "");
  log(`reference: ${referenceModel}`);
  const refPort = await freePort();
  const proc = spawn(
    python,
    [
      "-m",
      "uvicorn",
      "fastapi_app:app",
      "--app-dir",
      join(REPO, "bench/reference"),
      "--host",
      "127.0.0.1",
      "--port",
      String(refPort),
      "--log-level",
      "warning",
      "--no-access-log",
    ],
    { cwd: REPO, stdio: ["ignore", 2, 2], env: { ...process.env, REF_MODEL: refModel } },
  );
  children.push(proc);
  const base = `http://127.0.0.1:${refPort}`;
  await waitHttp(`${base}/health`, proc, 60_000);
  return { base, proc, model: referenceModel };
}

/** The reference's `def` handler (once, for comparison), its 1,000-row batch; then stop it. */
async function finishReference(
  ref: Reference,
  one: string,
  lo: { durationSec: number; connections: number; warmupSec: number },
  batchRows: number,
  out: LoadResult[],
  batch: BatchResult[],
  log: (m: string) => void,
): Promise<void> {
  const name = "fastapi def";
  const url = `${ref.base}/api/v1/predict_sync`;
  await loadRun(`warm-up ${name}`, url, one, { ...lo, durationSec: lo.warmupSec });
  const r = await loadRun(name, url, one, lo);
  out.push(r);
  log(`reference ${name}: ${r.reqPerSec} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, non-2xx ${r.non2xx}`);
  const b = await batchProbe("fastapi async def", `${ref.base}/api/v1/predict`, batchRows, 10);
  batch.push(b);
  log(`reference batch: ${batchRows} rows, round trip p50 ${b.roundTripP50Ms} ms`);
  await stopProcess(ref.proc, 5000);
}

const mb = (mib: number | null) => (mib === null ? "–" : Math.round((mib * 2 ** 20) / 1e6));

export function judgeGoals(r: BenchServeResult): Goal[] {
  const real = r.mode === "real-model";
  const goals: Goal[] = [];
  const ratio = r.peak.ratioOursRef;
  goals.push({
    issue: 5,
    goal: "one-row throughput ≥ 10× FastAPI async def (same model family, same run)",
    value:
      ratio === null || r.peak.refMedianReqPerSec === null
        ? "not measured (no reference run)"
        : `median over ${r.peak.refRoundRatios.length} rounds of (mean of the log-off runs around each FastAPI run) / FastAPI: **${ratio.toFixed(1)}×** (rounds ${r.peak.refRoundRatios.map((x) => x.toFixed(1)).join(", ")}); medians ${r.peak.offMedianReqPerSec} / ${r.peak.refMedianReqPerSec} req/s = ${(r.peak.offMedianReqPerSec / r.peak.refMedianReqPerSec).toFixed(1)}×`,
    met: real && ratio !== null ? ratio >= 10 : null,
  });
  const hp = r.halfPeakSummary.find((x) => x.target.startsWith("ours, log off"));
  const hpOn = r.halfPeakSummary.find((x) => x.target.startsWith("ours, log on"));
  const fl = r.halfPeakSummary.find((x) => x.target.startsWith("floor (bare"));
  const flHalf = r.halfPeakSummary.find((x) => x.target.startsWith("floor @"));
  goals.push({
    issue: 5,
    goal: "p99 < 5 ms at half of our peak throughput (log off and log on, each at half of its own peak)",
    value: hp
      ? `median over ${hp.runs} rounds of the round's p99: log off ${hp.medianP99Ms} ms (rounds ${hp.p99Ms.join(", ")}; pooled p99 ${hp.pooledP99Ms} ms) at ${hp.rate} req/s offered as a steady stream${hpOn ? `; log on ${hpOn.medianP99Ms} ms (rounds ${hpOn.p99Ms.join(", ")}; pooled ${hpOn.pooledP99Ms} ms) at ${hpOn.rate} req/s` : ""}${fl ? `; floor control (bare Fastify, constant body) at the same rate: median p99 ${fl.medianP99Ms} ms (rounds ${fl.p99Ms.join(", ")})` : ""}${flHalf ? `; floor at half of its own peak (${flHalf.rate} of ${r.floorPeakReqPerSec} req/s): median p99 ${flHalf.medianP99Ms} ms (rounds ${flHalf.p99Ms.join(", ")})` : ""}`
      : "not measured",
    met:
      real && hp && hpOn
        ? [hp, hpOn].every((x) => x.medianP99Ms < 5 && x.non2xx === 0 && x.errors === 0)
        : null,
  });
  const b = r.batch.find((x) => x.target === "ours, log off");
  goals.push({
    issue: 5,
    goal: "1,000-row batch < 20 ms server time",
    value:
      b?.serverP50Ms !== undefined
        ? `${b.rows} rows: p50 ${b.serverP50Ms} ms, p90 ${b.serverP90Ms} ms (Server-Timing total)`
        : "not measured",
    met: real && b?.serverP50Ms !== undefined && b.rows >= 1000 ? b.serverP50Ms < 20 : null,
  });
  const rss = r.memory.map((m) => m.rssMiB).filter((x): x is number => x !== null);
  const maxRss = rss.length ? Math.max(...rss) : null;
  goals.push({
    issue: 5,
    goal: "RSS < 300 MB with the production model loaded",
    value:
      maxRss === null
        ? "not measured"
        : `${r.memory.map((m) => `${m.target}: ${m.rssMiB} MiB = ${mb(m.rssMiB)} MB (peak ${m.peakRssMiB} MiB = ${mb(m.peakRssMiB)} MB)`).join("; ")}; judged on the RSS after the load`,
    met: real && maxRss !== null ? maxRss * 2 ** 20 < 300e6 : null,
  });
  goals.push({
    issue: 7,
    goal: "throughput with the prediction log on within 10 % of off (same run)",
    value: `on / mean of the bracketing off runs, median ${r.peak.ratioOnOff.toFixed(3)} (rounds ${r.peak.roundRatios.join(", ")}); medians ${r.peak.onMedianReqPerSec} / ${r.peak.offMedianReqPerSec} req/s = ${r.peak.ratioOnOffMedians.toFixed(3)}`,
    met: Number.isFinite(r.peak.ratioOnOff) ? r.peak.ratioOnOff >= 0.9 : null,
  });
  const s = r.log.stats;
  goals.push({
    issue: 7,
    goal: "0 dropped prediction-log records under load",
    value: s
      ? `dropped ${s.dropped}, rejected ${s.rejected}, written ${s.written} of ${r.log.rowsPredicted} rows predicted`
      : "log stats not received",
    met: s ? r.log.ok : null,
  });
  return goals;
}

/** BENCHMARKS.md section; every number comes from `r`. */
export function serveMarkdown(r: BenchServeResult): string {
  const m = r.model;
  const metrics = ["r2", "mape", "mae"]
    .filter((k) => typeof m.metrics[k] === "number")
    .map((k) => `${k} ${Number(m.metrics[k].toFixed(k === "mae" ? 0 : 3))}`)
    .join(", ");
  const row = (l: LoadResult) =>
    `| ${l.target}${l.run !== undefined ? ` (round ${l.run})` : ""} | ${l.reqPerSec} | ${l.p50Ms} | ${l.p99Ms} | ${l.p999Ms} | ${l.non2xx} | ${l.errors} |`;
  const mark = (g: Goal) => (g.met === null ? "– not judged" : g.met ? "✅ met" : "❌ missed");
  return [
    r.mode === "real-model"
      ? `Model served by ours: **${m.name} v${m.version ?? "?"}, ${m.family}** (${m.kind}; ${m.nTrees ?? "–"} trees, max_depth ${m.maxDepth ?? "–"}; ${m.nFeatures} pipeline features; conformal interval level ${m.intervalLevel ?? "none"}${metrics ? `; test ${metrics}` : ""}; bundle ${(m.bundleBytes / 2 ** 20).toFixed(1)} MiB). Source: ${m.source}.`
      : "Model served by ours: **the linear test servable** (framework overhead only; goals not judged).",
    r.referenceModel
      ? `FastAPI reference model: \`${r.referenceModel}\` (raw 8 numeric + one-hot features, no feature pipeline).`
      : "",
    "",
    `One-row POST /api/v1/predict, autocannon ${r.durationSec} s × ${r.connections} connections on loopback, ${r.rounds} alternating rounds (log off, log on, log off${r.peak.ref.length ? ", FastAPI async def, log off" : ""}, …: each log-on${r.peak.ref.length ? " and each FastAPI" : ""} run right between two log-off runs) after a ${r.warmupSec} s warm-up per server; latency percentiles from per-response times. Load average (1/5/15 min) at start ${r.loadAvg.start.join(" ")}, at end ${r.loadAvg.end.join(" ")} (2 cores shared with the load generator).`,
    "",
    "| server | req/s | p50 (ms) | p99 (ms) | p99.9 (ms) | non-2xx | errors |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...r.peak.off.map((l, i) => row({ ...l, target: `${l.target} (run ${i + 1} of ${r.peak.off.length})` })),
    ...r.peak.on.map((l, i) => row({ ...l, target: `${l.target} (round ${i + 1})` })),
    ...r.peak.ref.map((l, i) => row({ ...l, target: `${l.target} (round ${i + 1})` })),
    ...r.halfPeak.map(row),
    ...r.reference.map(row),
    "",
    `Half peak, ${r.halfPeakSummary[0]?.runs ?? 0} interleaved rounds of ${r.halfPeakSec} s per target:`,
    "",
    "| target | rounds' p99 (ms) | median p99 (ms) | pooled p99 (ms) | median p50 (ms) | non-2xx | errors |",
    "|---|---|---:|---:|---:|---:|---:|",
    ...r.halfPeakSummary.map(
      (h) =>
        `| ${h.target} | ${h.p99Ms.join(", ")} | **${h.medianP99Ms}** | ${h.pooledP99Ms} | ${h.medianP50Ms} | ${h.non2xx} | ${h.errors} |`,
    ),
    "",
    `- Half-peak rows: *steady* = an open-loop stream of evenly spaced requests, latency from the moment the generator issued it, including any wait for a free connection (bench/open-loop.ts; the p99 goal is judged on the median over rounds of each round's p99); *floor* = a bare Fastify app answering a constant body of the same shape in its own process, measured in the same rounds, at our half-peak rate and at half of its own peak (${r.floorPeakReqPerSec} req/s with the same autocannon load): the latency the machine, Node's HTTP stack and the generator cost on their own, at the same rate and at the same relative load; *bursty* = autocannon \`overallRate\`, which releases each second's quota at full speed at the start of the second, i.e. latency under bursts at peak load (shown for comparison).`,
    `- Peak throughput medians: log off **${r.peak.offMedianReqPerSec} req/s**, log on **${r.peak.onMedianReqPerSec} req/s**, on/off of the medians ${r.peak.ratioOnOffMedians.toFixed(3)}; each log-on run / mean of the log-off runs around it: ${r.peak.roundRatios.join(", ")}, median **${r.peak.ratioOnOff.toFixed(3)}**.${r.peak.ratioOursRef !== null ? ` FastAPI async def: median ${r.peak.refMedianReqPerSec} req/s; mean of the log-off runs around each FastAPI run / that run: ${r.peak.refRoundRatios.join(", ")}, median **${r.peak.ratioOursRef.toFixed(1)}×**.` : ""}`,
    r.log.stats
      ? `- Prediction log (log-on server, after its graceful shutdown): ${r.log.rowsPredicted} rows predicted, ${r.log.stats.written} written, ${r.log.stats.dropped} dropped, ${r.log.stats.rejected} rejected, ${r.log.stats.flushes} flushes.`
      : "- Prediction log: stats not received from the log-on server.",
    ...r.batch.map(
      (b) =>
        `- ${b.target}: ${b.rows}-row batch (dataset rows), round trip p50 ${b.roundTripP50Ms} ms${
          b.serverP50Ms !== undefined
            ? `, server time (Server-Timing total) p50 ${b.serverP50Ms} ms / p90 ${b.serverP90Ms} ms; stages p50 ${Object.entries(
                b.stagesP50Ms ?? {},
              )
                .map(([k, v]) => `${k} ${v}`)
                .join(", ")}`
            : ""
        }.`,
    ),
    ...(r.oneRow
      ? [
          `- One-row requests one at a time (log off, ${r.oneRow.requests} requests): round trip p50 ${r.oneRow.roundTripP50Ms} ms, server time p50 ${r.oneRow.serverP50Ms} ms; stages p50 ${Object.entries(
            r.oneRow.stagesP50Ms ?? {},
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}.`,
        ]
      : []),
    ...r.memory.map(
      (x) => `- RSS ${x.target}: ${x.rssMiB ?? "–"} MiB after the load (peak ${x.peakRssMiB ?? "–"} MiB).`,
    ),
    "",
    "| issue | goal | measured | verdict |",
    "|---|---|---|---|",
    ...r.goals.map((g) => `| ${g.issue} | ${g.goal} | ${g.value} | ${mark(g)} |`),
    "",
    ...r.notes.map((n) => `- Note: ${n}.`),
  ]
    .filter((l, i, a) => !(l === "" && a[i - 1] === ""))
    .join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const get = (f: string) => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (f: string) => {
    const v = get(f);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1) {
      console.error(`${f} must be a positive integer, got ${JSON.stringify(v)}`);
      process.exit(2);
    }
    return Number(v);
  };
  const res = await benchServe({
    durationSec: int("--duration"),
    connections: int("--connections"),
    rounds: int("--rounds"),
    warmupSec: int("--warmup"),
    halfPeakRuns: int("--half-peak-runs"),
    halfPeakSec: int("--half-peak-duration"),
    modelFile: get("--model-file"),
    home: get("--home"),
    trainHome: get("--train-home"),
    testServable: argv.includes("--test-servable"),
    reference: !argv.includes("--no-reference"),
    python: get("--python"),
    batchRows: int("--batch-rows"),
    batchRequests: int("--batch-requests"),
    logLevel: get("--log-level"),
  });
  if (argv.includes("--json")) process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
  else process.stdout.write(`${res.markdown}\n`);
}
