// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${...} interpolation strings
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, OverrideError } from "../../src/config/errors.ts";
import { resolveInterpolations } from "../../src/config/interpolate.ts";
import { applyOverrides, parseOverride, parseOverrideValue } from "../../src/config/overrides.ts";

const base = () => ({
  a: { b: 1, c: "x", list: [1, 2, 3], nested: { d: true } },
  top: null as unknown,
});

describe("parseOverride", () => {
  it("recognises the four forms", () => {
    assert.deepEqual(parseOverride("a.b=2"), {
      op: "set",
      path: ["a", "b"],
      key: "a.b",
      hasValue: true,
      value: 2,
      raw: "a.b=2",
    });
    assert.equal(parseOverride("+a.new=1").op, "add");
    assert.equal(parseOverride("++a.b=1").op, "force");
    const del = parseOverride("~a.b");
    assert.equal(del.op, "delete");
    assert.equal(del.hasValue, false);
    assert.equal(parseOverride("~a.b=1").hasValue, true);
  });

  it("types values like YAML", () => {
    const v = (s: string) => parseOverride(`k=${s}`).value;
    assert.equal(v("3"), 3);
    assert.equal(v("-2.5"), -2.5);
    assert.equal(v("1e-3"), 0.001);
    assert.equal(v("true"), true);
    assert.equal(v("false"), false);
    assert.equal(v("null"), null);
    assert.equal(v("'5'"), "5");
    assert.equal(v('"a b"'), "a b");
    assert.equal(v("hello"), "hello");
    assert.equal(v("yes"), "yes"); // YAML 1.2 core: not a boolean
    assert.equal(v(""), "");
    assert.deepEqual(v("[1,2,'x']"), [1, 2, "x"]);
    assert.deepEqual(v("[[1, 2], [3, [4]]]"), [
      [1, 2],
      [3, [4]],
    ]);
    assert.deepEqual(v("{a: 1, b: [2, null]}"), { a: 1, b: [2, null] });
    // plain text is kept verbatim, no YAML comment stripping or implicit maps
    assert.equal(v("foo #bar"), "foo #bar");
    assert.equal(v("a: b"), "a: b");
    assert.equal(v("${env:HOME,x}"), "${env:HOME,x}");
    // the value may contain '='
    assert.equal(v("a=b"), "a=b");
  });

  it("rejects malformed overrides, naming them", () => {
    const bad: [string, RegExp][] = [
      ["a.b", /expected key=value/],
      ["=3", /missing key/],
      ["+=3", /missing key/],
      ["a..b=1", /invalid key/],
      ["a.b c=1", /invalid key/],
      ["a.b=[1, 2", /invalid value/],
      ["a.b={x: 1", /invalid value/],
      ["a.b='unterminated", /invalid value/],
    ];
    for (const [raw, re] of bad) {
      assert.throws(
        () => parseOverride(raw),
        (err: unknown) => {
          assert.ok(err instanceof OverrideError, `${raw}: ${String(err)}`);
          assert.match(err.message, re, raw);
          assert.ok(err.message.includes(JSON.stringify(raw)), `message names the override: ${err.message}`);
          return true;
        },
      );
    }
  });

  it("parseOverrideValue errors only for broken structured values", () => {
    assert.equal(parseOverrideValue("@odd"), "@odd");
    assert.throws(() => parseOverrideValue("[1,"), OverrideError);
  });
});

