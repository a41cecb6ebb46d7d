/**
 * Configuration: TOML loading, `${VAR}` substitution, located errors, and the
 * schema building blocks transports declare their tables with (`schema.ts`).
 *
 * @module
 */
export * from "./load.ts";
export * from "./errors.ts";
export * from "./env.ts";
export { FULL_POLICIES, type FullPolicy } from "./schema.ts";
export * from "./types.ts";
export * from "./units.ts";
