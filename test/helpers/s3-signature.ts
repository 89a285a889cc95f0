/**
 * Server side of SigV4 for the local S3-compatible test servers: recompute the request's signature with the
 * server's copy of the secret (over the headers the client says it signed, its date and payload hash) and compare.
 */
import type { IncomingMessage } from "node:http";
import { signV4 } from "../../src/data/s3.ts";

export function sigV4Matches(
  req: IncomingMessage,
  key: { accessKeyId: string; secretAccessKey: string },
  region = "us-east-1",
): boolean {
  const auth = String(req.headers.authorization ?? "");
  const signed = /SignedHeaders=([^,]+)/.exec(auth)?.[1].split(";") ?? [];
  const headers: Record<string, string> = {};
  for (const n of signed) if (n !== "host") headers[n] = String(req.headers[n]);
  const date = headers["x-amz-date"] ?? "";
  const expect = signV4({
    method: req.method ?? "GET",
    url: new URL(`http://${req.headers.host}${req.url}`),
    headers,
    ...(headers["x-amz-content-sha256"] ? { payloadSha256: headers["x-amz-content-sha256"] } : {}),
    region,
    ...key,
    now: new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    ),
  });
  return expect.authorization === auth;
}
