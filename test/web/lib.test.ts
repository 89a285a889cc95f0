import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCsv, recordsOf, toCsv } from "../../web/src/lib/csv.ts";
import {
  formatDuration,
  formatNumber,
  formatPrice,
  perHousehold,
  priceColor,
} from "../../web/src/lib/format.ts";
import { between, histogramQuantile, parsePrometheus, snapshot } from "../../web/src/lib/prom.ts";
import { mapApiErrors, type UiColumn, validateField, validateRecord } from "../../web/src/lib/validate.ts";

const COLS: UiColumn[] = [
  { name: "latitude", type: "float", min: 32, max: 42 },
  { name: "households", type: "integer", min: 1 },
  { name: "ocean_proximity", type: "categorical", categories: ["INLAND", "NEAR BAY"] },
];

describe("client-side validation", () => {
  it("parses valid values and normalises categories", () => {
    const r = validateRecord(COLS, { latitude: " 37.5 ", households: "12", ocean_proximity: "near bay" });
    assert.deepEqual(r.errors, {});
    assert.deepEqual(r.instance, { latitude: 37.5, households: 12, ocean_proximity: "NEAR BAY" });
  });
  it("gives a per-field message naming the field and value", () => {
    const r = validateRecord(COLS, { latitude: "99", households: "1.5", ocean_proximity: "moon" });
    assert.equal(r.instance, null);
    assert.equal(r.errors.latitude, "latitude must be ≤ 42 (got 99)");
    assert.equal(r.errors.households, "households must be a whole number (got 1.5)");
    assert.match(r.errors.ocean_proximity, /one of INLAND, NEAR BAY \(got "moon"\)/);
    assert.equal(validateField(COLS[0], "abc").error, 'latitude must be a number (got "abc")');
    assert.equal(validateField(COLS[0], "").error, "latitude is required");
    assert.equal(validateField(COLS[0], "1e400").error?.includes("≤"), true);
    assert.equal(validateField({ ...COLS[0], nullable: true }, "").error, null);
  });
  it("maps 422 loc paths to rows and fields", () => {
    const m = mapApiErrors({
      detail: [
        { loc: ["body", "instances", 2, "latitude"], msg: "too big" },
        { loc: ["body", "instances", 2, "households"], msg: "bad" },
        { loc: ["body"], msg: "whole body" },
      ],
    });
    assert.deepEqual(m.get(2), { latitude: "too big", households: "bad" });
    assert.deepEqual(m.get(-1), { _: "whole body" });
    assert.deepEqual(mapApiErrors({ detail: "model not loaded" }).get(-1), { _: "model not loaded" });
  });
});

describe("formatting", () => {
  it("formats prices, numbers and durations", () => {
    assert.equal(formatPrice(452600.4), "$452,600");
    assert.equal(formatPrice(Number.NaN), "—");
    assert.equal(formatNumber(0.123456), "0.123");
    assert.equal(formatNumber(null), "—");
    assert.equal(formatNumber(12345678), "1.23e+7");
    assert.equal(formatDuration(0.25), "250 ms");
    assert.equal(formatDuration(12.34), "12.3 s");
    assert.equal(formatDuration(125), "2 min 5 s");
    assert.equal(formatDuration(null), "—");
  });
  it("derives per-household values and guards division by zero", () => {
    assert.deepEqual(
      perHousehold({ total_rooms: 880, total_bedrooms: 129, population: 322, households: 126 }),
      {
        rooms: 880 / 126,
        bedrooms: 129 / 126,
        population: 322 / 126,
      },
    );
    assert.ok(Number.isNaN(perHousehold({ total_rooms: 1, households: 0 }).rooms));
    assert.equal(priceColor(0, 0, 10), "hsl(240,75%,50%)");
    assert.equal(priceColor(99, 0, 10), "hsl(0,75%,50%)");
  });
});

describe("CSV", () => {
  it("round-trips quotes, commas and newlines and flags ragged rows", () => {
    const text = toCsv(
      ["a", "b"],
      [
        ["x,1", 'say "hi"'],
        ["line\nbreak", null],
      ],
    );
    assert.deepEqual(parseCsv(text), [
      ["a", "b"],
      ["x,1", 'say "hi"'],
      ["line\nbreak", ""],
    ]);
    const r = recordsOf(parseCsv("\uFEFFa,b\r\n1,2\r\n3\r\n"));
    assert.deepEqual(r.header, ["a", "b"]);
    assert.deepEqual(r.records[0], { a: "1", b: "2" });
    assert.deepEqual(r.badRows, [{ row: 1, message: "row 2: 1 fields, expected 2" }]);
  });
});

describe("Prometheus parsing", () => {
  const scrape = (n: number, errs: number) => `# HELP x
http_request_duration_seconds_bucket{le="0.01",method="POST",route="/p",status_code="200"} ${n * 0.5}
http_request_duration_seconds_bucket{le="0.1",method="POST",route="/p",status_code="200"} ${n}
http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/p",status_code="200"} ${n}
http_request_duration_seconds_count{method="POST",route="/p",status_code="200"} ${n}
http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/p",status_code="422"} ${errs}
http_request_duration_seconds_bucket{le="0.1",method="POST",route="/p",status_code="422"} ${errs}
http_request_duration_seconds_bucket{le="0.01",method="POST",route="/p",status_code="422"} ${errs}
http_request_duration_seconds_count{method="POST",route="/p",status_code="422"} ${errs}
`;
  it("parses labels and values", () => {
    const s = parsePrometheus('m{a="x\\"y",le="+Inf"} +Inf\nplain 3\n# comment');
    assert.deepEqual(s[0], { name: "m", labels: { a: 'x"y', le: "+Inf" }, value: Number.POSITIVE_INFINITY });
    assert.equal(s[1].value, 3);
  });
  it("computes rate, error rate and quantiles between scrapes", () => {
    const a = snapshot(parsePrometheus(scrape(100, 0)), 0);
    const b = snapshot(parsePrometheus(scrape(300, 50)), 10_000);
    const st = between(a, b);
    assert.equal(st.rps, 25);
    assert.equal(st.errorRate, 0.2);
    assert.ok(st.p50 > 0 && st.p50 <= 0.01, `${st.p50}`);
    assert.ok(st.p99 > 0.01 && st.p99 <= 0.1, `${st.p99}`);
    assert.ok(Number.isNaN(histogramQuantile(0.5, [])));
  });
});
