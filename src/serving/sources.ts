/**
 * Model sources: where a `ServableModel` comes from. The loader cascades over them (registry alias → remote
 * URL → local file) with per-source timeout/retry/circuit breaker; sources themselves stay simple.
 */
import { readFile, stat } from "node:fs/promises";
import { parseS3Url, s3ConfigFromEnv, s3Request } from "../data/s3.ts";
import { decodeModel } from "./decoders.ts";
import { decodeOrReject, type ModelDecoder, type ModelSource, type ServableModel } from "./types.ts";

function decoderOrRegistry(decode?: ModelDecoder): ModelDecoder {
  return decode ?? ((bytes, origin) => decodeModel(bytes, origin));
}

export interface FileSourceOptions {
  path: string;
  /** Defaults to the decoder registry (`registerDecoder`). */
  decode?: ModelDecoder;
  name?: string;
}

/** A model file on local disk. Change token: `mtimeMs:size`. */
export function fileSource(opts: FileSourceOptions): ModelSource {
  const decode = decoderOrRegistry(opts.decode);
  return {
    name: opts.name ?? `file:${opts.path}`,
    async load(signal) {
      let bytes: Buffer;
      try {
        bytes = await readFile(opts.path, { signal });
      } catch (e) {
        throw new Error(`model file ${opts.path}: ${(e as Error).message}`);
      }
      return await decodeOrReject(
        decode,
        new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        opts.path,
      );
    },
    async currentVersion() {
      try {
        const s = await stat(opts.path);
        return `${s.mtimeMs}:${s.size}`;
      } catch {
        return null;
      }
    },
  };
}

export interface UrlSourceOptions {
  url: string;
  decode?: ModelDecoder;
  name?: string;
  /** Per-request timeout (ms), on top of the caller's signal. Default 10,000. */
  timeoutMs?: number;
  /** Refuse bodies larger than this (bytes). Default 512 MiB. */
  maxBytes?: number;
  headers?: Record<string, string>;
  /** Injected fetch (tests); defaults to global fetch. */
  fetch?: typeof fetch;
  /** Environment for s3:// credentials and endpoint (default process.env; see src/data/s3.ts). */
  env?: NodeJS.ProcessEnv;
}

/** A model served over HTTP(S) or from an `s3://bucket/key` object (AWS or S3-compatible). Change token: ETag, else Last-Modified (HEAD request), else null. */
export function urlSource(opts: UrlSourceOptions): ModelSource {
  let parsed: URL;
  try {
    parsed = new URL(opts.url);
  } catch {
    throw new Error(`model URL '${opts.url}' is not a valid URL`);
  }
  const s3 = parsed.protocol === "s3:";
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:" && !s3) {
    throw new Error(
      `model URL '${opts.url}': only http:, https: and s3: are supported (got ${parsed.protocol})`,
    );
  }
  if (s3) parseS3Url(opts.url); // validates bucket/key now, not at first load
  // s3:// is signed per request (SigV4 carries the time); credentials/endpoint from the AWS_* environment
  const target = (method: "GET" | "HEAD") => {
    if (!s3) return { url: parsed, headers: opts.headers };
    const r = s3Request(opts.url, method, s3ConfigFromEnv(opts.env ?? process.env));
    return { url: r.url, headers: { ...(opts.headers ?? {}), ...r.headers } };
  };
  const decode = decoderOrRegistry(opts.decode);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 512 * 1024 * 1024;
  const doFetch = opts.fetch ?? fetch;
  const signalFor = (outer?: AbortSignal) =>
    outer ? AbortSignal.any([outer, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  return {
    name: opts.name ?? (s3 ? `s3:${opts.url.slice(5)}` : `url:${parsed.origin}${parsed.pathname}`),
    async load(signal) {
      let res: Response;
      try {
        const t = target("GET");
        res = await doFetch(t.url, { signal: signalFor(signal), headers: t.headers });
      } catch (e) {
        throw new Error(
          `model URL ${opts.url}: ${(e as Error).name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : (e as Error).message}`,
        );
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new Error(`model URL ${opts.url}: HTTP ${res.status} ${res.statusText}`);
      }
      const len = Number(res.headers.get("content-length") ?? "0");
      if (len > maxBytes) {
        await res.body?.cancel().catch(() => {});
        throw new Error(`model URL ${opts.url}: body of ${len} bytes exceeds the limit of ${maxBytes}`);
      }
      let buf: ArrayBuffer;
      try {
        buf = await res.arrayBuffer();
      } catch (e) {
        throw new Error(`model URL ${opts.url}: reading body failed: ${(e as Error).message}`);
      }
      if (buf.byteLength > maxBytes) throw new Error(`model URL ${opts.url}: body exceeds ${maxBytes} bytes`);
      return await decodeOrReject(decode, new Uint8Array(buf), opts.url);
    },
    async currentVersion() {
      try {
        const t = target("HEAD");
        const res = await doFetch(t.url, { method: "HEAD", signal: signalFor(), headers: t.headers });
        await res.body?.cancel().catch(() => {});
        if (!res.ok) return null;
        return res.headers.get("etag") ?? res.headers.get("last-modified") ?? null;
      } catch {
        return null;
      }
    },
  };
}

export interface DefineSourceOptions {
  name: string;
  load: (signal: AbortSignal) => Promise<ServableModel>;
  currentVersion?: () => Promise<string | null>;
}

/** A source from plain functions (e.g. the registry: resolve alias → version → bundle → decode). */
export function defineSource(opts: DefineSourceOptions): ModelSource {
  const s: ModelSource = { name: opts.name, load: opts.load };
  if (opts.currentVersion) s.currentVersion = opts.currentVersion;
  return s;
}

export interface WrapSourceOptions {
  name?: string;
  /** Post-process each loaded model (e.g. attach alias/run metadata). */
  map?: (model: ServableModel) => ServableModel | Promise<ServableModel>;
  /** Replace the change-token function. */
  currentVersion?: () => Promise<string | null>;
}

/** Generic wrapper: rename a source, post-process its models, or override its change token. */
export function wrapSource(inner: ModelSource, opts: WrapSourceOptions): ModelSource {
  const s: ModelSource = {
    name: opts.name ?? inner.name,
    async load(signal) {
      const m = await inner.load(signal);
      return opts.map ? await opts.map(m) : m;
    },
  };
  const cv = opts.currentVersion ?? inner.currentVersion?.bind(inner);
  if (cv) s.currentVersion = cv;
  return s;
}

/** Override fields of a model (keeps `predict` bound to the original). */
export function withModelFields(
  model: ServableModel,
  fields: Partial<Pick<ServableModel, "name" | "version" | "info">>,
): ServableModel {
  return {
    name: fields.name ?? model.name,
    version: fields.version ?? model.version,
    contract: model.contract,
    info: fields.info ?? model.info,
    inputExample: model.inputExample,
    examplePredictions: model.examplePredictions,
    predict: (frame) => model.predict(frame),
  };
}
