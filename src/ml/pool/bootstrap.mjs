// Worker bootstrap: worker threads do not inherit the parent's module loader hooks, so register tsx
// in this thread, then load the TypeScript worker entry named in workerData.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
