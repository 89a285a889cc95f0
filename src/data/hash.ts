/**
 * Content hashes. `hashFrame` is independent of the storage format: the same data read from CSV or
 * Parquet hashes the same. Canonical encoding, fed to sha256:
 *   "tabular-mlops/frame/v1\n", nRows (u64 LE), nCols (u32 LE), then per column:
 *   name (u32 length + UTF-8), kind byte (1 numeric, 2 categorical), then the values —
 *   numeric: float64 LE per row, every NaN as the canonical 0x7FF8000000000000;
 *   categorical: per row 0xFFFFFFFF for missing, else u32 length + UTF-8 bytes of the string value
 *   (so level order / dictionary layout does not matter).
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { Frame } from "./frame.ts";

const BUF = 1 << 16;

if (new Uint8Array(new Float64Array([1]).buffer)[7] !== 0x3f)
  throw new Error("hash.ts assumes a little-endian host");

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

function updateColumnValues(h: Hash, frame: Frame, j: number): void {
  const c = frame.columns[j];
  const n = frame.nRows;
  if (c.kind === "numeric") {
    const out = new Float64Array(Math.min(n, BUF));
    const words = new Uint32Array(out.buffer);
    const bytes = new Uint8Array(out.buffer);
    for (let s = 0; s < n; s += BUF) {
      const e = Math.min(n, s + BUF);
      for (let i = s; i < e; i++) {
        const v = c.values[i];
        if (!Number.isNaN(v)) out[i - s] = v;
        else {
          // canonical NaN, whatever payload the source had (little-endian word order)
          words[2 * (i - s)] = 0;
          words[2 * (i - s) + 1] = 0x7ff80000;
        }
      }
      h.update(bytes.subarray(0, (e - s) * 8));
    }
    return;
  }
  const levelBytes = c.levels.map((l) => {
    const s = Buffer.from(l, "utf8");
    return Buffer.concat([u32(s.length), s]);
  });
  const missing = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  let parts: Buffer[] = [];
  let size = 0;
  for (let i = 0; i < n; i++) {
    const code = c.codes[i];
    const b = code < 0 ? missing : levelBytes[code];
    parts.push(b);
    size += b.length;
    if (size >= 1 << 20) {
      h.update(Buffer.concat(parts, size));
      parts = [];
      size = 0;
    }
  }
  if (size > 0) h.update(Buffer.concat(parts, size));
}

/** sha256 hex of a Frame's canonical encoding (see module comment). */
export function hashFrame(frame: Frame): string {
  const h = createHash("sha256");
  h.update("tabular-mlops/frame/v1\n");
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(frame.nRows), 0);
  head.writeUInt32LE(frame.columns.length, 8);
  h.update(head);
  for (let j = 0; j < frame.columns.length; j++) {
    const c = frame.columns[j];
    const name = Buffer.from(c.name, "utf8");
    h.update(u32(name.length));
    h.update(name);
    h.update(Buffer.from([c.kind === "numeric" ? 1 : 2]));
    updateColumnValues(h, frame, j);
  }
  return h.digest("hex");
}

/** sha256 hex of a file's bytes (streamed). */
export async function hashFile(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest("hex");
}
