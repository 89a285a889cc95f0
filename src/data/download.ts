/**
 * Streaming HTTP(S) or `s3://` (AWS / S3-compatible, SigV4-signed per attempt: src/data/s3.ts) download to a local file with a per-attempt timeout and retries with exponential backoff
 * and full jitter on network errors, timeouts, 5xx and 429 (Retry-After honoured); other 4xx fail at once.
 * The file is written to a temp path and renamed when complete, so a failed download leaves nothing behind.
 */
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { Rng } from "./prng.ts";
import { isS3Url, s3ConfigFromEnv, s3Request } from "./s3.ts";

export interface DownloadOptions {
  retries?: number; // default 4 (5 attempts)
  timeoutMs?: number; // per attempt, default 30 s
  baseDelayMs?: number; // default 250
  maxDelayMs?: number; // default 8000
  seed?: number; // jitter seed
  fetchImpl?: typeof fetch;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  /** Environment for s3:// credentials / endpoint (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly attempts: number,
  ) {
    super(message);
    this.name = "DownloadError";
  }
}

function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

export async function downloadToFile(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<{ bytes: number; attempts: number }> {
  const retries = opts.retries ?? 4;
  const base = opts.baseDelayMs ?? 250;
  const maxDelay = opts.maxDelayMs ?? 8000;
  const rng = new Rng(opts.seed ?? 0);
  const f = opts.fetchImpl ?? fetch;
  await mkdir(dirname(dest), { recursive: true });
  let lastReason = "";
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    const tmp = `${dest}.${process.pid}.${attempt}.part`;
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new Error(`timed out after ${opts.timeoutMs ?? 30000} ms`)),
      opts.timeoutMs ?? 30000,
    );
    let retryAfterMs: number | null = null;
    try {
      // s3:// is signed per attempt (the signature carries the request time)
      const target = isS3Url(url) ? s3Request(url, "GET", s3ConfigFromEnv(opts.env ?? process.env)) : null;
      const res = await f(target ? target.url : url, {
        signal: ac.signal,
        redirect: "follow",
        ...(target ? { headers: target.headers } : {}),
      });
      if (!res.ok) {
        const msg = `GET ${url}: HTTP ${res.status} ${res.statusText}`;
        await res.body?.cancel().catch(() => {});
        if (!retryable(res.status)) throw new DownloadError(`${msg} (not retried)`, res.status, attempt);
        const ra = Number(res.headers.get("retry-after"));
        if (Number.isFinite(ra) && ra >= 0) retryAfterMs = Math.min(ra * 1000, maxDelay);
        lastReason = msg;
      } else if (!res.body) {
        throw new DownloadError(`GET ${url}: empty response body`, res.status, attempt);
      } else {
        const out = createWriteStream(tmp);
        let bytes = 0;
        const body = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
        body.on("data", (c: Buffer) => {
          bytes += c.length;
        });
        await pipeline(body, out);
        await rename(tmp, dest);
        return { bytes, attempts: attempt };
      }
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof DownloadError) throw err;
      lastReason = `GET ${url}: ${(err as Error).message ?? String(err)}`;
    } finally {
      clearTimeout(timer);
    }
    if (attempt <= retries) {
      const cap = Math.min(maxDelay, base * 2 ** (attempt - 1));
      const delayMs = retryAfterMs ?? Math.floor(rng.next() * cap);
      opts.onRetry?.({ attempt, delayMs, reason: lastReason });
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
  throw new DownloadError(`${lastReason} (gave up after ${retries + 1} attempts)`, null, retries + 1);
}
