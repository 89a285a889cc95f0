/**
 * `s3://bucket/key` objects from AWS S3 or any S3-compatible store (MinIO, Ceph, R2, …): URL mapping and AWS
 * Signature Version 4 request signing (node:crypto), so data ingest and the serving model cascade can read
 * private objects with plain `fetch` — no SDK. Only what reading an object needs: GET and HEAD.
 *
 * Configuration comes from the standard AWS environment variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN (optional), AWS_REGION / AWS_DEFAULT_REGION (default us-east-1) and, for S3-compatible
 * stores, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (path-style addressing is then used). Without credentials the
 * request is sent unsigned (public buckets).
 */
import { createHash, createHmac } from "node:crypto";

export interface S3Config {
  region: string;
  /** S3-compatible endpoint, e.g. http://127.0.0.1:9000 (path-style). Unset = AWS virtual-hosted style. */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
}

export class S3UrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "S3UrlError";
  }
}

export function isS3Url(s: string): boolean {
  return /^s3:\/\//i.test(s);
}

/** `s3://bucket/some/key.csv` → { bucket, key }; errors name the URL. */
export function parseS3Url(s: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/i.exec(s);
  if (!m) throw new S3UrlError(`'${s}' is not an s3://bucket/key URL`);
  const bucket = m[1];
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new S3UrlError(`'${s}': invalid bucket name '${bucket}'`);
  }
  return { bucket, key: m[2] };
}

export function s3ConfigFromEnv(env: NodeJS.ProcessEnv = process.env): S3Config {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1",
    ...(endpoint ? { endpoint } : {}),
    ...(env.AWS_ACCESS_KEY_ID ? { accessKeyId: env.AWS_ACCESS_KEY_ID } : {}),
    ...(env.AWS_SECRET_ACCESS_KEY ? { secretAccessKey: env.AWS_SECRET_ACCESS_KEY } : {}),
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

/** RFC 3986 encoding as SigV4 wants it (every byte except A–Z a–z 0–9 - . _ ~), '/' kept in paths. */
function uriEncode(s: string, keepSlash: boolean): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The HTTP(S) URL of an object: path-style on a custom endpoint, virtual-hosted on AWS. */
export function s3ObjectUrl(bucket: string, key: string, cfg: S3Config): URL {
  const path = `/${uriEncode(key, true)}`;
  if (cfg.endpoint) {
    const base = new URL(cfg.endpoint);
    const prefix = base.pathname.replace(/\/+$/, "");
    return new URL(`${base.protocol}//${base.host}${prefix}/${bucket}${path}`);
  }
  return new URL(`https://${bucket}.s3.${cfg.region}.amazonaws.com${path}`);
}

const sha256Hex = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Uint8Array | string, data: string) => createHmac("sha256", key).update(data).digest();

export const EMPTY_PAYLOAD_SHA256 = sha256Hex("");

/** "20130524T000000Z" */
export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/**
 * AWS Signature Version 4 for one request: returns the headers to send (the given ones + host, x-amz-date,
 * x-amz-content-sha256, x-amz-security-token if any, authorization). Every given header is signed.
 */
export function signV4(req: {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  payloadSha256?: string;
  region: string;
  service?: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  now?: Date;
}): Record<string, string> {
  const service = req.service ?? "s3";
  const date = amzDate(req.now ?? new Date());
  const day = date.slice(0, 8);
  const payload = req.payloadSha256 ?? EMPTY_PAYLOAD_SHA256;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {}))
    headers[k.toLowerCase()] = v.trim().replace(/\s+/g, " ");
  headers.host = req.url.host;
  headers["x-amz-date"] = date;
  headers["x-amz-content-sha256"] = payload;
  if (req.sessionToken) headers["x-amz-security-token"] = req.sessionToken;
  const names = Object.keys(headers).sort();
  const query = [...req.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)])
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonical = [
    req.method.toUpperCase(),
    req.url.pathname || "/",
    query,
    names.map((n) => `${n}:${headers[n]}\n`).join(""),
    names.join(";"),
    payload,
  ].join("\n");
  const scope = `${day}/${req.region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", date, scope, sha256Hex(canonical)].join("\n");
  const kDate = hmac(`AWS4${req.secretAccessKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, req.region), service), "aws4_request");
  const signature = createHmac("sha256", kSigning).update(toSign).digest("hex");
  const out: Record<string, string> = { ...headers };
  delete out.host; // fetch sets it from the URL
  out.authorization = `AWS4-HMAC-SHA256 Credential=${req.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return out;
}

/** A ready-to-fetch request for an `s3://` object (signed when credentials are configured). */
export function s3Request(
  s3url: string,
  method: "GET" | "HEAD" = "GET",
  cfg: S3Config = s3ConfigFromEnv(),
  now?: Date,
): { url: URL; headers: Record<string, string> } {
  const { bucket, key } = parseS3Url(s3url);
  const url = s3ObjectUrl(bucket, key, cfg);
  if (!cfg.accessKeyId || !cfg.secretAccessKey) return { url, headers: {} };
  return {
    url,
    headers: signV4({
      method,
      url,
      region: cfg.region,
      accessKeyId: cfg.accessKeyId,
      secretAccessKey: cfg.secretAccessKey,
      ...(cfg.sessionToken ? { sessionToken: cfg.sessionToken } : {}),
      ...(now ? { now } : {}),
    }),
  };
}
