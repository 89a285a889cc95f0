import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { createApp, type ServingApp } from "../../src/serving/app.ts";
import { defineSource } from "../../src/serving/sources.ts";
import type { PredictionLogEntry } from "../../src/serving/types.ts";
import { housingContract, makeTestServable, SAMPLE } from "../helpers/servable.ts";

const BATCH = [SAMPLE, { ...SAMPLE, median_income: 5.0 }, { ...SAMPLE, housing_median_age: 20.0 }];

async function makeApp(extra: Partial<Parameters<typeof createApp>[0]> = {}): Promise<ServingApp> {
  return createApp({
    contract: housingContract,
    logLevel: "silent",
    defaultMetrics: false,
    sources: [
      defineSource({ name: "test", load: async () => makeTestServable({ version: "test_model_v1" }) }),
    ],
    ...extra,
  });
}

const post = (app: ServingApp, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: "POST", url, payload: payload as never, headers });

describe("reference API contract (api/tests/test_api.py)", () => {
  let app: ServingApp;
  before(async () => {
    app = await makeApp();
  });
  after(() => app.close());

  it("root endpoint", async () => {
    const r = await app.inject({ url: "/" });
    assert.equal(r.statusCode, 200);
    const b = r.json();
    for (const k of ["name", "version", "docs_url"]) assert.ok(k in b, k);
    assert.equal(b.name, "Housing Price Prediction API");
    assert.equal(b.health_url, "/health");
  });
  it("health check", async () => {
    const r = await app.inject({ url: "/health" });
    assert.equal(r.statusCode, 200);
    const b = r.json();
    for (const k of ["status", "model_loaded", "version"]) assert.ok(k in b, k);
    assert.equal(b.model_loaded, true);
    assert.equal(b.status, "healthy");
  });
  it("health check structure", async () => {
    const b = (await app.inject({ url: "/health" })).json();
    assert.equal(typeof b.status, "string");
    assert.equal(typeof b.model_loaded, "boolean");
    assert.equal(typeof b.version, "string");
  });
  it("predict single instance", async () => {
    const r = await post(app, "/api/v1/predict", { instances: [SAMPLE] });
    assert.equal(r.statusCode, 200);
    const b = r.json();
    assert.equal(b.predictions.length, 1);
    assert.ok("model_version" in b);
    assert.ok("predicted_price" in b.predictions[0]);
    assert.ok(Math.abs(b.predictions[0].predicted_price - (50_000 + 40_000 * 8.3252)) < 1e-6);
    const ci = b.predictions[0].confidence_interval;
    assert.equal(ci.level, 0.9);
    assert.ok(ci.lower < b.predictions[0].predicted_price && b.predictions[0].predicted_price < ci.upper);
    assert.match(b.predictions[0].prediction_id, /-0$/);
  });
  it("predict batch", async () => {
    const r = await post(app, "/api/v1/predict", { instances: BATCH });
    assert.equal(r.statusCode, 200);
    const b = r.json();
    assert.equal(b.predictions.length, 3);
    for (const p of b.predictions) assert.equal(typeof p.predicted_price, "number");
    assert.ok(Math.abs(b.predictions[1].predicted_price - 250_000) < 1e-6);
  });
  it("invalid ocean_proximity → 422", async () => {
    const r = await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, ocean_proximity: "INVALID" }] });
    assert.equal(r.statusCode, 422);
    assert.deepEqual(r.json().detail[0].loc, ["body", "instances", 0, "ocean_proximity"]);
  });
  it("missing field → 422", async () => {
    const { longitude: _, ...rest } = SAMPLE;
    const r = await post(app, "/api/v1/predict", { instances: [rest] });
    assert.equal(r.statusCode, 422);
    assert.deepEqual(r.json().detail, [
      { loc: ["body", "instances", 0, "longitude"], msg: "Field required", type: "missing" },
    ]);
  });
  it("negative values → 422", async () => {
    const r = await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, total_rooms: -100 }] });
    assert.equal(r.statusCode, 422);
  });
  it("response structure", async () => {
    const b = (await post(app, "/api/v1/predict", { instances: [SAMPLE] })).json();
    assert.ok(Array.isArray(b.predictions));
    assert.equal(typeof b.model_version, "string");
    assert.ok(b.predictions[0].predicted_price > 0);
  });
  it("model info", async () => {
    const r = await app.inject({ url: "/api/v1/model/info" });
    assert.equal(r.statusCode, 200);
    const b = r.json();
    assert.equal(b.model_loaded, true);
    assert.equal(b.model_version, "test_model_v1");
    assert.equal(b.status, "ready");
    assert.equal(b.name, "housing_price_model");
    assert.equal(b.alias, "production");
    assert.equal(b.run_id, "run-test");
    assert.equal(b.data_hash, "sha256:test");
    assert.deepEqual(b.metrics, { rmse: 1234.5, r2: 0.8 });
    assert.equal(b.features.length, 9);
  });
  it("empty instances list → 422", async () => {
    assert.equal((await post(app, "/api/v1/predict", { instances: [] })).statusCode, 422);
  });
  it("ocean_proximity is case-insensitive", async () => {
    assert.equal(
      (await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, ocean_proximity: "near bay" }] }))
        .statusCode,
      200,
    );
    assert.equal(
      (await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, ocean_proximity: " Near Bay " }] }))
        .statusCode,
      200,
    );
  });
  it("latitude/longitude bounds", async () => {
    assert.equal(
      (await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, latitude: 91.0 }] })).statusCode,
      422,
    );
    assert.equal(
      (await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, longitude: 181.0 }] })).statusCode,
      422,
    );
    // bounds are inclusive
    assert.equal(
      (await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, latitude: 90, longitude: -180 }] }))
        .statusCode,
      200,
    );
  });
});

