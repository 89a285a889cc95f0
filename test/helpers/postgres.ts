/**
 * A private PostgreSQL server for tests: Debian's `postgresql` binaries (`/usr/lib/postgresql/<v>/bin`), a fresh
 * cluster in a temp directory (trust auth, fsync off), listening on 127.0.0.1 at a free port. As root (CI), the
 * server runs as the `postgres` system user (spawn uid/gid) (PostgreSQL refuses to run as root). With MLOPS_TEST_POSTGRES_URL set,
 * that server is used instead (its user must be allowed to CREATE DATABASE).
 *
 * `startPostgres()` returns `{ skip }` with the reason when neither is available, so test files can skip
 * explicitly (CI installs the package, so there the tests run).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { freePort } from "./net.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export interface PostgresServer {
  /** Admin connection URL (database `postgres`). */
  readonly adminUrl: string;
  /** A new, empty database; returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  stop(): Promise<void>;
}

function binDir(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], "bin") : null;
}

function systemUser(name: string): { uid: number; gid: number } | null {
  const u = spawnSync("id", ["-u", name], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", name], { encoding: "utf8" });
  if (u.status !== 0 || g.status !== 0) return null;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

async function waitReady(url: string, proc: ChildProcess | null, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`postgres exited with code ${proc.exitCode}`);
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.query("SELECT 1");
      await c.end();
      return;
    } catch (e) {
      last = e;
      await c.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`postgres at ${url} not ready after ${timeoutMs} ms: ${(last as Error)?.message}`);
}

let counter = 0;

function server(adminUrl: string, stop: () => Promise<void>): PostgresServer {
  return {
    adminUrl,
    async createDatabase(prefix = "t") {
      const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      return u.toString();
    },
    stop,
  };
}

export async function startPostgres(): Promise<PostgresServer | { skip: string }> {
  const external = process.env.MLOPS_TEST_POSTGRES_URL;
  if (external) {
    await waitReady(external, null, 10_000);
    return server(external, async () => {});
  }
  const bin = binDir();
  if (!bin)
    return {
      skip: "no PostgreSQL server binaries (apt-get install postgresql, or set MLOPS_TEST_POSTGRES_URL)",
    };
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? systemUser("postgres") : null;
  if (asRoot && !owner)
    return { skip: "running as root and there is no 'postgres' system user to run the server" };
  const dir = mkdtempSync(join(tmpdir(), "mlops-pg-"));
  const data = join(dir, "data");
  if (owner) chownSync(dir, owner.uid, owner.gid);
  // as root, the server's processes run as the postgres user (spawn's uid/gid options)
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const r = spawnSync(
    join(bin, "initdb"),
    ["-D", data, "-U", "mlops", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
    { encoding: "utf8", cwd: dir, ...as },
  );
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${r.status}): ${r.stderr || r.stdout}`);
  }
  const port = await freePort();
  const proc = spawn(
    join(bin, "postgres"),
    [
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=50",
    ],
    { stdio: ["ignore", "ignore", "pipe"], cwd: dir, ...as },
  );
  let stderr = "";
  proc.stderr?.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const adminUrl = `postgres://mlops@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((res) => proc.once("exit", res));
      proc.kill("SIGINT"); // fast shutdown
      await Promise.race([exited, new Promise((res) => setTimeout(res, 10_000))]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(adminUrl, proc, 30_000);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  return server(adminUrl, stop);
}
