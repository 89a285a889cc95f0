/**
 * Minimal streaming tar reader (ustar/GNU/pax: 512-byte headers, regular files only) and a tiny writer
 * (used by tests and for packaging). No dependency beyond node:zlib for .tar.gz.
 */

export interface TarEntry {
  name: string;
  size: number;
  /** '0' regular file, '5' directory, ... */
  type: string;
}

export type TarEvent =
  | { kind: "entry"; entry: TarEntry }
  | { kind: "data"; entry: TarEntry; chunk: Uint8Array };

function readString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString("utf8");
}

function readSize(b: Uint8Array, off: number, len: number): number {
  if (b[off] & 0x80) {
    // GNU base-256
    let v = b[off] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i];
    return v;
  }
  const s = readString(b, off, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error(`tar: bad size field '${s}'`);
  return Number.parseInt(s, 8);
}

function checksumOk(h: Uint8Array): boolean {
  const stored = readString(h, 148, 8).trim();
  if (stored === "") return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  return Number.parseInt(stored, 8) === sum;
}

function parsePax(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const text = Buffer.from(data).toString("utf8");
  let i = 0;
  while (i < text.length) {
    const sp = text.indexOf(" ", i);
    if (sp < 0) break;
    const len = Number.parseInt(text.slice(i, sp), 10);
    if (!(len > 0)) break;
    const rec = text.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * Walk a tar byte stream, yielding an 'entry' event per regular file and 'data' events with its bytes.
 * `label` names the archive in error messages.
 */
export async function* tarEvents(src: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<TarEvent> {
  let header = new Uint8Array(512);
  let hFill = 0;
  let remaining = 0; // data bytes left in current entry
  let pad = 0; // padding bytes to skip after data
  let current: TarEntry | null = null; // regular file being streamed (null = skipping)
  let meta: { kind: "pax" | "gnu"; parts: Uint8Array[] } | null = null;
  let paxName: string | null = null;
  let longName: string | null = null;
  let zeroBlocks = 0;
  let done = false;
  for await (const chunk of src) {
    let off = 0;
    while (off < chunk.length && !done) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - off);
        const piece = chunk.subarray(off, off + take);
        if (current) yield { kind: "data", entry: current, chunk: piece };
        else if (meta) meta.parts.push(Buffer.from(piece));
        remaining -= take;
        off += take;
        if (remaining === 0 && meta) {
          const data = Buffer.concat(meta.parts);
          if (meta.kind === "pax") paxName = parsePax(data).path ?? null;
          else longName = readString(data, 0, data.length);
          meta = null;
        }
        continue;
      }
      if (pad > 0) {
        const take = Math.min(pad, chunk.length - off);
        pad -= take;
        off += take;
        continue;
      }
      const take = Math.min(512 - hFill, chunk.length - off);
      header.set(chunk.subarray(off, off + take), hFill);
      hFill += take;
      off += take;
      if (hFill < 512) continue;
      hFill = 0;
      if (header.every((x) => x === 0)) {
        zeroBlocks++;
        if (zeroBlocks >= 2) done = true;
        continue;
      }
      zeroBlocks = 0;
      if (!checksumOk(header)) throw new Error(`${label}: not a valid tar archive (bad header checksum)`);
      const h = header;
      header = new Uint8Array(512);
      const size = readSize(h, 124, 12);
      const type = String.fromCharCode(h[156] || 48);
      const magic = readString(h, 257, 6);
      const prefix = magic.startsWith("ustar") ? readString(h, 345, 155) : "";
      let name = readString(h, 0, 100);
      if (prefix) name = `${prefix}/${name}`;
      if (paxName !== null) name = paxName;
      if (longName !== null) name = longName;
      remaining = size;
      pad = (512 - (size % 512)) % 512;
      current = null;
      if (type === "x" || type === "L") {
        meta = { kind: type === "x" ? "pax" : "gnu", parts: [] };
        if (size === 0) meta = null;
        continue;
      }
      paxName = null;
      longName = null;
      if (type === "0" || type === "7") {
        current = { name, size, type };
        yield { kind: "entry", entry: current };
        if (size === 0) current = null;
      }
    }
  }
  if (remaining > 0 || hFill > 0) throw new Error(`${label}: truncated tar archive`);
}

function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, "0")}\0`;
}

/** Build an uncompressed ustar archive (regular files only; names up to 100 bytes). */
export function tarPack(files: readonly { name: string; data: Uint8Array | string }[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const data = typeof f.data === "string" ? Buffer.from(f.data, "utf8") : Buffer.from(f.data);
    const nameBytes = Buffer.from(f.name, "utf8");
    if (nameBytes.length > 100) throw new Error(`tarPack: name too long: ${f.name}`);
    const h = Buffer.alloc(512);
    nameBytes.copy(h, 0);
    h.write(octal(0o644, 8), 100, "latin1");
    h.write(octal(0, 8), 108, "latin1");
    h.write(octal(0, 8), 116, "latin1");
    h.write(octal(data.length, 12), 124, "latin1");
    h.write(octal(0, 12), 136, "latin1");
    h.write("        ", 148, "latin1");
    h.write("0", 156, "latin1");
    h.write("ustar\u000000", 257, "latin1");
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += h[i];
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
