/**
 * Content-addressed artifacts on S3 or an S3-compatible store (MinIO, Ceph, R2, …): the same `ArtifactStore`
 * contract as the local store, objects at `<prefix>/ab/cdef…` (the sha256 of the content).
 *
 * - put: HEAD first (content-addressed: an existing object of the same size is the same content); else a signed
 *   PutObject whose payload hash is the address (`x-amz-content-sha256`), so the store itself rejects a body
 *   altered in transit. PutObject is atomic: readers see the old state or the whole object.
 * - get / openStream: GetObject, verified against the address (ArtifactIntegrityError on mismatch).
 * - Requests are signed with SigV4 (src/data/s3.ts) when credentials are configured, time out after
 *   `timeoutMs`, and are retried with exponential backoff + jitter on network errors, 429 and 5xx (cockatiel).
 */
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { ExponentialBackoff, handleWhen, retry } from "cockatiel";
import { parseS3Url, type S3Config, s3ConfigFromEnv, s3ObjectUrl, signV4 } from "../data/s3.ts";
import { type ArtifactRef, type ArtifactStore, sha256Hex, verifyingTransform } from "./artifacts.ts";
import { validateSha } from "./store.ts";
import { ArtifactIntegrityError, TrackingError } from "./types.ts";

export interface S3ArtifactStoreOptions {
  /** endpoint, region and credentials (default: from the AWS_* environment variables) */
  config?: S3Config;
  /** per-request timeout (default 30 s) */
  timeoutMs?: number;
  /** attempts per request, including the first (default 4) */
  attempts?: number;
  /** first backoff delay (default 200 ms; doubles, with jitter) */
  backoffMs?: number;
}

/** A response worth retrying (network failure, throttling, server error). */
class TransientS3Error extends Error {}

export class S3ArtifactStore implements ArtifactStore {
  readonly kind = "s3";
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly cfg: S3Config;
  private readonly timeoutMs: number;
  private readonly policy;

