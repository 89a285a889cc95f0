/**
 * Data-layer benchmark: CSV load time and peak RSS of our reader vs pandas.read_csv, on the bundled
 * California Housing CSV and on a generated large CSV (the housing rows repeated with seeded jitter).
 *
 * Every measurement runs in a fresh child process (honest peak RSS, cold JIT): our reader via
 * `node --import tsx bench/data.ts --child FILE`, pandas via `python3 bench/reference/pandas_read.py FILE`.
 * Each child reports {ms, rows, maxrss_kb}; `ms` is the in-process load time (interpreter start-up and module
 * import excluded for both), `wallMs` the whole child process. Medians over `runs`.
 *
 *   import { benchData } from './data.ts'; const result = await benchData({ runs: 3 });
 *   npx tsx bench/data.ts [--large-mb 1024] [--runs 3] [--skip-large]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { writeFileAtomicStreaming } from "../src/data/atomic.ts";
import { Rng } from "../src/data/prng.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BUNDLED = join(ROOT, "data/california_housing.csv");
const PANDAS_SCRIPT = join(ROOT, "bench/reference/pandas_read.py");

export interface BenchDataOptions {
  /** Runs per measurement (median reported). Default 3. */
  runs?: number;
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
  ms: number;
  rows: number;
  maxrss_kb: number;
  wallMs: number;
}

export interface Measurement {
  runs: number;
  loadMsMedian: number;
  loadMs: number[];
  wallMsMedian: number;
  peakRssMiBMedian: number;
  rows: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function runChild(cmd: string, args: string[]): ChildResult {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 20 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.error}`);
  const line = r.stdout.trim().split("\n").pop() ?? "";
  const j = JSON.parse(line) as Omit<ChildResult, "wallMs">;
  return { ...j, wallMs };
}

function measure(cmd: string, args: string[], runs: number): Measurement {
  const res: ChildResult[] = [];
  for (let i = 0; i < runs; i++) res.push(runChild(cmd, args));
  return {
    runs,
    loadMs: res.map((r) => Math.round(r.ms * 10) / 10),
    loadMsMedian: Math.round(median(res.map((r) => r.ms)) * 10) / 10,
    wallMsMedian: Math.round(median(res.map((r) => r.wallMs))),
    peakRssMiBMedian: Math.round(median(res.map((r) => r.maxrss_kb / 1024)) * 10) / 10,
    rows: res[0].rows,
  };
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
  const runs = opts.runs ?? 3;
  const python = opts.python ?? "/usr/bin/python3";
  const log = opts.log ?? (() => {});
  const node = process.execPath;
  const ours = (file: string) =>
    measure(node, ["--import", "tsx", join(ROOT, "bench/data.ts"), "--child", file], runs);
  const pandasAvailable =
    existsSync(python) && spawnSync(python, ["-c", "import pandas"], { encoding: "utf8" }).status === 0;
  const pandas = (file: string) => (pandasAvailable ? measure(python, [PANDAS_SCRIPT, file], runs) : null);
  const ratio = (a: Measurement, b: Measurement | null) =>
    b ? Math.round((a.loadMsMedian / b.loadMsMedian) * 100) / 100 : null;

  log(`bench:data bundled CSV (${runs} runs each)`);
  const bOurs = ours(BUNDLED);
  const bPandas = pandas(BUNDLED);
  const result: Record<string, unknown> = {
    bundled: {
      file: "data/california_housing.csv",
      bytes: statSync(BUNDLED).size,
      ours: bOurs,
      pandas: bPandas,
      loadTimeRatioOursToPandas: ratio(bOurs, bPandas),
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
      const lOurs = ours(file);
      const lPandas = pandas(file);
      result.large = {
        bytes: gen.bytes,
        rows: gen.rows,
        ours: lOurs,
        pandas: lPandas,
        loadTimeRatioOursToPandas: ratio(lOurs, lPandas),
        oursMBps: Math.round(gen.bytes / 1e6 / (lOurs.loadMsMedian / 1000)),
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  result.markdown = markdown(result);
  return result;
}

function markdown(r: Record<string, unknown>): string {
  const rows: string[] = [
    "| file | reader | load ms (median) | peak RSS MiB | ours / pandas |",
    "|---|---|---:|---:|---:|",
  ];
  for (const key of ["bundled", "large"]) {
    const part = r[key] as
      | {
          bytes: number;
          ours: Measurement;
          pandas: Measurement | null;
          loadTimeRatioOursToPandas: number | null;
        }
      | undefined;
    if (!part) continue;
    const name =
      key === "bundled"
        ? "california_housing.csv (1.4 MB)"
        : `generated ${(part.bytes / 2 ** 20).toFixed(0)} MiB CSV`;
    rows.push(
      `| ${name} | ours (readTable) | ${part.ours.loadMsMedian} | ${part.ours.peakRssMiBMedian} | ${part.loadTimeRatioOursToPandas ?? "-"} |`,
    );
    if (part.pandas) {
      rows.push(
        `| ${name} | pandas.read_csv | ${part.pandas.loadMsMedian} | ${part.pandas.peakRssMiBMedian} | |`,
      );
    }
  }
  return [
    "### Data: CSV load (fresh process per run; in-process load time, start-up excluded)",
    "",
    ...rows,
  ].join("\n");
}

async function child(file: string): Promise<void> {
  const { readTable } = await import("../src/data/io.ts");
  const t0 = performance.now();
  const r = await readTable(file);
  const ms = performance.now() - t0;
  process.stdout.write(
    `${JSON.stringify({ ms, rows: r.frame.nRows, cols: r.frame.columns.length, maxrss_kb: process.resourceUsage().maxRSS })}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const get = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (args[0] === "--child") await child(args[1]);
  else {
    const mb = get("--large-mb");
    const res = await benchData({
      runs: Number(get("--runs") ?? 3),
      largeBytes: mb ? Number(mb) * 2 ** 20 : undefined,
      skipLarge: args.includes("--skip-large"),
      log: (m) => console.error(m),
    });
    console.log(JSON.stringify(res, null, 2));
  }
}