describe("validation", () => {
  let app: ServingApp;
  before(async () => {
    app = await makeApp({ maxBatch: 50, bodyLimit: 64 * 1024 });
  });
  after(() => app.close());

  it("reports every offending field in one 422", async () => {
    const r = await post(app, "/api/v1/predict", {
      instances: [
        { ...SAMPLE, latitude: 91, ocean_proximity: "MARS", extra: 1 },
        { ...SAMPLE, total_rooms: "880", median_income: undefined },
        { ...SAMPLE, ocean_proximity: "lagoon" },
      ],
    });
    assert.equal(r.statusCode, 422);
    const locs = r
      .json()
      .detail.map((d: { loc: unknown[]; type: string }) => `${d.loc.join(".")}:${d.type}`)
      .sort();
    assert.deepEqual(locs, [
      "body.instances.0.extra:extra_forbidden",
      "body.instances.0.latitude:less_than_equal",
      "body.instances.0.ocean_proximity:enum",
      "body.instances.1.median_income:missing",
      "body.instances.1.total_rooms:float_type",
      "body.instances.2.ocean_proximity:enum",
    ]);
  });
  it('strings are never coerced to numbers; "NaN" strings are 422', async () => {
    for (const v of ["880", "NaN", "Infinity", "", true, [1], { a: 1 }]) {
      const r = await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, total_rooms: v }] });
      assert.equal(r.statusCode, 422, JSON.stringify(v));
      assert.deepEqual(r.json().detail[0].loc, ["body", "instances", 0, "total_rooms"]);
    }
  });
  it("bare NaN / Infinity tokens → 422 naming the fields", async () => {
    const text = JSON.stringify({ instances: [SAMPLE] })
      .replace('"latitude":37.88', '"latitude":NaN')
      .replace('"total_rooms":880', '"total_rooms":-Infinity');
    const r = await post(app, "/api/v1/predict", text, { "content-type": "application/json" });
    assert.equal(r.statusCode, 422);
    assert.deepEqual(
      r.json().detail.map((d: { loc: unknown[] }) => d.loc),
      [
        ["body", "instances", 0, "latitude"],
        ["body", "instances", 0, "total_rooms"],
      ],
    );
  });
  it("huge numbers (1e999 → Infinity) → 422", async () => {
    const text = JSON.stringify({ instances: [SAMPLE] }).replace('"total_rooms":880', '"total_rooms":1e999');
    const r = await post(app, "/api/v1/predict", text, { "content-type": "application/json" });
    assert.equal(r.statusCode, 422);
  });
  it("nullable column may be null or missing", async () => {
    const { total_bedrooms: _, ...rest } = SAMPLE;
    assert.equal((await post(app, "/api/v1/predict", { instances: [rest] })).statusCode, 200);
    assert.equal(
      (await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, total_bedrooms: null }] })).statusCode,
      200,
    );
    assert.equal(
      (await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, latitude: null }] })).statusCode,
      422,
    );
  });
  it("non-JSON body → 400; wrong content type → 415; unknown top-level field → 422", async () => {
    const bad = await post(app, "/api/v1/predict", '{"instances": [', { "content-type": "application/json" });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().detail.startsWith("malformed JSON body"), true);
    assert.equal(
      (await post(app, "/api/v1/predict", "a,b\n1,2", { "content-type": "text/csv" })).statusCode,
      415,
    );
    assert.equal(
      (await post(app, "/api/v1/predict", "<x/>", { "content-type": "application/xml" })).statusCode,
      415,
    );
    assert.equal(
      (await post(app, "/api/v1/predict", "{}", { "content-type": "application/json; charset=latin1" }))
        .statusCode,
      415,
    );
    assert.equal((await post(app, "/api/v1/predict", { instances: [SAMPLE], x: 1 })).statusCode, 422);
    assert.equal((await post(app, "/api/v1/predict", [SAMPLE])).statusCode, 422);
  });
  it("batch over maxBatch → 413; body over bodyLimit → 413", async () => {
    const r = await post(app, "/api/v1/predict", { instances: Array.from({ length: 51 }, () => SAMPLE) });
    assert.equal(r.statusCode, 413);
    assert.match(r.json().detail, /51 rows exceeds the limit of 50/);
    const big = await post(app, "/api/v1/predict", {
      instances: [{ ...SAMPLE, ocean_proximity: "x".repeat(70_000) }],
    });
    assert.equal(big.statusCode, 413);
    // the same limits on the other protocols, in their error shapes
    const rows = Array.from({ length: 51 }, () => SAMPLE);
    const m = await post(app, "/invocations", { dataframe_records: rows });
    assert.equal(m.statusCode, 413);
    assert.equal(m.json().error_code, "RESOURCE_LIMIT_EXCEEDED");
    const mBig = await post(app, "/invocations", {
      dataframe_records: [{ ...SAMPLE, ocean_proximity: "x".repeat(70_000) }],
    });
    assert.equal(mBig.statusCode, 413);
    const v2 = await post(app, "/v2/models/housing_price_model/infer", {
      inputs: Object.entries(SAMPLE).map(([name, v]) => ({
        name,
        shape: [51],
        datatype: typeof v === "number" ? "FP64" : "BYTES",
        data: Array.from({ length: 51 }, () => v),
      })),
    });
    assert.equal(v2.statusCode, 413);
    assert.match(v2.json().error, /51 rows exceeds the limit of 50/);
  });
  it("Server-Timing header and request id", async () => {
    const r = await post(app, "/api/v1/predict", { instances: [SAMPLE] }, { "x-request-id": "abc-123" });
    assert.match(
      String(r.headers["server-timing"]),
      /^parse;dur=[\d.]+, validate;dur=[\d.]+, features;dur=[\d.]+, predict;dur=[\d.]+, serialize;dur=[\d.]+, total;dur=[\d.]+$/,
    );
    assert.equal(r.headers["x-request-id"], "abc-123");
    assert.equal(r.json().predictions[0].prediction_id, "abc-123-0");
  });
});

