/**
 * A validation rule that refuses documents nested deeper than a limit, so a
 * client cannot make the server walk an absurd selection. graphql-js has no
 * such rule built in. Introspection fields are not counted.
 *
 * @module
 */
import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
} from "graphql";

/** A rule for `validate()` that reports selections deeper than `max`. */
export function depthLimit(max: number): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of context.getDocument().definitions) {
      if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    }
    const depthOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
      if (!set) return 0;
      let deepest = 0;
      for (const s of set.selections) {
        let d = 0;
        if (s.kind === Kind.FIELD) {
          // Introspection (`__schema`, `__type`) is bounded by the schema itself, and GraphiQL's query is deep.
          if (s.name.value.startsWith("__")) continue;
          d = s.selectionSet ? 1 + depthOf(s.selectionSet, seen) : 1;
        } else if (s.kind === Kind.INLINE_FRAGMENT) d = depthOf(s.selectionSet, seen);
        else {
          const name = s.name.value;
          if (seen.has(name)) continue; // a cycle: graphql's own NoFragmentCycles rule reports it
          d = depthOf(fragments.get(name)?.selectionSet, new Set([...seen, name]));
        }
        deepest = Math.max(deepest, d);
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set());
        if (depth > max) {
          context.reportError(new GraphQLError(`query depth ${depth} exceeds the limit of ${max}`, { nodes: [node] }));
        }
      },
    };
  };
}
