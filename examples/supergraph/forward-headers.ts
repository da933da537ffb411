/** The headers a federation router must forward to this subgraph. */
export const FORWARDED_HEADERS = ['authorization', 'x-api-key', 'x-request-id', 'traceparent', 'tracestate'] as const;

/**
 * Hive Gateway's `propagateHeaders`, to every subgraph: for docker-compose.yml's router and the
 * supergraph test. To copy, take gateway.config.ts, which sends them to this service only.
 */
export const propagateHeaders = {
  fromClientToSubgraphs: ({ request }: { request: Request }) =>
    Object.fromEntries(FORWARDED_HEADERS.map((name) => [name, request.headers.get(name)])),
};
