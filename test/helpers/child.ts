/** Run `node --import tsx ARGS…` as a child process and collect its output (tests of multi-process behaviour). */
import { spawn } from "node:child_process";

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runTsx(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** runTsx, then stdout; rejects naming the command, exit code and stderr when it does not exit 0. */
export async function runTsxOk(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await runTsx(args, env);
  if (r.code !== 0) throw new Error(`${args.join(" ")} exited with ${r.code}: ${r.stderr}`);
  return r.stdout;
}
