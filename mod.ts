/**
 * telebus as a library: embed the daemon, attach your own inputs and outputs,
 * subscribe to records, and use the codecs.
 *
 * @module
 */
export * from "./start.ts";
export * from "./core/mod.ts";
export * from "./config/mod.ts";
export * from "./codecs/mod.ts";
export { transports } from "./transports/mod.ts";
/** MoaT-Cmd, sans I/O: `moat.Endpoint`, its errors and framings (see protocol/moat_cmd/mod.ts). */
export * as moat from "./protocol/moat_cmd/mod.ts";
export { DatartClient, type DatartOptions, InfluxError, type WritePointsOptions } from "./transports/influxdb/mod.ts";
export { VERSION } from "./version.ts";
