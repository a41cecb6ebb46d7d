/**
 * The `zmq` transport: ZeroMQ input (PULL/SUB) and output (PUSH/PUB) in
 * mflow, MessagePack, CBOR, JSON or raw format. See `README.md`.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { npmPackageDir, type PermissionNeeds } from "../../core/permissions.ts";
import { zmqInputSchema, zmqOutputSchema } from "./schema.ts";
import { createZmqInput } from "./input.ts";
import { createZmqOutput } from "./output.ts";

export { type ZmqFormat, type ZmqInputConfig, type ZmqOutputConfig } from "./schema.ts";
export { createZmqInput, ZmqInput } from "./input.ts";
export { createZmqOutput, mflowFrames, ZmqOutput } from "./output.ts";
export { type RateSample, ThroughputStatistics } from "../../net/zmq_stats.ts";

/**
 * libzmq is loaded through FFI (Debian's libzmq.so.5, or zeromq.js's native addon where it is missing): it needs
 * --allow-ffi, and Deno does not confine what it does, so the endpoints are listed for the record only.
 * `TELEBUS_ZMQ` (`zeromq.js` chooses that binding, net/zmq_socket.ts) may be read.
 */
function zmqNeeds(c: { address: string[] }, needs: PermissionNeeds): void {
  needs.ffi.add("*");
  needs.env.add("TELEBUS_ZMQ");
  needs.read.add("/etc/alpine-release"); // zeromq's addon loader tells musl from glibc by it
  const dir = npmPackageDir(import.meta.resolve("zeromq"), "zeromq");
  if (dir) needs.read.add(dir); // it reads its build manifest; the addon itself loads through --allow-ffi
  for (const a of c.address) {
    const m = /^tcp:\/\/(.+):(\d+)$/.exec(a);
    if (m) needs.net.add(`${m[1] === "*" ? "0.0.0.0" : m[1]}:${m[2]}`);
  }
}

/** The `zmq` transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "zmq",
  description: "ZeroMQ PULL/SUB in, PUSH/PUB out; mflow message types, MessagePack, CBOR, JSON, raw; mflow statistics",
  input: { schema: zmqInputSchema, create: createZmqInput, permissions: zmqNeeds },
  output: { schema: zmqOutputSchema, create: createZmqOutput, permissions: zmqNeeds },
});
