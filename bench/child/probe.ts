/**
 * Preloaded into every target (`node --import ./bench/child/probe.ts …`) so the bench can read a
 * process's event-loop delay and heap without touching its code. It does nothing unless the
 * process was spawned with an IPC channel, and it never keeps the process alive.
 *
 * Messages: `{ probe: 'read' }` answers the event-loop delay since the last reset (how late a
 * 10 ms timer fired), `process.memoryUsage()`, the size of each V8 heap space and, on the first
 * read after a reset, the bytes allocated on the V8 heap since that reset;
 * `{ probe: 'reset' }` restarts the delay histogram and the allocation count; `{ probe: 'gc' }`
 * runs a full garbage collection first, then answers as `read`.
 *
 * Node 24's V8 statistics have no running total of allocated bytes, so it is counted from GC
 * accounting: heap used at the read − heap used at the reset + what every GC in between freed
 * (`v8.GCProfiler` records heap used before and after each GC; it runs only between a reset and
 * the next read).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { GCProfiler, getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

interface ProbeMessage {
  probe?: 'read' | 'reset' | 'gc';
  id?: number;
}

if (process.send && process.channel) {
  // The histogram holds whole timer intervals; the resolution is subtracted to give the lateness.
  const RESOLUTION_MS = 10;
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  let gc: (() => void) | undefined;
  const ms = (ns: number): number => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
  const mb = (bytes: number): number => Math.round(bytes / 2 ** 16) / 16;
  let counting: { profiler: GCProfiler; usedAtReset: number } | undefined;
  const allocatedSinceReset = (): number | undefined => {
    if (!counting) return undefined;
    const { profiler, usedAtReset } = counting;
    counting = undefined;
    const usedNow = getHeapStatistics().used_heap_size;
    let freed = 0;
    for (const gc of profiler.stop().statistics)
      freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    return usedNow - usedAtReset + freed;
  };
  process.on('message', (message: ProbeMessage) => {
    if (!message || typeof message !== 'object' || !message.probe) return;
    if (message.probe === 'reset') {
      delay.reset();
      counting?.profiler.stop();
      counting = { profiler: new GCProfiler(), usedAtReset: getHeapStatistics().used_heap_size };
      counting.profiler.start();
    }
    const allocatedBytes = message.probe === 'reset' ? undefined : allocatedSinceReset();
    if (message.probe === 'gc') {
      if (!gc) {
        setFlagsFromString('--expose-gc');
        gc = runInNewContext('gc') as () => void;
      }
      gc();
    }
    process.send?.({
      probe: 'answer',
      id: message.id,
      eventLoopDelayMs: {
        mean: ms(delay.mean),
        p50: ms(delay.percentile(50)),
        p99: ms(delay.percentile(99)),
        max: ms(delay.max),
      },
      allocatedBytes,
      memory: process.memoryUsage(),
      heapSpacesMb: Object.fromEntries(
        getHeapSpaceStatistics().map((space) => [space.space_name, mb(space.space_size)]),
      ),
    });
  });
  process.channel.unref();
}
