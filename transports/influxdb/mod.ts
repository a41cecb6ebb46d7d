/**
 * The `influxdb` transport: an output writing records as line protocol to
 * InfluxDB (v1, v2 or v3 write API) with batching, gzip, retries, dropping of
 * single bad points, and a bounded disk spool while InfluxDB is away; and the
 * dataRT client. See README.md.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { createInfluxdbOutput } from "./output.ts";
import { influxdbSchema } from "./schema.ts";

export { createInfluxdbOutput, deliverLines, InfluxdbOutput, InfluxUnavailable } from "./output.ts";
export { INFLUX_APIS, type InfluxdbConfig, influxdbSchema } from "./schema.ts";
export { Spool, type SpooledBatch } from "./spool.ts";
export { DatartClient, type DatartOptions, type WritePointsOptions } from "./datart.ts";
export { InfluxError, type InfluxTarget, InfluxWriter, namedLines, type WriteOutcome } from "./writer.ts";

/** The transport definition the daemon's registry loads. */
export const transport: TransportDefinition = defineTransport({
  type: "influxdb",
  description:
    "line protocol to InfluxDB v1/v2/v3: batching, gzip, retries with `Retry-After`, per-point rejection, disk spool",
  output: {
    schema: influxdbSchema,
    create: createInfluxdbOutput,
    // The InfluxDB host and port; the spool lives in data_dir, which the daemon has anyway.
    permissions: (c, needs) => {
      const u = new URL(c.url);
      needs.net.add(`${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`);
    },
  },
});
