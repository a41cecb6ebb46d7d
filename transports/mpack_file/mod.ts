/**
 * The `mpack_file` transport: an output writing mpacklog-compatible `.mpack`
 * logs with rotation, fsync policies and torn-tail repair. See README.md.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { templateFolder } from "../../core/permissions.ts";
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
export const transport: TransportDefinition = defineTransport({
  type: "mpack_file",
  description: "appends mpacklog-compatible MessagePack maps; rotation by size/time; fsync policy",
  output: {
    schema: mpackFileSchema,
    create: createMpackFileOutput,
    permissions: (c, needs, ctx) => {
      const dir = ctx.path(templateFolder(c.path));
      needs.read.add(dir); // an existing file is appended to after its tail is checked
      needs.write.add(dir);
      if (c.path.includes("{host}")) needs.sys.add("hostname");
    },
  },
});
