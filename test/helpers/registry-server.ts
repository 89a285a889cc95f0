/** A real HTTP server on 127.0.0.1 serving `housing_price_model@production` from a tracking home (tests). */
import { join } from "node:path";
import { loadContract } from "../../src/data/contract.ts";
import { type RunningServer, type StartServerOptions, startServer } from "../../src/serving/app.ts";
import { registrySource } from "../../src/serving/registry-source.ts";

export const HOUSING_CONTRACT = loadContract(
  join(import.meta.dirname, "..", "..", "config", "datasets", "california_housing.yaml"),
);

export function startRegistryServer(
  home: string,
  extra: Partial<StartServerOptions> = {},
  alias = "production",
): Promise<RunningServer> {
  return startServer({
    contract: HOUSING_CONTRACT,
    sources: [registrySource({ home, name: "housing_price_model", alias })],
    host: "127.0.0.1",
    port: 0,
    logLevel: "silent",
    handleSignals: false,
    defaultMetrics: false,
    ...extra,
  });
}
