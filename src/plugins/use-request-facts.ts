import type { IncomingMessage } from 'node:http';
import { type DocumentNode, getOperationAST, Kind, type OperationDefinitionNode, type SelectionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { recordOf } from '../http/request-record.ts';

/**
 * What only the GraphQL layer knows, written into the request's record for the edge to report:
 * the operation's name and a bounded label for it, and the error codes of the answer. Its
 * hooks run in Yoga's envelop pipeline and result processing, which both request paths share.
 */
export function useRequestFacts(): Plugin<{ req?: IncomingMessage }> {
  return {
    onExecute({ args }) {
      const record = recordOf(args.contextValue.req);
      const operation = getOperationAST(args.document, args.operationName);
      record.operationName = operation?.name?.value;
      record.operation = operation ? operationLabel(args.document, operation) : 'unknown';
    },
    // When the answer is encoded: the errors of every answer, those refused before execution
    // (a document that fails validation, an operation off the allow-list) included.
    onResultProcess({ result, serverContext }) {
      const errors = !Array.isArray(result) && 'errors' in result ? result.errors : undefined;
      if (errors?.length) {
        recordOf((serverContext as { req?: IncomingMessage }).req).errorCodes = errors.map((error) =>
          String(error.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR'),
        );
      }
    },
  };
}

// Yoga hands the same parsed document to every request with the same text, so each label is computed once.
const labels = new WeakMap<OperationDefinitionNode, string>();

function operationLabel(document: DocumentNode, operation: OperationDefinitionNode): string {
  let label = labels.get(operation);
  if (label === undefined) {
    label = `${operation.operation}:${rootFields(document, operation.selectionSet.selections)}`;
    labels.set(operation, label);
  }
  return label;
}

/** Root field names of an operation, sorted and unique (fragments followed), e.g. `sessionGateway`. */
function rootFields(document: DocumentNode, selections: readonly SelectionNode[]): string {
  return [...rootFieldNames(document, selections)].sort().join(',');
}

/** The names of the root fields an operation selects, however fragments and aliases dress them. */
export function rootFieldNames(document: DocumentNode, selections: readonly SelectionNode[]): Set<string> {
  const names = new Set<string>();
  const visit = (items: readonly SelectionNode[]): void => {
    for (const item of items) {
      if (item.kind === Kind.FIELD) names.add(item.name.value);
      else if (item.kind === Kind.INLINE_FRAGMENT) visit(item.selectionSet.selections);
      else {
        const fragment = document.definitions.find(
          (definition) => definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === item.name.value,
        );
        if (fragment?.kind === Kind.FRAGMENT_DEFINITION) visit(fragment.selectionSet.selections);
      }
    }
  };
  visit(selections);
  return names;
}
