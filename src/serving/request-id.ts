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
/** ASCII hex digits of each byte value: HEX_DIGITS[2b], HEX_DIGITS[2b + 1] */
const HEX_DIGITS = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  HEX_DIGITS[2 * b] = b.toString(16).padStart(2, "0").charCodeAt(0);
  HEX_DIGITS[2 * b + 1] = b.toString(16).padStart(2, "0").charCodeAt(1);
}
/** The id's characters, written in place, then copied out as one flat string (not a chain of 20 concatenations). */
const text = Buffer.alloc(36, "-");

function put(pos: number, byte: number): void {
  text[pos] = HEX_DIGITS[2 * byte];
  text[pos + 1] = HEX_DIGITS[2 * byte + 1];
}

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
  // xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx (the dashes at 8, 13, 18, 23 are never overwritten)
  put(0, (hi >>> 24) & 0xff);
  put(2, (hi >>> 16) & 0xff);
  put(4, (hi >>> 8) & 0xff);
  put(6, hi & 0xff);
  put(9, lo >>> 8);
  put(11, lo & 0xff);
  put(14, 0x70 | (seq >>> 8));
  put(16, seq & 0xff);
  put(19, 0x80 | (pool[o + 1] & 0x3f));
  put(21, pool[o + 2]);
  for (let k = 0; k < 6; k++) put(24 + 2 * k, pool[o + 3 + k]);
  return text.toString("latin1", 0, 36);
}
