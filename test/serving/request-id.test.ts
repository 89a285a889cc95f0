import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { uuidv7 } from "../../src/serving/request-id.ts";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("uuidv7 request ids", () => {
  it("RFC 9562 layout: version 7, variant 10, the millisecond timestamp in the first 48 bits", () => {
    const t = Date.UTC(2026, 10, 27, 10, 30, 0, 123);
    const id = uuidv7(t);
    assert.match(id, V7);
    assert.equal(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16), t);
  });

  it("strictly increasing (as strings) for any sequence of clock readings, even a clock stepping back", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1_700_000_000_000, max: 1_700_000_000_050 }), {
          minLength: 2,
          maxLength: 300,
        }),
        (times) => {
          let prev = uuidv7(times[0]);
          for (const t of times.slice(1)) {
            const id = uuidv7(t);
            assert.match(id, V7);
            assert.ok(id > prev, `${id} after ${prev}`);
            prev = id;
          }
        },
      ),
    );
  });

  it("thousands of ids in one millisecond stay unique and ordered (sequence overflow borrows the next ms)", () => {
    const t = 1_800_000_000_000;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(t));
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1]);
  });

  it("fields: the 12-bit sequence counts up by one within a millisecond; random bits differ between ids", () => {
    const t = Date.UTC(2099, 0, 1, 0, 0, 0, 7); // later than any earlier test: a fresh millisecond
    const a = uuidv7(t);
    const b = uuidv7(t);
    const c = uuidv7(t + 1);
    const seqOf = (id: string) => Number.parseInt(id.slice(15, 18), 16);
    assert.equal(a.slice(0, 14), b.slice(0, 14));
    assert.equal(seqOf(b), seqOf(a) + 1);
    assert.ok(seqOf(c) < 0x400, "a new millisecond starts the sequence below 0x400");
    assert.equal(Number.parseInt(c.slice(0, 8) + c.slice(9, 13), 16), t + 1);
    assert.notEqual(a.slice(19), b.slice(19));
    assert.equal(a.length, 36);
    assert.deepEqual([a[8], a[13], a[18], a[23]], ["-", "-", "-", "-"]);
  });
});
