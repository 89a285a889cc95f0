/**
 * Serving benchmark: our server (child process) vs the FastAPI reference (uvicorn, scikit-learn
 * GradientBoostingRegressor; `async def` and `def` handlers), loaded with autocannon on 127.0.0.1 (bounded
 * duration and connections, one-row requests), plus our 1,000-row batch server time from Server-Timing and RSS.
 *
 *   node --import tsx bench/serve.ts [--duration 10] [--connections 16] [--model-file F] [--decoder-module M]
 *                                    [--no-reference] [--json]
 *
 * Without --model-file the test servable (linear, test/helpers/servable.ts) is served — a framework-overhead
 * comparison, not a model comparison; re-run with the real model bundle and its decoder module.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { encodeTestServable, SAMPLE } from "../test/helpers/servable.ts";

export interface BenchServeOptions {
  /** Model file for our server; default: the test servable written to a temp file. */
  modelFile?: string;
  /** Module that registers the decoder for `modelFile` in the child (default: test servable decoder). */
  decoderModule?: string;
  /** Seconds of load per target (default 10). */
  durationSec?: number;
  /** Concurrent connections (default 16). */
  connections?: number;
  /** Also run the FastAPI reference (default true; needs python3-fastapi/uvicorn/sklearn). */
  reference?: boolean;
  python?: string;
  /** Rows in the batch-latency probe (default 1000) and number of probes (default 30). */
  batchRows?: number;
  batchRequests?: number;
  /** Our server's log level (default 'warn'; 'info' writes one JSON log line per request). */
  logLevel?: string;
  log?: (msg: string) => void;
}

export interface LoadResult {
  target: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  rssMiB: number | null;
}

export interface BatchResult {
  target: string;
  rows: number;
  /** Median client round-trip (ms). */
  roundTripP50Ms: number;
  /** Median server time from Server-Timing `total` (request start → response headers), ours only. */
  serverP50Ms?: number;
  stagesP50Ms?: Record<string, number>;
}

export interface BenchServeResult {
  model: string;
  durationSec: number;
  connections: number;
  load: LoadResult[];
  batch: BatchResult[];
  notes: string[];
  /** BENCHMARKS.md section. */
  markdown?: string;
}

function rssMiB(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)];
}

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

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

async function load(
  target: string,
  url: string,
  body: string,
  pid: number | undefined,
  o: Required<Pick<BenchServeOptions, "durationSec" | "connections">>,
): Promise<LoadResult> {
  // short warm-up, then the measured run
  await autocannon({
    url,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections: o.connections,
    duration: 2,
  });
  const r = await autocannon({
    url,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections: o.connections,
    duration: o.durationSec,
  });
  return {
    target,
    reqPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    rssMiB: rssMiB(pid),
  };
}

async function batchProbe(target: string, url: string, rows: number, n: number): Promise<BatchResult> {
  const instances = Array.from({ length: rows }, (_, i) => ({
    ...SAMPLE,
    median_income: 1 + (i % 97) / 10,
    housing_median_age: 1 + (i % 52),
  }));
  const body = JSON.stringify({ instances });
  const rtt: number[] = [];
  const server: number[] = [];
  const stages: Record<string, number[]> = {};
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const post = () =>
    new Promise<{ status: number; timing: string | null }>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const st = res.headers["server-timing"];
            resolve({ status: res.statusCode ?? 0, timing: typeof st === "string" ? st : null });
          });
        },
      );
      req.on("socket", (s) => s.setNoDelay(true));
      req.on("error", reject);
      req.end(body);
    });
  for (let k = 0; k < n + 3; k++) {
    const t0 = performance.now();
    const r = await post();
    const dt = performance.now() - t0;
    if (r.status !== 200) throw new Error(`${target}: batch request returned ${r.status}`);
    if (k < 3) continue; // warm-up
    rtt.push(dt);
    const st = r.timing;
    if (st) {
      let total = 0;
      for (const part of st.split(",")) {
        const m = /^\s*([\w-]+);dur=([\d.]+)/.exec(part);
        if (!m) continue;
        const v = Number(m[2]);
        if (m[1] === "total") total = v;
        if (!stages[m[1]]) stages[m[1]] = [];
        stages[m[1]].push(v);
      }
      server.push(total);
    }
  }
  agent.destroy();
  const out: BatchResult = { target, rows, roundTripP50Ms: Number(median(rtt).toFixed(2)) };
  if (server.length > 0) {
    out.serverP50Ms = Number(median(server).toFixed(3));
    out.stagesP50Ms = Object.fromEntries(
      Object.entries(stages).map(([k, v]) => [k, Number(median(v).toFixed(3))]),
    );
  }
  return out;
}

