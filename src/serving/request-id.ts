/**
 * Request ids: UUID version 7 (RFC 9562): a 48-bit Unix-ms timestamp, then a 12-bit sequence that keeps ids
 * monotonic within a millisecond (method 1 of RFC 9562 §6.2), then 62 random bits. Prediction ids are
 * `${requestId}-${i}`, the primary key of the prediction log's `predictions` table: time-ordered keys are appended
 * at the right edge of its B-tree instead of being scattered over it (random v4 UUIDs dirtied a page per row per
 * commit), which is what makes the log's writes cheap.
 */
import { randomFillSync } from "node:crypto";

const POOL = 256; // ids per random refill
const STRIDE = 9; // random bytes per id: sequence start, then the 8 bytes of variant + rand_b
const pool = new Uint8Array(STRIDE * POOL);
let poolPos = POOL;
let lastMs = -1;
let seq = 0;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function uuidv7(nowMs: number = Date.now()): string {
  if (poolPos === POOL) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const o = STRIDE * poolPos++;
  let ms = Math.floor(nowMs);
  if (ms <= lastMs) {
    // same (or an earlier, clock stepped back) millisecond: continue the sequence; on overflow borrow the next ms
    ms = lastMs;
    seq++;
    if (seq > 0xfff) {
      ms = lastMs + 1;
      seq = 0;
    }
  } else seq = pool[o] & 0x3ff; // a random start leaves room for ≥ 3,072 more ids in this millisecond
  lastMs = ms;
  const hi = Math.floor(ms / 0x10000); // top 32 bits of the 48-bit timestamp
  const lo = ms % 0x10000;
  return (
    HEX[(hi >>> 24) & 0xff] +
    HEX[(hi >>> 16) & 0xff] +
    HEX[(hi >>> 8) & 0xff] +
    HEX[hi & 0xff] +
    "-" +
    HEX[lo >>> 8] +
    HEX[lo & 0xff] +
    "-" +
    HEX[0x70 | (seq >>> 8)] +
    HEX[seq & 0xff] +
    "-" +
    HEX[0x80 | (pool[o + 1] & 0x3f)] +
    HEX[pool[o + 2]] +
    "-" +
    HEX[pool[o + 3]] +
    HEX[pool[o + 4]] +
    HEX[pool[o + 5]] +
    HEX[pool[o + 6]] +
    HEX[pool[o + 7]] +
    HEX[pool[o + 8]]
  );
}
