/**
 * Freeing typed arrays' memory now rather than at some later GC.
 *
 * An ArrayBuffer's memory lives outside V8's heap, and V8 frees it only when it collects the object; external
 * memory triggers that collection only after growing by ~64 MB. Code that allocates and drops many large arrays
 * in a row (the prediction log's written jobs, the blobs a window read decodes) therefore holds tens of MB of
 * dead arrays, and glibc keeps the pages of the thread's malloc arena afterwards. Transferring a buffer detaches it; what receives it
 * is unreferenced and freed by the next scavenge.
 */

/** Detach the given ArrayBuffers (each at most once). Every view on them becomes empty. */
export function detachBuffers(buffers: Iterable<ArrayBuffer>): void {
  const own = [...new Set(buffers)].filter((b) => b.byteLength > 0);
  if (own.length === 0) return;
  try {
    structuredClone(null, { transfer: own });
  } catch {
    // a buffer that cannot be detached (e.g. a WebAssembly memory's) is left to the collector
  }
}

/**
 * Free typed arrays the caller owns and no longer needs: each one's ArrayBuffer is detached when the array spans
 * all of it (a view on part of a larger buffer, or on a SharedArrayBuffer, is left alone).
 */
export function releaseArrays(...arrays: ArrayBufferView[]): void {
  const own: ArrayBuffer[] = [];
  for (const a of arrays) {
    const b = a.buffer;
    if (b instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === b.byteLength) own.push(b);
  }
  detachBuffers(own);
}
