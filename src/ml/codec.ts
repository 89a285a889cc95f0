/**
 * Binary model codec ("TMLM" files). One file holds one `ModelState` (kind, params, meta, typed arrays);
 * a bundle (feature pipeline + model + interval calibration …) is itself a `ModelState` of kind `Bundle`
 * whose children are packed with `packBundle` / `unpackBundle`, so bundles nest to any depth.
 *
 * Layout (all integers little-endian):
 *
 *   offset 0   4 bytes  magic "TMLM"
 *   offset 4   u16      format version (FORMAT_VERSION)
 *   offset 6   u16      flags (must be 0)
 *   offset 8   u32      JSON header length H in bytes (UTF-8)
 *   offset 12  u32      payload length P in bytes
 *   offset 16  H bytes  JSON header {kind, params, meta, arrays: [{name, dtype, byteOffset, length}]}
 *              pad      zero bytes up to the next multiple of 8
 *              P bytes  payload: raw little-endian typed arrays, each at an 8-byte-aligned byteOffset
 *   end - 4    u32      CRC-32 (IEEE) of every preceding byte
 *
 * Decoding validates magic, version, flags, lengths, checksum, JSON shape, dtype names, alignment, bounds and
 * overlap, and never evaluates anything. Non-finite numbers in `meta` survive the round trip.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomicSync } from "../data/atomic.ts";
import type { ModelState, ParamValue, Params } from "./types.ts";

export const FORMAT_VERSION = 1;
const MAGIC = [0x54, 0x4d, 0x4c, 0x4d]; // "TMLM"
const FIXED = 16;
const MAX_HEADER = 256 * 1024 * 1024;

export type TypedArray = ModelState["arrays"][string];

const DTYPES = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  uint32: Uint32Array,
  uint16: Uint16Array,
  uint8: Uint8Array,
  int8: Int8Array,
} as const;
export type DType = keyof typeof DTYPES;

export class ModelCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelCodecError";
  }
}

function dtypeOf(a: unknown, where: string): DType {
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint32Array) return "uint32";
  if (a instanceof Uint16Array) return "uint16";
  if (a instanceof Uint8Array) return "uint8";
  if (a instanceof Int8Array) return "int8";
  const name = (a as { constructor?: { name?: string } } | null)?.constructor?.name ?? typeof a;
  throw new ModelCodecError(`encodeModel: ${where} has unsupported type ${name}`);
}

// ---------------------------------------------------------------- CRC-32 (IEEE 802.3, reflected)
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------- JSON with non-finite numbers
function toJsonSafe(v: unknown, path: string): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (Number.isFinite(v)) return v;
    return { $num: Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity" };
  }
  if (v === undefined) return undefined;
  if (ArrayBuffer.isView(v)) {
    throw new ModelCodecError(`encodeModel: ${path} is a typed array; put bulk numbers in state.arrays`);
  }
  if (Array.isArray(v)) return v.map((x, i) => (x === undefined ? null : toJsonSafe(x, `${path}[${i}]`)));
  if (typeof v === "object") {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw new ModelCodecError(
        `encodeModel: ${path} is a ${(v as object).constructor?.name ?? "non-plain object"}; only plain JSON is allowed`,
      );
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === "$num") throw new ModelCodecError(`encodeModel: ${path} uses the reserved key "$num"`);
      const s = toJsonSafe(x, `${path}.${k}`);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
  throw new ModelCodecError(`encodeModel: ${path} has unsupported type ${typeof v}`);
}

function fromJsonSafe(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJsonSafe);
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === "$num" && typeof o.$num === "string") {
      if (o.$num === "NaN") return Number.NaN;
      if (o.$num === "Infinity") return Number.POSITIVE_INFINITY;
      if (o.$num === "-Infinity") return Number.NEGATIVE_INFINITY;
      throw new ModelCodecError(`decodeModel: bad special number ${JSON.stringify(o.$num)} in header`);
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = fromJsonSafe(o[k]);
    return out;
  }
  return v;
}

interface ArrayEntry {
  name: string;
  dtype: DType;
  byteOffset: number;
  length: number;
}
interface Header {
  kind: string;
  params: Params;
  meta: Record<string, unknown>;
  arrays: ArrayEntry[];
}

const align8 = (n: number) => (n + 7) & ~7;
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function validateParams(params: unknown, where: string): Params {
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    throw new ModelCodecError(`${where}: params must be an object`);
  }
  for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
    const ok = v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number";
    if (!ok)
      throw new ModelCodecError(`${where}: params.${k} must be number|string|boolean|null, got ${typeof v}`);
  }
  return params as Params;
}

/** Encode a model state into the TMLM binary format. */
export function encodeModel(state: ModelState): Uint8Array {
  if (!state || typeof state !== "object") throw new ModelCodecError("encodeModel: state must be an object");
  if (typeof state.kind !== "string" || state.kind.length === 0) {
    throw new ModelCodecError(
      `encodeModel: state.kind must be a non-empty string, got ${JSON.stringify(state.kind)}`,
    );
  }
  validateParams(state.params ?? {}, "encodeModel");
  const params = toJsonSafe(state.params ?? {}, "params") as Params;
  const meta = toJsonSafe(state.meta ?? {}, "meta") as Record<string, unknown>;
  const names = Object.keys(state.arrays ?? {});
  const entries: ArrayEntry[] = [];
  let off = 0;
  for (const name of names) {
    const a = state.arrays[name];
    const dtype = dtypeOf(a, `arrays.${name}`);
    entries.push({ name, dtype, byteOffset: off, length: a.length });
    off = align8(off + a.byteLength);
  }
  const payloadBytes = off;
  const header: Header = { kind: state.kind, params, meta, arrays: entries };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const payloadStart = align8(FIXED + headerBytes.length);
  const total = payloadStart + payloadBytes + 4;
  if (payloadBytes > 0xffffffff || headerBytes.length > MAX_HEADER) {
    throw new ModelCodecError(`encodeModel: model too large (${payloadBytes} payload bytes)`);
  }
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint16(4, FORMAT_VERSION, true);
  dv.setUint16(6, 0, true);
  dv.setUint32(8, headerBytes.length, true);
  dv.setUint32(12, payloadBytes, true);
  out.set(headerBytes, FIXED);
  for (const e of entries) {
    const a = state.arrays[e.name];
    const at = payloadStart + e.byteOffset;
    if (HOST_LE || a.BYTES_PER_ELEMENT === 1) {
      out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    } else {
      writeLE(dv, at, a, e.dtype);
    }
  }
  dv.setUint32(total - 4, crc32(out, 0, total - 4), true);
  return out;
}

