/**
 * Flattening of nested dictionaries into `a/b/c` keys, and lookup of such paths: kept in `core/flatten.ts` (the
 * `flatten` processor uses it below the codecs' layer) and re-exported here for the codecs and transports.
 *
 * @module
 */
export { flatten, isDict, lookupPath } from "../core/flatten.ts";
