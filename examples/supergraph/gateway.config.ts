/**
 * Hive Gateway (`hive-gateway supergraph` reads gateway.config.ts from its working folder): the
 * caller's credentials, request id and trace context go to this service, and to no other subgraph.
 */

/** This service's name in your supergraph. */
const SESSIONS_SUBGRAPH = 'sessions';
const FORWARDED_HEADERS = ['authorization', 'x-api-key', 'x-request-id', 'traceparent', 'tracestate'];

export const gatewayConfig = {
  // The supergraph composed with schema/subgraph.graphql; drop this line when Hive's registry or
  // GraphOS serves it.
  supergraph: './supergraph.graphql',
  propagateHeaders: {
    fromClientToSubgraphs: ({ request, subgraphName }: { request: Request; subgraphName: string }) =>
      subgraphName === SESSIONS_SUBGRAPH
        ? {
            ...Object.fromEntries(FORWARDED_HEADERS.map((name) => [name, request.headers.get(name)])),
            // The gateway's ROUTER_SHARED_SECRET, from the router's own environment: it lets the
            // router call _service and _entities. A client's own x-router-secret is never passed on.
            'x-router-secret': process.env['ROUTER_SHARED_SECRET'],
          }
        : {},
  },
};
