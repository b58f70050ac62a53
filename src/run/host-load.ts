/**
 * How busy the host's CPUs were during an emulated run, from /proc/stat
 * sampled every 100 ms. The emulated network is the host's kernel: when
 * every CPU is busy, senders are starved before their packets reach a
 * queue, so links look idle rather than short (the per-link check cannot
 * see it) and iterations run long. Measured on a 2-core host: the
 * quickstart's NetStorm at full rates left the CPUs under 10% idle in 70% of
 * the samples and ran 17% longer than simulated; at a quarter of the rates,
 * never, and within 0.4%.
 */
import { readFileSync } from 'node:fs';
import type { HostCpu, ProcessCpu } from '../results/fidelity.js';
import { HOST_IDLE_MIN, PROCESS_BUSY_MIN } from '../results/fidelity.js';

const SAMPLE_MS = 100;

/** Idle and total jiffies over all CPUs (the first line of /proc/stat). */
export function cpuTimes(procStat: string): { idle: number; total: number } {
  const fields = procStat.slice(0, procStat.indexOf('\n')).trim().split(/\s+/);
  if (fields[0] !== 'cpu') throw new Error('/proc/stat: the first line is not the all-CPU line');
  const v = fields.slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = v.slice(0, 8).reduce((s, x) => s + (x || 0), 0);
  return { idle: (v[3] || 0) + (v[4] || 0), total };
}

/** The idle share of each sample, summarised. */
export function summariseIdle(idleShares: number[]): HostCpu {
  if (idleShares.length === 0) return { samples: 0, meanIdle: 1, saturatedShare: 0 };
  return {
    samples: idleShares.length,
    meanIdle: idleShares.reduce((s, x) => s + x, 0) / idleShares.length,
    saturatedShare: idleShares.filter((x) => x < HOST_IDLE_MIN).length / idleShares.length,
  };
}

export class HostCpuMonitor {
  private readonly shares: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private last: { idle: number; total: number } | null = null;

  private read(): { idle: number; total: number } | null {
    try {
      return cpuTimes(readFileSync('/proc/stat', 'utf8'));
    } catch {
      return null; // (no /proc: nothing measured, nothing flagged)
    }
  }

  start(): void {
    this.last = this.read();
    this.timer = setInterval(() => {
      const now = this.read();
      if (now && this.last && now.total > this.last.total) this.shares.push((now.idle - this.last.idle) / (now.total - this.last.total));
      this.last = now;
    }, SAMPLE_MS);
    this.timer.unref();
  }

  stop(): HostCpu {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return summariseIdle(this.shares);
  }
}

/** Linux counts a process's CPU time in /proc/<pid>/stat in USER_HZ ticks, 100 per second on every architecture. */
const TICKS_PER_S = 100;

/** CPU seconds (user + system) of a process, from its /proc/<pid>/stat line. */
export function processCpuSeconds(procPidStat: string): number {
  // the command name (field 2) is in parentheses and may hold spaces: count fields after it
  const fields = procPidStat.slice(procPidStat.lastIndexOf(')') + 2).trim().split(/\s+/);
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('/proc/<pid>/stat: no utime and stime fields');
  return (utime + stime) / TICKS_PER_S;
}

/** The share of one core each sample used, summarised. */
export function summariseCores(coreShares: number[]): ProcessCpu {
  if (coreShares.length === 0) return { samples: 0, meanCore: 0, busyShare: 0 };
  return {
    samples: coreShares.length,
    meanCore: coreShares.reduce((s, x) => s + x, 0) / coreShares.length,
    busyShare: coreShares.filter((x) => x >= PROCESS_BUSY_MIN).length / coreShares.length,
  };
}

/**
 * How much of a core each of some processes (the link emulator, the agents)
 * used, every 100 ms: a single-threaded process at a whole core cannot go
 * faster, so it falls behind. A process that has exited keeps its samples.
 */
export class ProcessCpuMonitor {
  private readonly shares = new Map<string, number[]>();
  private readonly last = new Map<string, { cpuS: number; atMs: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pids: () => Map<string, number>) {}

  private sample(): void {
    const atMs = performance.now();
    for (const [name, pid] of this.pids()) {
      let cpuS: number;
      try {
        cpuS = processCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        continue; // (gone, or no /proc: nothing measured)
      }
      const last = this.last.get(name);
      if (last && atMs > last.atMs) {
        const shares = this.shares.get(name) ?? [];
        shares.push((cpuS - last.cpuS) / ((atMs - last.atMs) / 1000));
        this.shares.set(name, shares);
      }
      this.last.set(name, { cpuS, atMs });
    }
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** Per process name, what it used (only processes sampled at least twice). */
  stop(): Map<string, ProcessCpu> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return new Map([...this.shares].map(([name, shares]) => [name, summariseCores(shares)]));
  }
}
