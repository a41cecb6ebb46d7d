/**
 * The `influxdb` transport: an output writing records as line protocol to
 * InfluxDB (v1, v2 or v3 write API) with batching, gzip, retries, dropping of
 * single bad points, and a bounded disk spool while InfluxDB is away; and the
 * dataRT client. See README.md.
 *
 * @module
 */
import type { TransportDefinition } from "../../core/transport.ts";
import { createInfluxdbOutput } from "./output.ts";
import { influxdbSchema } from "./schema.ts";

export { createInfluxdbOutput, deliverLines, InfluxdbOutput, InfluxUnavailable } from "./output.ts";
export { INFLUX_APIS, type InfluxdbConfig, influxdbSchema } from "./schema.ts";
export { Spool, type SpooledBatch } from "./spool.ts";
export { DatartClient, type DatartOptions, type WritePointsOptions } from "./datart.ts";
export { InfluxError, type InfluxTarget, InfluxWriter, namedLines, type WriteOutcome } from "./writer.ts";

/** The transport definition the daemon's registry loads. */
export const transport: TransportDefinition = {
  type: "influxdb",
  description:
    "Writes records as line protocol to InfluxDB (v1/v2/v3 APIs), batched, with retries and a bounded disk spool",
  output: { schema: influxdbSchema, create: createInfluxdbOutput },
};

/**
 * Permission rule for `telebus permissions`: the InfluxDB host and port
 * (`--allow-net`). The spool lives in `data_dir`, which the daemon has anyway.
 */
export function permissions(config: Record<string, unknown>, needs: { net: Set<string> }): void {
  const u = new URL(String(config.url));
  needs.net.add(`${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`);
}