export async function benchServe(opts: BenchServeOptions = {}): Promise<BenchServeResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const o = { durationSec: opts.durationSec ?? 10, connections: opts.connections ?? 16 };
  const dir = mkdtempSync(join(tmpdir(), "bench-serve-"));
  const notes: string[] = [];
  const loadResults: LoadResult[] = [];
  const batch: BatchResult[] = [];
  let modelFile = opts.modelFile;
  if (!modelFile) {
    modelFile = join(dir, "test-servable.json");
    writeFileSync(modelFile, encodeTestServable({ version: "bench" }));
    notes.push(
      "our server serves the test servable (linear in median_income), not the trained model: this measures framework/validation overhead",
    );
  }
  const one = JSON.stringify({ instances: [SAMPLE] });
  const children: ChildProcess[] = [];
  try {
    // ---- ours
    const args = ["--import", "tsx", "test/helpers/serve-child.ts", "--model-file", modelFile, "--port", "0"];
    args.push("--log-level", opts.logLevel ?? "warn");
    if (opts.decoderModule) args.push("--decoder-module", opts.decoderModule);
    const ours = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    children.push(ours);
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      ours.stdout?.on("data", (d) => {
        out += d;
        const m = /LISTENING (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
        if (out.length > 1e6) out = out.slice(-1000);
      });
      ours.once("exit", (c) => reject(new Error(`our server exited with ${c}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    log(
      `ours: listening on ${base}; loading /api/v1/predict for ${o.durationSec}s × ${o.connections} connections`,
    );
    loadResults.push(await load("ours /api/v1/predict", `${base}/api/v1/predict`, one, ours.pid, o));
    batch.push(
      await batchProbe("ours", `${base}/api/v1/predict`, opts.batchRows ?? 1000, opts.batchRequests ?? 30),
    );
    const idleRss = rssMiB(ours.pid);
    if (idleRss !== null) notes.push(`our server RSS after the batch probe: ${idleRss} MiB`);
    await stop(ours);

    // ---- FastAPI reference
    if (opts.reference ?? true) {
      const python = opts.python ?? "/usr/bin/python3";
      const refModel = join(dir, "ref_model.pkl");
      log("reference: training the GradientBoostingRegressor (once)");
      const train = spawn(python, ["bench/reference/train_model.py", "--out", refModel], {
        stdio: ["ignore", 2, 2],
      });
      const code = await new Promise<number | null>((r) => train.on("exit", r));
      if (code !== 0) throw new Error(`train_model.py exited with ${code}`);
      const refPort = port + 1 > 65535 ? 18080 : port + 1;
      const ref = spawn(
        python,
        [
          "-m",
          "uvicorn",
          "fastapi_app:app",
          "--app-dir",
          "bench/reference",
          "--host",
          "127.0.0.1",
          "--port",
          String(refPort),
          "--log-level",
          "warning",
          "--no-access-log",
        ],
        { stdio: ["ignore", 2, 2], env: { ...process.env, REF_MODEL: refModel } },
      );
      children.push(ref);
      const refBase = `http://127.0.0.1:${refPort}`;
      await waitHttp(`${refBase}/health`, ref, 60_000);
      for (const [name, path] of [
        ["fastapi async def", "/api/v1/predict"],
        ["fastapi def", "/api/v1/predict_sync"],
      ]) {
        log(`reference: loading ${path}`);
        loadResults.push(await load(name, `${refBase}${path}`, one, ref.pid, o));
      }
      batch.push(
        await batchProbe("fastapi async def", `${refBase}/api/v1/predict`, opts.batchRows ?? 1000, 10),
      );
      await stop(ref);
    }
  } finally {
    for (const c of children) await stop(c);
    rmSync(dir, { recursive: true, force: true });
  }
  const result: BenchServeResult = {
    model: opts.modelFile ? opts.modelFile : "test-servable",
    durationSec: o.durationSec,
    connections: o.connections,
    load: loadResults,
    batch,
    notes,
  };
  return { ...result, markdown: serveMarkdown(result) };
}

/** BENCHMARKS.md section; every number comes from `r`. */
function serveMarkdown(r: BenchServeResult): string {
  const ours = r.load.find((l) => l.target.startsWith("ours"));
  const ref = r.load.find((l) => l.target === "fastapi async def");
  return [
    `Model served by ours: **${r.model}**. One-row POST /api/v1/predict, autocannon ${r.durationSec} s × ${r.connections} connections, loopback. Load average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}.`,
    "",
    "| server | req/s | p50 (ms) | p99 (ms) | non-2xx | RSS (MiB) |",
    "|---|---:|---:|---:|---:|---:|",
    ...r.load.map(
      (l) =>
        `| ${l.target} | ${l.reqPerSec.toFixed(0)} | ${l.p50Ms} | ${l.p99Ms} | ${l.non2xx} | ${l.rssMiB ?? "–"} |`,
    ),
    "",
    ...r.batch.map(
      (b) =>
        `- ${b.target}: ${b.rows}-row batch round trip p50 ${b.roundTripP50Ms} ms${b.serverP50Ms !== undefined ? `, server time (Server-Timing) p50 ${b.serverP50Ms} ms` : ""}.`,
    ),
    ours && ref
      ? `- Throughput ratio ours / FastAPI: **${(ours.reqPerSec / ref.reqPerSec).toFixed(2)}×**.`
      : "",
    ...r.notes.map((n) => `- Note: ${n}.`),
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const get = (f: string) => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const res = await benchServe({
    durationSec: get("--duration") ? Number(get("--duration")) : undefined,
    connections: get("--connections") ? Number(get("--connections")) : undefined,
    modelFile: get("--model-file"),
    decoderModule: get("--decoder-module"),
    reference: !argv.includes("--no-reference"),
    logLevel: get("--log-level"),
  });
  if (argv.includes("--json")) process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
  else {
    console.table(res.load);
    console.table(res.batch.map((b) => ({ ...b, stagesP50Ms: JSON.stringify(b.stagesP50Ms ?? {}) })));
    for (const n of res.notes) console.log(`note: ${n}`);
  }
}
