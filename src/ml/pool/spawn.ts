/**
 * Worker threads on the project's own modules, whether the process runs the TypeScript sources (through tsx) or
 * the compiled tree (`dist/`, `npm run build`).
 *
 * From sources a thread does not inherit the parent's loader hooks (not even under `node --import tsx`), so it
 * starts on `bootstrap.mjs`, which registers tsx in the thread and then imports the entry. From `dist/` the entry
 * is plain JavaScript and runs directly: no tsx (nor its esbuild service) in the thread.
 */
import { Worker, type WorkerOptions } from "node:worker_threads";

const BOOTSTRAP = new URL("./bootstrap.mjs", import.meta.url);

/**
 * URL of a module named by its source path relative to `base` (an `import.meta.url`): `./x.ts` resolves to
 * `./x.js` when `base` itself is compiled JavaScript.
 */
export function moduleUrl(relative: string, base: string): string {
  const compiled = !base.endsWith(".ts");
  return new URL(compiled ? relative.replace(/\.ts$/, ".js") : relative, base).href;
}

/** A worker thread running the module at `entry` (a URL from `moduleUrl`); `options` as for `new Worker`. */
export function startModuleWorker(entry: string, options: WorkerOptions = {}): Worker {
  if (!entry.endsWith(".ts")) return new Worker(new URL(entry), options);
  const data = (options.workerData ?? {}) as Record<string, unknown>;
  return new Worker(BOOTSTRAP, { ...options, workerData: { ...data, entry } });
}
