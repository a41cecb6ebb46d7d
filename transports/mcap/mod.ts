/**
 * The `mcap` transport: an output recording MCAP files (one channel per
 * stream, chunked, indexed) with `mpack_file`'s path templates and rotation,
 * finishing a file a crash left torn. See README.md.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { templateFolder } from "../../core/permissions.ts";
import { createMcapOutput } from "./output.ts";
import { mcapSchema } from "./schema.ts";

export { createMcapOutput, McapOutput } from "./output.ts";
export { finishTornMcap, hasFooter, type McapRepair } from "./repair.ts";
export { MCAP_ENCODINGS, type McapConfig, type McapEncoding, mcapSchema } from "./schema.ts";

/** The transport definition the daemon's registry loads. */
export const transport: TransportDefinition = defineTransport({
  type: "mcap",
  description: "records MCAP files (one channel per stream, zstd/lz4 chunks, indexed); rotation; crash repair",
  output: {
    schema: mcapSchema,
    create: createMcapOutput,
    permissions: (c, needs, ctx) => {
      const dir = ctx.path(templateFolder(c.path));
      needs.read.add(dir); // a torn file is read back at start
      needs.write.add(dir);
      if (c.path.includes("{host}")) needs.sys.add("hostname");
    },
  },
});
