/**
 * The forest batch kernel against the same algorithm in C (bench/reference/forest_walk.c, built with the
 * machine's gcc when there is one), on the same layout and rows, in the same run: how far our kernel (WebAssembly,
 * and the JavaScript one it replaces where wasm is available) is from native code here, with one thread and with
 * two (the tree split of `predictSumsParallel`). The C program checks its sums against ours bit for bit. Without
 * gcc the result says so and nothing else is measured.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RandomForestRegressor } from "../src/ml/tree/index.ts";
import { predictSumsParallel } from "../src/ml/tree/pool.ts";
import { TreeEnsemblePredictor } from "../src/ml/tree/predict.ts";
import { setWasmKernel } from "../src/ml/tree/walk_wasm.ts";
import type { Matrix } from "../src/ml/types.ts";
import { median } from "./stats.ts";

export interface NativeWalk {
  rows: number;
  trees: number;
  /** the default (WebAssembly) kernel */
  ours_one_thread_ms: number;
  ours_two_threads_ms: number;
  /** the JavaScript kernel (MLOPS_TREE_KERNEL=js), same layout and rows */
  ours_js_one_thread_ms: number;
  ours_js_two_threads_ms: number;
  native_one_thread_ms: number;
  native_two_threads_ms: number;
  /** ours / native, per thread count */
  ratio_one_thread: number;
  ratio_two_threads: number;
  native_mismatches: number;
  compiler: string;
}

function timed(reps: number, f: () => void): number {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

export function nativeWalk(
  model: RandomForestRegressor,
  X: Matrix,
  rows = 1000,
  reps = 15,
): NativeWalk | { skipped: string } {
  let compiler: string;
  try {
    compiler = execFileSync("gcc", ["--version"], { encoding: "utf8" }).split("\n")[0];
  } catch {
    return { skipped: "gcc not found" };
  }
  const p = X.cols;
  const n = Math.min(rows, X.rows);
  const x = X.data.slice(0, n * p);
  if (x.some(Number.isNaN)) return { skipped: "the rows contain NaN (the C kernel has no NaN path)" };
  const pred = new TreeEnsemblePredictor(model.estimators, p);
  const L = pred.layout();
  if (!L.compact || L.implicitDepth >= 0) return { skipped: "not a deep (pointer layout) ensemble" };
  const nt = L.nTrees;
  const expected = pred.predictSums(x, n, nt);
  // ours, warm (the kernels and the tree worker compiled)
  for (let i = 0; i < 10; i++) predictSumsParallel(pred, x, n, nt, 0, 2);
  const ours2 = timed(reps, () => predictSumsParallel(pred, x, n, nt, 0, 2));
  for (let i = 0; i < 3; i++) pred.predictSums(x, n, nt);
  const ours1 = timed(reps, () => pred.predictSums(x, n, nt));
  setWasmKernel(false);
  const js = new TreeEnsemblePredictor(model.estimators, p);
  setWasmKernel(true);
  for (let i = 0; i < 10; i++) predictSumsParallel(js, x, n, nt, 0, 2);
  const js2 = timed(reps, () => predictSumsParallel(js, x, n, nt, 0, 2));
  for (let i = 0; i < 3; i++) js.predictSums(x, n, nt);
  const js1 = timed(reps, () => js.predictSums(x, n, nt));
  const dir = mkdtempSync(join(tmpdir(), "bench-native-walk-"));
  try {
    const put = (name: string, a: Int32Array | Float64Array) =>
      writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    put("nodes.i32", L.nodes);
    put("roots.i32", L.roots);
    put("inodes.i32", L.inodes);
    put("exits.i32", L.exits);
    put("klo.i32", L.kLo);
    put("khi.i32", L.kHi);
    put("rankoff.i32", L.rankOff);
    put("rankkeys.i32", L.rankKeys);
    put("vals.f64", L.leafValues);
    put("x.f64", x);
    put("expected.f64", expected);
    const bin = join(dir, "forest_walk");
    execFileSync("gcc", [
      "-O2",
      "-funroll-loops",
      "-o",
      bin,
      join(import.meta.dirname, "reference", "forest_walk.c"),
      "-lpthread",
    ]);
    const out = execFileSync(
      bin,
      [dir, n, p, L.fb, L.fmask, L.topDepth, nt, reps].map((v) => String(v)),
      { encoding: "utf8" },
    );
    const c = JSON.parse(out) as {
      one_thread_ms: number;
      two_threads_ms: number;
      mismatches_one: number;
      mismatches_two: number;
    };
    return {
      rows: n,
      trees: nt,
      ours_one_thread_ms: ours1,
      ours_two_threads_ms: ours2,
      ours_js_one_thread_ms: js1,
      ours_js_two_threads_ms: js2,
      native_one_thread_ms: c.one_thread_ms,
      native_two_threads_ms: c.two_threads_ms,
      ratio_one_thread: ours1 / c.one_thread_ms,
      ratio_two_threads: ours2 / c.two_threads_ms,
      native_mismatches: c.mismatches_one + c.mismatches_two,
      compiler,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
