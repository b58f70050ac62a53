/**
 * Per-link counters every 100 ms: one long-lived `tc -s -batch -` per
 * namespace is asked `qdisc show` (no process per sample) and answers with
 * each veth's root htb: bytes sent, packets dropped, and the backlog. From
 * these come links.csv (bytes carried per time bin) and the fidelity
 * report: while a link had packets queued, did it carry what its trace
 * allowed? (Mininet-HiFi's check; if not, the host could not keep up.)
 * Carried bytes are Ethernet frames, what htb shapes.
 */
import { execa, type ResultPromise } from 'execa';
import { OWN_GROUP } from './exec.js';
import { binIndex, LinkBins } from '../../util/bins.js';
import { megabitsBetween, type Trace } from '../../model/trace.js';
import type { EmuNetwork } from './network.js';
import { NativeNetwork } from '../native/network.js';

export const SAMPLE_INTERVAL_MS = 100;

/**
 * What one directed link did while it was certainly busy: for a sample with
 * B bytes queued, the next B / rate seconds (at most until the next sample).
 */
export interface LinkFidelity {
  link: number;
  busyS: number;
  /** Mbit/s the trace allowed over the busy stretches (mean). */
  allowedMbps: number;
  /** Mbit/s the link carried over them (at most the allowance per stretch). */
  carriedMbps: number;
  /** carried / allowed; NaN when the link was never busy. */
  ratio: number;
  droppedPackets: number;
}

export interface LinkCounters {
  at: number;
  sentBytes: number;
  dropped: number;
  backlogBytes: number;
}

/**
 * The stretch after `previous` in which the link was certainly busy: with B
 * bytes queued it has work for at least B / rate (or the whole interval).
 * Over it the link must carry what the trace allows; carrying less means
 * the host fell behind. Bytes beyond the allowance may be new arrivals, so
 * they are not counted. Null when nothing was queued.
 */
export function busyStretch(previous: LinkCounters, next: LinkCounters, trace: Trace): { busyS: number; allowedMb: number; carriedMb: number } | null {
  const rate = trace.rateAt(previous.at);
  if (previous.backlogBytes <= 0 || previous.at < 0 || rate <= 0) return null;
  const busyS = Math.min(next.at - previous.at, (previous.backlogBytes * 8) / 1e6 / rate);
  const allowedMb = megabitsBetween(trace, previous.at, previous.at + busyS);
  return { busyS, allowedMb, carriedMb: Math.min(((next.sentBytes - previous.sentBytes) * 8) / 1e6, allowedMb) };
}

export class LinkSampler {
  private readonly procs: ResultPromise[] = [];
  private readonly first = new Map<number, LinkCounters>();
  private readonly last = new Map<number, LinkCounters>();
  private readonly busy: { seconds: number; allowedMb: number; carriedMb: number; firstDropped: number | null; dropped: number }[];
  private timer: NodeJS.Timeout | null = null;
  readonly carried: LinkBins;

  constructor(
    private readonly net: EmuNetwork | NativeNetwork,
    private readonly traces: Trace[],
    private readonly now: () => number,
    readonly binS: number,
  ) {
    this.carried = new LinkBins(traces.length, binS);
    this.busy = traces.map(() => ({ seconds: 0, allowedMb: 0, carriedMb: 0, firstDropped: null, dropped: 0 }));
  }

  start(): void {
    if (this.net instanceof NativeNetwork) {
      // The native emulator prints its own counters (IP packets; no Ethernet headers).
      this.net.linkem.onStats((c) => this.record(c.link, { at: this.now(), sentBytes: c.outBytes, dropped: c.queueDrops + c.lossDrops, backlogBytes: c.queuedBytes }));
      this.net.linkem.send(`stats ${SAMPLE_INTERVAL_MS}`);
      return;
    }
    const namespaces = [...new Set(this.net.links.map((l) => l.namespace))];
    for (const ns of namespaces) {
      const byDevice = new Map(this.net.links.filter((l) => l.namespace === ns).map((l) => [l.device, l.id]));
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
            current = head[1] === 'htb' && head[4] === 'root' && id !== undefined ? { id } : null;
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
            this.record(current.id, { at: this.now(), sentBytes: current.sent, dropped: current.dropped!, backlogBytes: Number(backlog[1]) });
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
    this.timer = setInterval(ask, SAMPLE_INTERVAL_MS);
  }

  private record(id: number, now: LinkCounters): void {
    const previous = this.last.get(id);
    this.last.set(id, now);
    if (!this.first.has(id) && now.at >= 0) this.first.set(id, now);
    const b = this.busy[id];
    b.firstDropped ??= now.dropped;
    b.dropped = now.dropped - b.firstDropped;
    if (!previous || now.at < 0) return;
    const bytes = now.sentBytes - previous.sentBytes;
    // (a sample after the run's end, for a bin already handed to the results, is not reported)
    const bin = binIndex(now.at, this.binS);
    if (bin >= this.carried.firstOpen) this.carried.add(id, bin, bytes);
    const stretch = busyStretch(previous, now, this.traces[id]);
    if (stretch) {
      b.seconds += stretch.busyS;
      b.allowedMb += stretch.allowedMb;
      b.carriedMb += stretch.carriedMb;
    }
  }

  /** Bytes queued on each directed link at its last sample (0 before any). */
  backlogBytes(): number[] {
    return this.traces.map((_, id) => this.last.get(id)?.backlogBytes ?? 0);
  }

  /** Per directed link: the mean Mbit/s it carried between its first and last sample (NaN before two). */
  meanCarriedMbps(): number[] {
    return this.traces.map((_, id) => {
      const a = this.first.get(id), b = this.last.get(id);
      return a && b && b.at > a.at ? ((b.sentBytes - a.sentBytes) * 8) / 1e6 / (b.at - a.at) : NaN;
    });
  }

  /** Per directed link: carried against allowed while busy. */
  fidelity(): LinkFidelity[] {
    return this.busy.map((b, link) => ({
      link,
      busyS: b.seconds,
      allowedMbps: b.seconds > 0 ? b.allowedMb / b.seconds : 0,
      carriedMbps: b.seconds > 0 ? b.carriedMb / b.seconds : 0,
      ratio: b.allowedMb > 0 ? b.carriedMb / b.allowedMb : NaN,
      droppedPackets: b.dropped,
    }));
  }

  async stop(): Promise<void> {
    if (this.net instanceof NativeNetwork) this.net.linkem.send('stats 0');
    if (this.timer) clearInterval(this.timer);
    for (const p of this.procs) p.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.catch(() => undefined)));
  }
}
