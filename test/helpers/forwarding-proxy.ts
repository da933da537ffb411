import { createServer, type IncomingHttpHeaders, request } from 'node:http';
import { isIPv6 } from 'node:net';

/*
 * A reverse proxy as an ingress is one, run as its own process by `startForwardingProxy`
 * (proxy.ts): it passes every request to TARGET, connecting from LOCAL_ADDRESS, and appends
 * the client's address to the forwarding header it is told to write, keeping what the client
 * sent. It prints its port as one JSON line once it listens.
 */

const target = new URL(process.env['TARGET'] ?? '');
const localAddress = process.env['LOCAL_ADDRESS'];
const header = process.env['HEADER'] === 'forwarded' ? 'forwarded' : 'x-forwarded-for';

function forwarded(headers: IncomingHttpHeaders, address: string, port: number | undefined): IncomingHttpHeaders {
  const sent = headers[header];
  const hop =
    header === 'forwarded'
      ? `for="${isIPv6(address) ? `[${address}]` : address}:${port}"` // RFC 7239 §6: a node with its port, quoted
      : address;
  return { ...headers, [header]: typeof sent === 'string' ? `${sent}, ${hop}` : hop };
}

const server = createServer((incoming, outgoing) => {
  const { remoteAddress = 'unknown', remotePort } = incoming.socket;
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      localAddress,
      method: incoming.method,
      path: incoming.url,
      headers: forwarded(incoming.headers, remoteAddress, remotePort),
    },
    (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    },
  );
  upstream.on('error', () => outgoing.destroy());
  incoming.pipe(upstream);
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
