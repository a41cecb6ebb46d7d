/**
 * Processors: filter, select, drop, rename, throttle, every, aggregate and
 * flatten, applied in order to an input's records or to one output's copy.
 *
 * @module
 */
export * from "./schema.ts";
export * from "./condition.ts";
export * from "./processor.ts";
export * from "./chain.ts";
export * from "./filter.ts";
export * from "./keys.ts";
export * from "./throttle.ts";
export * from "./aggregate.ts";
export * from "./flatten.ts";
