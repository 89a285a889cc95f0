/**
 * S3 access: SigV4 against the example of the AWS S3 documentation ("Signature Calculations for the
 * Authorization Header: GET Object"), URL mapping, and a local S3-compatible server that verifies signatures
 * (recomputed with the server's copy of the secret) for data ingest downloads and the serving URL source.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { downloadToFile } from "../../src/data/download.ts";
import { parseS3Url, s3ObjectUrl, s3Request, signV4 } from "../../src/data/s3.ts";
import { urlSource } from "../../src/serving/sources.ts";
import type { ServableModel } from "../../src/serving/types.ts";
import { sigV4Matches } from "../helpers/s3-signature.ts";

describe("SigV4", () => {
  it("matches the AWS documentation's GET Object example", () => {
    const h = signV4({
      method: "GET",
      url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
      headers: { Range: "bytes=0-9" },
      region: "us-east-1",
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      now: new Date("2013-05-24T00:00:00Z"),
    });
    assert.equal(
      h.authorization,
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
    assert.equal(h["x-amz-date"], "20130524T000000Z");
  });

  it("maps s3:// URLs to virtual-hosted AWS or path-style custom endpoints, and rejects bad ones", () => {
    assert.deepEqual(parseS3Url("s3://my-bucket/a/b c.csv"), { bucket: "my-bucket", key: "a/b c.csv" });
    assert.equal(
      s3ObjectUrl("my-bucket", "a/b c.csv", { region: "eu-west-1" }).href,
      "https://my-bucket.s3.eu-west-1.amazonaws.com/a/b%20c.csv",
    );
    assert.equal(
      s3ObjectUrl("my-bucket", "k.csv", { region: "us-east-1", endpoint: "http://127.0.0.1:9000" }).href,
      "http://127.0.0.1:9000/my-bucket/k.csv",
    );
    assert.throws(() => parseS3Url("s3://bucket-only"), /not an s3:\/\/bucket\/key URL/);
    assert.throws(() => parseS3Url("s3://Bad_Bucket/k"), /invalid bucket name 'Bad_Bucket'/);
    assert.deepEqual(
      s3Request("s3://my-bucket/k", "GET", { region: "us-east-1" }).headers,
      {},
      "unsigned without credentials",
    );
  });
});

describe("local S3-compatible server", () => {
  const KEY = { accessKeyId: "TESTKEY", secretAccessKey: "test/secret+key" };
  const objects = new Map([
    ["data/housing.csv", "a,b\n1,2\n3,4\n"],
    ["models/model.bin", "MODEL-BYTES"],
  ]);
  let server: Server;
  let endpoint: string;
  const dir = mkdtempSync(join(tmpdir(), "s3-"));
  const seen: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (!sigV4Matches(req, KEY)) {
        res.writeHead(403).end("<Error><Code>SignatureDoesNotMatch</Code></Error>");
        return;
      }
      const key = decodeURIComponent((req.url ?? "").replace(/^\/bucket-a\//, ""));
      const body = objects.get(key);
      if (body === undefined) {
        res.writeHead(404).end("<Error><Code>NoSuchKey</Code></Error>");
        return;
      }
      res.writeHead(200, { "content-length": Buffer.byteLength(body), etag: '"v1"' });
      res.end(req.method === "HEAD" ? undefined : body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const a = server.address();
    endpoint = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("downloads a signed object (ingest path) and fails clearly with a wrong secret or missing key", async () => {
    const env = {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    };
    const dest = join(dir, "h.csv");
    const r = await downloadToFile("s3://bucket-a/data/housing.csv", dest, { env, retries: 0 });
    assert.equal(readFileSync(dest, "utf8"), objects.get("data/housing.csv"));
    assert.equal(r.attempts, 1);
    assert.ok(seen.includes("GET /bucket-a/data/housing.csv"));
    await assert.rejects(
      downloadToFile("s3://bucket-a/data/housing.csv", join(dir, "x.csv"), {
        env: { ...env, AWS_SECRET_ACCESS_KEY: "wrong" },
        retries: 0,
      }),
      /s3:\/\/bucket-a\/data\/housing\.csv.*HTTP 403/,
    );
    await assert.rejects(
      downloadToFile("s3://bucket-a/nope.csv", join(dir, "y.csv"), { env, retries: 2, baseDelayMs: 1 }),
      /HTTP 404.*not retried/,
    );
  });

  it("serves as a model source: signed GET for the bytes, signed HEAD for the change token", async () => {
    const env = {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    };
    let got = "";
    const src = urlSource({
      url: "s3://bucket-a/models/model.bin",
      env,
      decode: (bytes, origin) => {
        got = `${origin}:${Buffer.from(bytes).toString()}`;
        return { name: "m", version: "1" } as unknown as ServableModel;
      },
    });
    assert.equal(src.name, "s3:bucket-a/models/model.bin");
    await src.load(new AbortController().signal);
    assert.equal(got, "s3://bucket-a/models/model.bin:MODEL-BYTES");
    assert.equal(await src.currentVersion?.(), '"v1"');
    assert.ok(seen.includes("HEAD /bucket-a/models/model.bin"));
    const bad = urlSource({
      url: "s3://bucket-a/models/model.bin",
      env: { ...env, AWS_SECRET_ACCESS_KEY: "x" },
    });
    await assert.rejects(bad.load(new AbortController().signal), /HTTP 403/);
    assert.throws(() => urlSource({ url: "s3://b/k" }), /invalid bucket name 'b'/);
  });
});
