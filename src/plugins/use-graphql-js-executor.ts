import { normalizedExecutor } from '@graphql-tools/executor';
import { type ExecutionArgs, execute, getOperationAST, getVariableValues } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * graphql-js's executor instead of Yoga's (@graphql-tools/executor), which costs more per
 * request for what this schema uses (no @defer, @stream or subscriptions) and answers the same,
 * except when the variables do not coerce: Yoga's executor marks those errors for a 400, so it
 * runs them. Both request paths execute through this engine.
 */
export function useGraphQLJsExecutor(): Plugin {
  // Only the execute hook: envelop's useEngine would add parse and validate hooks that do nothing.
  return {
    onExecute({ setExecuteFn }) {
      setExecuteFn(executeWithGraphQLJs as Parameters<typeof setExecuteFn>[0]);
    },
  };
}

function executeWithGraphQLJs(args: ExecutionArgs) {
  const operation = getOperationAST(args.document, args.operationName);
  const { errors } = getVariableValues(args.schema, operation?.variableDefinitions ?? [], args.variableValues ?? {});
  return errors ? normalizedExecutor(args) : execute(args);
}