function writeLE(dv: DataView, at: number, a: TypedArray, dtype: DType): void {
  const bpe = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < a.length; i++) {
    const p = at + i * bpe;
    if (dtype === "float64") dv.setFloat64(p, a[i], true);
    else if (dtype === "float32") dv.setFloat32(p, a[i], true);
    else if (dtype === "int32") dv.setInt32(p, a[i], true);
    else if (dtype === "uint32") dv.setUint32(p, a[i], true);
    else dv.setUint16(p, a[i], true);
  }
}

function readLE(dv: DataView, at: number, out: TypedArray, dtype: DType): void {
  const bpe = out.BYTES_PER_ELEMENT;
  for (let i = 0; i < out.length; i++) {
    const p = at + i * bpe;
    if (dtype === "float64") out[i] = dv.getFloat64(p, true);
    else if (dtype === "float32") out[i] = dv.getFloat32(p, true);
    else if (dtype === "int32") out[i] = dv.getInt32(p, true);
    else if (dtype === "uint32") out[i] = dv.getUint32(p, true);
    else out[i] = dv.getUint16(p, true);
  }
}

/**
 * Decode and validate a TMLM file. `source` names the file in error messages.
 * Returned arrays are fresh copies (never views into `bytes`).
 */
export function decodeModel(bytes: Uint8Array, source = "model"): ModelState {
  const fail = (msg: string): never => {
    throw new ModelCodecError(`${source}: ${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) fail("decodeModel expects a Uint8Array");
  if (bytes.length < 4 || MAGIC.some((m, i) => bytes[i] !== m))
    fail("not a tabular-mlops model file (bad magic)");
  if (bytes.length < FIXED + 4) fail(`truncated file (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(4, true);
  if (version !== FORMAT_VERSION) {
    fail(`unsupported format version ${version} (this build reads version ${FORMAT_VERSION})`);
  }
  const flags = dv.getUint16(6, true);
  if (flags !== 0) fail(`unsupported flags 0x${flags.toString(16)}`);
  const headerLen = dv.getUint32(8, true);
  const payloadBytes = dv.getUint32(12, true);
  const payloadStart = align8(FIXED + headerLen);
  const expected = payloadStart + payloadBytes + 4;
  if (expected !== bytes.length) {
    fail(`length mismatch: header says ${expected} bytes, file has ${bytes.length} (truncated or corrupt)`);
  }
  const stored = dv.getUint32(bytes.length - 4, true);
  if (crc32(bytes, 0, bytes.length - 4) !== stored) fail("checksum mismatch: file is corrupt");

  let raw: unknown;
  try {
    raw = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(FIXED, FIXED + headerLen)),
    );
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail("header must be a JSON object");
  const h = raw as Record<string, unknown>;
  if (typeof h.kind !== "string" || h.kind.length === 0) fail("header.kind must be a non-empty string");
  const params = validateParams(fromJsonSafe(h.params ?? {}), `${source}: header`);
  const meta = fromJsonSafe(h.meta ?? {});
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) fail("header.meta must be an object");
  if (!Array.isArray(h.arrays)) fail("header.arrays must be an array");
  const arrays: ModelState["arrays"] = {};
  const spans: [number, number, string][] = [];
  for (const [i, e] of (h.arrays as unknown[]).entries()) {
    if (e === null || typeof e !== "object") fail(`header.arrays[${i}] must be an object`);
    const { name, dtype, byteOffset, length } = e as Record<string, unknown>;
    if (typeof name !== "string" || name.length === 0)
      fail(`header.arrays[${i}].name must be a non-empty string`);
    const nm = name as string;
    if (Object.hasOwn(arrays, nm)) fail(`duplicate array name "${nm}"`);
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPES, dtype)) {
      fail(`array "${nm}" has unknown dtype ${JSON.stringify(dtype)}`);
    }
    if (!Number.isSafeInteger(byteOffset) || (byteOffset as number) < 0 || (byteOffset as number) % 8 !== 0) {
      fail(
        `array "${nm}" has bad byteOffset ${JSON.stringify(byteOffset)} (must be a non-negative multiple of 8)`,
      );
    }
    if (!Number.isSafeInteger(length) || (length as number) < 0) {
      fail(`array "${nm}" has bad length ${JSON.stringify(length)}`);
    }
    const Ctor = DTYPES[dtype as DType];
    const nbytes = (length as number) * Ctor.BYTES_PER_ELEMENT;
    const start = byteOffset as number;
    if (start + nbytes > payloadBytes) {
      fail(`array "${nm}" (${nbytes} bytes at ${start}) runs past the payload end (${payloadBytes} bytes)`);
    }
    spans.push([start, start + nbytes, nm]);
    const out = new Ctor(length as number);
    const at = payloadStart + start;
    if (HOST_LE || Ctor.BYTES_PER_ELEMENT === 1) {
      new Uint8Array(out.buffer).set(bytes.subarray(at, at + nbytes));
    } else {
      readLE(dv, at, out, dtype as DType);
    }
    arrays[nm] = out;
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) fail(`arrays "${spans[i - 1][2]}" and "${spans[i][2]}" overlap`);
  }
  return { kind: h.kind as string, params, meta: meta as Record<string, unknown>, arrays };
}

