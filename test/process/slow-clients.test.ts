import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/process.ts';

/*
 * What a client can hold at the server's door, over a real port of a real process: slow headers
 * and bodies (REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS), many connections (MAX_CONNECTIONS), and
 * Host names that are not this machine's while the gateway listens on loopback (DNS rebinding).
 */

interface Exchange {
  socket: Socket;
  /** Everything the server wrote, once it closed the connection. */
  closed: Promise<string>;
}

function open(url: string): Promise<Exchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk;
      });
      resolve({ socket, closed: new Promise((done) => socket.on('close', () => done(received))) });
    });
    socket.on('error', reject);
  });
}

/** Writes `text` one byte every 50 ms until it is all sent or the server closes the connection; true if it was cut. */
async function trickle(socket: Socket, text: string): Promise<boolean> {
  for (const byte of text) {
    if (socket.destroyed || socket.writableEnded || socket.closed) return true;
    socket.write(byte);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return socket.destroyed || socket.closed;
}

describe('slow clients', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ HEADERS_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '600' });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers a body sent a byte at a time 408 and closes the connection at REQUEST_TIMEOUT_MS', async () => {
    const { socket, closed } = await open(server.url);
    const body = JSON.stringify({ query: `{ sessionGateway { version } }${' '.repeat(400)}` });
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    // 440 bytes at 20 a second would take 22 s; the server must not wait for them.
    expect(await trickle(socket, body)).toBe(true);
    expect(await closed).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('closes a connection whose headers arrive a byte at a time at HEADERS_TIMEOUT_MS', async () => {
    const { socket, closed } = await open(server.url);
    const headers = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${'x-padding: slow\r\n'.repeat(20)}\r\n`;
    expect(await trickle(socket, headers)).toBe(true);
    expect(await closed).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });
});

describe('the connection cap', () => {
  it('closes connections beyond MAX_CONNECTIONS unanswered, and takes new ones once others close', async () => {
    const server = await startServerProcess({ MAX_CONNECTIONS: '2' });
    try {
      // Two kept-alive connections, each answered once, so that the server surely counts them.
      const held = [await open(server.url), await open(server.url)];
      for (const { socket } of held) {
        const answered = new Promise((resolve) => socket.once('data', resolve));
        socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        await answered;
      }
      const refused = await open(server.url);
      refused.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      expect(await refused.closed).toBe('');

      for (const { socket, closed } of held) {
        socket.destroy();
        await closed;
      }
      await expect.poll(async () => (await fetch(`${server.url}/healthz`).catch(() => undefined))?.status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

/** Sends one GET /healthz with this Host and returns the status line. */
async function statusFor(url: string, host: string): Promise<string> {
  const exchange = await open(url);
  exchange.socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  return (await exchange.closed).split('\r\n')[0] ?? '';
}

describe('Host names, against DNS rebinding', () => {
  it('on loopback (the default HOST), answers only localhost and loopback addresses as Host', async () => {
    const server = await startServerProcess();
    const { port } = new URL(server.url);
    try {
      expect(await statusFor(server.url, 'evil.example')).toBe('HTTP/1.1 400 Bad Request');
      expect(await statusFor(server.url, `evil.example:${port}`)).toBe('HTTP/1.1 400 Bad Request');
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost']) {
        expect(await statusFor(server.url, host)).toBe('HTTP/1.1 200 OK');
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('on another interface, answers any Host name', async () => {
    const server = await startServerProcess({ HOST: '0.0.0.0' });
    try {
      const url = server.url.replace('0.0.0.0', '127.0.0.1');
      expect(await statusFor(url, 'sessions.example.com')).toBe('HTTP/1.1 200 OK');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
