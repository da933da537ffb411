/**
 * Throughput: closed-loop load (each connection sends its next request when the last one is
 * answered), the upstream answering at once. Where requests/s and the main ratios come from.
 */
import { comparisonRatios } from './comparison.ts';
import { alloc, byName, cpu, ratio, roundSpread, rps, rss, type ScenarioResult } from './results.ts';
import { runRounds } from './rounds.ts';
import type { Running } from './running.ts';
import type { Session } from './session.ts';

export async function throughput(session: Session, running: Running): Promise<ScenarioResult> {
  const { options } = session;
  const names = running.targets.filter((t) => options.targets.includes(t.kind)).map((t) => t.name);
  session.log(
    `  ${options.rounds} rounds × ${options.duration} s per target, ` +
      `${options.connections} connections, upstream answers at once`,
  );
  const stats = await runRounds(session, running, names, {
    connections: options.connections,
    duration: options.duration,
  });
  const get = byName(stats);
  const gateway = get('gateway');
  const notes: string[] = [];
  for (const other of ['floor', 'peer', 'hive-mesh', 'direct']) {
    const spread = roundSpread(gateway, get(other), rps);
    if (spread) notes.push(`gateway/${other} requests/s per round: ${spread}`);
  }
  for (const t of stats) {
    notes.push(
      `${t.target}: ` +
        (t.target === 'direct' ? '' : `upstream emulator CPU ${t.upstreamCpuUsPerRequest} µs/req; `) +
        `machine ${t.machineBusyPercent}% busy while measured` +
        (t.heapMb
          ? `; V8 heap ${t.heapMb.total} MB (new space ${t.heapMb.newSpace} MB, ` +
            `old space ${t.heapMb.oldSpace} MB, ${t.heapMb.used} MB used)`
          : ''),
    );
  }
  return {
    name: 'throughput',
    title: `Throughput: ${options.connections} connections, upstream answers at once`,
    upstreamLatencyMs: 0,
    connections: options.connections,
    durationSec: options.duration,
    rounds: options.rounds,
    targets: stats,
    ratios: {
      'gateway/floor': ratio(gateway, get('floor'), rps),
      'gateway/peer': ratio(gateway, get('peer'), rps),
      'gateway/hive-mesh': ratio(gateway, get('hive-mesh'), rps),
      'gateway/direct': ratio(gateway, get('direct'), rps),
      'gateway/floor CPU per request': ratio(gateway, get('floor'), cpu),
      'gateway/peer CPU per request': ratio(gateway, get('peer'), cpu),
      'gateway/hive-mesh CPU per request': ratio(gateway, get('hive-mesh'), cpu),
      'gateway/floor peak RSS': ratio(gateway, get('floor'), rss),
      'gateway/floor allocation per request': ratio(gateway, get('floor'), alloc),
      ...comparisonRatios(session, stats),
    },
    notes,
  };
}
