/**
 * The test kit: waiting without fixed sleeps, the daemon in-process and as a
 * subprocess, real servers the tests start (redis-server, mosquitto, influxd, TLS
 * certificates), a mock InfluxDB, a seeded PRNG, byte and network helpers,
 * and shared fixtures. Tests import it from here; the library does not.
 *
 * @module
 */
export * from "./wait.ts";
export * from "./test_daemon.ts";
export * from "./daemon_process.ts";
export * from "./least_privilege.ts";
export * from "./redis_server.ts";
export * from "./mosquitto.ts";
export * from "./influxd.ts";
export * from "./tls_certs.ts";
export * from "./mock_influx.ts";
export * from "./prng.ts";
export * from "./bytes.ts";
export * from "./net.ts";
export * from "./torn_log.ts";
export * from "./ws_upgrade.ts";
// The library's types, so that the kit's documentation (and tests) can name what the test daemon hands out.
export type * from "../mod.ts";
