import { GraphQLError, visit, type ValidationRule } from 'graphql';

const FIELD = 'createConversationSession';

/**
 * Each alias of `createConversationSession` is one upstream call and one credential, so a
 * document with 500 aliases would mint 500 sessions. This rule allows one per operation,
 * counting through fragments. Hand-written: alias and cost limits cannot single out one field.
 */
export const oneSessionPerOperation: ValidationRule = (context) => ({
  OperationDefinition(operation) {
    if (operation.operation !== 'mutation') return;
    let count = 0;
    for (const definition of [operation, ...context.getRecursivelyReferencedFragments(operation)]) {
      visit(definition.selectionSet, {
        Field(field) {
          if (field.name.value === FIELD) count += 1;
        },
      });
    }
    if (count > 1) {
      context.reportError(new GraphQLError(`An operation may call ${FIELD} only once.`, { nodes: operation, extensions: { code: 'TOO_MANY_SESSIONS' } }));
    }
  },
});
