/**
 * Child process: the "hive-mesh" target, what a user would pick instead of writing a gateway.
 * GraphQL Mesh (`@graphql-mesh/compose-cli` with `@omnigraph/openapi`) composes a supergraph from
 * ChatBotKit's OpenAPI description of the session route (bench/mesh/openapi.json, a local file:
 * composing fetches nothing), pointed at the upstream (UPSTREAM_URL); Hive Gateway's runtime
 * serves it on node:http. Default options everywhere, as `mesh-compose` then `hive-gateway
 * supergraph` would run. Prints `{"url": ".../graphql"}` when it listens.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { getComposedSchemaFromConfig } from '@graphql-mesh/compose-cli';
import { DefaultLogger } from '@graphql-mesh/utils';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const upstream = new URL(process.env['UPSTREAM_URL'] ?? 'http://127.0.0.1:1');
// The emulator runs without a secret and accepts any; the gateway reads it per call, as configured.
process.env['CHATBOTKIT_SECRET'] ??= 'bench-secret';

const supergraph = await getComposedSchemaFromConfig(
  {
    subgraphs: [
      {
        sourceHandler: loadOpenAPISubgraph('ChatBotKit', {
          source: fileURLToPath(new URL('../mesh/openapi.json', import.meta.url)),
          // The description names api.chatbotkit.com; the endpoint sends the calls to the upstream.
          endpoint: new URL('/v1', upstream).href,
          // Interpolated at request time, so the secret never lands in the supergraph.
          operationHeaders: { Authorization: 'Bearer {env.CHATBOTKIT_SECRET}' },
        }),
      },
    ],
  },
  new DefaultLogger('mesh-compose'),
);

const gateway = createGatewayRuntime({ supergraph });
const server = createServer(gateway);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/graphql` })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeIdleConnections();
  void Promise.resolve(gateway.dispose()).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
