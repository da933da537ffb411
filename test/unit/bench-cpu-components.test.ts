import { describe, expect, it } from 'vitest';
import { countSamples } from '../../bench/cpu-components.ts';

/** One `perf script` sample: the thread's header line, then its frames, innermost first. */
const sample = (thread: string, ...frames: string[]): string =>
  `${thread}  4242 100.000001:     1001001 cpu-clock:pppH:\n${frames.map((frame) => `\t  7f00 ${frame}`).join('\n')}\n`;

const NODE = '(/opt/node/bin/node)';
const MAP = '(/tmp/perf-4242.map)';

describe('the profile attributes each sample to one component', () => {
  it('by thread, GC and kernel first, then by the innermost JavaScript frame with a file', () => {
    const script = [
      sample('V8Worker', `v8::internal::Scavenger::ScavengePage+0x10 ${NODE}`),
      sample('V8Worker', `v8::internal::compiler::PipelineImpl::Run+0x10 ${NODE}`),
      sample(
        'MainThread',
        `v8::internal::Scavenger::ScavengeObject+0x1 ${NODE}`,
        `JS:*'answer file:///app/dist/http/a.js:1:1 ${MAP}`,
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
      sample('libuv-worker', `write+0x1 (/usr/lib/libc.so.6)`),
    ].join('\n');
    const { samples, functions, total } = countSamples(script);
    expect(total).toBe(11);
    expect(Object.fromEntries([...samples].filter(([, count]) => count > 0))).toEqual({
      'GC, V8 helper threads': 1,
      'JIT compiler, V8 helper threads': 1,
      'GC, main thread': 1,
      'kernel (sockets, epoll, wake-ups)': 1,
      'undici (upstream client)': 1,
      'GraphQL execution (graphql-js)': 1,
      'Yoga, envelop, whatwg-node': 1,
      'own code': 1,
      'node core (http, net, streams, timers, promises)': 2,
      'other threads': 1,
    });
    // JavaScript is named by the frame that gave the component, V8's builtins counted for their caller.
    expect(functions.get('_resume undici/lib/client.js:789')).toBe(1);
    expect(functions.get('answer dist/http/known-operation-path.js:73')).toBe(1);
    expect(functions.get('processTicksAndRejections node:internal/process/task_queues:72')).toBe(1);
    expect([...functions.keys()].some((name) => name.includes('Scavenger'))).toBe(false);
  });
});
