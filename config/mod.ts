/**
 * Configuration: TOML loading, `${VAR}` substitution, schemas, located errors.
 *
 * @module
 */
export * from "./load.ts";
export * from "./errors.ts";
export * from "./env.ts";
export * from "./schema.ts";
export * from "./units.ts";
