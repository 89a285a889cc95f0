import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { LocalArtifactStore } from "../../src/tracking/artifacts.ts";
import { ArtifactIntegrityError, TrackingError } from "../../src/tracking/types.ts";
import { tempHome } from "./helpers.ts";

const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

async function drain(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe("LocalArtifactStore", () => {
  const h = tempHome();
  after(h.cleanup);

  it("stores bytes content-addressed under ab/cdef… and deduplicates", async () => {
    const a = LocalArtifactStore.forHome(join(h.dir, "h1"));
    const bytes = Buffer.from('{"model":"gbdt"}\n');
    const ref = await a.put(bytes);
    assert.equal(ref.sha256, sha(bytes));
    assert.equal(ref.size, bytes.length);
    const file = join(h.dir, "h1", "artifacts", ref.sha256.slice(0, 2), ref.sha256.slice(2));
    assert.equal(a.pathOf(ref.sha256), file);
    assert.deepEqual(readFileSync(file), bytes);
    assert.deepEqual(await a.put(Buffer.from(bytes)), ref);
    assert.equal(readdirSync(join(h.dir, "h1", "artifacts", ref.sha256.slice(0, 2))).length, 1);
    assert.deepEqual(readdirSync(join(h.dir, "h1", "artifacts", "tmp")), [], "no temp files left behind");
    assert.deepEqual(await a.get(ref.sha256), bytes);
    assert.equal(await a.has(ref.sha256), true);
    assert.deepEqual(await a.stat(ref.sha256), ref);
    assert.deepEqual(await drain(await a.openStream(ref.sha256)), bytes);
    assert.deepEqual(await a.verify(ref.sha256), ref);
  });

  it("stores a file given its path (streamed) with the same address as its bytes", async () => {
    const a = LocalArtifactStore.forHome(join(h.dir, "h2"));
    const src = join(h.dir, "big.bin");
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    writeFileSync(src, big);
    const ref = await a.put(src);
    assert.equal(ref.sha256, sha(big));
    assert.equal(ref.size, big.length);
    assert.deepEqual(await a.get(ref.sha256), big);
    await assert.rejects(
      () => a.put(join(h.dir, "missing.bin")),
      (e: unknown) => e instanceof TrackingError && e.code === "NOT_FOUND" && /missing\.bin/.test(e.message),
    );
    await assert.rejects(() => a.put(h.dir), /not a regular file/);
  });

  it("detects corruption on get, stream and verify", async () => {
    const a = LocalArtifactStore.forHome(join(h.dir, "h3"));
    const ref = await a.put(Buffer.from("original content"));
    writeFileSync(a.pathOf(ref.sha256), "tampered content");
    const isCorrupt = (e: unknown) =>
      e instanceof ArtifactIntegrityError &&
      e.code === "INTEGRITY" &&
      e.expected === ref.sha256 &&
      e.actual === sha("tampered content") &&
      e.message.includes(a.pathOf(ref.sha256));
    await assert.rejects(() => a.get(ref.sha256), isCorrupt);
    await assert.rejects(async () => drain(await a.openStream(ref.sha256)), isCorrupt);
    await assert.rejects(() => a.verify(ref.sha256), isCorrupt);
    // re-putting the original content repairs a truncated/different-size file
    writeFileSync(a.pathOf(ref.sha256), "x");
    await a.put(Buffer.from("original content"));
    assert.equal((await a.get(ref.sha256)).toString(), "original content");
  });

  it("reports missing artifacts and bad addresses clearly", async () => {
    const a = LocalArtifactStore.forHome(join(h.dir, "h4"));
    const missing = "f".repeat(64);
    assert.equal(await a.has(missing), false);
    assert.equal(await a.stat(missing), null);
    await assert.rejects(
      () => a.get(missing),
      (e: unknown) => e instanceof TrackingError && e.code === "NOT_FOUND",
    );
    await assert.rejects(
      () => a.openStream(missing),
      (e: unknown) => e instanceof TrackingError && e.code === "NOT_FOUND",
    );
    await assert.rejects(
      () => a.get("../../etc/passwd"),
      (e: unknown) => e instanceof TrackingError && e.code === "INVALID",
    );
    assert.equal(existsSync(join(h.dir, "h4", "artifacts", "ff")), false);
  });

  it("property: any bytes round-trip and are addressed by their sha256", async () => {
    const a = LocalArtifactStore.forHome(join(h.dir, "h5"));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        const ref = await a.put(bytes);
        assert.equal(ref.sha256, sha(bytes));
        assert.equal(ref.size, bytes.length);
        assert.deepEqual(new Uint8Array(await a.get(ref.sha256)), bytes);
      }),
      { numRuns: 60, seed: 42 },
    );
  });
});
