import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { detachBuffers, releaseArrays } from "../../src/data/buffers.ts";

describe("releasing typed arrays", () => {
  it("detaches arrays that span their own ArrayBuffer, leaves partial and shared views alone", () => {
    const whole = new Float64Array(1000).fill(1);
    const bytes = Buffer.alloc(64 * 1024, 7); // its own ArrayBuffer (above the pool size)
    const parent = new Float64Array(100);
    const part = parent.subarray(10, 20);
    const shared = new Float64Array(new SharedArrayBuffer(80));
    releaseArrays(whole, bytes, part, shared);
    assert.equal(whole.length, 0);
    assert.equal(whole.buffer.byteLength, 0);
    assert.equal(bytes.length, 0);
    assert.equal(part.length, 10);
    assert.equal(parent.length, 100);
    assert.equal(shared.length, 10);
    // a second release, or an already detached buffer among others, is harmless
    releaseArrays(whole);
    const a = new Uint8Array(16);
    detachBuffers([whole.buffer as ArrayBuffer, a.buffer, a.buffer]);
    assert.equal(a.length, 0);
  });

  it("a small Buffer from Node's shared pool is left alone", () => {
    const small = Buffer.from("abc");
    const neighbour = Buffer.from("xyz");
    releaseArrays(small);
    assert.equal(neighbour.toString(), "xyz");
    if (small.byteOffset !== 0 || small.byteLength !== small.buffer.byteLength)
      assert.equal(small.toString(), "abc");
  });
});
