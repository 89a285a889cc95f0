/** Messages between the pool and its workers. */
export interface SharedSlice {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
}

export interface SharedDatasetMessage {
  id: number;
  X: {
    rows: number;
    cols: number;
    buffer: SharedArrayBuffer;
    byteOffset: number;
    featureNames?: readonly string[];
  };
  y: SharedSlice;
  folds: { train: SharedSlice; test: SharedSlice }[];
}

export type WorkerRequest =
  | { id: number; op: "init"; payload: { modules: string[] } }
  | { id: number; op: "setData"; payload: SharedDatasetMessage }
  | { id: number; op: "dropData"; payload: { id: number } }
  | { id: number; op: "fitScore"; payload: unknown }
  | { id: number; op: "call"; payload: { module: string; fn: string; args: unknown[] } }
  | { id: number; op: "ping"; payload: null };

export type WorkerResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { name: string; message: string; stack?: string } };
