/**
 * The `zmq` transport: ZeroMQ input (PULL/SUB) and output (PUSH/PUB) in
 * mflow, MessagePack, CBOR, JSON or raw format. See `README.md`.
 *
 * @module
 */
import type { TransportDefinition } from "../../core/transport.ts";
import { zmqInputSchema, zmqOutputSchema } from "./schema.ts";
import { createZmqInput } from "./input.ts";
import { createZmqOutput } from "./output.ts";

export { type ZmqFormat, type ZmqInputConfig, type ZmqOutputConfig } from "./schema.ts";
export { createZmqInput, ZmqInput } from "./input.ts";
export { createZmqOutput, mflowFrames, ZmqOutput } from "./output.ts";
export { type RateSample, ThroughputStatistics } from "../../net/zmq.ts";

/** The `zmq` transport as the registry loads it. */
export const transport: TransportDefinition = {
  type: "zmq",
  description: "ZeroMQ PULL/SUB input and PUSH/PUB output (mflow, msgpack, cbor, json, raw)",
  input: { schema: zmqInputSchema, create: createZmqInput },
  output: { schema: zmqOutputSchema, create: createZmqOutput },
};
