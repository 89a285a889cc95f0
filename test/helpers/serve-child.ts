/**
 * Child-process server for shutdown tests and benches: registers a decoder and runs `runServe`.
 * Usage: node --import tsx test/helpers/serve-child.ts --model-file PATH [--port 0] [--log-level warn]
 *        [--decoder-module PATH]
 * --decoder-module: a module that calls registerDecoder (e.g. the real bundle decoder); default: the test
 * servable decoder. Prints `LISTENING <port>` on stdout once listening.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { runServe } from "../../src/cli/commands/serve.ts";
import { registerDecoder } from "../../src/serving/decoders.ts";
import { decodeTestServable } from "./servable.ts";

const args = process.argv.slice(2);
const get = (flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const decoderModule = get("--decoder-module");
if (decoderModule) await import(pathToFileURL(resolve(decoderModule)).href);
else registerDecoder(decodeTestServable, "test-servable");
const server = await runServe({
  modelFile: get("--model-file"),
  port: Number(get("--port") ?? 0),
  logLevel: get("--log-level") ?? "warn",
});
process.stdout.write(`LISTENING ${server.port}\n`);
