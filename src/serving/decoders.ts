/**
 * The one place where model bytes become a `ServableModel`. The production decoder (feature pipeline + model
 * + calibrated intervals from a registry bundle) registers itself here; tests and benches register theirs.
 * File and URL sources use `decodeModel` unless given their own decode function.
 */
import type { ModelDecoder, ServableModel } from "./types.ts";

const stack: { name: string; decode: ModelDecoder }[] = [];

/** Register a decoder (the most recently registered one is used). Returns a function that unregisters it. */
export function registerDecoder(decode: ModelDecoder, name = "default"): () => void {
  const entry = { name, decode };
  stack.push(entry);
  return () => {
    const i = stack.lastIndexOf(entry);
    if (i >= 0) stack.splice(i, 1);
  };
}

export function hasDecoder(): boolean {
  return stack.length > 0;
}

/** The active decoder; throws a clear error when none is registered. */
export function getDecoder(): ModelDecoder {
  const top = stack[stack.length - 1];
  if (!top) {
    throw new Error(
      "no model decoder registered: call registerDecoder(fn) from src/serving/decoders.ts before loading model files/URLs",
    );
  }
  return top.decode;
}

export async function decodeModel(bytes: Uint8Array, origin: string): Promise<ServableModel> {
  return await getDecoder()(bytes, origin);
}