// ---------------------------------------------------------------- bundles

export const BUNDLE_KIND = "Bundle";
/** A bundle part: a model/transformer state, or plain JSON (e.g. interval calibration, metrics). */
export type BundlePart = ModelState | { json: unknown };

function isState(p: unknown): p is ModelState {
  return (
    p !== null &&
    typeof p === "object" &&
    typeof (p as ModelState).kind === "string" &&
    typeof (p as ModelState).arrays === "object"
  );
}

/**
 * Pack named parts into one `ModelState` of kind "Bundle". Child arrays are stored as `<part>/<array>`;
 * child kind/params/meta go to `meta.parts`. Parts may themselves be bundles.
 */
export function packBundle(
  parts: Record<string, BundlePart>,
  meta: Record<string, unknown> = {},
): ModelState {
  const arrays: ModelState["arrays"] = {};
  const index: Record<string, unknown> = {};
  for (const [name, part] of Object.entries(parts)) {
    if (name.length === 0 || name.includes("/")) {
      throw new ModelCodecError(
        `packBundle: part name ${JSON.stringify(name)} must be non-empty and contain no "/"`,
      );
    }
    if (isState(part)) {
      index[name] = {
        type: "state",
        kind: part.kind,
        params: part.params ?? {},
        meta: part.meta ?? {},
        arrays: Object.keys(part.arrays),
      };
      for (const [an, a] of Object.entries(part.arrays)) arrays[`${name}/${an}`] = a;
    } else if (part !== null && typeof part === "object" && "json" in part) {
      index[name] = { type: "json", value: part.json };
    } else {
      throw new ModelCodecError(`packBundle: part "${name}" must be a ModelState or {json: value}`);
    }
  }
  return { kind: BUNDLE_KIND, params: {}, meta: { ...meta, parts: index }, arrays };
}

