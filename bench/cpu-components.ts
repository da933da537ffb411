/**
 * Where a process's CPU time goes, by component, from `perf script` output: each sample (one
 * stack of one thread) goes to one component. Node runs with `--perf-basic-prof`, so JavaScript
 * frames read `JS:*name file:line:col`; the innermost frame with a file names the component, so
 * V8's builtins and inline caches count for the JavaScript that called them.
 */

export const COMPONENTS = [
  'GC, main thread',
  'GC, V8 helper threads',
  'JIT compiler, main thread',
  'JIT compiler, V8 helper threads',
  'kernel (sockets, epoll, wake-ups)',
  'node core (http, net, streams, timers, promises)',
  'undici (upstream client)',
  'GraphQL execution (graphql-js)',
  'Yoga, envelop, whatwg-node',
  'Pothos plugins',
  'logging (pino)',
  'metrics (prom-client)',
  'own code',
  'other packages',
  'native, unattributed',
  'other threads',
] as const;
export type Component = (typeof COMPONENTS)[number];

const PACKAGE_COMPONENTS: readonly [RegExp, Component][] = [
  [/^undici$/, 'undici (upstream client)'],
  [/^(graphql|@graphql-tools\/.*)$/, 'GraphQL execution (graphql-js)'],
  [/^(graphql-yoga|@graphql-yoga\/.*|@envelop\/.*|@whatwg-node\/.*)$/, 'Yoga, envelop, whatwg-node'],
  [/^@pothos\/.*$/, 'Pothos plugins'],
  [/^(pino|sonic-boom|quick-format-unescaped|fast-redact|@pinojs\/.*|fast-safe-stringify)$/, 'logging (pino)'],
  [/^(prom-client|tdigest|bintrees)$/, 'metrics (prom-client)'],
];

const GC = /Scaveng|MarkCompact|Heap::CollectGarbage|Sweeper|IncrementalMarking|ConcurrentMarking|MinorMark/;
const COMPILER = new RegExp(
  [
    'v8::internal::(?:compiler::|maglev::|baseline::|Compiler::|Deoptimizer|Parser|PreParser|interpreter::Bytecode)',
    'Builtins_CompileLazy',
  ].join('|'),
);

export interface SampleCounts {
  samples: Map<Component, number>;
  /** Samples per JavaScript function (the frame that named the component), e.g. `answer dist/http/x.js:73`. */
  functions: Map<string, number>;
  total: number;
}

/** Samples per component, per JavaScript function, and in all, from the text of `perf script`. */
export function countSamples(script: string): SampleCounts {
  const samples = new Map<Component, number>(COMPONENTS.map((component) => [component, 0]));
  const functions = new Map<string, number>();
  let total = 0;
  // Samples are separated by blank lines: a header line (thread name first), then one frame per line.
  for (const block of script.split(/\n\s*\n/)) {
    const [header, ...frames] = block.split('\n').filter((line) => line.trim() !== '');
    if (!header || frames.length === 0) continue;
    const thread = header.trim().split(/\s+/)[0] ?? '';
    const component = componentOf(thread, frames);
    samples.set(component, (samples.get(component) ?? 0) + 1);
    const name = JS_COMPONENTS.has(component) ? functionOf(frames) : undefined;
    if (name) functions.set(name, (functions.get(name) ?? 0) + 1);
    total++;
  }
  return { samples, functions, total };
}

// The components named by a JavaScript frame: its package, node core, own code, other packages.
const JS_COMPONENTS = new Set<Component>([
  ...PACKAGE_COMPONENTS.map(([, component]) => component),
  'node core (http, net, streams, timers, promises)',
  'own code',
  'other packages',
]);

/** The innermost JavaScript frame with a file, as `name path:line` relative to node_modules or the checkout. */
function functionOf(frames: readonly string[]): string | undefined {
  const frame = frames.find((line) => line.includes(' JS:') && /(node:|\/)\S+:\d+/.test(line));
  const match = frame && /JS:[*~+^]?'?(\S*) (\S+?):(\d+):\d+/.exec(frame);
  if (!match) return undefined;
  const [, name, file = '', line] = match;
  const path = file.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/.*?\/(dist|bench)\//, '$1/');
  return `${name || '(anonymous)'} ${path}:${line}`;
}

function componentOf(thread: string, frames: readonly string[]): Component {
  const stack = frames.join('\n');
  if (thread.startsWith('V8'))
    return COMPILER.test(stack) ? 'JIT compiler, V8 helper threads' : 'GC, V8 helper threads';
  if (thread !== 'MainThread' && thread !== 'node') return 'other threads';
  if (GC.test(stack)) return 'GC, main thread';
  if (frames[0]?.includes('[kernel')) return 'kernel (sockets, epoll, wake-ups)';
  const javascript = frames.find((frame) => frame.includes(' JS:') && /(node:|\/)\S+:\d+/.test(frame));
  if (!javascript) {
    if (COMPILER.test(stack)) return 'JIT compiler, main thread';
    // Node's own C++ (the HTTP parser, stream reads) runs from the event loop without a JS frame.
    return stack.includes(' node::') ? 'node core (http, net, streams, timers, promises)' : 'native, unattributed';
  }
  if (COMPILER.test(frames[0] ?? '')) return 'JIT compiler, main thread';
  return componentOfFile(javascript);
}

function componentOfFile(frame: string): Component {
  if (/ node:/.test(frame)) return 'node core (http, net, streams, timers, promises)';
  const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(frame)?.[1];
  if (!name) return 'own code';
  return PACKAGE_COMPONENTS.find(([pattern]) => pattern.test(name))?.[1] ?? 'other packages';
}
