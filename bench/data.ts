/**
 * Data-layer benchmark: CSV load time and peak RSS of our reader vs pandas.read_csv, on the bundled
 * California Housing CSV and on a generated large CSV (the housing rows repeated with seeded jitter).
 *
 * Methodology (symmetric on both sides):
 * - Every run is a fresh child process: ours `node --import tsx bench/data.ts --child FILE --warm K`, pandas
 *   `python3 bench/reference/pandas_read.py FILE --warm K`.
 * - Each child first imports its libraries (our src/data/io.ts through tsx, so TypeScript transpiling is done
 *   before the clock starts; `import pandas`), then times only the load call (`readTable(file)` /
 *   `pd.read_csv(file)`: read from disk + parse + typed columns) -> "cold" (first call: cold JIT / caches),
 *   and then K more calls of the same load in the same process -> "warm" (median of the K).
 * - Runs alternate ours / pandas, so load from other processes on the machine hits both sides alike.
 * - Reported: medians over `runs` processes of cold ms, of the per-process warm median, of wall time of the
 *   whole child (start-up included) and of peak RSS (measured right after the cold call); the machine's load
 *   average before and after.
 * (Earlier versions timed the same call, never transpiling or imports, but ran all our processes first and
 * then all pandas ones, 3 runs, cold only.)
 *
 *   import { benchData } from './data.ts'; const result = await benchData({ runs: 5 });
 *   npx tsx bench/data.ts [--large-mb 1024] [--runs 5] [--large-runs 1] [--warm 5] [--skip-large]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { writeFileAtomicStreaming } from "../src/data/atomic.ts";
import { Rng } from "../src/data/prng.ts";
import { median } from "./stats.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BUNDLED = join(ROOT, "data/california_housing.csv");
const PANDAS_SCRIPT = join(ROOT, "bench/reference/pandas_read.py");

export interface BenchDataOptions {
  /** Fresh processes per side for the bundled file (medians reported). Default and minimum 5. */
  runs?: number;
  /** Fresh processes per side for the large file. Default min(runs ?? 3, 3). */
  largeRuns?: number;
  /** Warm repeats inside each bundled-file process (median reported). Default 5. */
  warm?: number;
  /** Size of the generated large CSV in bytes. Default 1 GiB. */
  largeBytes?: number;
  /** Skip the large-file part (e.g. for a quick run). */
  skipLarge?: boolean;
  /** Python interpreter with pandas. Default /usr/bin/python3. */
  python?: string;
  /** Where to generate the large file (a temp dir is created and removed). */
  tmpDir?: string;
  log?: (msg: string) => void;
}

interface ChildResult {
  /** cold: the first load call in the process */
  ms: number;
  /** warm: further load calls of the same file in the same process */
  warmMs: number[];
  rows: number;
  cols: number;
  maxrss_kb: number;
  wallMs: number;
}

