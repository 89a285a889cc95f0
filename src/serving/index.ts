/** Public surface of the serving module. */
export {
  ApiError,
  type CreateAppOptions,
  createApp,
  type RunningServer,
  type ServingApp,
  type ServingHandle,
  type StartServerOptions,
  startServer,
} from "./app.ts";
export { decodeModel, getDecoder, hasDecoder, registerDecoder } from "./decoders.ts";
export {
  type LoadedModel,
  type LoaderEvent,
  type LoaderOptions,
  ModelManager,
  type ReloadResult,
  verifyModel,
} from "./loader.ts";
export { createMetrics, type ServingMetrics } from "./metrics.ts";
export {
  buildFrame,
  type ErrorDetail,
  frameFromRecords,
  inputColumns,
  instanceSchema,
  predictRequestSchema,
} from "./schema.ts";
export { defineSource, fileSource, urlSource, withModelFields, wrapSource } from "./sources.ts";
export type {
  ModelDecoder,
  ModelSource,
  PredictionBatch,
  PredictionLogEntry,
  ServableModel,
  ServableModelInfo,
} from "./types.ts";
