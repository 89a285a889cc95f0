import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  crc32,
  decodeBundle,
  decodeModel,
  encodeBundle,
  encodeModel,
  loadModelFile,
  saveModelFile,
} from "../../src/ml/codec.ts";
import { createRegressor, regressorFromState } from "../../src/ml/registry.ts";
import type { ModelState } from "../../src/ml/types.ts";
import { makeRegression, ToyEnsembleRegressor } from "../helpers/toy_regressor.ts";

function sample(): ModelState {
  return {
    kind: "Example",
    params: { alpha: 0.5, max_depth: null, name: "x", flag: true },
    meta: {
      featureNames: ["a", "b"],
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      nested: { ninf: -Infinity },
    },
    arrays: {
      f64: new Float64Array([1.5, -2, Number.NaN, Number.POSITIVE_INFINITY, -0]),
      f32: new Float32Array([0.25, 3]),
      i32: new Int32Array([-1, 2147483647]),
      u32: new Uint32Array([4294967295]),
      u16: new Uint16Array([65535, 1, 2]),
      u8: new Uint8Array([1, 2, 3]),
      i8: new Int8Array([-128, 127]),
      empty: new Float64Array(0),
    },
  };
}

function setCrc(b: Uint8Array): void {
  new DataView(b.buffer, b.byteOffset).setUint32(b.length - 4, crc32(b, 0, b.length - 4), true);
}

