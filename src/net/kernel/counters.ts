/**
 * The kernel backend's link counters: the root qdisc of each link's
 * sending veth (the outage gate, which every packet on the wire passed
 * last), read with one long-lived `tc -s -batch` per namespace (a `qdisc
 * show` every interval, at whole intervals of the run's clock). tc counts
 * Ethernet frames. A reading is stamped with when it was asked for (tc
 * reads the counters as soon as it has the line); an answer begins with
 * the namespace's loopback's root qdisc (ifindex 1, first in every dump), which pairs
 * it with its question.
 */
import { execa, type ResultPromise } from 'execa';
import { OWN_GROUP } from '../emu/exec.js';
import type { LinkCounterReading, LinkCounters } from '../emu/links.js';
import type { KernelLink } from './network.js';

export class TcCounters implements LinkCounters {
  private readonly procs: ResultPromise[] = [];
  private readonly asked: number[][] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly links: readonly KernelLink[]) {}

  start(intervalMs: number, onReading: (r: LinkCounterReading) => void, clock: () => number): void {
    const namespaces = [...new Set(this.links.map((l) => l.namespace))];
    for (const ns of namespaces) {
      const byDevice = new Map(this.links.filter((l) => l.namespace === ns).map((l) => [l.device, l.id]));
      const proc = execa('tc', ['-n', ns, '-s', '-batch', '-'], { reject: false, stdin: 'pipe', stdout: 'pipe', stderr: 'ignore', ...OWN_GROUP });
      const asked: number[] = [];
      this.procs.push(proc);
      this.asked.push(asked);
      let pending = '';
      let atS = 0;
      let current: { id: number; sent?: number; dropped?: number } | null = null;
      proc.stdout!.on('data', (d: Buffer) => {
        pending += d.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          const head = /^qdisc (\S+) (\S+) dev (\S+) (\S+)/.exec(line);
          if (head) {
            if (head[3] === 'lo' && head[4] === 'root') atS = asked.shift() ?? clock();
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
            onReading({ link: current.id, atS, sentBytes: current.sent, dropped: current.dropped!, backlogBytes: Number(backlog[1]) });
            current = null;
          }
        }
      });
      proc.stdin!.on('error', () => undefined); // the process was killed at stop()
    }
    // Asked at whole intervals of the run's clock, the grid links.csv's bins fall on. (Node may fire a timer
    // up to a ms early: the next ask is then the next grid point, never a second one at this.)
    const gridAfter = (ms: number) => (Math.floor(ms / intervalMs) + 1) * intervalMs;
    let due = gridAfter(clock() * 1000) - intervalMs;
    const ask = () => {
      const at = clock();
      this.procs.forEach((p, i) => {
        this.asked[i].push(at);
        p.stdin?.write('qdisc show\n');
      });
      due = Math.max(due + intervalMs, gridAfter(at * 1000));
      this.timer = setTimeout(ask, Math.max(0, Math.ceil(due - at * 1000)));
    };
    ask();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.catch(() => undefined)));
  }
}
