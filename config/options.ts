/**
 * The kinds of option value the schemas share: durations, sizes, numbers and
 * flags that may come as strings (from `${VAR}` substitution), each marked
 * with its kind so the docs can write its type and default as TOML does.
 * Apart from `schema.ts` so that the processors' schemas (`processors/schema.ts`)
 * can use them while `schema.ts` uses those.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { parseDuration, parseSize } from "./units.ts";

/** How an option's value is written in TOML, when the schema alone does not say it (see {@linkcode optionKinds}). */
export type OptionKind = "duration" | "size" | "number" | "flag";

/**
 * The kind of each schema the helpers below build, so that the docs can name a
 * value's type and write its default as one writes it in TOML (`"10s"`, not
 * `10000`). Schemas derived by `describe()` inherit their parent's entry.
 */
export const optionKinds: z.core.$ZodRegistry<{ kind: OptionKind }> = z.registry<{ kind: OptionKind }>();

function kindOf<T extends z.ZodType>(schema: T, kind: OptionKind): T {
  optionKinds.add(schema, { kind });
  return schema;
}

/** A string or number turned into a number by `parse`, whose exception message becomes the schema error. */
function parsedBy(parse: (v: string | number) => number): z.ZodType<number, string | number> {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      return parse(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  });
}

/** A duration (`"250ms"`, or a number of seconds) parsed to milliseconds. */
export function duration(): z.ZodType<number, string | number> {
  return kindOf(parsedBy(parseDuration), "duration");
}

/** A size (`"64MiB"`, or a number of bytes) parsed to bytes. */
export function byteSize(): z.ZodType<number, string | number> {
  return kindOf(parsedBy(parseSize), "size");
}

/** A number that may also be given as a numeric string (e.g. from `${VAR}` substitution). */
export function numeric(): z.ZodType<number, string | number> {
  return kindOf(
    z.union([z.number(), z.string().regex(/^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/, "expected a number")])
      .transform((v) => Number(v)),
    "number",
  );
}

/** A boolean that may also be given as `"true"`/`"false"` (e.g. from `${VAR}` substitution). */
export function flag(): z.ZodType<boolean, string | boolean> {
  return kindOf(z.union([z.boolean(), z.enum(["true", "false"])]).transform((v) => v === true || v === "true"), "flag");
}