describe("codec", () => {
  it("round-trips every dtype, special numbers and params exactly", () => {
    const s = sample();
    const d = decodeModel(encodeModel(s));
    assert.equal(d.kind, s.kind);
    assert.deepEqual(d.params, s.params);
    assert.deepEqual(d.meta, s.meta);
    assert.deepEqual(Object.keys(d.arrays), Object.keys(s.arrays));
    for (const [k, a] of Object.entries(s.arrays)) {
      assert.equal(d.arrays[k].constructor, a.constructor, k);
      assert.deepEqual(d.arrays[k], a, k);
    }
    assert.ok(Object.is(d.arrays.f64[4], -0));
  });

  it("CRC32 matches the IEEE check value", () => {
    assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  });

  it("property: random float64/int32 arrays round-trip and the file is ~1x the payload", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double(), { maxLength: 300 }),
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 300 }),
        (xs, is) => {
          const s: ModelState = {
            kind: "P",
            params: {},
            meta: {},
            arrays: { a: Float64Array.from(xs), b: Int32Array.from(is) },
          };
          const bytes = encodeModel(s);
          const d = decodeModel(bytes);
          assert.deepEqual(d.arrays.a, s.arrays.a);
          assert.deepEqual(d.arrays.b, s.arrays.b);
          const raw = s.arrays.a.byteLength + s.arrays.b.byteLength;
          assert.ok(bytes.length < 2 * raw + 200, `${bytes.length} vs ${raw}`);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("large model: size on disk is within 1% of the typed arrays", () => {
    const s: ModelState = {
      kind: "Big",
      params: {},
      meta: {},
      arrays: { w: new Float64Array(100_000).fill(1.25) },
    };
    const bytes = encodeModel(s);
    assert.ok(bytes.length < 800_000 * 1.01, String(bytes.length));
  });

  it("payload arrays are 8-byte aligned in the file", () => {
    const bytes = encodeModel(sample());
    const dv = new DataView(bytes.buffer);
    const hlen = dv.getUint32(8, true);
    const payloadStart = (16 + hlen + 7) & ~7;
    assert.equal(payloadStart % 8, 0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + hlen)));
    for (const e of header.arrays) assert.equal(e.byteOffset % 8, 0);
  });

  it("decodes from an unaligned Buffer slice", () => {
    const bytes = encodeModel(sample());
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    const d = decodeModel(big.subarray(3));
    assert.deepEqual(d.arrays.f64, sample().arrays.f64);
  });

  it("rejects foreign, corrupt, truncated and future-version files with clear errors", () => {
    const good = encodeModel(sample());
    assert.throws(
      () => decodeModel(new TextEncoder().encode("PK\u0003\u0004 zip file")),
      /not a tabular-mlops model file \(bad magic\)/,
    );
    assert.throws(() => decodeModel(new Uint8Array(0)), /bad magic/);
    const flipped = good.slice();
    flipped[good.length - 10] ^= 0xff;
    assert.throws(
      () => decodeModel(flipped, "m.tmlm"),
      /^ModelCodecError: m.tmlm: checksum mismatch: file is corrupt$/,
    );
    assert.throws(() => decodeModel(good.subarray(0, good.length - 8)), /length mismatch/);
    const v9 = good.slice();
    new DataView(v9.buffer).setUint16(4, 9, true);
    setCrc(v9);
    assert.throws(() => decodeModel(v9), /unsupported format version 9/);
  });

  it("rejects a well-checksummed file with a bad array table", () => {
    const rewrite = (
      mut: (h: { arrays: { name: string; dtype: string; byteOffset: number; length: number }[] }) => void,
    ) => {
      const good = encodeModel({
        kind: "K",
        params: {},
        meta: {},
        arrays: { a: new Float64Array(4), b: new Int32Array(2) },
      });
      const dv = new DataView(good.buffer);
      const hlen = dv.getUint32(8, true);
      const plen = dv.getUint32(12, true);
      const header = JSON.parse(new TextDecoder().decode(good.subarray(16, 16 + hlen)));
      mut(header);
      const hb = new TextEncoder().encode(JSON.stringify(header));
      const ps = (16 + hb.length + 7) & ~7;
      const out = new Uint8Array(ps + plen + 4);
      out.set(good.subarray(0, 16));
      new DataView(out.buffer).setUint32(8, hb.length, true);
      out.set(hb, 16);
      out.set(good.subarray((16 + hlen + 7) & ~7, ((16 + hlen + 7) & ~7) + plen), ps);
      setCrc(out);
      return out;
    };
    assert.doesNotThrow(() => decodeModel(rewrite(() => {})));
    assert.throws(
      () =>
        decodeModel(
          rewrite((h) => {
            h.arrays[0].dtype = "float128";
          }),
        ),
      /unknown dtype "float128"/,
    );
    assert.throws(
      () =>
        decodeModel(
          rewrite((h) => {
            h.arrays[0].length = 1000;
          }),
        ),
      /runs past the payload end/,
    );
    assert.throws(
      () =>
        decodeModel(
          rewrite((h) => {
            h.arrays[1].byteOffset = 8;
          }),
        ),
      /overlap/,
    );
    assert.throws(
      () =>
        decodeModel(
          rewrite((h) => {
            h.arrays[1].byteOffset = 4;
          }),
        ),
      /bad byteOffset/,
    );
    assert.throws(
      () =>
        decodeModel(
          rewrite((h) => {
            h.arrays[1].length = -1;
          }),
        ),
      /bad length/,
    );
    assert.throws(
      () =>
        decodeModel(
          rewrite((h) => {
            h.arrays[1].name = "a";
          }),
        ),
      /duplicate array name/,
    );
  });

  it("refuses non-JSON meta (typed arrays, class instances) at encode time", () => {
    assert.throws(
      () => encodeModel({ kind: "K", params: {}, meta: { w: new Float64Array(2) }, arrays: {} }),
      /meta.w is a typed array/,
    );
    assert.throws(
      () => encodeModel({ kind: "K", params: {}, meta: { d: new Date() }, arrays: {} }),
      /meta.d is a Date/,
    );
    assert.throws(() => encodeModel({ kind: "", params: {}, meta: {}, arrays: {} }), /kind/);
  });

  it("bundles: pipeline state + model + calibration JSON in one file, nested bundles too", () => {
    const { X, y } = makeRegression(200, 3, 1);
    const model = new ToyEnsembleRegressor({ n_estimators: 5, max_depth: 4 }).fit(X, y);
    const pipeline: ModelState = {
      kind: "StandardScaler",
      params: {},
      meta: { columns: ["a", "b", "c"] },
      arrays: { mean: new Float64Array([1, 2, 3]), scale: new Float64Array([4, 5, 6]) },
    };
    const inner = encodeBundle({ pre: pipeline, extra: { json: { note: "inner" } } });
    const parts = decodeBundle(
      encodeBundle(
        {
          pipeline,
          model: model.toState(),
          calibration: { json: { level: 0.9, qhat: 0.21, method: "relative" } },
          nested: decodeModel(inner),
        },
        { createdBy: "test" },
      ),
    );
    assert.deepEqual(parts.calibration, { json: { level: 0.9, qhat: 0.21, method: "relative" } });
    assert.deepEqual((parts.pipeline as ModelState).arrays.scale, pipeline.arrays.scale);
    const restored = regressorFromState(parts.model as ModelState);
    assert.deepEqual(restored.predict(X), model.predict(X));
    const nestedParts = decodeBundle(encodeModel(parts.nested as ModelState));
    assert.deepEqual((nestedParts.pre as ModelState).arrays.mean, pipeline.arrays.mean);
    assert.deepEqual(nestedParts.extra, { json: { note: "inner" } });
  });

  it("files: atomic save/load; a corrupted file names the path", () => {
    const dir = mkdtempSync(join(tmpdir(), "codec-"));
    try {
      const p = join(dir, "model.tmlm");
      saveModelFile(p, sample());
      assert.deepEqual(loadModelFile(p).arrays.u16, sample().arrays.u16);
      const b = readFileSync(p);
      b[20] ^= 1;
      writeFileSync(p, b);
      assert.throws(
        () => loadModelFile(p),
        (e: Error) => e.message.startsWith(p) && /checksum mismatch/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("real estimators round-trip through the codec and the registry with identical predictions", () => {
    const { X, y } = makeRegression(300, 3, 2);
    for (const [kind, params] of [
      ["DecisionTreeRegressor", { max_depth: 6 }],
      ["RandomForestRegressor", { n_estimators: 5, random_state: 1 }],
      ["GradientBoostingRegressor", { n_estimators: 10 }],
      ["Ridge", { alpha: 1 }],
      ["Lasso", { alpha: 0.01 }],
    ] as const) {
      const m = createRegressor(kind, params).fit(X, y);
      const state = m.toState();
      const bytes = encodeModel(state);
      let raw = 0;
      for (const a of Object.values(state.arrays)) raw += a.byteLength;
      assert.ok(bytes.length < 2 * raw + 2048, `${kind}: ${bytes.length} bytes for ${raw} array bytes`);
      const back = regressorFromState(decodeModel(bytes));
      assert.equal(back.kind, kind);
      assert.deepEqual(back.predict(X), m.predict(X), kind);
    }
  });
});
