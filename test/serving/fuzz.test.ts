/**
 * No input may produce a 500 or crash the process: thousands of random and malformed bodies against every
 * POST route, via inject and over real HTTP (raw bytes, random content types), then a liveness check.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { createApp, type ServingApp } from "../../src/serving/app.ts";
import { defineSource } from "../../src/serving/sources.ts";
import { housingContract, makeTestServable, SAMPLE } from "../helpers/servable.ts";

const ROUTES = [
  "/api/v1/predict",
  "/invocations",
  "/v2/models/housing_price_model/infer",
  "/v2/models/housing_price_model/versions/1/infer",
  "/api/v1/admin/reload",
];
const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "text/csv",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "application/xml",
  "APPLICATION/JSON",
  "json",
  "*/*",
];
const KEYS = [
  ...Object.keys(SAMPLE),
  "instances",
  "inputs",
  "dataframe_split",
  "dataframe_records",
  "columns",
  "data",
  "name",
  "shape",
  "datatype",
  "outputs",
  "__proto__",
  "constructor",
];

/** Values that are interesting for a numeric/categorical field. */
const weirdValue = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    1e308,
    -1e308,
    5e-324,
    2 ** 53 + 1,
    -1,
    91,
    181,
    null,
    "",
    "NaN",
    "Infinity",
    "-Infinity",
    "near bay",
    " INLAND ",
    "ÎNLAND",
    "\u0000",
    true,
    false,
    [],
    {},
  ),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A valid-looking body with random mutations (the most likely to reach deep code paths). */
const mutatedBody = fc
  .tuple(
    fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 5 }), weight: 10 },
      { arbitrary: fc.constant(101), weight: 1 },
    ),
    fc.array(fc.tuple(fc.constantFrom(...KEYS), weirdValue), { maxLength: 4 }),
    fc.boolean(),
    fc.constantFrom("instances", "dataframe_records", "inputs", "v2", "split"),
  )
  .map(([n, muts, drop, shape]) => {
    const rows = Array.from({ length: n }, () => {
      const r: Record<string, unknown> = { ...SAMPLE };
      for (const [k, v] of muts) r[k] = v;
      if (drop) delete r.latitude;
      return r;
    });
    if (shape === "v2") {
      return {
        inputs: Object.keys(SAMPLE).map((k) => ({
          name: k,
          shape: [rows.length],
          datatype: k === "ocean_proximity" ? "BYTES" : muts[0]?.[1] === null ? "INT64" : "FP64",
          data: rows.map((r) => r[k]),
        })),
      };
    }
    if (shape === "split") {
      const cols = Object.keys(rows[0] ?? SAMPLE);
      return { dataframe_split: { columns: cols, data: rows.map((r) => cols.map((c) => r[c])) } };
    }
    if (shape === "inputs")
      return { inputs: Object.fromEntries(Object.keys(SAMPLE).map((k) => [k, rows.map((r) => r[k])])) };
    return { [shape]: rows };
  });

const textBody = fc.oneof(
  mutatedBody.map((b) => JSON.stringify(b)),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v) ?? "null"),
  fc.string({ maxLength: 200 }),
  mutatedBody.map((b) => JSON.stringify(b).replace(/\d+(\.\d+)?/, "NaN")),
  mutatedBody.map((b) => JSON.stringify(b).slice(0, 40)),
  fc.constantFrom(
    "[]",
    "{}",
    "null",
    '""',
    '{"instances":null}',
    '{"instances":[null]}',
    '{"instances":[[]]}',
    '{"instances":{}}',
    '{"__proto__":{"polluted":1},"instances":[{}]}',
    '{"dataframe_split":{"columns":null,"data":[[1]]}}',
    '{"inputs":[{"name":"latitude","shape":[1e9],"datatype":"FP64","data":[1]}]}',
    `${"[".repeat(50_000)}${"]".repeat(50_000)}`,
    `{"instances":${"[".repeat(10_000)}1${"]".repeat(10_000)}}`,
    '{"instances":[{"latitude":1e999999}]}',
    "longitude,latitude\n1,2\n3",
    '"\\ud800"',
  ),
);

describe("fuzz: only 2xx/4xx, the server stays alive", () => {
  let app: ServingApp;
  before(async () => {
    app = await createApp({
      contract: housingContract,
      logLevel: "silent",
      defaultMetrics: false,
      maxBatch: 100,
      bodyLimit: 1024 * 1024,
      adminApiKey: "k",
      sources: [defineSource({ name: "t", load: async () => makeTestServable({ version: "1" }) })],
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
  });
  after(() => app.close());

  it("thousands of random bodies via inject", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.oneof(
          { arbitrary: fc.constant("application/json"), weight: 4 },
          { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 1 },
        ),
        textBody,
        async (url, ct, payload) => {
          const r = await app.inject({
            method: "POST",
            url,
            payload,
            headers: { "content-type": ct, "x-api-key": "k" },
          });
          statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
          assert.ok(
            r.statusCode >= 200 && r.statusCode < 500,
            `${url} ${ct} ${payload.slice(0, 200)} → ${r.statusCode} ${r.body.slice(0, 300)}`,
          );
        },
      ),
      { numRuns: 2000, seed: 20261127 },
    );
    // the generator must reach both successes and every class of rejection
    for (const s of [200, 400, 413, 415, 422])
      assert.ok((statuses.get(s) ?? 0) > 0, `no ${s} in ${JSON.stringify([...statuses])}`);
  });

  it("raw random bytes and headers over real HTTP", async () => {
    const port = (app.server.address() as AddressInfo).port;
    const send = (url: string, headers: Record<string, string>, body: Uint8Array) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: url, method: "POST", headers }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end(body);
      });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.oneof(
          fc.constantFrom(...CONTENT_TYPES),
          fc.stringMatching(/^[a-z]{1,8}\/[a-z+.-]{1,12}(; ?charset=[a-z0-9-]{1,8})?$/),
        ),
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }),
          textBody.map((s) => new TextEncoder().encode(s)),
        ),
        async (url, ct, body) => {
          const status = await send(url, { "content-type": ct, "content-length": String(body.length) }, body);
          assert.ok(status >= 200 && status < 500, `${url} ${ct} → ${status}`);
        },
      ),
      { numRuns: 400, seed: 7 },
    );
    // over the body limit
    assert.equal(
      await send(
        "/api/v1/predict",
        { "content-type": "application/json" },
        new Uint8Array(1024 * 1024 + 10).fill(32),
      ),
      413,
    );
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    const ok = await fetch(`http://127.0.0.1:${port}/api/v1/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ instances: [SAMPLE] }),
    });
    assert.equal(ok.status, 200);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
