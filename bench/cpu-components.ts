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

/** CPU time in nanoseconds: per component, per JavaScript function, and in all. */
export interface CpuTime {
  components: Map<Component, number>;
  /** Per JavaScript function (the frame that named the component), e.g. `answer dist/http/x.js:73`. */
  functions: Map<string, number>;
  total: number;
}

/**
 * Sums the CPU time of the samples in the text of `perf script`: each sample is a header line
 * (the thread's name first, the sample's period in ns before the event's name), then its frames,
 * innermost first; a blank line ends it.
 */
export function sumCpuTime(script: string): CpuTime {
  const components = new Map<Component, number>(COMPONENTS.map((component) => [component, 0]));
  const functions = new Map<string, number>();
  let total = 0;
  for (const block of script.split(/\n\s*\n/)) {
    const [header, ...frames] = block.split('\n').filter((line) => line.trim() !== '');
    const period = Number(/\s(\d+)\s+cpu-clock/.exec(header ?? '')?.[1]);
    if (!header || frames.length === 0 || !(period > 0)) continue;
    const component = componentOf(header.trim().split(/\s+/)[0] ?? '', frames);
    components.set(component, (components.get(component) ?? 0) + period);
    const name = JS_COMPONENTS.has(component) ? functionOf(frames) : undefined;
    if (name) functions.set(name, (functions.get(name) ?? 0) + period);
    total += period;
  }
  return { components, functions, total };
}

// The components named by a JavaScript frame: its package, node core, own code, other packages.
const JS_COMPONENTS = new Set<Component>([
  ...PACKAGE_COMPONENTS.map(([, component]) => component),
  'node core (http, net, streams, timers, promises)',
  'own code',
  'other packages',
]);

const isJavaScript = (frame: string): boolean => frame.includes(' JS:') && /(node:|\/)\S+:\d+/.test(frame);

/** The innermost JavaScript frame with a file, as `name path:line` relative to node_modules or the checkout. */
function functionOf(frames: readonly string[]): string | undefined {
  const frame = frames.find(isJavaScript);
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
  const first = frames.findIndex(isJavaScript);
  // Native frames inside the innermost JavaScript one: compiling, or the builtins it called.
  if (frames.slice(0, first === -1 ? undefined : first).some((frame) => COMPILER.test(frame)))
    return 'JIT compiler, main thread';
  if (first === -1) {
    // Node's own C++ (the HTTP parser, stream reads) runs from the event loop without a JS frame.
    return stack.includes(' node::') ? 'node core (http, net, streams, timers, promises)' : 'native, unattributed';
  }
  return componentOfFile(frames[first] ?? '');
}

function componentOfFile(frame: string): Component {
  if (/ node:/.test(frame)) return 'node core (http, net, streams, timers, promises)';
  // The last node_modules/ in the path: a package nested in another counts as itself.
  const name = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(frame)?.[1];
  if (!name) return 'own code';
  return PACKAGE_COMPONENTS.find(([pattern]) => pattern.test(name))?.[1] ?? 'other packages';
}