/** Inverse of packBundle. JSON parts come back as `{json}`. */
export function unpackBundle(state: ModelState): Record<string, BundlePart> {
  if (state.kind !== BUNDLE_KIND)
    throw new ModelCodecError(`unpackBundle: state kind is "${state.kind}", not a Bundle`);
  const index = state.meta.parts as Record<string, Record<string, unknown>> | undefined;
  if (!index || typeof index !== "object")
    throw new ModelCodecError("unpackBundle: bundle has no meta.parts");
  const out: Record<string, BundlePart> = {};
  for (const [name, e] of Object.entries(index)) {
    if (e?.type === "json") {
      out[name] = { json: e.value };
    } else if (e?.type === "state") {
      const arrs: ModelState["arrays"] = {};
      for (const an of e.arrays as string[]) {
        const a = state.arrays[`${name}/${an}`];
        if (!a) throw new ModelCodecError(`unpackBundle: part "${name}" is missing array "${an}"`);
        arrs[an] = a;
      }
      out[name] = {
        kind: e.kind as string,
        params: (e.params ?? {}) as Record<string, ParamValue>,
        meta: (e.meta ?? {}) as Record<string, unknown>,
        arrays: arrs,
      };
    } else {
      throw new ModelCodecError(`unpackBundle: part "${name}" has unknown type ${JSON.stringify(e?.type)}`);
    }
  }
  return out;
}

export function encodeBundle(parts: Record<string, BundlePart>, meta?: Record<string, unknown>): Uint8Array {
  return encodeModel(packBundle(parts, meta));
}

export function decodeBundle(bytes: Uint8Array, source?: string): Record<string, BundlePart> {
  return unpackBundle(decodeModel(bytes, source));
}

// ---------------------------------------------------------------- files

/** Atomic write (temp file + fsync + rename, parent directory created). */
export function saveModelFile(path: string, state: ModelState): void {
  writeFileAtomicSync(path, encodeModel(state));
}

export function loadModelFile(path: string): ModelState {
  return decodeModel(readFileSync(path), path);
}