describe("rows the model cannot score", () => {
  // inputs inside the contract can still overflow a model (a linear model and total_rooms = 1e308): such rows
  // are named in a 4xx, never answered with null (JSON has no NaN/Infinity) nor a 500
  let app: ServingApp;
  const logged: PredictionLogEntry[] = [];
  before(async () => {
    const base = makeTestServable({ version: "nf" });
    app = await makeApp({
      sources: [
        defineSource({
          name: "test",
          load: async () => ({
            ...base,
            predict: (frame) => {
              const out = base.predict(frame);
              const income = frame.numeric("median_income");
              for (let i = 0; i < income.length; i++) {
                if (income[i] === 77) out.predictions[i] = Number.NaN;
                if (income[i] === 78) out.upper[i] = Number.POSITIVE_INFINITY;
              }
              return out;
            },
          }),
        }),
      ],
      onPrediction: (e) => {
        logged.push(e);
      },
    });
  });
  after(() => app.close());

  it("422 (v1) / 400 (MLflow, V2) naming every such row; nothing is logged", async () => {
    const rows = [SAMPLE, { ...SAMPLE, median_income: 77 }, SAMPLE, { ...SAMPLE, median_income: 78 }];
    const r = await post(app, "/api/v1/predict", { instances: rows });
    assert.equal(r.statusCode, 422);
    assert.deepEqual(
      r.json().detail.map((d: { loc: unknown[]; type: string }) => [d.loc, d.type]),
      [
        [["body", "instances", 1], "unscorable"],
        [["body", "instances", 3], "unscorable"],
      ],
    );
    const m = await post(app, "/invocations", { dataframe_records: rows });
    assert.equal(m.statusCode, 400);
    assert.equal(m.json().error_code, "BAD_REQUEST");
    assert.deepEqual(
      m.json().detail.map((d: { loc: unknown[] }) => d.loc),
      [
        ["body", "row", 1],
        ["body", "row", 3],
      ],
    );
    const v2 = await post(app, "/v2/models/housing_price_model/infer", {
      inputs: Object.entries({ ...SAMPLE, median_income: 77 }).map(([name, v]) => ({
        name,
        shape: [1],
        datatype: typeof v === "number" ? "FP64" : "BYTES",
        data: [v],
      })),
    });
    assert.equal(v2.statusCode, 400);
    assert.match(v2.json().error, /cannot score 1 row/);
    const ok = await post(app, "/api/v1/predict", { instances: [SAMPLE] });
    assert.equal(ok.statusCode, 200);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(logged.length, 1, "only the scorable request reaches the prediction log");
  });
});

