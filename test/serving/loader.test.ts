import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createApp } from "../../src/serving/app.ts";
import { registerDecoder } from "../../src/serving/decoders.ts";
import { type LoaderEvent, ModelManager, verifyModel } from "../../src/serving/loader.ts";
import { registrySource } from "../../src/serving/registry-source.ts";
import { defineSource, fileSource, urlSource, wrapSource } from "../../src/serving/sources.ts";
import type { ServableModel } from "../../src/serving/types.ts";
import { sigV4Matches } from "../helpers/s3-signature.ts";
import {
  decodeTestServable,
  encodeTestServable,
  housingContract,
  makeTestServable,
  SAMPLE,
  type TestServableSpec,
} from "../helpers/servable.ts";

const FAST = { attemptTimeoutMs: 300, retry: { maxRetries: 1, initialDelayMs: 10, maxDelayMs: 20 } };

/** Poll `cond` every 20 ms for up to 5 s (what a background reload or retry gets to finish). */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** A source that fails its first `failures` loads, then serves `version`; `calls()` counts the loads. */
function flakySource(failures: number, version: string) {
  let calls = 0;
  return {
    calls: () => calls,
    source: defineSource({
      name: "flaky",
      load: async () => {
        calls++;
        if (calls <= failures) throw new Error(`flaky failure ${calls}`);
        return makeTestServable({ version });
      },
    }),
  };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "serving-loader-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function writeModel(path: string, spec: TestServableSpec | string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, typeof spec === "string" ? spec : encodeTestServable(spec));
  renameSync(tmp, path);
}

