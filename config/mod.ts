/**
 * Configuration: TOML loading, `${VAR}` substitution, located errors. Transport
 * authors find the schema building blocks in `config/schema.ts`.
 *
 * @module
 */
export * from "./load.ts";
export * from "./errors.ts";
export * from "./env.ts";
export { type DaemonConfig, WHEN_FULL, type WhenFull } from "./schema.ts";
export * from "./units.ts";
