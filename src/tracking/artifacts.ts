/**
 * Content-addressed artifact storage. An artifact's address is the sha256 of its bytes, so identical
 * content is stored once and any corruption is detectable on read.
 *
 * `ArtifactStore` is the backend seam: `LocalArtifactStore` (files under `<home>/artifacts/ab/cdef…`) is
 * the default; `S3ArtifactStore` (s3-artifacts.ts) implements the same interface on an S3-compatible bucket
 * with keys `<prefix>/ab/cdef…`.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { validateSha } from "./store.ts";
import { ArtifactIntegrityError, TrackingError } from "./types.ts";

export interface ArtifactRef {
  readonly sha256: string;
  readonly size: number;
}

export interface ArtifactStore {
  /** 'local' or 's3'. */
  readonly kind: string;
  /** Human-readable location (directory, bucket URI). */
  readonly location: string;
  /**
   * Store bytes, or the contents of a file when given a string (a file path, not text content:
   * use `Buffer.from(text)` for text). Idempotent: the same content yields the same address.
   */
  put(source: Uint8Array | string): Promise<ArtifactRef>;
  /** The whole content, verified against its hash (ArtifactIntegrityError on mismatch, NOT_FOUND when absent). */
  get(sha256: string): Promise<Buffer>;
  has(sha256: string): Promise<boolean>;
  /** Size of a stored artifact, or null when absent (does not verify the content). */
  stat(sha256: string): Promise<ArtifactRef | null>;
  /**
   * A stream of the content. The hash is checked as the bytes flow; on mismatch the stream errors with
   * ArtifactIntegrityError at the end, so consumers must treat the data as untrusted until 'end'.
   */
  openStream(sha256: string): Promise<Readable>;
  /** Re-hash a stored artifact; throws ArtifactIntegrityError / NOT_FOUND. */
  verify(sha256: string): Promise<ArtifactRef>;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Hash of bytes as used for artifact addresses (lowercase hex sha256). */
export function artifactAddress(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === "ENOENT";
}

export class LocalArtifactStore implements ArtifactStore {
  readonly kind = "local";
  readonly location: string;

  /** `root` is the artifacts directory itself, e.g. `<home>/artifacts`. */
  constructor(root: string) {
    this.location = root;
  }

  static forHome(home: string): LocalArtifactStore {
    return new LocalArtifactStore(join(home, "artifacts"));
  }

  /** Absolute file path of an address (whether or not it exists). */
  pathOf(sha256: string): string {
    validateSha(sha256);
    return join(this.location, sha256.slice(0, 2), sha256.slice(2));
  }

  private async tempHandle() {
    const dir = join(this.location, "tmp");
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${process.pid}-${randomBytes(8).toString("hex")}.tmp`);
    return { path, fh: await open(path, "wx") };
  }

  /** Move a fully written + fsynced temp file to its address (or drop it when the content already exists). */
  private async commit(tmp: string, sha: string, size: number): Promise<ArtifactRef> {
    const dest = this.pathOf(sha);
    const existing = await stat(dest).catch((e: unknown) => {
      if (isNotFound(e)) return null;
      throw e;
    });
    if (existing && existing.size === size) {
      await unlink(tmp);
      return { sha256: sha, size };
    }
    await mkdir(dirname(dest), { recursive: true });
    await rename(tmp, dest);
    await fsyncDir(dirname(dest));
    return { sha256: sha, size };
  }

  async put(source: Uint8Array | string): Promise<ArtifactRef> {
    if (typeof source === "string") return this.putFile(source);
    if (!(source instanceof Uint8Array)) {
      throw new TrackingError("INVALID", `artifact put: expected bytes or a file path, got ${typeof source}`);
    }
    const sha = sha256Hex(source);
    const { path, fh } = await this.tempHandle();
    try {
      await fh.writeFile(source);
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw e;
    }
    await fh.close();
    return this.commit(path, sha, source.byteLength);
  }

  private async putFile(file: string): Promise<ArtifactRef> {
    const st = await stat(file).catch((e: unknown) => {
      if (isNotFound(e)) {
        throw new TrackingError(
          "NOT_FOUND",
          `artifact source file not found: ${file} (put(string) takes a file path; use Buffer.from(text) for text)`,
        );
      }
      throw e;
    });
    if (!st.isFile()) throw new TrackingError("INVALID", `artifact source ${file} is not a regular file`);
    const hash = createHash("sha256");
    let size = 0;
    const { path, fh } = await this.tempHandle();
    try {
      for await (const chunk of createReadStream(file)) {
        const buf = chunk as Buffer;
        hash.update(buf);
        size += buf.byteLength;
        await fh.write(buf);
      }
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw e;
    }
    await fh.close();
    return this.commit(path, hash.digest("hex"), size);
  }

  private notFound(sha: string): TrackingError {
    return new TrackingError("NOT_FOUND", `artifact sha256 ${sha} not found in ${this.location}`);
  }

  async get(sha256: string): Promise<Buffer> {
    const p = this.pathOf(sha256);
    const bytes = await readFile(p).catch((e: unknown) => {
      if (isNotFound(e)) throw this.notFound(sha256);
      throw e;
    });
    const actual = sha256Hex(bytes);
    if (actual !== sha256) throw new ArtifactIntegrityError(p, sha256, actual);
    return bytes;
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async stat(sha256: string): Promise<ArtifactRef | null> {
    const st = await stat(this.pathOf(sha256)).catch((e: unknown) => {
      if (isNotFound(e)) return null;
      throw e;
    });
    return st ? { sha256, size: st.size } : null;
  }

  async openStream(sha256: string): Promise<Readable> {
    const p = this.pathOf(sha256);
    if (!(await this.has(sha256))) throw this.notFound(sha256);
    const verifier = verifyingTransform(sha256, p);
    const rs = createReadStream(p);
    rs.on("error", (e) => verifier.destroy(e));
    return rs.pipe(verifier);
  }

  async verify(sha256: string): Promise<ArtifactRef> {
    const s = await this.openStream(sha256);
    let size = 0;
    for await (const chunk of s) size += (chunk as Buffer).byteLength;
    return { sha256, size };
  }
}

/**
 * A pass-through stream that hashes what flows and fails at the end with ArtifactIntegrityError (naming `where`)
 * when the content does not hash to `sha256`.
 */
export function verifyingTransform(sha256: string, where: string): Transform {
  const hash = createHash("sha256");
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = hash.digest("hex");
      cb(actual === sha256 ? null : new ArtifactIntegrityError(where, sha256, actual));
    },
  });
}

/** fsync a directory so a rename inside it is durable; not supported on every platform (ignored there). */
async function fsyncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Windows / some filesystems cannot fsync directories; the rename itself is still atomic.
  } finally {
    await fh?.close().catch(() => {});
  }
}
