/**
 * What Linux's /proc says about a process (resident memory, its peak, CPU time, sockets) and
 * about the whole machine (how busy it is).
 */
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';

export interface ProcStatus {
  /** Resident set size now, MB. */
  rssMb: number;
  /** Peak resident set size since the process started (VmHWM), MB. */
  peakRssMb: number;
}

/** VmRSS and VmHWM of a process, from /proc/<pid>/status. */
export function procStatus(pid: number): ProcStatus | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * Sets a process's VmHWM back to its current RSS (writing 5 to /proc/<pid>/clear_refs), so that
 * the next reading is the peak of what ran in between. False where the kernel does not allow it.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

const TICKS_PER_SECOND = 100;

/** User + system CPU time a process has used, in milliseconds (/proc/<pid>/stat). */
export function cpuTimeMs(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat), to tell how loaded it was. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share of the machine's CPU that was busy between two `machineCpu()` readings, percent. */
export function busyPercent(before: { busy: number; total: number }, after: { busy: number; total: number }): number {
  return (100 * (after.busy - before.busy)) / Math.max(1, after.total - before.total);
}

/**
 * Established TCP connections a process holds, split into those to `upstreamPort` (its pool to
 * the upstream) and the rest (mostly callers), from /proc/<pid>/fd and /proc/net/tcp{,6}.
 */
export function socketCounts(pid: number, upstreamPort: number): { upstream: number; other: number } | undefined {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
      } catch {
        // closed meanwhile
      }
    }
    let upstream = 0;
    let other = 0;
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text: string;
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length < 10 || fields[3] !== '01' || !inodes.has(fields[9] ?? '')) continue;
        const remotePort = parseInt((fields[2] ?? '').split(':')[1] ?? '', 16);
        if (remotePort === upstreamPort) upstream++;
        else other++;
      }
    }
    return { upstream, other };
  } catch {
    return undefined;
  }
}
