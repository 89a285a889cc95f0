/**
 * The WebAssembly forest kernel (source: walk_wat.ts, bytes: walk_wasm_bytes.ts) and the shared memories it walks.
 *
 * A deep ensemble's layout (records, roots, implicit top, exits, leaf values) moves to a shared
 * `WebAssembly.Memory` once its predictor proves long-lived or is shared with the tree pool (`wasmAdoptAfter`), so
 * the same bytes serve the JavaScript kernels (typed-array views), the wasm kernel, and the pool's workers (the
 * memory is posted to them once; nothing is copied). Every region is taken with
 * `memory.grow`, which is atomic: a worker that adopts the layout grows the memory for its own scratch (row keys,
 * outputs) without any coordination, and no region ever moves (shared memories do not relocate on growth).
 *
 * `MLOPS_TREE_KERNEL=js` (read once per thread) turns the wasm kernel off; `setWasmKernel` does so in this thread.
 * Without it (or when a memory cannot be had) the JavaScript kernel runs, with identical results.
 */
import { FOREST_WALK_WASM } from "./walk_wasm_bytes.ts";

const PAGE = 65536;
/** Pages a layout memory may grow to (4 GiB, the wasm32 limit; address space only until used). */
const MAX_PAGES = 65536;

export type TreeMajorKernel = (
  nd: number,
  keys: number,
  vals: number,
  out: number,
  roots: number,
  top: number,
  exits: number,
  nc: number,
  q: number,
  fb: number,
  fm: number,
  D: number,
  from: number,
  to: number,
  stride: number,
  total: number,
  nroots: number,
  prefetch: number,
  ndlen: number,
) => number;

let compiled: WebAssembly.Module | null | undefined;
let enabled = process.env.MLOPS_TREE_KERNEL !== "js";
/** Default of `wasmAdoptAfter`. */
const ADOPT_AFTER = 3;
let adoptAfter = ADOPT_AFTER;

/**
 * Turns the wasm kernel on or off for predictors made afterwards in this thread (tests, benchmarks);
 * `adoptAfter` sets `wasmAdoptAfter` (back to its default when omitted).
 */
export function setWasmKernel(on: boolean, opts: { adoptAfter?: number } = {}): void {
  enabled = on;
  adoptAfter = opts.adoptAfter ?? ADOPT_AFTER;
}

/**
 * A predictor's layout moves to a wasm memory at its this-many-th batch call (or when shared with the pool's
 * workers). Short-lived predictors, such as cross-validation's, which predict a fold or two, keep plain arrays: V8
 * does not count shared memories towards its GC triggers (nor SharedArrayBuffers), so dead ones could pile up
 * before a collection (measured: 100 dropped 32 MB shared memories peaked at 3.2 GB RSS, plain ArrayBuffers at
 * 0.3 GB; the step-05 grid bench peaked at 1,428 MiB with a memory per predictor from construction, 1,077 MiB
 * with this policy, 1,044 before the wasm kernel).
 */
export function wasmAdoptAfter(): number {
  return adoptAfter;
}

/** Whether predictors made now use the wasm kernel (each decides when it is made; a flag, no compilation). */
export function wasmKernelEnabled(): boolean {
  return enabled;
}

function compiledModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(FOREST_WALK_WASM, "base64"));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/**
 * A new, empty shared memory for a layout, or null when none can be had or the kernel does not compile here (the
 * module is compiled on the first call of the thread, not when predictors are made).
 */
export function layoutMemory(): WebAssembly.Memory | null {
  if (compiledModule() === null) return null;
  try {
    return new WebAssembly.Memory({ initial: 0, maximum: MAX_PAGES, shared: true });
  } catch {
    return null;
  }
}

/**
 * A new region of at least `bytes` bytes at the end of `memory` (whole pages, 8-byte aligned), owned by the caller:
 * its byte offset, or -1 when the memory cannot grow that much.
 */
export function takeRegion(memory: WebAssembly.Memory, bytes: number): number {
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  try {
    return memory.grow(pages) * PAGE;
  } catch {
    return -1;
  }
}

/** The kernel instantiated on `memory` (one instance per thread and memory), or null. */
export function forestKernel(memory: WebAssembly.Memory): TreeMajorKernel | null {
  const mod = compiledModule();
  if (!mod) return null;
  try {
    const inst = new WebAssembly.Instance(mod, { env: { memory } });
    return inst.exports.treeMajor as TreeMajorKernel;
  } catch {
    return null;
  }
}

/**
 * Int32Arrays of the given lengths in one new region of `memory` (each 8-byte aligned), or null when it cannot grow.
 */
export function int32Regions(memory: WebAssembly.Memory, lengths: readonly number[]): Int32Array[] | null {
  const offsets: number[] = [];
  let bytes = 0;
  for (const n of lengths) {
    offsets.push(bytes);
    bytes += (4 * n + 7) & ~7;
  }
  const base = takeRegion(memory, bytes);
  if (base < 0) return null;
  const buf = memory.buffer;
  return lengths.map((n, i) => new Int32Array(buf, base + offsets[i], n));
}

/** A Float64Array of `n` values in a new region of `memory`, or null when it cannot grow. */
export function float64Region(memory: WebAssembly.Memory, n: number): Float64Array | null {
  const base = takeRegion(memory, 8 * n);
  return base < 0 ? null : new Float64Array(memory.buffer, base, n);
}
