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
 *
 * Plain JavaScript, run by plain node (`node bench/open-loop.mjs URL OPTIONS_JSON`, body on stdin, result JSON on
 * stdout; bench/open-loop.ts's `openLoopInChild` does this), with its latencies in a preallocated array. Through
 * tsx, a traced generator showed slow 100 ms buckets at the same offsets of every 6 s round, against our server
 * and the bare-Fastify floor alike, and its --trace-gc put a mark-compact of its own (old space grown by its
 * arrays) and a 23 ms memory-reducing mark-compact of tsx's idle loader thread at those offsets, on the 2 cores
 * the server shares. Interleaved check (4 rounds each, 2026-11-27 ~22:50): p99 against our server 3.5-17.5 ms
 * (median ~4.0) with this generator vs 3.6-54.3 ms (median ~14) with the tsx one; floor 2.3-4.3 vs 2.0-5.3 ms.
 */

import { connect } from "node:net";

/**
 * POST `body` (JSON) to `url` at a constant rate; see the module comment. The client is a lean HTTP/1.1 keep-alive
 * client on raw sockets (one request in flight per socket, a pre-built request buffer, responses framed by
 * Content-Length), so that the generator takes little of the CPU it shares with the server.
 *
 * @param {string} url
 * @param {string} body
 * @param {{ rate: number, durationSec: number, connections?: number, drainTimeoutMs?: number }} o
 */
export async function openLoop(url, body, o) {
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
  const total0 = Math.max(1, Math.round(o.rate * o.durationSec));
  // preallocated: a growing array made old-space garbage and a mark-compact in the generator mid-run
  const lat = new Float64Array(total0);
  let nLat = 0;
  let ok2xx = 0;
  let non2xx = 0;
  let errors = 0;
  let done = 0;
  let sent = 0;
  /** @type {() => void} */
  let finish = () => {};
  const allDone = new Promise((res) => {
    finish = res;
  });
  const settle = () => {
    done++;
    if (done === total) finish();
  };
  /** @type {number[]} */
  const waiting = []; // issue times of requests with no free socket yet
  /** @type {Conn[]} */
  const idle = [];
  /** @typedef {{ sock: import("node:net").Socket, due: number, buf: Buffer }} Conn */ // due: issue time of the request in flight, or -1
  const send = (/** @type {Conn} */ c, /** @type {number} */ due) => {
    c.due = due;
    c.sock.write(wire);
  };
  const release = (/** @type {Conn} */ c) => {
    c.due = -1;
    const next = waiting.shift();
    if (next !== undefined) send(c, next);
    else idle.push(c);
  };
  const onData = (/** @type {Conn} */ c, /** @type {Buffer} */ chunk) => {
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
      lat[nLat++] = performance.now() - c.due;
      if (status >= 200 && status < 300) ok2xx++;
      else non2xx++;
      settle();
      release(c);
    }
  };
  /** @type {Conn[]} */
  const conns = [];
  await Promise.all(
    Array.from(
      { length: o.connections ?? 16 },
      () =>
        new Promise((resolve, reject) => {
          const sock = connect(port, u.hostname, () => resolve());
          sock.setNoDelay(true);
          /** @type {Conn} */
          const c = { sock, due: -1, buf: Buffer.alloc(0) };
          sock.on("data", (chunk) => onData(c, chunk));
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
  await new Promise((resolve) => {
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
      else resolve(undefined);
    };
    setTimeout(tick, 5);
  });
  const drain = o.drainTimeoutMs ?? 10_000;
  await Promise.race([allDone, new Promise((r) => setTimeout(r, drain).unref())]);
  const elapsedSec = (performance.now() - start) / 1000;
  for (const c of conns) c.sock.destroy();
  errors += total - done;
  return {
    requests: total,
    ok2xx,
    non2xx,
    errors,
    reqPerSec: Math.round((ok2xx + non2xx) / elapsedSec),
    latenciesMs: lat.slice(0, nLat).sort(),
  };
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const [url, opts] = process.argv.slice(2);
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const o = JSON.parse(opts);
  const text = Buffer.concat(chunks).toString("utf8");
  const warmupSec = o.warmupSec ?? 3;
  if (warmupSec > 0) await openLoop(url, text, { ...o, durationSec: warmupSec });
  const r = await openLoop(url, text, o);
  process.stdout.write(JSON.stringify({ ...r, latenciesMs: Array.from(r.latenciesMs) }));
}
