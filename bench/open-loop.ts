/**
 * Open-loop, constant-rate HTTP load (the wrk2 / "coordinated omission corrected" method) for latency at a given
 * throughput. Request i is due at start + i / rate; a 1 ms timer issues the requests that have come due, each on
 * one of `connections` keep-alive sockets (queued when all are busy), and its latency is measured from the tick that
 * issued it, so time spent waiting for a free connection behind a slow response counts (the timer's own lag of up
 * to ~1 ms behind the due time does not).
 *
 * Why not autocannon's `overallRate`: autocannon gives each connection a per-second quota and resets it every
 * second, so a whole second's requests leave at full speed at the start of the second and the rest of the second is
 * idle: the "rate-limited" run measures latency under bursts at peak load, not under a steady load at that rate.
 */
import { connect, type Socket } from "node:net";

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
 * POST `body` (JSON) to `url` at a constant rate; see the module comment. The client is a lean HTTP/1.1 keep-alive
 * client on raw sockets (one request in flight per socket, a pre-built request buffer, responses framed by
 * Content-Length), so that the generator takes little of the CPU it shares with the server.
 */
export async function openLoop(url: string, body: string, o: OpenLoopOptions): Promise<OpenLoopResult> {
  if (!(o.rate > 0) || !(o.durationSec > 0)) throw new Error("openLoop: rate and durationSec must be > 0");
  const u = new URL(url);
  const port = Number(u.port || 80);
  const payload = Buffer.from(body);
  const head = Buffer.from(
    `POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${payload.length}\r\nConnection: keep-alive\r\n\r\n`,
  );
  const wire = Buffer.concat([head, payload]);
  const total = Math.max(1, Math.round(o.rate * o.durationSec));
  const interval = 1000 / o.rate;
  const lat: number[] = [];
  let ok2xx = 0;
  let non2xx = 0;
  let errors = 0;
  let done = 0;
  let sent = 0;
  let finish: () => void = () => {};
  const allDone = new Promise<void>((res) => {
    finish = res;
  });
  const settle = () => {
    done++;
    if (done === total) finish();
  };
  const waiting: number[] = []; // issue times of requests with no free socket yet
  const idle: Conn[] = [];
  interface Conn {
    sock: Socket;
    due: number; // issue time of the request in flight, or -1
    buf: Buffer;
  }
  const send = (c: Conn, due: number) => {
    c.due = due;
    c.sock.write(wire);
  };
  const release = (c: Conn) => {
    c.due = -1;
    const next = waiting.shift();
    if (next !== undefined) send(c, next);
    else idle.push(c);
  };
  const onData = (c: Conn, chunk: Buffer) => {
    c.buf = c.buf.length ? Buffer.concat([c.buf, chunk]) : chunk;
    for (;;) {
      const end = c.buf.indexOf("\r\n\r\n");
      if (end < 0 || c.due < 0) return;
      const header = c.buf.subarray(0, end).toString("latin1");
      const status = Number(header.slice(9, 12));
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(header);
      if (!m) {
        // not a framed response this client can read: count an error, drop the connection's buffer
        errors++;
        c.buf = Buffer.alloc(0);
        settle();
        release(c);
        return;
      }
      const len = end + 4 + Number(m[1]);
      if (c.buf.length < len) return;
      c.buf = c.buf.subarray(len);
      lat.push(performance.now() - c.due);
      if (status >= 200 && status < 300) ok2xx++;
      else non2xx++;
      settle();
      release(c);
    }
  };
  const conns: Conn[] = [];
  await Promise.all(
    Array.from(
      { length: o.connections ?? 16 },
      () =>
        new Promise<void>((resolve, reject) => {
          const sock = connect(port, u.hostname, () => resolve());
          sock.setNoDelay(true);
          const c: Conn = { sock, due: -1, buf: Buffer.alloc(0) };
          sock.on("data", (chunk: Buffer) => onData(c, chunk));
          sock.on("error", (e) => {
            if (c.due >= 0) {
              errors++;
              c.due = -1;
              settle();
            }
            reject(e);
          });
          conns.push(c);
          idle.push(c);
        }),
    ),
  );
  const start = performance.now() + 5;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        // a request's clock starts when this tick issues it (timers fire at ~1 ms granularity, so up to ~1 ms after
        // its due time: that lag is the generator's, not the server's); waiting for a free connection counts
        const c = idle.pop();
        if (c) send(c, now);
        else waiting.push(now);
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    setTimeout(tick, 5);
  });
  const drain = o.drainTimeoutMs ?? 10_000;
  await Promise.race([allDone, new Promise<void>((r) => setTimeout(r, drain).unref())]);
  const elapsedSec = (performance.now() - start) / 1000;
  for (const c of conns) c.sock.destroy();
  errors += total - done;
  return {
    requests: total,
    ok2xx,
    non2xx,
    errors,
    reqPerSec: Math.round((ok2xx + non2xx) / elapsedSec),
    latenciesMs: Float64Array.from(lat).sort(),
  };
}

/**
 * The same generator in a lean child process of its own (`node --import tsx bench/open-loop.ts`), so that the
 * bench process's heap (datasets, results, autocannon) and its garbage collections do not delay the generator's
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
    ["--import", "tsx", new URL(import.meta.url).pathname, url, JSON.stringify(o)],
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

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const [url, opts] = process.argv.slice(2);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const o = JSON.parse(opts) as OpenLoopOptions & { warmupSec?: number };
  const text = Buffer.concat(chunks).toString("utf8");
  const warmupSec = o.warmupSec ?? 3;
  if (warmupSec > 0) await openLoop(url, text, { ...o, durationSec: warmupSec });
  const r = await openLoop(url, text, o);
  process.stdout.write(JSON.stringify({ ...r, latenciesMs: Array.from(r.latenciesMs) }));
}
