import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import type { GraphQLResponse } from './gateway.ts';

const PROXY_SCRIPT = fileURLToPath(new URL('forwarding-proxy.ts', import.meta.url));

export interface ForwardingProxyOptions {
  /** The gateway's base URL, e.g. `http://127.0.0.1:41234`. */
  target: string;
  /** The address the proxy connects to the gateway from: what TRUSTED_PROXIES must name. */
  localAddress: string;
  /** The header the proxy appends the client's address to. Default `x-forwarded-for`. */
  header?: 'x-forwarded-for' | 'forwarded';
}

export interface ForwardingProxy {
  /** The proxy's base URL; requests to it reach `target` from `localAddress`. */
  url: string;
  stop(): Promise<void>;
}

/** Starts test/helpers/forwarding-proxy.ts, a reverse proxy in its own process, and waits until it listens. */
export async function startForwardingProxy(options: ForwardingProxyOptions): Promise<ForwardingProxy> {
  const child = spawn(process.execPath, [PROXY_SCRIPT], {
    env: {
      TARGET: options.target,
      LOCAL_ADDRESS: options.localAddress,
      HEADER: options.header ?? 'x-forwarded-for',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const [chunk] = (await Promise.race([
    once(child.stdout, 'data'),
    exited.then(([code]) => Promise.reject(new Error(`forwarding proxy exited with ${code}`))),
  ])) as [Buffer];
  const { port } = JSON.parse(String(chunk)) as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A GraphQL client whose connections come from one local address (on Linux, any of 127.0.0.0/8). */
export interface AddressedClient {
  post(
    url: string,
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse>;
  close(): Promise<void>;
}

export function clientFrom(localAddress: string): AddressedClient {
  const dispatcher = new Agent({ localAddress });
  return {
    post: async (url, query, variables, headers = {}) => {
      const response = await request(url, {
        dispatcher,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(response.headers)) {
        if (typeof value === 'string') responseHeaders.set(name, value);
      }
      return {
        status: response.statusCode,
        headers: responseHeaders,
        body: (await response.body.json()) as GraphQLResponse['body'],
      };
    },
    close: () => dispatcher.close(),
  };
}