describe("applyOverrides", () => {
  it("sets existing keys and leaves the input untouched", () => {
    const cfg = base();
    const out = applyOverrides(cfg, ["a.b=5", 'a.c="y"', "a.list=[9]", "a.nested.d=false", "top={k: [1]}"]);
    assert.deepEqual(out, { a: { b: 5, c: "y", list: [9], nested: { d: false } }, top: { k: [1] } });
    assert.equal(cfg.a.b, 1);
  });

  it("refuses to set a missing key without +", () => {
    assert.throws(
      () => applyOverrides(base(), ["a.zz=1"]),
      /key a\.zz does not exist \(use \+a\.zz=\.\.\. to add it\)/,
    );
    assert.throws(() => applyOverrides(base(), ["q.r.s=1"]), /does not exist/);
  });

  it("adds with + (creating intermediate maps) and refuses to add an existing key", () => {
    const out = applyOverrides(base(), ["+a.zz=1", "+x.y.z=[1]"]);
    assert.equal((out.a as Record<string, unknown>).zz, 1);
    assert.deepEqual(out.x, { y: { z: [1] } });
    assert.throws(() => applyOverrides(base(), ["+a.b=2"]), /already exists/);
  });

  it("forces with ++ whether or not the key exists", () => {
    const out = applyOverrides(base(), ["++a.b=7", "++a.new=8"]);
    assert.equal((out.a as Record<string, unknown>).b, 7);
    assert.equal((out.a as Record<string, unknown>).new, 8);
  });

  it("deletes with ~ (optionally only if the value matches)", () => {
    const out = applyOverrides(base(), ["~a.c", "~a.list.0", "~a.nested.d=true"]);
    assert.deepEqual(out.a, { b: 1, list: [2, 3], nested: {} });
    assert.throws(() => applyOverrides(base(), ["~a.b=2"]), /is 1, not 2/);
    assert.throws(() => applyOverrides(base(), ["~a.missing"]), /does not exist/);
  });

  it("indexes lists with numeric segments", () => {
    const out = applyOverrides(base(), ["a.list.1=20", "+a.list.3=4"]);
    assert.deepEqual((out.a as Record<string, unknown>).list, [1, 20, 3, 4]);
    assert.throws(() => applyOverrides(base(), ["a.list.5=1"]), /does not exist/);
    assert.throws(() => applyOverrides(base(), ["a.list.x=1"]), /numeric index/);
  });

  it("cannot descend into a scalar", () => {
    assert.throws(() => applyOverrides(base(), ["+a.b.c=1"]), /cannot descend into a\.b/);
  });
});

describe("resolveInterpolations", () => {
  it("resolves env variables with and without defaults, typed when the whole string is one interpolation", () => {
    const { value, envVars, envPaths } = resolveInterpolations(
      {
        home: "${env:MY_HOME,./.mlops}",
        port: "${env:MY_PORT,8000}",
        key: "${env:MY_KEY,null}",
        set: "${env:SET_VAR}",
        embedded: "http://${env:MY_HOST,localhost}:${env:MY_PORT,8000}/x",
      },
      { SET_VAR: "from-env" },
    );
    assert.deepEqual(value, {
      home: "./.mlops",
      port: 8000,
      key: null,
      set: "from-env",
      embedded: "http://localhost:8000/x",
    });
    assert.equal(envVars.SET_VAR, "from-env");
    assert.equal(envVars.MY_PORT, null);
    assert.deepEqual(envPaths, ["set"]);
  });

  it("a set variable wins over the default", () => {
    const { value } = resolveInterpolations({ p: "${env:P,1}" }, { P: "2" });
    assert.equal(value.p, "2"); // env values are strings; load.ts converts them to the schema type
  });

  it("a missing variable without default is an error naming the key and the variable", () => {
    assert.throws(
      () => resolveInterpolations({ serve: { key: "${env:NOPE_NOT_SET}" } }, {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        /serve\.key/.test(err.message) &&
        /NOPE_NOT_SET is not set/.test(err.message),
    );
  });

  it("resolves ${key} references, typed, transitively, and rejects cycles / missing keys", () => {
    const { value } = resolveInterpolations(
      {
        a: { b: 3, list: [1, 2] },
        c: "${a.b}",
        d: "n=${c}",
        e: "${a.list}",
        f: "${a.list.1}",
        g: "\\${a.b}",
      },
      {},
    );
    assert.equal(value.c, 3);
    assert.equal(value.d, "n=3");
    assert.deepEqual(value.e, [1, 2]);
    assert.equal(value.f, 2);
    assert.equal(value.g, "${a.b}");
    assert.throws(() => resolveInterpolations({ x: "${y}", y: "${x}" }, {}), /interpolation cycle/);
    assert.throws(
      () => resolveInterpolations({ x: "${nope.key}" }, {}),
      /config: x: .*missing key nope\.key/,
    );
    assert.throws(() => resolveInterpolations({ x: "a${y}", y: { z: 1 } }, {}), /cannot be embedded/);
    assert.throws(() => resolveInterpolations({ x: "${oc.env:X}" }, {}), /unknown interpolation/);
    assert.throws(() => resolveInterpolations({ x: "a${y" }, {}), /unterminated/);
  });

  it("a default may itself interpolate", () => {
    const { value } = resolveInterpolations({ base: "/srv", home: "${env:NOPE_HOME,${base}/mlops}" }, {});
    assert.equal(value.home, "/srv/mlops");
  });
});
