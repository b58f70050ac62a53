/**
 * Bytes each directed link carried, sampled every 100 ms: one small shell
 * loop per namespace reads the veths' tx_bytes counters from sysfs (no
 * process per sample), and the runner adds the deltas into time bins.
 */
import { addToBin } from '../../util/bins.js';
import { execa, type ResultPromise } from 'execa';
import type { EmuNetwork } from './network.js';

const SCRIPT = 'while :; do for f in /sys/class/net/n*/statistics/tx_bytes; do read v < "$f"; echo "$f $v"; done; echo .; sleep 0.1; done';

export class LinkSampler {
  private readonly procs: ResultPromise[] = [];
  private readonly last = new Map<string, number>();
  readonly carried: Float64Array[];

  constructor(private readonly net: EmuNetwork, private readonly now: () => number, readonly binS: number) {
    this.carried = net.links.map(() => new Float64Array(64));
  }

  start(): void {
    const byKey = new Map(this.net.links.map((l) => [`${l.namespace}/${l.device}`, l.id]));
    for (const ns of new Set(this.net.links.map((l) => l.namespace))) {
      const proc = execa('ip', ['netns', 'exec', ns, 'sh', '-c', SCRIPT], { reject: false, stdout: 'pipe', stderr: 'ignore' });
      this.procs.push(proc);
      let pending = '';
      proc.stdout!.on('data', (d: Buffer) => {
        pending += d.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        const t = this.now();
        for (const line of lines) {
          const m = /\/sys\/class\/net\/(n\d+)\/statistics\/tx_bytes (\d+)/.exec(line);
          if (!m) continue;
          const key = `${ns}/${m[1]}`;
          const id = byKey.get(key);
          if (id === undefined) continue;
          const value = Number(m[2]);
          const previous = this.last.get(key);
          this.last.set(key, value);
          if (previous !== undefined && t >= 0) this.add(id, Math.floor(t / this.binS), value - previous);
        }
      });
    }
  }

  private add(link: number, bin: number, bytes: number): void {
    addToBin(this.carried, link, bin, bytes);
  }

  async stop(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.catch(() => undefined)));
  }
}
