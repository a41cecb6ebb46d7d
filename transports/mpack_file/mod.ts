/**
 * The `mpack_file` transport: an output writing mpacklog-compatible `.mpack`
 * logs with rotation, fsync policies and torn-tail repair. See README.md.
 *
 * @module
 */
import type { TransportDefinition } from "../../core/transport.ts";
import { createMpackFileOutput } from "./output.ts";
import { mpackFileSchema } from "./schema.ts";

export {
  createMpackFileOutput,
  expandPathTemplate,
  MpackFileOutput,
  type PathValues,
  repairMpackTail,
  type TailKind,
  type TailRepair,
  withNumberSuffix,
} from "./output.ts";
export { FSYNC_POLICIES, type FsyncPolicy, type MpackFileConfig, mpackFileSchema } from "./schema.ts";

/** The transport definition the daemon's registry loads. */
export const transport: TransportDefinition = {
  type: "mpack_file",
  description: "Writes records to mpacklog-compatible .mpack files, with rotation, fsync policies and torn-tail repair",
  output: { schema: mpackFileSchema, create: createMpackFileOutput },
};
