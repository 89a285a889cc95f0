/**
 * Web dashboard plugin: serves the built UI (web/dist) under /ui/ and the JSON APIs the pages need
 * under /api/v1/ui/* plus admin promote/rollback routes under /api/v1/admin/models/:name/*.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { DatasetContract } from "../data/contract-types.ts";
import { readTable } from "../data/io.ts";
import { openTracking, PromotionRefused, type Tracking, TrackingError } from "../tracking/index.ts";
import { ApiError } from "./app.ts";

export interface DashboardOptions {
  home: string;
  contract: DatasetContract;
  modelName: string;
  adminApiKey?: string;
  /** Training CSV for the geo scatter (default: the bundled data/california_housing.csv). */
  dataPath?: string;
  /** Built UI folder (default: <repo>/web/dist). */
  distDir?: string;
  /** Max geo points served (default 3000). */
  maxGeoPoints?: number;
}

const REPO = join(import.meta.dirname, "..", "..");
const NAME_PATTERN = "^[A-Za-z0-9_.-]{1,128}$";

/** True when the Accept header prefers text/html over application/json (browsers), false for API clients. */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  let html = -1;
  let json = -1;
  let order = 0;
  let htmlPos = Number.POSITIVE_INFINITY;
  let jsonPos = Number.POSITIVE_INFINITY;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.trim().toLowerCase().split(";");
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split("=");
      if (k === "q") q = Number(v);
    }
    if (!Number.isFinite(q)) q = 0;
    const t = type.trim();
    if (t === "text/html" && q > html) {
      html = q;
      htmlPos = order;
    }
    if ((t === "application/json" || t === "*/*") && q > json) {
      json = q;
      jsonPos = order;
    }
    order++;
  }
  if (html <= 0) return false;
  return html > json || (html === json && htmlPos < jsonPos);
}

/** Deterministic stride sample of [lat, lon, price] triples (rows with any missing value are skipped). */
export function samplePoints(
  lat: Float64Array,
  lon: Float64Array,
  price: Float64Array,
  max: number,
): [number, number, number][] {
  const out: [number, number, number][] = [];
  const n = lat.length;
  const step = Math.max(1, n / max);
  for (let f = 0; f < n && out.length < max; f += step) {
    const i = Math.floor(f);
    if (Number.isFinite(lat[i]) && Number.isFinite(lon[i]) && Number.isFinite(price[i]))
      out.push([round(lat[i], 4), round(lon[i], 4), round(price[i], 0)]);
  }
  return out;
}

function round(x: number, d: number): number {
  const m = 10 ** d;
  return Math.round(x * m) / m;
}

function trackingError(e: unknown): never {
  if (e instanceof PromotionRefused) {
    throw Object.assign(new ApiError(409, e.message), { gates: e.results });
  }
  if (e instanceof TrackingError) {
    const status = e.code === "NOT_FOUND" ? 404 : e.code === "INVALID" ? 400 : 409;
    throw new ApiError(status, e.message);
  }
  throw e;
}

const errorBody = Type.Object({ detail: Type.Unknown() }, { additionalProperties: true });
const gateSchema = Type.Object({
  name: Type.String(),
  passed: Type.Boolean(),
  actual: Type.Union([Type.Number(), Type.Null()]),
  threshold: Type.Union([Type.Number(), Type.Null()]),
  detail: Type.Optional(Type.String()),
});
const runSummary = Type.Object({
  run_id: Type.String(),
  name: Type.String(),
  experiment: Type.String(),
  status: Type.String(),
  start_time: Type.Number(),
  end_time: Type.Union([Type.Number(), Type.Null()]),
  duration_s: Type.Union([Type.Number(), Type.Null()]),
});
const versionSchema = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  run_id: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  metrics: Type.Record(Type.String(), Type.Number()),
  lineage: Type.Record(Type.String(), Type.Unknown()),
  aliases: Type.Array(Type.String()),
  created_at: Type.Number(),
  description: Type.Union([Type.String(), Type.Null()]),
});

