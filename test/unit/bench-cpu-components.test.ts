import { describe, expect, it } from 'vitest';
import { sumCpuTime } from '../../bench/cpu-components.ts';

/** One `perf script` sample of 1 ms of CPU: the thread's header line, then its frames, innermost first. */
const sample = (thread: string, ...frames: string[]): string =>
  `${thread}  4242 100.000001:     1000000 cpu-clock:pppH:\n${frames.map((frame) => `\t  7f00 ${frame}`).join('\n')}\n`;

const NODE = '(/opt/node/bin/node)';
const MAP = '(/tmp/perf-4242.map)';
const MS = 1_000_000;

describe("the profile gives each sample's CPU time to one component", () => {
  it('by thread, GC, compiler and kernel first, then by the innermost JavaScript frame with a file', () => {
    const script = [
      sample('V8Worker', `v8::internal::Scavenger::ScavengePage+0x10 ${NODE}`),
      sample('V8Worker', `v8::internal::compiler::PipelineImpl::Run+0x10 ${NODE}`),
      sample(
        'MainThread',
        `v8::internal::Scavenger::ScavengeObject+0x1 ${NODE}`,
        `JS:*'answer file:///app/dist/a.js:1:1 ${MAP}`,
      ),
      sample('MainThread', 'tcp_sendmsg+0x1 ([kernel.kallsyms])', `JS:*'_write node:net:1:1 ${MAP}`),
      sample(
        'MainThread',
        `Builtins_LoadIC+0x1 ${NODE}`,
        `JS:*'_resume /app/node_modules/undici/lib/client.js:789:18 ${MAP}`,
      ),
      sample('MainThread', `JS:*'executeField /app/node_modules/graphql/execution/execute.js:1:1 ${MAP}`),
      sample('MainThread', `JS:*'run /app/node_modules/@envelop/core/esm/orchestrator.js:1:1 ${MAP}`),
      sample('MainThread', `JS:*'answer file:///app/dist/http/known-operation-path.js:73:20 ${MAP}`),
      sample('MainThread', `JS:*'processTicksAndRejections node:internal/process/task_queues:72:35 ${MAP}`),
      sample('MainThread', `node::http_parser::Parser::Execute+0x76 ${NODE}`),
      sample('libuv-worker', 'write+0x1 (/usr/lib/libc.so.6)'),
      // Compiling below a JavaScript frame is the compiler's, not that function's.
      sample(
        'MainThread',
        `v8::internal::Scanner::Next+0x1 ${NODE}`,
        `v8::internal::Parser::ParseProgram+0x1 ${NODE}`,
        `JS:*'answer file:///app/dist/a.js:1:1 ${MAP}`,
      ),
      // A package nested in another's node_modules counts as itself.
      sample('MainThread', `JS:*'get /app/node_modules/graphql-yoga/node_modules/lru-cache/index.js:1:1 ${MAP}`),
    ].join('\n');
    const { components, functions, total } = sumCpuTime(script);
    expect(total).toBe(13 * MS);
    expect(Object.fromEntries([...components].filter(([, ns]) => ns > 0))).toEqual({
      'GC, V8 helper threads': MS,
      'JIT compiler, V8 helper threads': MS,
      'GC, main thread': MS,
      'JIT compiler, main thread': MS,
      'kernel (sockets, epoll, wake-ups)': MS,
      'undici (upstream client)': MS,
      'GraphQL execution (graphql-js)': MS,
      'Yoga, envelop, whatwg-node': MS,
      'own code': MS,
      'node core (http, net, streams, timers, promises)': 2 * MS,
      'other packages': MS,
      'other threads': MS,
    });
    // JavaScript is named by the frame that gave the component, V8's builtins counted for their caller.
    expect(functions.get('_resume undici/lib/client.js:789')).toBe(MS);
    expect(functions.get('answer dist/http/known-operation-path.js:73')).toBe(MS);
    expect(functions.get('processTicksAndRejections node:internal/process/task_queues:72')).toBe(MS);
    expect(functions.get('get lru-cache/index.js:1')).toBe(MS);
    expect(functions.has('answer dist/a.js:1')).toBe(false);
  });
});
