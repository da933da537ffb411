import { type GraphQLFieldResolver, type GraphQLSchema, isUnionType } from 'graphql';
import { badUserInput } from './errors.ts';

/**
 * `_entities` as @apollo/subgraph resolves it throws a plain Error for a representation whose
 * `__typename` is not an entity here: Yoga masks it as a bug and logs it at error level, with a
 * stack, once per request, which anyone can repeat to flood logs and alerts. A representation
 * is the caller's input, so a wrong one is refused as BAD_USER_INPUT before that resolver runs.
 * The field's resolver is wrapped in place: the schema is built once, here, and nothing else holds it yet.
 */
export function guardEntities(schema: GraphQLSchema): GraphQLSchema {
  const field = schema.getQueryType()?.getFields()['_entities'];
  const union = schema.getType('_Entity');
  if (!field?.resolve || !isUnionType(union)) return schema;
  const entities = new Set(union.getTypes().map((type) => type.name));
  const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve;
  field.resolve = (source, args: { representations: unknown[] }, context, info) => {
    for (const representation of args.representations) {
      const typename = (representation as { __typename?: unknown } | null)?.__typename;
      if (typeof typename !== 'string' || !entities.has(typename)) {
        throw badUserInput(
          `_entities takes representations of ${[...entities].join(', ')}, each with its __typename and key fields.`,
        );
      }
    }
    return resolve(source, args, context, info);
  };
  return schema;
}
