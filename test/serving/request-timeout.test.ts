/**
 * `requestTimeoutMs` (`serve.request_timeout_ms`): a client that starts a request and stops sending gets 408 and
 * its connection closed once the deadline passes, while a normal request on the same server is unaffected.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { it } from "node:test";
import { startServer } from "../../src/serving/app.ts";
import { defineSource } from "../../src/serving/sources.ts";
import { housingContract, makeTestServable, SAMPLE } from "../helpers/servable.ts";

it("a stalled upload gets 408 and its connection closed after requestTimeoutMs", async () => {
  const server = await startServer({
    contract: housingContract,
    sources: [defineSource({ name: "test", load: async () => makeTestServable({ version: "t1" }) })],
    host: "127.0.0.1",
    port: 0,
    logLevel: "silent",
    handleSignals: false,
    defaultMetrics: false,
    requestTimeoutMs: 400,
  });
  try {
    const body = JSON.stringify({ instances: [SAMPLE] });
    const t0 = Date.now();
    const reply = await new Promise<{ text: string; closedAfterMs: number }>((resolve, reject) => {
      const sock = connect(server.port, "127.0.0.1", () => {
        sock.write(
          `POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
        );
      });
      let text = "";
      sock.setEncoding("utf8");
      sock.on("data", (d) => {
        text += d;
      });
      sock.on("error", reject);
      sock.on("close", () => resolve({ text, closedAfterMs: Date.now() - t0 }));
      setTimeout(() => {
        sock.destroy();
        reject(new Error(`no answer within 5 s (got ${JSON.stringify(text)})`));
      }, 5000).unref();
    });
    assert.match(reply.text, /^HTTP\/1\.1 408 /);
    assert.ok(reply.closedAfterMs >= 350, `closed after ${reply.closedAfterMs} ms: before the deadline`);
    assert.ok(
      reply.closedAfterMs < 2000,
      `closed after ${reply.closedAfterMs} ms: the deadline was not enforced`,
    );
    const ok = await fetch(`${server.url}/api/v1/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(ok.status, 200);
  } finally {
    await server.close();
  }
});