interface RunLike {
  runId: string;
  name: string;
  experimentName: string;
  status: string;
  startTime: number;
  endTime: number | null;
}

function runJson(r: RunLike) {
  return {
    run_id: r.runId,
    name: r.name,
    experiment: r.experimentName,
    status: r.status,
    start_time: r.startTime,
    end_time: r.endTime,
    duration_s: r.endTime === null ? null : (r.endTime - r.startTime) / 1000,
  };
}

export async function dashboardPlugin(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const distDir = opts.distDir ?? join(REPO, "web", "dist");
  const indexPath = join(distDir, "index.html");
  const built = existsSync(indexPath);
  const maxGeo = opts.maxGeoPoints ?? 3000;
  let tracking: Tracking | null = null;
  const tk = (): Tracking => {
    tracking ??= openTracking({ home: opts.home });
    return tracking;
  };
  app.addHook("onClose", async () => tracking?.close());

  // geo points: read once at startup; failure only disables the scatter
  let geo: [number, number, number][] = [];
  let geoError: string | null = null;
  try {
    const path = opts.dataPath ?? join(REPO, "data", "california_housing.csv");
    const latCol = opts.contract.geo?.latitude ?? "latitude";
    const lonCol = opts.contract.geo?.longitude ?? "longitude";
    const { frame } = await readTable(path, { columns: [latCol, lonCol, opts.contract.target] });
    geo = samplePoints(
      frame.numeric(latCol),
      frame.numeric(lonCol),
      frame.numeric(opts.contract.target),
      maxGeo,
    );
  } catch (e) {
    geoError = `training data unavailable for the map: ${(e as Error).message}`;
  }

  // this plugin's own scope: every error is {detail} with its 4xx status; only real bugs are 500
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err.validation) {
      return reply.code(400).send({ detail: `invalid request: ${err.message}` });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500 && !(err instanceof ApiError)) {
      req.log.error({ err }, "dashboard API error");
      return reply.code(500).send({ detail: "internal error" });
    }
    const gates = (err as { gates?: unknown }).gates;
    return reply.code(status).send(gates ? { detail: err.message, gates } : { detail: err.message });
  });

  const keyDigest = opts.adminApiKey ? createHash("sha256").update(opts.adminApiKey).digest() : null;
  const checkKey = (req: FastifyRequest): void => {
    if (!keyDigest) throw new ApiError(503, "admin API disabled: set MLOPS_ADMIN_KEY");
    const given = req.headers["x-api-key"];
    if (given === undefined || given === "") throw new ApiError(401, "missing x-api-key header");
    const got = createHash("sha256")
      .update(Array.isArray(given) ? given.join(",") : given)
      .digest();
    if (!timingSafeEqual(got, keyDigest)) throw new ApiError(403, "invalid API key");
  };

  if (built) {
    await app.register(fastifyStatic, { root: distDir, prefix: "/ui/", decorateReply: false });
  } else {
    app.get("/ui/*", async (_req, reply) =>
      reply.code(404).send({ detail: "dashboard not built: run `npm run build:web`" }),
    );
  }

  const nameParams = Type.Object({ name: Type.String({ pattern: NAME_PATTERN }) });

  app.get(
    "/api/v1/ui/contract",
    {
      schema: {
        tags: ["ui"],
        response: {
          200: Type.Object({
            name: Type.String(),
            target: Type.String(),
            columns: Type.Array(Type.Record(Type.String(), Type.Unknown())),
            examples: Type.Array(
              Type.Object({ name: Type.String(), values: Type.Record(Type.String(), Type.Unknown()) }),
            ),
            model_name: Type.String(),
          }),
        },
      },
    },
    async () => ({
      name: opts.contract.name,
      target: opts.contract.target,
      columns: opts.contract.columns
        .filter((c) => c.name !== opts.contract.target)
        .map((c) => ({ ...c }) as Record<string, unknown>),
      examples: opts.contract.examples ?? [],
      model_name: opts.modelName,
    }),
  );

  app.get(
    "/api/v1/ui/geo",
    {
      schema: {
        tags: ["ui"],
        response: {
          200: Type.Object({ points: Type.Array(Type.Array(Type.Number())) }),
          503: errorBody,
        },
      },
    },
    async () => {
      if (geoError) throw new ApiError(503, geoError);
      return { points: geo };
    },
  );

  app.get(
    "/api/v1/ui/runs",
    {
      schema: {
        tags: ["ui"],
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }),
        response: { 200: Type.Object({ runs: Type.Array(runSummary) }) },
      },
    },
    async (req) => {
      const limit = (req.query as { limit?: number }).limit ?? 100;
      const runs = await tk().store.searchRuns({ parentRunId: null, limit });
      return { runs: runs.map(runJson) };
    },
  );

  app.get(
    "/api/v1/ui/runs/:runId",
    {
      schema: {
        tags: ["ui"],
        params: Type.Object({ runId: Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" }) }),
        response: {
          200: Type.Object({
            run: runSummary,
            params: Type.Record(Type.String(), Type.String()),
            metrics: Type.Record(Type.String(), Type.Number()),
            steps: Type.Array(runSummary),
            artifacts: Type.Record(Type.String(), Type.Unknown()),
          }),
          404: errorBody,
        },
      },
    },
    async (req) => {
      const { runId } = req.params as { runId: string };
      const t = tk();
      const run = await t.store.getRun(runId).catch(trackingError);
      const children = await t.store.searchRuns({ parentRunId: runId, order: "start_time_asc" });
      const wanted = new Set([
        "model_comparison.json",
        "imputation_scores.json",
        "k_selection.json",
        "sweep_trials.json",
        "segments.json",
        "feature_importance.json",
        "predictions_sample.json",
      ]);
      const artifacts: Record<string, unknown> = {};
      for (const r of [run, ...children]) {
        for (const a of await t.store.listArtifacts(r.runId)) {
          const base = a.path.split("/").pop() ?? a.path;
          if (!wanted.has(base) || base in artifacts) continue;
          try {
            artifacts[base] = JSON.parse((await t.artifacts.get(a.sha256)).toString("utf8"));
          } catch {
            // a missing/corrupt artifact only hides its chart
          }
        }
      }
      const metrics: Record<string, number> = {};
      for (const [k, m] of Object.entries(run.metrics)) metrics[k] = m.value;
      return {
        run: runJson(run),
        params: { ...run.params },
        metrics,
        steps: children.map(runJson),
        artifacts,
      };
    },
  );

  app.get(
    "/api/v1/ui/models",
    {
      schema: {
        tags: ["ui"],
        response: { 200: Type.Object({ name: Type.String(), versions: Type.Array(versionSchema) }) },
      },
    },
    async () => {
      const versions = await tk()
        .registry.listVersions(opts.modelName)
        .catch((e) => (e instanceof TrackingError && e.code === "NOT_FOUND" ? [] : trackingError(e)));
      return { name: opts.modelName, versions: versions.map(versionJson) };
    },
  );

  app.get(
    "/api/v1/ui/models/:name",
    {
      schema: {
        tags: ["ui"],
        params: nameParams,
        response: {
          200: Type.Object({
            name: Type.String(),
            versions: Type.Array(versionSchema),
            history: Type.Array(Type.Record(Type.String(), Type.Unknown())),
          }),
          404: errorBody,
        },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      const t = tk();
      const versions = await t.registry.listVersions(name).catch(trackingError);
      if (versions.length === 0) throw new ApiError(404, `no registered model named '${name}'`);
      const history = await t.registry.history(name).catch(trackingError);
      return {
        name,
        versions: versions.map(versionJson),
        history: history.map((h) => ({ ...h }) as Record<string, unknown>),
      };
    },
  );

  const adminBody = Type.Object(
    {
      version: Type.Optional(Type.Integer({ minimum: 1 })),
      alias: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" })),
      reason: Type.Optional(Type.String({ maxLength: 500 })),
    },
    { additionalProperties: false },
  );
  const adminResponse = Type.Object({
    name: Type.String(),
    alias: Type.String(),
    version: Type.Union([Type.Integer(), Type.Null()]),
    previous_version: Type.Union([Type.Integer(), Type.Null()]),
    promoted: Type.Boolean(),
    gates: Type.Array(gateSchema),
  });

  app.post(
    "/api/v1/admin/models/:name/promote",
    {
      schema: {
        tags: ["admin"],
        description:
          "Promote a version to an alias (default production) if every gate passes (header x-api-key). 409 with gates when refused.",
        params: nameParams,
        body: Type.Object(
          {
            version: Type.Integer({ minimum: 1 }),
            alias: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" })),
            reason: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: adminResponse },
      },
    },
    async (req, reply) => {
      checkKey(req);
      const { name } = req.params as { name: string };
      const body = req.body as { version: number; alias?: string; reason?: string };
      try {
        const r = await tk().registry.promote(name, body.version, {
          to: body.alias ?? "production",
          actor: "dashboard",
          reason: body.reason,
        });
        return {
          name: r.name,
          alias: r.alias,
          version: r.version,
          previous_version: r.previousVersion,
          promoted: r.promoted,
          gates: r.gates.map((g) => ({ ...g })),
        };
      } catch (e) {
        return refusal(reply, e);
      }
    },
  );

  app.post(
    "/api/v1/admin/models/:name/rollback",
    {
      schema: {
        tags: ["admin"],
        description: "Move an alias (default production) back to its previous version (header x-api-key).",
        params: nameParams,
        body: adminBody,
        response: { 200: adminResponse },
      },
    },
    async (req, reply) => {
      checkKey(req);
      const { name } = req.params as { name: string };
      const body = (req.body ?? {}) as { alias?: string; reason?: string };
      const alias = body.alias ?? "production";
      const t = tk();
      try {
        const a = await t.registry.rollback(name, alias, { actor: "dashboard", reason: body.reason });
        return {
          name,
          alias,
          version: a.toVersion,
          previous_version: a.fromVersion,
          promoted: true,
          gates: [],
        };
      } catch (e) {
        return refusal(reply, e);
      }
    },
  );

  if (built) app.get("/ui", async (_req, reply) => reply.redirect("/ui/"));
}

function refusal(reply: FastifyReply, e: unknown) {
  if (e instanceof PromotionRefused) {
    return reply.code(409).send({ detail: e.message, gates: e.results.map((g) => ({ ...g })) });
  }
  return trackingError(e);
}

function versionJson(v: {
  name: string;
  version: number;
  runId: string | null;
  status: string;
  metrics: Readonly<Record<string, number>>;
  lineage: object;
  aliases: readonly string[];
  createdAt: number;
  description: string | null;
}) {
  return {
    name: v.name,
    version: v.version,
    run_id: v.runId,
    status: v.status,
    metrics: { ...v.metrics },
    lineage: { ...v.lineage } as Record<string, unknown>,
    aliases: [...v.aliases],
    created_at: v.createdAt,
    description: v.description,
  };
}

/** The dashboard's index.html (null when web/dist is not built) — for the `GET /` content negotiation in app.ts. */
export function dashboardHtml(distDir = join(REPO, "web", "dist")): string | null {
  const p = join(distDir, "index.html");
  return existsSync(p) ? readFileSync(p, "utf8") : null;
}

/**
 * An onRequest hook for the root instance: `GET /` (and `HEAD /`) from a browser (Accept prefers text/html)
 * gets the dashboard's index.html; API clients keep the JSON of the existing GET / route.
 * Usage in app.ts (or after createApp): `app.addHook("onRequest", dashboardRootHook())`.
 */
export function dashboardRootHook(distDir?: string) {
  const html = dashboardHtml(distDir);
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (html === null || (req.method !== "GET" && req.method !== "HEAD")) return;
    if (req.url !== "/" && !req.url.startsWith("/?")) return;
    if (!prefersHtml(req.headers.accept)) return;
    reply.header("vary", "accept");
    await reply.type("text/html; charset=utf-8").send(html);
  };
}
