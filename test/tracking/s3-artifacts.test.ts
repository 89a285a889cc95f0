/**
 * S3ArtifactStore against a local S3-compatible server (path-style, in memory) that checks SigV4 signatures and,
 * as S3 does, that a PUT body hashes to its signed x-amz-content-sha256. Also: the registry on an S3 store end to
 * end, transient 503s retried, corruption detected, refused requests reported with the object's URI.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  ArtifactIntegrityError,
  openTracking,
  S3ArtifactStore,
  TrackingError,
} from "../../src/tracking/index.ts";
import { sigV4Matches } from "../helpers/s3-signature.ts";

const KEY = { accessKeyId: "TESTKEY", secretAccessKey: "test/secret+key" };
const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

describe("S3ArtifactStore (local S3-compatible server)", () => {
  const objects = new Map<string, Buffer>();
  const seen: string[] = [];
  let failNext = 0; // answer the next N requests with 503
  let server: Server;
  let config: { region: string; endpoint: string } & typeof KEY;
  const dir = mkdtempSync(join(tmpdir(), "s3-artifacts-"));

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.push(`${req.method} ${req.url}`);
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end("<Error><Code>SlowDown</Code></Error>");
          return;
        }
        if (!sigV4Matches(req, KEY)) {
          res.writeHead(403).end("<Error><Code>SignatureDoesNotMatch</Code></Error>");
          return;
        }
        const key = decodeURIComponent((req.url ?? "").replace(/^\/art-bucket\//, ""));
        if (req.method === "PUT") {
          const body = Buffer.concat(chunks);
          if (sha(body) !== req.headers["x-amz-content-sha256"]) {
            res.writeHead(400).end("<Error><Code>XAmzContentSHA256Mismatch</Code></Error>");
            return;
          }
          objects.set(key, body);
          res.writeHead(200, { etag: '"x"' }).end();
          return;
        }
        const body = objects.get(key);
        if (body === undefined) {
          res.writeHead(404).end("<Error><Code>NoSuchKey</Code></Error>");
          return;
        }
        res.writeHead(200, { "content-length": body.byteLength });
        res.end(req.method === "HEAD" ? undefined : body);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const a = server.address();
    config = {
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`,
      ...KEY,
    };
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("put / get / stat / stream / verify, content-addressed under the prefix; a second put is a HEAD only", async () => {
    const store = new S3ArtifactStore("s3://art-bucket/team/artifacts/", { config, backoffMs: 1 });
    assert.equal(store.location, "s3://art-bucket/team/artifacts");
    const bytes = Buffer.from("model bytes \u00e9\n".repeat(1000));
    const ref = await store.put(bytes);
    assert.deepEqual(ref, { sha256: sha(bytes), size: bytes.byteLength });
    assert.ok(objects.has(`team/artifacts/${ref.sha256.slice(0, 2)}/${ref.sha256.slice(2)}`));
    seen.length = 0;
    assert.deepEqual(await store.put(bytes), ref);
    assert.deepEqual(seen, [
      `HEAD /art-bucket/team/artifacts/${ref.sha256.slice(0, 2)}/${ref.sha256.slice(2)}`,
    ]);
    assert.deepEqual(await store.get(ref.sha256), bytes);
    assert.deepEqual(await store.stat(ref.sha256), ref);
    assert.equal(await store.has(sha("absent")), false);
    const parts: Buffer[] = [];
    for await (const c of await store.openStream(ref.sha256)) parts.push(c as Buffer);
    assert.deepEqual(Buffer.concat(parts), bytes);
    assert.deepEqual(await store.verify(ref.sha256), ref);
    const file = join(dir, "f.bin");
    writeFileSync(file, "from a file");
    assert.equal((await store.put(file)).sha256, sha("from a file"));
    await assert.rejects(store.put(join(dir, "missing")), (e: TrackingError) => e.code === "NOT_FOUND");
    await assert.rejects(store.get(sha("absent")), (e: TrackingError) => e.code === "NOT_FOUND");
    assert.throws(() => store.keyOf("not-a-sha"), TrackingError);
  });

  it("retries 503s, reports corruption and refused requests with the object's URI", async () => {
    const store = new S3ArtifactStore("s3://art-bucket/r", { config, backoffMs: 1 });
    failNext = 2;
    const ref = await store.put(Buffer.from("retry me"));
    assert.equal(failNext, 0);
    assert.deepEqual(await store.get(ref.sha256), Buffer.from("retry me"));
    failNext = 10;
    await assert.rejects(store.get(ref.sha256), (e: TrackingError) => {
      assert.equal(e.code, "UNAVAILABLE");
      assert.match(e.message, /s3:\/\/art-bucket\/r\/[0-9a-f]{2}\/[0-9a-f]{62}: HTTP 503/);
      return true;
    });
    failNext = 0;
    // corrupt the stored object: get and the stream both detect it
    objects.set(`r/${ref.sha256.slice(0, 2)}/${ref.sha256.slice(2)}`, Buffer.from("retry mE"));
    await assert.rejects(store.get(ref.sha256), ArtifactIntegrityError);
    const s = await store.openStream(ref.sha256);
    await assert.rejects(async () => {
      for await (const _ of s) {
        // drain
      }
    }, ArtifactIntegrityError);
    const wrong = new S3ArtifactStore("s3://art-bucket/r", {
      config: { ...config, secretAccessKey: "wrong" },
      backoffMs: 1,
    });
    await assert.rejects(wrong.put(Buffer.from("x")), (e: TrackingError) => {
      assert.equal(e.code, "UNAVAILABLE");
      assert.match(
        e.message,
        /HEAD s3:\/\/art-bucket\/r\/.*HTTP 403 \(access denied: check AWS_ACCESS_KEY_ID/,
      );
      return true;
    });
    assert.throws(() => new S3ArtifactStore("s3://Bad_Bucket/x", { config }), /invalid bucket name/);
  });

  it("the tracking home keeps its database locally and its artifacts on S3 (registry round trip)", async () => {
    const home = join(dir, "home");
    const env = {
      AWS_ENDPOINT_URL: config.endpoint,
      AWS_ACCESS_KEY_ID: KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
      AWS_REGION: "us-east-1",
      MLOPS_ARTIFACTS_URI: "s3://art-bucket/mlops",
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env); // the store's endpoint and credentials come from the environment
    const t = openTracking({ home });
    try {
      assert.equal(t.artifacts.kind, "s3");
      const before = objects.size;
      const ref = await t.artifacts.put(Buffer.from("MODEL"));
      assert.equal(objects.size, before + 1);
      const v = await t.registry.registerModelVersion({ name: "housing", artifactSha: ref.sha256 });
      const back = await t.registry.getVersion("housing", v.version);
      assert.deepEqual(await t.artifacts.get(back.artifactSha), Buffer.from("MODEL"));
      // registering an artifact the bucket does not hold is refused
      await assert.rejects(
        t.registry.registerModelVersion({ name: "housing", artifactSha: sha("never stored") }),
        /is not in s3:\/\/art-bucket\/mlops/,
      );
    } finally {
      await t.close();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    assert.throws(
      () => openTracking({ home, artifacts: "gs://bucket/x" }),
      /only s3:\/\/ URIs and directories/,
    );
    const local = openTracking({ home, artifacts: join(dir, "elsewhere") });
    assert.equal(local.artifacts.location, join(dir, "elsewhere"));
    await local.close();
  });
});
