import { parentPort, workerData } from 'node:worker_threads';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

// Runs in a worker thread: see page.ts for why.
const html = Buffer.from(renderGraphiQL(workerData as GraphiQLOptions));
parentPort?.postMessage(html, [html.buffer as ArrayBuffer]);
