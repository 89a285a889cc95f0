/**
 * The serving boundary. The server knows nothing about feature pipelines or model families: it only sees a
 * `ServableModel` (decoded from a registry version, a file or a URL) and `ModelSource`s that produce them.
 */
import type { DatasetContract } from "../data/contract-types.ts";
import type { Frame } from "../data/frame.ts";

export interface PredictionBatch {
  predictions: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  /** Nominal coverage of [lower, upper], e.g. 0.9. */
  level: number;
  /** Optional split of the model's own time (ms), reported in Server-Timing when present. */
  timings?: { features?: number; predict?: number };
}

export interface ServableModelInfo {
  alias?: string;
  runId?: string;
  trainedAt?: string;
  dataHash?: string;
  metrics?: Record<string, number>;
  modelKind?: string;
  features?: string[];
}

export interface ServableModel {
  /** Registered model name, e.g. housing_price_model. */
  readonly name: string;
  /** Version, e.g. "3". */
  readonly version: string;
  /** Input schema source (the target column is excluded from inputs). */
  readonly contract: DatasetContract;
  readonly info: ServableModelInfo;
  /** Raw instances (as a client would send them). */
  readonly inputExample: Record<string, unknown>[];
  /** Predictions for `inputExample`, recorded at training time. */
  readonly examplePredictions: number[];
  /** `frame` has the contract's input columns; categorical levels are the contract's canonical spellings. */
  predict(frame: Frame): PredictionBatch;
}

export interface ModelSource {
  /** Human/metric label, e.g. "registry:housing_price_model@production", "file:models/m.json". */
  name: string;
  load(signal: AbortSignal): Promise<ServableModel>;
  /**
   * Opaque change token of what `load` would return now (registry: the version the alias points at; file:
   * mtime+size; URL: ETag/Last-Modified). `null` = unknown. A change of the primary source's token triggers
   * a hot reload.
   */
  currentVersion?(): Promise<string | null>;
  /**
   * Health probe for /health/deep, when reachability means more than a change token (the registry: the alias
   * resolves AND the artifact store holds its bytes). `ok` false with `error` when not; `detail` is reported.
   */
  probe?(): Promise<SourceProbe>;
}

export interface SourceProbe {
  ok: boolean;
  token: string | null;
  error?: string;
  detail?: Record<string, unknown>;
}

/**
 * The bytes of a model were fetched but are not a usable model (truncated, corrupt, wrong format): not a transient
 * failure of the source, so the loader neither retries it nor counts it against the source's circuit breaker; it
 * rejects that version and remembers its change token, so a poll does not fetch it again until the token moves.
 */
export class ModelDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ModelDecodeError";
  }
}

/** Decode with `decode`, turning any decoding error into a `ModelDecodeError` (same message). */
export async function decodeOrReject(
  decode: ModelDecoder,
  bytes: Uint8Array,
  origin: string,
): Promise<ServableModel> {
  try {
    return await decode(bytes, origin);
  } catch (e) {
    if (e instanceof ModelDecodeError) throw e;
    throw new ModelDecodeError((e as Error).message, { cause: e });
  }
}

/** Turns stored bytes (file/URL body) into a servable model. `origin` names the file/URL for error messages. */
export type ModelDecoder = (bytes: Uint8Array, origin: string) => ServableModel | Promise<ServableModel>;

/** One entry per prediction request, handed to `onPrediction` after the response has been sent. */
export interface PredictionLogEntry {
  requestId: string;
  /** Route template, e.g. /api/v1/predict, /invocations, /v2/models/:name/infer. */
  route: string;
  modelName: string;
  modelVersion: string;
  /** Epoch ms from the app clock. */
  timestamp: number;
  /** Prediction i has id `${predictionIdPrefix}-${i}` (also returned by /api/v1/predict). */
  predictionIdPrefix: string;
  inputs: Frame;
  predictions: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  level: number;
  /** Request latency (ms, receive → response sent), set before the hook runs. */
  latencyMs?: number;
}
