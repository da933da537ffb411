import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * GraphiQL's page, with every asset inlined (no CDN), rendered on first request and kept as
 * bytes. The renderer module holds ~9 MB of source that costs ~50 MB of memory once loaded;
 * rendering in a short-lived worker thread gives that back when the worker exits.
 */
export function lazyGraphiQLPage(options: GraphiQLOptions): () => Promise<Uint8Array<ArrayBuffer>> {
  let page: Promise<Uint8Array<ArrayBuffer>> | undefined;
  return () => {
    // A failed render is not kept: the next request tries again.
    page ??= render(options).catch((error: unknown) => {
      page = undefined;
      throw error;
    });
    return page;
  };
}

// The renderer beside this module: render-worker.ts in the sources, render-worker.js in the build
// (tsc rewrites import specifiers, not URLs).
const RENDERER = new URL(`./render-worker${extname(import.meta.filename)}`, import.meta.url);

function render(options: GraphiQLOptions): Promise<Uint8Array<ArrayBuffer>> {
  const worker = new Worker(RENDERER, { workerData: options });
  return new Promise((resolve, reject) => {
    worker.once('message', (html: Uint8Array<ArrayBuffer>) => resolve(html));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the GraphiQL renderer exited (${code}) without a page`)));
  });
}
