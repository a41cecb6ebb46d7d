/**
 * The core: records, the bus, queues, the daemon, stats, logging.
 *
 * @module
 */
export * from "./record.ts";
export * from "./queue.ts";
export * from "./bus.ts";
export * from "./daemon.ts";
export * from "./transport.ts";
export * from "./commands.ts";
export * from "./permissions.ts";
export * from "./stats.ts";
export * from "./log.ts";
export * from "./checkpoint.ts";
export * from "./http.ts";
export * from "./glob.ts";
export * from "./limits.ts";
export * from "./async.ts";
