import { GraphQLError, type ValidationRule, visit } from 'graphql';

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
      context.reportError(
        new GraphQLError(`An operation may call ${FIELD} only once.`, {
          nodes: operation,
          extensions: { code: 'TOO_MANY_SESSIONS' },
        }),
      );
    }
  },
});

/**
 * graphql-js 16 lets `subscription { … }` through validation on a schema without a
 * Subscription type and fails only at execution (HTTP 200, no code). graphql-js 17 has this
 * rule (KnownOperationTypesRule); until then, this copy makes it a 400 like any invalid document.
 */
export const knownOperationTypes: ValidationRule = (context) => ({
  OperationDefinition(operation) {
    const schema = context.getSchema();
    const rootType = {
      query: schema.getQueryType(),
      mutation: schema.getMutationType(),
      subscription: schema.getSubscriptionType(),
    }[operation.operation];
    if (!rootType) {
      context.reportError(
        new GraphQLError(`This service does not support ${operation.operation} operations.`, { nodes: operation }),
      );
    }
  },
});