describe("sources", () => {
  it("file source decodes through the decoder registry; no decoder → clear error", async () => {
    const path = join(dir, "reg.json");
    writeModel(path, { version: "7" });
    const src = fileSource({ path });
    await assert.rejects(src.load(new AbortController().signal), /no model decoder registered/);
    const unregister = registerDecoder(decodeTestServable, "test");
    try {
      const m = await src.load(new AbortController().signal);
      assert.equal(m.version, "7");
      assert.match(String(await src.currentVersion?.()), /^\d+(\.\d+)?:\d+$/);
    } finally {
      unregister();
    }
    assert.equal(await fileSource({ path: join(dir, "missing.json") }).currentVersion?.(), null);
    await assert.rejects(
      fileSource({ path: join(dir, "missing.json"), decode: decodeTestServable }).load(
        new AbortController().signal,
      ),
      /missing\.json/,
    );
  });

  it("URL source: loads, ETag change token, HTTP errors and timeouts are errors", async () => {
    const body = Buffer.from(encodeTestServable({ version: "9" }));
    const server = createServer((req, res) => {
      if (req.url === "/model") {
        res.writeHead(200, { etag: '"v9"', "content-length": body.length });
        res.end(req.method === "HEAD" ? undefined : body);
      } else if (req.url === "/hang") {
        // never answers
      } else {
        res.writeHead(500);
        res.end("boom");
      }
    });
    const base = await listen(server);
    try {
      const ok = urlSource({ url: `${base}/model`, decode: decodeTestServable });
      assert.equal((await ok.load(new AbortController().signal)).version, "9");
      assert.equal(await ok.currentVersion?.(), '"v9"');
      await assert.rejects(
        urlSource({ url: `${base}/err`, decode: decodeTestServable }).load(new AbortController().signal),
        /HTTP 500/,
      );
      const t0 = Date.now();
      await assert.rejects(
        urlSource({ url: `${base}/hang`, decode: decodeTestServable, timeoutMs: 150 }).load(
          new AbortController().signal,
        ),
        /timed out after 150 ms/,
      );
      assert.ok(Date.now() - t0 < 2000);
      assert.throws(
        () => urlSource({ url: "file:///etc/passwd" }),
        /only http:, https: and s3: are supported/,
      );
      const wrapped = wrapSource(ok, {
        name: "w",
        map: (m) => ({ ...m, info: { ...m.info, alias: "champion" } }),
      });
      assert.equal((await wrapped.load(new AbortController().signal)).info.alias, "champion");
      assert.equal(await wrapped.currentVersion?.(), '"v9"');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("cascade and circuit breaker", () => {
  it("falls through a failing registry and a hanging URL to the local file", async () => {
    let hits = 0;
    const server = createServer((req) => {
      hits++;
      void req; // hang forever
    });
    const base = await listen(server);
    const path = join(dir, "cascade.json");
    writeModel(path, { version: "file-1" });
    const events: LoaderEvent[] = [];
    const m = new ModelManager({
      contract: housingContract,
      ...FAST,
      sources: [
        defineSource({
          name: "registry",
          load: async () => Promise.reject(new Error("alias production not found")),
        }),
        urlSource({ url: `${base}/model`, decode: decodeTestServable, timeoutMs: 10_000 }),
        fileSource({ path, decode: decodeTestServable }),
      ],
      onEvent: (e) => events.push(e),
    });
    const t0 = Date.now();
    try {
      const r = await m.start();
      assert.equal(r.status, "swapped");
      assert.equal(m.current?.model.version, "file-1");
      assert.equal(m.current?.sourceIndex, 2);
      assert.ok(Date.now() - t0 < 3000, "attempt timeouts bound the cascade");
      assert.equal(hits, 2, "URL tried twice (1 retry), each cut by the attempt timeout");
      const failures = events
        .filter((e) => e.type === "load" && e.outcome === "failure")
        .map((e) => e.source);
      assert.deepEqual(failures, ["registry", `url:${base}/model`]);
    } finally {
      await m.stop();
      server.closeAllConnections();
      server.close();
    }
  });

  it("registry (no store) → S3 object (signed) → file: serves from S3; a bad S3 secret falls through to the file", async () => {
    const KEY = { accessKeyId: "TESTKEY", secretAccessKey: "test/secret+key" };
    const body = Buffer.from(encodeTestServable({ version: "s3-1" }));
    const gets: string[] = [];
    const s3 = createServer((req, res) => {
      if (!sigV4Matches(req, KEY)) {
        res.writeHead(403).end("<Error><Code>SignatureDoesNotMatch</Code></Error>");
        return;
      }
      if (req.url !== "/models/m.json") {
        res.writeHead(404).end("<Error><Code>NoSuchKey</Code></Error>");
        return;
      }
      if (req.method === "GET") gets.push(req.url);
      res.writeHead(200, { "content-length": body.length, etag: '"e1"' });
      res.end(req.method === "HEAD" ? undefined : body);
    });
    const endpoint = await listen(s3);
    const path = join(dir, "cascade-s3.json");
    writeModel(path, { version: "file-1" });
    const env = (secret: string) => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: secret,
    });
    const cascade = (secret: string) =>
      new ModelManager({
        contract: housingContract,
        ...FAST,
        sources: [
          registrySource({
            home: join(dir, "no-such-home"),
            name: "housing_price_model",
            alias: "production",
          }),
          urlSource({ url: "s3://models/m.json", env: env(secret), decode: decodeTestServable }),
          fileSource({ path, decode: decodeTestServable }),
        ],
      });
    const good = cascade(KEY.secretAccessKey);
    const bad = cascade("wrong-secret");
    try {
      assert.equal((await good.start()).status, "swapped");
      assert.equal(good.current?.model.version, "s3-1");
      assert.equal(good.current?.source, "s3:models/m.json");
      assert.equal(gets.length, 1);
      const probes = await good.probeSources();
      assert.equal(probes[0].ok, false);
      assert.match(String(probes[0].error), /no registry at .*no-such-home/);
      assert.equal(probes[1].token, '"e1"', "the S3 change token is the ETag (signed HEAD)");
      assert.equal((await bad.start()).status, "swapped");
      assert.equal(bad.current?.model.version, "file-1", "a 403 from S3 falls through to the local file");
      assert.equal(gets.length, 1);
    } finally {
      await good.stop();
      await bad.stop();
      s3.close();
    }
  });

  it("starts degraded, breaker opens, then half-opens and closes when the source recovers", async () => {
    const flaky = flakySource(2, "5");
    const events: LoaderEvent[] = [];
    const m = new ModelManager({
      contract: housingContract,
      ...FAST,
      breaker: { threshold: 2, halfOpenAfterMs: 150 },
      backgroundRetry: { initialDelayMs: 50, maxDelayMs: 100 },
      sources: [flaky.source],
      onEvent: (e) => events.push(e),
    });
    try {
      const r = await m.start();
      assert.equal(r.status, "failed");
      assert.equal(m.status().state, "degraded");
      assert.match(m.status().reason ?? "", /flaky failure 2/);
      assert.equal(m.breakerStates()[0].state, "open");
      // Background retries: first ones hit the open breaker (no call), then half-open → success → closed.
      await until(() => m.current !== null);
      assert.equal(m.current?.model.version, "5");
      assert.equal(flaky.calls(), 3);
      assert.equal(m.breakerStates()[0].state, "closed");
      const states = events.filter((e) => e.type === "breaker").map((e) => (e as { state: string }).state);
      assert.deepEqual(states, ["open", "half_open", "closed"]);
      assert.equal(m.status().state, "ready");
    } finally {
      await m.stop();
    }
  });

  it("/metrics shows the breaker open while the source fails and closed once it recovers", async () => {
    const app = await createApp({
      contract: housingContract,
      logLevel: "silent",
      defaultMetrics: false,
      sources: [flakySource(2, "6").source],
      loader: {
        ...FAST,
        breaker: { threshold: 2, halfOpenAfterMs: 300 },
        backgroundRetry: { initialDelayMs: 400, maxDelayMs: 400 },
      },
    });
    const gauge = async () =>
      /model_source_circuit_state\{source="flaky"\} (\d)/.exec(
        (await app.inject({ url: "/metrics" })).body,
      )?.[1];
    try {
      assert.equal(await gauge(), "1", "open after two failures");
      await until(() => app.mlops.manager.current !== null);
      assert.equal(app.mlops.manager.current?.model.version, "6");
      assert.equal(await gauge(), "0", "closed after the half-open trial succeeded");
      assert.match(
        (await app.inject({ url: "/metrics" })).body,
        /model_load_events_total\{source="flaky",outcome="success",trigger="retry"\} 1/,
      );
    } finally {
      await app.close();
    }
  });
});

describe("fallback upgrade", () => {
  it("serving from a fallback, background retries try only the primary and upgrade when it recovers", async () => {
    let primaryCalls = 0;
    let fallbackCalls = 0;
    const m = new ModelManager({
      contract: housingContract,
      ...FAST,
      retry: { maxRetries: 0 },
      backgroundRetry: { initialDelayMs: 50, maxDelayMs: 50 },
      sources: [
        defineSource({
          name: "primary",
          load: async () => {
            primaryCalls++;
            if (primaryCalls <= 2) throw new Error("registry unavailable");
            return makeTestServable({ version: "p" });
          },
        }),
        defineSource({
          name: "fallback",
          load: async () => {
            fallbackCalls++;
            return makeTestServable({ version: "fb" });
          },
        }),
      ],
    });
    try {
      await m.start();
      const version = (): string | undefined => m.current?.model.version;
      assert.equal(version(), "fb");
      await until(() => version() === "p");
      assert.equal(m.current?.model.version, "p");
      assert.equal(m.current?.sourceIndex, 0);
      assert.equal(primaryCalls, 3);
      assert.equal(fallbackCalls, 1);
    } finally {
      await m.stop();
    }
  });
});

describe("verification and rejection", () => {
  it("verifyModel: contract mismatch, failing warm-up, no example", () => {
    assert.equal(verifyModel(makeTestServable(), housingContract).ok, true);
    const skewed = verifyModel(makeTestServable({ recordSkew: 1 + 1e-5 }), housingContract);
    assert.equal(skewed.ok, false);
    assert.match(skewed.reason ?? "", /relative error/);
    assert.equal(verifyModel(makeTestServable({ recordSkew: 1 + 1e-8 }), housingContract).ok, true);
    const other = {
      ...housingContract,
      columns: housingContract.columns.filter((c) => c.name !== "population"),
    };
    const mismatch = verifyModel(makeTestServable({ contract: other }), housingContract);
    assert.match(mismatch.reason ?? "", /input contract mismatch/);
    const noEx: ServableModel = { ...makeTestServable(), inputExample: [], examplePredictions: [] };
    assert.match(verifyModel(noEx, housingContract).reason ?? "", /no input example/);
  });

  it("a corrupt or incompatible new version is rejected, counted, and the old one keeps serving", async () => {
    const path = join(dir, "reject.json");
    writeModel(path, { version: "1" });
    const app = await createApp({
      contract: housingContract,
      logLevel: "silent",
      defaultMetrics: false,
      sources: [fileSource({ path, decode: decodeTestServable })],
      loader: { ...FAST, retry: { maxRetries: 0 } },
    });
    const predictVersion = async () => {
      const r = await app.inject({
        method: "POST",
        url: "/api/v1/predict",
        payload: { instances: [SAMPLE] },
      });
      assert.equal(r.statusCode, 200);
      return r.json().model_version;
    };
    try {
      assert.equal(await predictVersion(), "1");
      writeModel(path, '{"format":"test-servable/1",'); // truncated file: fetched, but not a model
      const r1 = await app.mlops.manager.reload("admin");
      assert.equal(r1.status, "rejected");
      assert.match(r1.reason ?? "", /rejected: .*JSON/);
      assert.equal(await predictVersion(), "1");
      writeModel(path, { version: "2", recordSkew: 1.01 }); // warm-up fails
      const r2 = await app.mlops.manager.reload("admin");
      assert.equal(r2.status, "rejected");
      assert.match(r2.reason ?? "", /warm-up prediction 0/);
      assert.equal(await predictVersion(), "1");
      const other = {
        ...housingContract,
        columns: housingContract.columns.filter((c) => c.name !== "population"),
      };
      writeModel(path, { version: "3", contract: other });
      assert.equal((await app.mlops.manager.reload("admin")).status, "rejected");
      assert.equal(await predictVersion(), "1");
      writeModel(path, { version: "4" });
      assert.equal((await app.mlops.manager.reload("admin")).status, "swapped");
      assert.equal(await predictVersion(), "4");
      const metrics = (await app.inject({ url: "/metrics" })).body;
      assert.match(
        metrics,
        /model_load_events_total\{source="file:[^"]+",outcome="rejected",trigger="admin"\} 3/,
      );
      assert.doesNotMatch(metrics, /model_load_events_total\{source="file:[^"]+",outcome="failure"/);
      assert.match(metrics, /model_info\{name="housing_price_model",version="4"/);
    } finally {
      await app.close();
    }
  });
});

describe("undecodable versions", () => {
  it("are rejected once per change token: not retried, not re-fetched by polls, breaker stays closed", async () => {
    const path = join(dir, "undecodable.json");
    writeModel(path, { version: "1" });
    let decodes = 0;
    const decode = (b: Uint8Array, o: string) => {
      decodes++;
      return decodeTestServable(b, o);
    };
    const events: LoaderEvent[] = [];
    const m = new ModelManager({
      contract: housingContract,
      ...FAST,
      retry: { maxRetries: 3, initialDelayMs: 10, maxDelayMs: 20 },
      breaker: { threshold: 1, halfOpenAfterMs: 60_000 },
      sources: [fileSource({ path, decode })],
      onEvent: (e) => events.push(e),
    });
    try {
      assert.equal((await m.start()).status, "swapped");
      assert.equal(decodes, 1);
      writeModel(path, "\u0000not a model at all");
      const r = await m.poll();
      assert.equal(r?.status, "rejected");
      assert.match(r?.reason ?? "", /^file:.*: rejected: /);
      assert.equal(decodes, 2, "a decode error is not retried (3 retries allowed for transient errors)");
      assert.equal(m.breakerStates()[0].state, "closed", "a bad version does not open the breaker");
      assert.equal(m.current?.model.version, "1");
      for (let k = 0; k < 3; k++) assert.equal(await m.poll(), null, "same token: not fetched again");
      assert.equal(decodes, 2);
      writeModel(path, { version: "2" });
      assert.equal((await m.poll())?.status, "swapped");
      assert.equal(m.current?.model.version, "2");
      const outcomes = events.filter((e) => e.type === "load").map((e) => (e as { outcome: string }).outcome);
      assert.deepEqual(outcomes, ["success", "rejected", "success"]);
      assert.equal(events.filter((e) => e.type === "breaker").length, 0);
    } finally {
      await m.stop();
    }
  });

  it("a corrupt first version leaves the server degraded with the reason, and it recovers", async () => {
    const path = join(dir, "corrupt-first.json");
    writeModel(path, "{");
    const app = await createApp({
      contract: housingContract,
      logLevel: "silent",
      defaultMetrics: false,
      sources: [fileSource({ path, decode: decodeTestServable })],
      loader: { ...FAST, backgroundRetry: { initialDelayMs: 50, maxDelayMs: 100 } },
    });
    try {
      const h = (await app.inject({ url: "/health" })).json();
      assert.equal(h.status, "degraded");
      assert.equal(h.model_loaded, false);
      assert.match(JSON.stringify(h), /rejected/);
      writeModel(path, { version: "9" });
      await until(() => app.mlops.manager.current !== null);
      assert.equal(app.mlops.manager.current?.model.version, "9");
    } finally {
      await app.close();
    }
  });
});

describe("hot reload under load", () => {
  it("polls the file, swaps atomically: zero failed requests, version changes", async () => {
    const path = join(dir, "hot.json");
    writeModel(path, { version: "1" });
    const app = await createApp({
      contract: housingContract,
      logLevel: "silent",
      defaultMetrics: false,
      pollIntervalMs: 50,
      sources: [fileSource({ path, decode: decodeTestServable })],
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1/predict`;
    const body = JSON.stringify({ instances: [SAMPLE, { ...SAMPLE, median_income: 2 }] });
    const seen = new Map<string, number>();
    let failures = 0;
    let total = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const r = await fetch(url, {
            method: "POST",
            body,
            headers: { "content-type": "application/json" },
          });
          const j = (await r.json()) as { model_version: string; predictions: { predicted_price: number }[] };
          total++;
          if (r.status !== 200) failures++;
          else {
            const v = j.model_version;
            seen.set(v, (seen.get(v) ?? 0) + 1);
            // the prediction must come from the version it reports
            const slope = v === "1" ? 40_000 : 30_000;
            if (Math.abs(j.predictions[1].predicted_price - (50_000 + slope * 2)) > 1e-6) failures++;
          }
        } catch {
          failures++;
        }
      }
    };
    try {
      const workers = Array.from({ length: 8 }, worker);
      await new Promise((r) => setTimeout(r, 300));
      writeModel(path, { version: "2", slope: 30_000 });
      await until(() => (seen.get("2") ?? 0) >= 50);
      stop = true;
      await Promise.all(workers);
      assert.equal(failures, 0);
      assert.ok((seen.get("1") ?? 0) > 0 && (seen.get("2") ?? 0) >= 50, JSON.stringify([...seen]));
      assert.ok(total >= 60, `total ${total}`);
      assert.equal(app.mlops.manager.current?.model.version, "2");
    } finally {
      stop = true;
      await app.close();
    }
  });
});
