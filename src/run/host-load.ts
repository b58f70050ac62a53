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
import type { HostCpu } from '../results/fidelity.js';
import { HOST_IDLE_MIN } from '../results/fidelity.js';

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