describe("request log line", () => {
  it("one JSON line per request: request id, route, status and the Server-Timing stages", async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split("\n")) if (l.trim()) lines.push(JSON.parse(l));
        cb();
      },
    });
    const app = await makeApp({ loggerInstance: pino({ level: "info" }, stream) });
    try {
      const r = await post(app, "/api/v1/predict", { instances: BATCH }, { "x-request-id": "log-line-1" });
      assert.equal(r.statusCode, 200);
      const bad = await post(app, "/api/v1/predict", { instances: [] }, { "x-request-id": "log-line-2" });
      assert.equal(bad.statusCode, 422);
      const line = lines.find((l) => l.reqId === "log-line-1" && l.msg === "request completed");
      assert.ok(line, `no completed line for the request in ${JSON.stringify(lines).slice(0, 500)}`);
      assert.equal(line.route, "/api/v1/predict");
      assert.equal(line.statusCode, 200);
      assert.equal(line.rows, 3);
      const timings = line.timings as Record<string, number>;
      assert.deepEqual(Object.keys(timings), ["parse", "validate", "features", "predict", "serialize"]);
      const header = Object.fromEntries(
        String(r.headers["server-timing"])
          .split(", ")
          .map((p) => {
            const [k, v] = p.split(";dur=");
            return [k, Number(v)];
          }),
      );
      for (const k of ["parse", "validate", "features", "predict"]) assert.equal(timings[k], header[k], k);
      const failed = lines.find((l) => l.reqId === "log-line-2" && l.msg === "request completed");
      assert.equal(failed?.statusCode, 422);
      assert.equal(failed?.timings, undefined);
    } finally {
      await app.close();
    }
  });
});

