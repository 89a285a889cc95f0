/**
 * Open-loop, constant-rate HTTP load for latency at a given throughput: the generator is bench/open-loop.mjs (see
 * its module comment for the method); this module gives it types and runs it in a child process of its own.
 */
export interface OpenLoopOptions {
  /** Requests per second, evenly spaced. */
  rate: number;
  durationSec: number;
  /** Keep-alive sockets (default 16). */
  connections?: number;
  /** Give up on responses still outstanding this long after the last request is due (default 10 s). */
  drainTimeoutMs?: number;
}

export interface OpenLoopResult {
  /** Requests sent (all due requests). */
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  /** Responses received per second of the run. */
  reqPerSec: number;
  /** Latency from the tick that issued each request, ms, sorted ascending (completed requests only). */
  latenciesMs: Float64Array;
}

/**
 * The generator in a lean child process of its own (`node bench/open-loop.mjs`: plain JavaScript, no tsx in the
 * generator), so that the bench process's heap (datasets, results, autocannon) and its garbage collections do not delay the generator's
 * ticks and response reads. The child gets the body on stdin and prints the result as JSON. It first runs the
 * same stream for `warmupSec` (default 3 s, not counted): a fresh generator's first second is its own JIT warm-up,
 * which would otherwise show up as server latency (measured: p99 33 ms in a cold generator's first run, 3–7 ms
 * after, against the same server).
 */
export async function openLoopInChild(
  url: string,
  body: string,
  o: OpenLoopOptions & { warmupSec?: number },
): Promise<OpenLoopResult> {
  const { spawn } = await import("node:child_process");
  const child = spawn(
    process.execPath,
    [new URL("./open-loop.mjs", import.meta.url).pathname, url, JSON.stringify(o)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  child.stdin.end(body);
  let out = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d: string) => {
    out += d;
  });
  const code = await new Promise<number | null>((res) => child.on("close", res));
  if (code !== 0) throw new Error(`open-loop child exited with code ${code}`);
  const r = JSON.parse(out) as Omit<OpenLoopResult, "latenciesMs"> & { latenciesMs: number[] };
  return { ...r, latenciesMs: Float64Array.from(r.latenciesMs) };
}
