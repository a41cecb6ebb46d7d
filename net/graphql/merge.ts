/**
 * Merging GraphQL schemas given in SDL: the root types' fields are put
 * together, other types must not collide (scalars of one name are kept once).
 *
 * @module
 */
import {
  buildASTSchema,
  type DefinitionNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type GraphQLSchema,
  Kind,
  type ObjectTypeDefinitionNode,
  parse,
} from "npm:graphql@^16.11.0";

const ROOTS = ["Query", "Mutation", "Subscription"] as const;

/**
 * Merges SDL documents into one schema: the fields of `Query`, `Mutation` and
 * `Subscription` are put together; any other type may appear in several only
 * if it is a scalar (e.g. `JSON`), kept once.
 *
 * @throws Error naming the root field or type that two documents both define
 */
export function mergeSdl(sdls: readonly { name: string; sdl: string }[]): GraphQLSchema {
  const roots = new Map<string, { node: ObjectTypeDefinitionNode; fields: FieldDefinitionNode[]; from: string[] }>();
  const types = new Map<string, { node: DefinitionNode; from: string }>();
  for (const { name, sdl } of sdls) {
    for (const def of parse(sdl).definitions) {
      if (def.kind === Kind.OBJECT_TYPE_DEFINITION && (ROOTS as readonly string[]).includes(def.name.value)) {
        let r = roots.get(def.name.value);
        if (!r) roots.set(def.name.value, r = { node: def, fields: [], from: [] });
        for (const f of def.fields ?? []) {
          const i = r.fields.findIndex((g) => g.name.value === f.name.value);
          if (i >= 0) {
            throw new Error(`${def.name.value}.${f.name.value} is defined by both ${r.from[i]} and ${name}`);
          }
          r.fields.push(f);
          r.from.push(name);
        }
        continue;
      }
      if (!("name" in def) || !def.name) throw new Error(`${name}: unexpected ${def.kind} in the schema`);
      const seen = types.get(def.name.value);
      if (seen) {
        if (seen.node.kind === Kind.SCALAR_TYPE_DEFINITION && def.kind === Kind.SCALAR_TYPE_DEFINITION) continue;
        throw new Error(`type ${def.name.value} is defined by both ${seen.from} and ${name}`);
      }
      types.set(def.name.value, { node: def, from: name });
    }
  }
  const definitions: DefinitionNode[] = [...types.values()].map((t) => t.node);
  for (const { node, fields } of roots.values()) definitions.push({ ...node, fields });
  const document: DocumentNode = { kind: Kind.DOCUMENT, definitions };
  return buildASTSchema(document);
}
