/** The headers a federation router must forward to this subgraph. */
export const FORWARDED_HEADERS = ['authorization', 'x-api-key', 'x-request-id', 'traceparent', 'tracestate'] as const;

/** Hive Gateway: use as `propagateHeaders` in gateway.config.ts (or createGatewayRuntime). */
export const propagateHeaders = {
  fromClientToSubgraphs: ({ request }: { request: Request }) =>
    Object.fromEntries(FORWARDED_HEADERS.map((name) => [name, request.headers.get(name)])),
};
