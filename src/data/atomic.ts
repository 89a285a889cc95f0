/** Atomic file writes: write to a temp file next to the target, fsync, then rename over it. */
import { randomBytes } from "node:crypto";
import { promises as fsp, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/** Write bytes/string atomically (sync). Creates the parent directory. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, data, { flush: true });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Write a file atomically from a producer that appends pieces; the producer receives `write(piece)`.
 * Pieces are buffered up to ~4 MiB before hitting the disk, so memory stays bounded.
 */
export async function writeFileAtomicStreaming(
  path: string,
  produce: (write: (piece: string | Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const fh = await fsp.open(tmp, "w");
  let pending: (string | Uint8Array)[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const buf = Buffer.concat(pending.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p)));
    pending = [];
    pendingBytes = 0;
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
  };
  try {
    await produce(async (piece) => {
      pending.push(piece);
      pendingBytes += piece.length;
      if (pendingBytes >= 4 << 20) await flush();
    });
    await flush();
    await fh.sync();
    await fh.close();
    await fsp.rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}
