/** The Foxglove services' wire pieces: request frames and the JSON request's arguments. */
import assert from "node:assert/strict";
import { callArguments, parseCallRequest, responseFrame } from "./services.ts";

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

Deno.test("foxglove services: a request's JSON is an argument array or {args, kwargs}", () => {
  assert.deepEqual(callArguments(json([1, "a"])), { args: [1, "a"] });
  assert.deepEqual(callArguments(json({ args: [2], kwargs: { k: 1 } })), { args: [2], kw: { k: 1 } });
  assert.deepEqual(callArguments(json({})), { args: [], kw: undefined });
  assert.deepEqual(callArguments(new Uint8Array()), { args: [] });
  assert.throws(() => callArguments(json(5)), /array of arguments/);
  assert.throws(() => callArguments(json({ args: 1 })), /args must be an array/);
  assert.throws(() => callArguments(json({ kwargs: [] })), /kwargs must be an object/);
  assert.throws(() => callArguments(json({ a: 1 })), /unknown request key/);
  assert.throws(() => callArguments(new TextEncoder().encode("{")), /not JSON/);
});

Deno.test("foxglove services: a response frame has the request's layout; torn requests are refused", () => {
  const f = responseFrame(7, 9, "json", json([1]));
  assert.equal(f[0], 3);
  const back = parseCallRequest(f)!;
  assert.deepEqual([back.serviceId, back.callId, back.encoding], [7, 9, "json"]);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(back.data)), [1]);
  assert.equal(parseCallRequest(f.subarray(0, 12)), undefined);
  assert.equal(parseCallRequest(f.subarray(0, 15)), undefined, "encoding cut short");
});

Deno.test("foxglove services: on an address other machines reach, services need [daemon] token", async () => {
  const { parseConfig } = await import("../../config/load.ts");
  const { transports } = await import("../mod.ts");
  const toml = (daemon: string, listen: string) =>
    `[daemon]\nhttp = "off"\n${daemon}\n[[outputs.foxglove]]\nlisten = "${listen}"\nservices = true\n`;
  await assert.rejects(
    parseConfig(toml("", "0.0.0.0:0"), { registry: transports, file: "t.toml" }),
    /outputs\.foxglove\[0\]\.services: services let clients call device commands.*set \[daemon\] token/,
  );
  await parseConfig(toml('token = "s3cret"', "0.0.0.0:0"), { registry: transports });
  await parseConfig(toml("", "127.0.0.1:0"), { registry: transports });
  await parseConfig(toml("", "0.0.0.0:0").replace("services = true", ""), { registry: transports });
});
