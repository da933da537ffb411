import { createHash, timingSafeEqual } from 'node:crypto';
import { getOperationAST, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { LimitsConfig } from '../limits/options.ts';
import { forbidden } from '../schema/errors.ts';
import { rootFieldNames } from './use-request-facts.ts';

/** The header a federation router sends ROUTER_SHARED_SECRET in. */
export const ROUTER_SECRET_HEADER = 'x-router-secret';

const SERVICE = '_service';
const ENTITIES = '_entities';

/**
 * Who may call the federation fields a router needs: `_service` prints the whole subgraph schema
 * (descriptions and `@inaccessible` parts included), `_entities` resolves references. With
 * ROUTER_SHARED_SECRET, both answer only requests whose `x-router-secret` carries it; without it,
 * `_entities` answers anyone and `_service` does unless `anonymousService` is off (production
 * with introspection off). Checked per request when the operation runs, after validation, whose
 * results are cached per document and so cannot depend on a header.
 */
export function useFederationFields({
  routerSecret,
  anonymousService,
}: Pick<LimitsConfig, 'routerSecret' | 'anonymousService'>): Plugin<{ request: Request }> {
  const expected = routerSecret === undefined ? undefined : digest(routerSecret);
  const fromRouter = (headers: Headers): boolean => {
    const sent = headers.get(ROUTER_SECRET_HEADER);
    // Digests of equal length, so that the comparison takes the same time whatever was sent.
    return expected !== undefined && sent !== null && timingSafeEqual(digest(sent), expected);
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'query') return;
      const fields = federationFields(args.document, operation);
      if (fields.length === 0) return;
      if (expected === undefined) {
        if (anonymousService || !fields.includes(SERVICE)) return;
        setResultAndStopExecution({
          errors: [forbidden('_service is off here, as introspection is: compose from the published subgraph schema.')],
        });
        return;
      }
      if (fromRouter(args.contextValue.request.headers)) return;
      setResultAndStopExecution({
        errors: [forbidden(`${fields.join(' and ')} answer only the federation router (${ROUTER_SECRET_HEADER}).`)],
      });
    },
  };
}

// Yoga hands the same parsed document to every request with the same text: one look per operation.
const seen = new WeakMap<OperationDefinitionNode, string[]>();

function federationFields(
  document: Parameters<typeof rootFieldNames>[0],
  operation: OperationDefinitionNode,
): string[] {
  let fields = seen.get(operation);
  if (fields === undefined) {
    const names = rootFieldNames(document, operation.selectionSet.selections);
    fields = [SERVICE, ENTITIES].filter((name) => names.has(name));
    seen.set(operation, fields);
  }
  return fields;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
