/**
 * The kernel backend's link counters: the root qdisc of each link's
 * sending veth (the outage gate, which every packet on the wire passed
 * last), read with one long-lived `tc -s -batch` per namespace (a `qdisc
 * show` every interval). tc counts Ethernet frames.
 */
import { execa, type ResultPromise } from 'execa';
import { OWN_GROUP } from '../emu/exec.js';
import type { LinkCounterReading, LinkCounters } from '../emu/links.js';
import type { KernelLink } from './network.js';

export class TcCounters implements LinkCounters {
  private readonly procs: ResultPromise[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly links: readonly KernelLink[]) {}

  start(intervalMs: number, onReading: (r: LinkCounterReading) => void): void {
    const namespaces = [...new Set(this.links.map((l) => l.namespace))];
    for (const ns of namespaces) {
      const byDevice = new Map(this.links.filter((l) => l.namespace === ns).map((l) => [l.device, l.id]));
      const proc = execa('tc', ['-n', ns, '-s', '-batch', '-'], { reject: false, stdin: 'pipe', stdout: 'pipe', stderr: 'ignore', ...OWN_GROUP });
      this.procs.push(proc);
      let pending = '';
      let current: { id: number; sent?: number; dropped?: number } | null = null;
      proc.stdout!.on('data', (d: Buffer) => {
        pending += d.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          const head = /^qdisc (\S+) (\S+) dev (\S+) (\S+)/.exec(line);
          if (head) {
            const id = byDevice.get(head[3]);
            current = head[4] === 'root' && id !== undefined ? { id } : null;
            continue;
          }
          if (!current) continue;
          const sent = /^\s*Sent (\d+) bytes \d+ pkt \(dropped (\d+)/.exec(line);
          if (sent) {
            current.sent = Number(sent[1]);
            current.dropped = Number(sent[2]);
            continue;
          }
          const backlog = /^\s*backlog (\d+)b/.exec(line);
          if (backlog && current.sent !== undefined) {
            onReading({ link: current.id, sentBytes: current.sent, dropped: current.dropped!, backlogBytes: Number(backlog[1]) });
            current = null;
          }
        }
      });
      proc.stdin!.on('error', () => undefined); // the process was killed at stop()
    }
    const ask = () => {
      for (const p of this.procs) p.stdin?.write('qdisc show\n');
    };
    ask();
    this.timer = setInterval(ask, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.catch(() => undefined)));
  }
}