describe("MLflow scoring protocol", () => {
  let app: ServingApp;
  before(async () => {
    app = await makeApp();
  });
  after(() => app.close());
  const cols = Object.keys(SAMPLE);
  const expected = [50_000 + 40_000 * 8.3252, 50_000 + 40_000 * 5.0];
  const rows = [SAMPLE, { ...SAMPLE, median_income: 5.0 }];

  it("dataframe_split / dataframe_records / instances / inputs / csv", async () => {
    const bodies: unknown[] = [
      {
        dataframe_split: {
          columns: cols,
          data: rows.map((r) => cols.map((c) => (r as Record<string, unknown>)[c])),
        },
      },
      { dataframe_records: rows },
      { instances: rows, params: {} },
      {
        inputs: Object.fromEntries(cols.map((c) => [c, rows.map((r) => (r as Record<string, unknown>)[c])])),
      },
      { inputs: rows },
    ];
    for (const b of bodies) {
      const r = await post(app, "/invocations", b);
      assert.equal(r.statusCode, 200, r.body);
      const p = r.json().predictions;
      assert.deepEqual(
        p.map((x: number) => Math.round(x * 1e6) / 1e6),
        expected.map((x) => Math.round(x * 1e6) / 1e6),
      );
    }
    const csv = `${cols.join(",")}\n${rows.map((r) => cols.map((c) => (r as Record<string, unknown>)[c]).join(",")).join("\n")}\n`;
    const r = await post(app, "/invocations", csv, { "content-type": "text/csv" });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().predictions.length, 2);
  });
  it("extra columns are ignored (MLflow signature enforcement)", async () => {
    const r = await post(app, "/invocations", { dataframe_records: [{ ...SAMPLE, extra: "x" }] });
    assert.equal(r.statusCode, 200);
  });
  it("errors: 400 with MLflow shape, 415 for other content types", async () => {
    const r = await post(app, "/invocations", { foo: [] });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().error_code, "BAD_REQUEST");
    const v = await post(app, "/invocations", { dataframe_records: [{ ...SAMPLE, latitude: 95 }] });
    assert.equal(v.statusCode, 400);
    assert.deepEqual(v.json().detail[0].loc, ["body", "dataframe_records", 0, "latitude"]);
    const c = await post(app, "/invocations", `${cols.join(",")}\n${cols.map(() => "abc").join(",")}`, {
      "content-type": "text/csv",
    });
    assert.equal(c.statusCode, 400);
    assert.equal((await post(app, "/invocations", "x", { "content-type": "text/plain" })).statusCode, 415);
    assert.equal(
      (await post(app, "/invocations", "x", { "content-type": "application/octet-stream" })).statusCode,
      415,
    );
  });
  it("/ping and /version", async () => {
    const p = await app.inject({ url: "/ping" });
    assert.equal(p.statusCode, 200);
    assert.equal((await app.inject({ url: "/version" })).body, "1.0.0");
  });
});

