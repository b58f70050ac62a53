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

/**
 * A process's main thread (the one that runs an agent's event loop, or the
 * single-threaded link emulator): nanoseconds it ran on a CPU, and waited
 * runnable for one, from /proc/<pid>/schedstat ("<run ns> <wait ns> <slices>").
 * The wait is what a busy host takes from a process: time it asked for a CPU
 * and did not get one.
 */
export function schedTimes(schedstat: string): { runNs: number; waitNs: number } {
  const [runNs, waitNs] = schedstat.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(runNs) || !Number.isFinite(waitNs)) throw new Error('/proc/<pid>/schedstat: expected "<run ns> <wait ns> <slices>"');
  return { runNs, waitNs };
}

/** Per 100 ms sample, the share of a core a process ran and the share of the time it waited for one, summarised. */
export function summariseProcess(samples: { core: number; wait: number }[]): ProcessCpu {
  const n = samples.length;
  if (n === 0) return { samples: 0, meanCore: 0, busyShare: 0, meanWait: 0 };
  return {
    samples: n,
    meanCore: samples.reduce((s, x) => s + x.core, 0) / n,
    busyShare: samples.filter((x) => x.core >= PROCESS_BUSY_MIN).length / n,
    meanWait: samples.reduce((s, x) => s + x.wait, 0) / n,
  };
}

/**
 * What each of some processes (the link emulator, the agents) got of the
 * CPUs, every 100 ms: how much of a core its main thread ran (a
 * single-threaded process at a whole core cannot go faster) and how long it
 * waited for a CPU (a starved process sends, forwards and answers late). A
 * process that has exited keeps its samples.
 */
export class ProcessCpuMonitor {
  private readonly samples = new Map<string, { core: number; wait: number }[]>();
  private readonly last = new Map<string, { runNs: number; waitNs: number; atMs: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pids: () => Map<string, number>) {}

  private sample(): void {
    const atMs = performance.now();
    for (const [name, pid] of this.pids()) {
      let now: { runNs: number; waitNs: number };
      try {
        now = schedTimes(readFileSync(`/proc/${pid}/schedstat`, 'utf8'));
      } catch {
        continue; // (gone, or a kernel without schedstat: nothing measured)
      }
      const last = this.last.get(name);
      if (last && atMs > last.atMs) {
        const wallNs = (atMs - last.atMs) * 1e6;
        const list = this.samples.get(name) ?? [];
        list.push({ core: (now.runNs - last.runNs) / wallNs, wait: (now.waitNs - last.waitNs) / wallNs });
        this.samples.set(name, list);
      }
      this.last.set(name, { ...now, atMs });
    }
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** Per process name, what it got (only processes sampled at least twice). */
  stop(): Map<string, ProcessCpu> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return new Map([...this.samples].map(([name, list]) => [name, summariseProcess(list)]));
  }
}
