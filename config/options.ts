/**
 * The kinds of option value the schemas share: durations, sizes, numbers and
 * flags that may come as strings (from `${VAR}` substitution), each marked
 * with its kind so the docs can write its type as TOML does. Apart from
 * `schema.ts` so that the processors' schemas (`processors/schema.ts`) can use
 * them while `schema.ts` uses those.
 *
 * The schemas are valibot's (not zod's): a daemon validates its configuration
 * at every start, and zod's core alone held ~10 MiB of a ~66 MiB idle daemon
 * (README, "Footprint"). A default is written as in TOML (`"10s"`, `"64MiB"`):
 * valibot passes it through the option's schema like a value from the file.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { parseDuration, parseSize } from "./units.ts";

/** How an option's value is written in TOML, when the schema alone does not say it. */
export type OptionKind = "duration" | "size" | "number" | "flag";

/** The metadata that marks an option's kind (read by `describe.ts`). */
export interface KindMetadata {
  /** How the value is written in TOML. */
  kind: OptionKind;
}

/** A schema that takes a TOML value of type `I` and produces an `O`. */
export type OptionSchema<I, O> = v.GenericSchema<I, O>;

/** A string or number turned into a number by `parse`, whose exception message becomes the schema error. */
function parsedBy(parse: (value: string | number) => number, kind: OptionKind): OptionSchema<string | number, number> {
  return v.pipe(
    v.union([v.string(), v.pipe(v.number(), v.finite())]),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      try {
        return parse(dataset.value);
      } catch (e) {
        addIssue({ message: (e as Error).message });
        return NEVER;
      }
    }),
    v.metadata({ kind }),
  );
}

/** A duration (`"250ms"`, or a number of seconds) parsed to milliseconds. */
export function duration(): OptionSchema<string | number, number> {
  return parsedBy(parseDuration, "duration");
}

/** A size (`"64MiB"`, or a number of bytes) parsed to bytes. */
export function byteSize(): OptionSchema<string | number, number> {
  return parsedBy(parseSize, "size");
}

/** A number that may also be given as a numeric string (e.g. from `${VAR}` substitution). */
export function numeric(): OptionSchema<string | number, number> {
  return v.pipe(
    v.union([
      v.number(),
      v.pipe(v.string(), v.regex(/^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/, "expected a number")),
    ], "expected a number"),
    v.transform(Number),
    // valibot's number() takes ±Infinity (`rate = inf` in TOML): no option here means that.
    v.finite("expected a finite number"),
    v.metadata({ kind: "number" }),
  );
}

/** A boolean that may also be given as `"true"`/`"false"` (e.g. from `${VAR}` substitution). */
export function flag(): OptionSchema<string | boolean, boolean> {
  return v.pipe(
    v.union([v.boolean(), v.picklist(["true", "false"])], "expected true or false"),
    v.transform((value) => value === true || value === "true"),
    v.metadata({ kind: "flag" }),
  );
}

/**
 * `schema` with a description, the text the docs, `telebus transports TYPE`
 * and the JSON Schema show for the option (zod's `.describe()`).
 */
export function described<S extends v.GenericSchema>(
  schema: S,
  text: string,
): v.SchemaWithPipe<readonly [S, v.DescriptionAction<v.InferOutput<S>, string>]> {
  return v.pipe(schema, v.description(text));
}