describe("Open Inference Protocol V2", () => {
  let app: ServingApp;
  before(async () => {
    app = await makeApp();
  });
  after(() => app.close());
  const tensors = (rows: Record<string, unknown>[]) =>
    Object.keys(SAMPLE).map((k) => ({
      name: k,
      shape: [rows.length],
      datatype: typeof (SAMPLE as Record<string, unknown>)[k] === "string" ? "BYTES" : "FP64",
      data: rows.map((r) => r[k]),
    }));

  it("health, server and model metadata", async () => {
    assert.deepEqual((await app.inject({ url: "/v2/health/live" })).json(), { live: true });
    assert.deepEqual((await app.inject({ url: "/v2/health/ready" })).json(), { ready: true });
    const m = (await app.inject({ url: "/v2/models/housing_price_model" })).json();
    assert.equal(m.name, "housing_price_model");
    assert.deepEqual(m.versions, ["test_model_v1"]);
    assert.ok(m.platform);
    assert.deepEqual(
      m.inputs.find((i: { name: string }) => i.name === "ocean_proximity"),
      {
        name: "ocean_proximity",
        datatype: "BYTES",
        shape: [-1],
      },
    );
    assert.deepEqual(m.inputs.find((i: { name: string }) => i.name === "latitude").datatype, "FP64");
    assert.deepEqual(
      m.outputs.map((o: { name: string }) => o.name),
      ["predicted_price", "lower", "upper"],
    );
    assert.equal((await app.inject({ url: "/v2/models/other" })).statusCode, 404);
  });
  it("infer: columnar tensors in, three outputs", async () => {
    const r = await post(app, "/v2/models/housing_price_model/infer", {
      id: "42",
      inputs: tensors([SAMPLE, { ...SAMPLE, median_income: 5 }]),
    });
    assert.equal(r.statusCode, 200, r.body);
    const b = r.json();
    assert.equal(b.id, "42");
    assert.equal(b.model_version, "test_model_v1");
    const out = Object.fromEntries(
      b.outputs.map((o: { name: string; data: number[]; shape: number[] }) => [o.name, o]),
    );
    assert.deepEqual(out.predicted_price.shape, [2]);
    assert.ok(Math.abs(out.predicted_price.data[1] - 250_000) < 1e-6);
    assert.ok(Math.abs(out.lower.data[1] - 225_000) < 1e-6);
    assert.ok(Math.abs(out.upper.data[1] - 275_000) < 1e-6);
    const only = await post(app, "/v2/models/housing_price_model/infer", {
      inputs: tensors([SAMPLE]),
      outputs: [{ name: "upper" }],
    });
    assert.deepEqual(
      only.json().outputs.map((o: { name: string }) => o.name),
      ["upper"],
    );
  });
  it("infer errors: unknown model 404, bad tensors 400 with detail", async () => {
    assert.equal((await post(app, "/v2/models/nope/infer", { inputs: tensors([SAMPLE]) })).statusCode, 404);
    const t = tensors([SAMPLE]);
    t[1].data = [123];
    t[8].datatype = "FP64";
    const r = await post(app, "/v2/models/housing_price_model/infer", {
      inputs: [...t, { name: "zzz", shape: [1], datatype: "FP64", data: [1] }],
    });
    assert.equal(r.statusCode, 400);
    const types = r
      .json()
      .detail.map((d: { type: string }) => d.type)
      .sort();
    assert.deepEqual(types, ["datatype", "extra_forbidden"]);
    const r2 = await post(app, "/v2/models/housing_price_model/infer", {
      inputs: t
        .slice(0, 8)
        .concat([{ ...t[8], datatype: "BYTES" }])
        .map((x, i) => (i === 1 ? { ...x, data: [123] } : x)),
    });
    assert.equal(r2.statusCode, 400);
    assert.deepEqual(r2.json().detail[0].loc, ["body", "inputs", 1, "data", 0]);
  });
});