export interface Measurement {
  runs: number;
  /** cold load time (first call in a fresh process), median over processes */
  loadMsMedian: number;
  loadMs: number[];
  /** warm load time: median over processes of the per-process median of the warm repeats (null: none) */
  warmMsMedian: number | null;
  warmMs: number[];
  wallMsMedian: number;
  peakRssMiBMedian: number;
  rows: number;
  cols: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function runChild(cmd: string, args: string[]): ChildResult {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 20 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.error}`);
  const line = r.stdout.trim().split("\n").pop() ?? "";
  const j = JSON.parse(line) as Omit<ChildResult, "wallMs">;
  return { ...j, warmMs: j.warmMs ?? [], wallMs };
}

function summarize(res: ChildResult[]): Measurement {
  const warm = res.filter((r) => r.warmMs.length > 0).map((r) => median(r.warmMs));
  return {
    runs: res.length,
    loadMs: res.map((r) => round1(r.ms)),
    loadMsMedian: round1(median(res.map((r) => r.ms))),
    warmMs: warm.map(round1),
    warmMsMedian: warm.length > 0 ? round1(median(warm)) : null,
    wallMsMedian: Math.round(median(res.map((r) => r.wallMs))),
    peakRssMiBMedian: round1(median(res.map((r) => r.maxrss_kb / 1024))),
    rows: res[0].rows,
    cols: res[0].cols,
  };
}

type Cmd = [string, string[]];

/** Run the commands alternately (a, b, a, b, ...) `runs` times each; b may be absent (pandas missing). */
function measurePair(a: Cmd, b: Cmd | null, runs: number): [Measurement, Measurement | null] {
  const ra: ChildResult[] = [];
  const rb: ChildResult[] = [];
  for (let i = 0; i < runs; i++) {
    ra.push(runChild(a[0], a[1]));
    if (b) rb.push(runChild(b[0], b[1]));
  }
  const ma = summarize(ra);
  const mb = b ? summarize(rb) : null;
  if (mb && (ma.rows !== mb.rows || ma.cols !== mb.cols))
    throw new Error(`shape mismatch: ours ${ma.rows}x${ma.cols}, pandas ${mb.rows}x${mb.cols}`);
  return [ma, mb];
}

/**
 * Write a large CSV by repeating the bundled housing rows with seeded jitter: 16 jittered variants of the
 * whole table (longitude/latitude +-0.01, median_income and median_house_value +-0.5 %; other fields,
 * including the empty total_bedrooms cells, kept) are written in a seeded random order until the target
 * size is reached. Generation is disk-bound, so it stays quick even for 1 GiB.
 */
export async function generateLargeCsv(
  path: string,
  targetBytes: number,
  seed = 7,
): Promise<{ rows: number; bytes: number }> {
  const text = readFileSync(BUNDLED, "utf8");
  const lines = text.split("\n").filter((l) => l.length > 0);
  const header = `${lines[0]}\n`;
  const rows = lines.slice(1).map((l) => l.split(","));
  const rng = new Rng(seed);
  const variants: Buffer[] = [];
  for (let v = 0; v < 16; v++) {
    let out = "";
    for (const f of rows) {
      const lon = Number(f[0]) + (rng.next() - 0.5) * 0.02;
      const lat = Number(f[1]) + (rng.next() - 0.5) * 0.02;
      const inc = Number(f[7]) * (1 + (rng.next() - 0.5) * 0.01);
      const val = Math.round(Number(f[8]) * (1 + (rng.next() - 0.5) * 0.01));
      out += `${lon.toFixed(2)},${lat.toFixed(2)},${f[2]},${f[3]},${f[4]},${f[5]},${f[6]},${inc.toFixed(4)},${val}.0,${f[9]}\n`;
    }
    variants.push(Buffer.from(out, "utf8"));
  }
  let bytes = header.length;
  let nRows = 0;
  await writeFileAtomicStreaming(path, async (write) => {
    await write(header);
    while (bytes < targetBytes) {
      const v = variants[rng.int(variants.length)];
      await write(v);
      bytes += v.length;
      nRows += rows.length;
    }
  });
  return { rows: nRows, bytes };
}

export async function benchData(opts: BenchDataOptions = {}): Promise<Record<string, unknown>> {
  // the bundled file is cheap: always at least 5 processes per side (bench/run.ts passes runs=3 by default)
  const runs = Math.max(opts.runs ?? 5, 5);
  const largeRuns = opts.largeRuns ?? Math.min(opts.runs ?? 3, 3);
  const warm = opts.warm ?? 5;
  const python = opts.python ?? "/usr/bin/python3";
  const log = opts.log ?? (() => {});
  const node = process.execPath;
  const ours = (file: string, k: number): Cmd => [
    node,
    ["--import", "tsx", join(ROOT, "bench/data.ts"), "--child", file, "--warm", String(k)],
  ];
  const pandasAvailable =
    existsSync(python) && spawnSync(python, ["-c", "import pandas"], { encoding: "utf8" }).status === 0;
  const pandas = (file: string, k: number): Cmd | null =>
    pandasAvailable ? [python, [PANDAS_SCRIPT, file, "--warm", String(k)]] : null;
  const ratio = (a: number | null, b: number | null | undefined) =>
    a !== null && b != null ? Math.round((a / b) * 100) / 100 : null;
  const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);

  log(`bench:data bundled CSV (${runs} processes per side, ${warm} warm repeats each, alternating)`);
  const [bOurs, bPandas] = measurePair(ours(BUNDLED, warm), pandas(BUNDLED, warm), runs);
  const result: Record<string, unknown> = {
    bundled: {
      file: "data/california_housing.csv",
      bytes: statSync(BUNDLED).size,
      ours: bOurs,
      pandas: bPandas,
      loadTimeRatioOursToPandas: ratio(bOurs.loadMsMedian, bPandas?.loadMsMedian),
      warmTimeRatioOursToPandas: ratio(bOurs.warmMsMedian, bPandas?.warmMsMedian),
    },
    pandasAvailable,
    node: process.version,
  };
  if (!opts.skipLarge) {
    const dir = mkdtempSync(join(opts.tmpDir ?? tmpdir(), "bench-data-"));
    try {
      const file = join(dir, "large.csv");
      const target = opts.largeBytes ?? 1 << 30;
      log(`bench:data generating ${(target / 2 ** 20).toFixed(0)} MiB CSV in ${dir}`);
      const t0 = performance.now();
      const gen = await generateLargeCsv(file, target);
      log(`bench:data generated ${gen.rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const [lOurs, lPandas] = measurePair(ours(file, 0), pandas(file, 0), largeRuns);
      result.large = {
        bytes: gen.bytes,
        rows: gen.rows,
        ours: lOurs,
        pandas: lPandas,
        loadTimeRatioOursToPandas: ratio(lOurs.loadMsMedian, lPandas?.loadMsMedian),
        oursMBps: Math.round(gen.bytes / 1e6 / (lOurs.loadMsMedian / 1000)),
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  result.loadavg = { before: loadBefore, after: loadavg().map((x) => Math.round(x * 100) / 100) };
  result.markdown = markdown(result);
  return result;
}

function markdown(r: Record<string, unknown>): string {
  const rows: string[] = [
    "| file | reader | cold load ms (median) | warm load ms (median) | peak RSS MiB | ours / pandas (cold, warm) |",
    "|---|---|---:|---:|---:|---:|",
  ];
  for (const key of ["bundled", "large"]) {
    const part = r[key] as
      | {
          bytes: number;
          ours: Measurement;
          pandas: Measurement | null;
          loadTimeRatioOursToPandas: number | null;
          warmTimeRatioOursToPandas?: number | null;
        }
      | undefined;
    if (!part) continue;
    const name =
      key === "bundled"
        ? "california_housing.csv (1.4 MB)"
        : `generated ${(part.bytes / 2 ** 20).toFixed(0)} MiB CSV`;
    const ratios = `${part.loadTimeRatioOursToPandas ?? "-"}, ${part.warmTimeRatioOursToPandas ?? "-"}`;
    rows.push(
      `| ${name} | ours (readTable) | ${part.ours.loadMsMedian} | ${part.ours.warmMsMedian ?? "-"} | ${part.ours.peakRssMiBMedian} | ${ratios} |`,
    );
    if (part.pandas) {
      rows.push(
        `| ${name} | pandas.read_csv | ${part.pandas.loadMsMedian} | ${part.pandas.warmMsMedian ?? "-"} | ${part.pandas.peakRssMiBMedian} | |`,
      );
    }
  }
  const la = r.loadavg as { before: number[]; after: number[] } | undefined;
  return [
    "### Data: CSV load (fresh process per run, ours and pandas alternating; only the load call is timed)",
    "",
    ...rows,
    "",
    `cold = first load in a fresh process, warm = median of repeats in the same process; load average before ${la?.before.join(" ") ?? "?"}, after ${la?.after.join(" ") ?? "?"}.`,
  ].join("\n");
}

async function child(file: string, warm: number): Promise<void> {
  // import (and tsx-transpile) everything before the clock starts, as the pandas side imports pandas first
  const { readTable } = await import("../src/data/io.ts");
  const t0 = performance.now();
  const r = await readTable(file);
  const ms = performance.now() - t0;
  const maxrss_kb = process.resourceUsage().maxRSS;
  const rows = r.frame.nRows;
  const cols = r.frame.columns.length;
  const warmMs: number[] = [];
  for (let i = 0; i < warm; i++) {
    const t1 = performance.now();
    const again = await readTable(file);
    warmMs.push(performance.now() - t1);
    if (again.frame.nRows !== rows) throw new Error("warm read returned a different row count");
  }
  process.stdout.write(`${JSON.stringify({ ms, warmMs, rows, cols, maxrss_kb })}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const get = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (args[0] === "--child") await child(args[1], Number(get("--warm") ?? 0));
  else {
    const mb = get("--large-mb");
    const lr = get("--large-runs");
    const res = await benchData({
      runs: Number(get("--runs") ?? 5),
      largeRuns: lr ? Number(lr) : undefined,
      warm: Number(get("--warm") ?? 5),
      largeBytes: mb ? Number(mb) * 2 ** 20 : undefined,
      skipLarge: args.includes("--skip-large"),
      log: (m) => console.error(m),
    });
    console.log(JSON.stringify(res, null, 2));
  }
}