  /** `uri` = `s3://bucket[/prefix]`. */
  constructor(uri: string, opts: S3ArtifactStoreOptions = {}) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri);
    if (!m) throw new TrackingError("INVALID", `artifact store '${uri}' is not an s3://bucket[/prefix] URI`);
    // validates the bucket name (and names the URI in the error)
    const { bucket } = parseS3Url(`s3://${m[1]}/x`);
    this.bucket = bucket;
    this.prefix = m[2].replace(/\/+$/, "");
    this.location = `s3://${bucket}${this.prefix ? `/${this.prefix}` : ""}`;
    this.cfg = opts.config ?? s3ConfigFromEnv();
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.policy = retry(
      handleWhen((e) => e instanceof TransientS3Error),
      {
        maxAttempts: Math.max(0, (opts.attempts ?? 4) - 1),
        backoff: new ExponentialBackoff({ initialDelay: opts.backoffMs ?? 200, maxDelay: 5_000 }),
      },
    );
  }

  /** Object key of an address. */
  keyOf(sha256: string): string {
    validateSha(sha256);
    const k = `${sha256.slice(0, 2)}/${sha256.slice(2)}`;
    return this.prefix ? `${this.prefix}/${k}` : k;
  }

  private where(sha256: string): string {
    return `s3://${this.bucket}/${this.keyOf(sha256)}`;
  }

  /** One signed request, retried on transient failures; other non-2xx answers are returned to the caller. */
  private async send(
    method: "GET" | "HEAD" | "PUT",
    sha256: string,
    body?: Uint8Array,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const url = s3ObjectUrl(this.bucket, this.keyOf(sha256), this.cfg);
    return this.policy
      .execute(async () => {
        const signed =
          this.cfg.accessKeyId && this.cfg.secretAccessKey
            ? signV4({
                method,
                url,
                headers,
                ...(body ? { payloadSha256: sha256 } : {}),
                region: this.cfg.region,
                accessKeyId: this.cfg.accessKeyId,
                secretAccessKey: this.cfg.secretAccessKey,
                ...(this.cfg.sessionToken ? { sessionToken: this.cfg.sessionToken } : {}),
              })
            : headers;
        let res: Response;
        try {
          res = await fetch(url, {
            method,
            headers: signed,
            ...(body ? { body } : {}),
            signal: AbortSignal.timeout(this.timeoutMs),
          });
        } catch (e) {
          throw new TransientS3Error(`${method} ${this.where(sha256)}: ${(e as Error).message}`, {
            cause: e,
          });
        }
        if (res.status === 429 || res.status >= 500) {
          await res.body?.cancel();
          throw new TransientS3Error(`${method} ${this.where(sha256)}: HTTP ${res.status}`);
        }
        return res;
      })
      .catch((e: unknown) => {
        if (e instanceof TransientS3Error) throw new TrackingError("UNAVAILABLE", e.message, { cause: e });
        throw e;
      });
  }

  private async failed(res: Response, what: string): Promise<never> {
    const text = (await res.text().catch(() => "")).slice(0, 300);
    const hint =
      res.status === 403
        ? " (access denied: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the region and the bucket policy)"
        : "";
    throw new TrackingError(
      "UNAVAILABLE",
      `${what}: HTTP ${res.status}${text ? ` ${text.replace(/\s+/g, " ")}` : ""}${hint}`,
    );
  }

  private notFound(sha256: string): TrackingError {
    return new TrackingError("NOT_FOUND", `artifact sha256 ${sha256} not found in ${this.location}`);
  }

  async put(source: Uint8Array | string): Promise<ArtifactRef> {
    let bytes: Uint8Array;
    if (typeof source === "string") {
      bytes = await readFile(source).catch((e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") {
          throw new TrackingError(
            "NOT_FOUND",
            `artifact source file not found: ${source} (put(string) takes a file path; use Buffer.from(text) for text)`,
          );
        }
        throw e;
      });
    } else if (source instanceof Uint8Array) bytes = source;
    else
      throw new TrackingError("INVALID", `artifact put: expected bytes or a file path, got ${typeof source}`);
    const sha = sha256Hex(bytes);
    const existing = await this.stat(sha);
    if (existing && existing.size === bytes.byteLength) return existing;
    const res = await this.send("PUT", sha, bytes, {
      "content-type": "application/octet-stream",
      "x-amz-checksum-sha256": Buffer.from(sha, "hex").toString("base64"),
    });
    if (!res.ok) await this.failed(res, `PUT ${this.where(sha)}`);
    await res.body?.cancel();
    return { sha256: sha, size: bytes.byteLength };
  }

  async get(sha256: string): Promise<Buffer> {
    const res = await this.send("GET", sha256);
    if (res.status === 404) {
      await res.body?.cancel();
      throw this.notFound(sha256);
    }
    if (!res.ok) await this.failed(res, `GET ${this.where(sha256)}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const actual = sha256Hex(bytes);
    if (actual !== sha256) throw new ArtifactIntegrityError(this.where(sha256), sha256, actual);
    return bytes;
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async stat(sha256: string): Promise<ArtifactRef | null> {
    const res = await this.send("HEAD", sha256);
    if (res.status === 404) return null;
    if (!res.ok) await this.failed(res, `HEAD ${this.where(sha256)}`);
    const size = Number(res.headers.get("content-length"));
    if (!Number.isFinite(size)) {
      throw new TrackingError("UNAVAILABLE", `HEAD ${this.where(sha256)}: no content-length in the answer`);
    }
    return { sha256, size };
  }

  async openStream(sha256: string): Promise<Readable> {
    const res = await this.send("GET", sha256);
    if (res.status === 404) {
      await res.body?.cancel();
      throw this.notFound(sha256);
    }
    if (!res.ok || !res.body) await this.failed(res, `GET ${this.where(sha256)}`);
    const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
    const verifier = verifyingTransform(sha256, this.where(sha256));
    body.on("error", (e) => verifier.destroy(e));
    return body.pipe(verifier);
  }

  async verify(sha256: string): Promise<ArtifactRef> {
    const bytes = await this.get(sha256);
    return { sha256, size: bytes.byteLength };
  }
}

/** The artifact store of a URI: `s3://bucket[/prefix]` → S3ArtifactStore; anything else is not an S3 URI. */
export function isS3ArtifactUri(uri: string): boolean {
  return /^s3:\/\//i.test(uri);
}