describe("model state, admin, metrics, docs, hooks", () => {
  it("before any load: degraded health, 503 info/predict/ready", async () => {
    const app = await makeApp({
      sources: [
        defineSource({ name: "broken", load: async () => Promise.reject(new Error("registry down")) }),
      ],
      loader: { retry: { maxRetries: 0 }, backgroundRetry: { initialDelayMs: 60_000 } },
    });
    try {
      const h = (await app.inject({ url: "/health" })).json();
      assert.equal(h.status, "degraded");
      assert.equal(h.model_loaded, false);
      assert.match(h.reason, /registry down/);
      const info = await app.inject({ url: "/api/v1/model/info" });
      assert.equal(info.statusCode, 503);
      assert.deepEqual(info.json(), { status: "not_initialized", model_loaded: false, model_version: null });
      assert.equal((await post(app, "/api/v1/predict", { instances: [SAMPLE] })).statusCode, 503);
      assert.equal((await app.inject({ url: "/health/ready" })).statusCode, 503);
      assert.equal((await app.inject({ url: "/health/live" })).statusCode, 200);
      assert.equal((await app.inject({ url: "/health/deep" })).statusCode, 503);
      assert.equal((await app.inject({ url: "/ping" })).statusCode, 404);
      const v2ready = await app.inject({ url: "/v2/health/ready" });
      assert.equal(v2ready.statusCode, 503);
      assert.deepEqual(v2ready.json(), { ready: false });
      assert.equal((await app.inject({ url: "/v2/health/live" })).statusCode, 200);
      const mlflow = await post(app, "/invocations", { instances: [SAMPLE] });
      assert.equal(mlflow.statusCode, 503);
      assert.equal(mlflow.json().error_code, "TEMPORARILY_UNAVAILABLE");
    } finally {
      await app.close();
    }
  });

  it("admin reload: 503 without key configured, 401/403/200 with key", async () => {
    const off = await makeApp();
    const r0 = await post(off, "/api/v1/admin/reload", undefined, { "x-api-key": "whatever" });
    assert.equal(r0.statusCode, 503);
    assert.equal(r0.json().detail, "admin API disabled: set MLOPS_ADMIN_KEY");
    await off.close();
    let version = 1;
    const app = await makeApp({
      adminApiKey: "s3cret-key",
      sources: [
        defineSource({ name: "v", load: async () => makeTestServable({ version: String(version) }) }),
      ],
    });
    try {
      assert.equal((await post(app, "/api/v1/admin/reload", undefined)).statusCode, 401);
      assert.equal(
        (await post(app, "/api/v1/admin/reload", undefined, { "x-api-key": "wrong" })).statusCode,
        403,
      );
      assert.equal(
        (await post(app, "/api/v1/admin/reload", undefined, { "x-api-key": "s3cret-key!" })).statusCode,
        403,
      );
      const same = await post(app, "/api/v1/admin/reload", undefined, { "x-api-key": "s3cret-key" });
      assert.equal(same.statusCode, 200);
      assert.equal(same.json().status, "unchanged");
      version = 2;
      const ok = await post(app, "/api/v1/admin/reload", undefined, { "x-api-key": "s3cret-key" });
      assert.equal(ok.statusCode, 200);
      assert.deepEqual(ok.json(), {
        status: "swapped",
        previous_version: "1",
        model_version: "2",
        source: "v",
      });
      assert.equal((await app.inject({ url: "/api/v1/model/info" })).json().model_version, "2");
      const forced = await post(app, "/api/v1/admin/reload?force=true", undefined, {
        "x-api-key": "s3cret-key",
      });
      assert.equal(forced.statusCode, 200);
      assert.equal(forced.json().status, "swapped");
      assert.equal(
        (await post(app, "/api/v1/admin/reload?force=maybe", undefined, { "x-api-key": "s3cret-key" }))
          .statusCode,
        422,
      );
    } finally {
      await app.close();
    }
  });

  it("/metrics has the named metrics; /docs serves OpenAPI; onPrediction runs after the response", async () => {
    const entries: PredictionLogEntry[] = [];
    const app = await makeApp({
      defaultMetrics: true,
      onPrediction: async (e) => {
        entries.push(e);
      },
      driftStatus: () => ({ status: "ok", last_check: "2026-11-20T00:00:00Z" }),
    });
    try {
      await post(app, "/api/v1/predict", { instances: BATCH });
      await post(app, "/api/v1/predict", { instances: [{ ...SAMPLE, latitude: 100 }] });
      await app.mlops.flushHooks();
      assert.equal(entries.length, 1);
      assert.equal(entries[0].inputs.nRows, 3);
      assert.equal(entries[0].modelVersion, "test_model_v1");
      assert.equal(entries[0].predictions.length, 3);
      const m = (await app.inject({ url: "/metrics" })).body;
      for (const name of [
        'http_request_duration_seconds_bucket{le="0.001",method="POST",route="/api/v1/predict",status_code="200"}',
        'http_requests_total{method="POST",route="/api/v1/predict",status_code="422"} 1',
        "model_prediction_value_count 3",
        'model_input_feature_value{quantile="0.5",feature="median_income"}',
        'model_input_category_total{feature="ocean_proximity",category="NEAR BAY"} 3',
        'model_info{name="housing_price_model",version="test_model_v1",source="test"} 1',
        'model_load_events_total{source="test",outcome="success",trigger="initial"} 1',
        'model_source_circuit_state{source="test"} 0',
        "process_resident_memory_bytes",
      ]) {
        assert.ok(m.includes(name), `missing ${name}`);
      }
      const d = await app.inject({ url: "/docs/json" });
      assert.equal(d.statusCode, 200);
      const doc = d.json();
      assert.equal(doc.openapi, "3.0.3");
      const schema = doc.paths["/api/v1/predict"].post.requestBody.content["application/json"].schema;
      assert.equal(schema.properties.instances.items.properties.latitude.maximum, 90);
      // the MLflow and V2 bodies are validated in their handlers, and documented (not Ajv-validated) here
      const mlflow = doc.paths["/invocations"].post.requestBody.content["application/json"].schema;
      assert.deepEqual(
        mlflow.oneOf.map((o: { required: string[] }) => o.required[0]),
        ["dataframe_split", "dataframe_records", "instances", "inputs"],
      );
      assert.equal(mlflow.oneOf[1].properties.dataframe_records.items.properties.latitude.maximum, 90);
      const v2 = doc.paths["/v2/models/{name}/infer"].post.requestBody.content["application/json"].schema;
      assert.ok(v2.properties.inputs.items.properties.name.enum.includes("ocean_proximity"));
      assert.ok(doc.paths["/v2/models/{name}/versions/{version}/infer"].post.requestBody);
      // documenting is not validating: MLflow still answers its own 400 shape for a body outside the schema
      const odd = await post(app, "/invocations", { instances: [SAMPLE], extra_top_level: 1 });
      assert.notEqual(odd.statusCode, 500);
      assert.equal((await app.inject({ url: "/docs" })).statusCode < 400, true);
      const deep = (await app.inject({ url: "/health/deep" })).json();
      assert.equal(deep.status, "ok");
      assert.equal(deep.checks.example.ok, true);
      assert.equal(deep.checks.drift.status, "ok");
      assert.equal(typeof deep.checks.age.model_age_seconds, "number");
    } finally {
      await app.close();
    }
  });

  it("a slow onPrediction hook never delays the response", async () => {
    let done = 0;
    const app = await makeApp({
      onPrediction: async () => {
        await new Promise((r) => setTimeout(r, 400));
        done++;
      },
    });
    try {
      const t0 = performance.now();
      assert.equal((await post(app, "/api/v1/predict", { instances: [SAMPLE] })).statusCode, 200);
      assert.ok(performance.now() - t0 < 350, "response waited for the hook");
      assert.equal(done, 0);
      await app.mlops.flushHooks();
      assert.equal(done, 1);
    } finally {
      await app.close();
    }
  });

  it("a throwing onPrediction hook does not affect responses", async () => {
    const app = await makeApp({
      onPrediction: () => {
        throw new Error("monitoring down");
      },
    });
    try {
      for (let i = 0; i < 3; i++)
        assert.equal((await post(app, "/api/v1/predict", { instances: [SAMPLE] })).statusCode, 200);
      await app.mlops.flushHooks();
    } finally {
      await app.close();
    }
  });
});
