/** What the agents report about a run, collected by the coordinator. */

export interface TransferRecord {
  iteration: number;
  chunk: number;
  kind: 'up' | 'down';
  from: string;
  to: string;
  bytes: number;
  enqueuedAt: number;
  sentAt: number;
  deliveredAt: number;
  /** This hop belongs to an auxiliary (multipath) route. */
  aux: boolean;
}

export interface IterationRecord {
  iteration: number;
  planVersion: number;
  /** First worker started computing. */
  start: number;
  /** Longest compute among workers. */
  compute: number;
  /** Last worker's gradient was ready. */
  lastGradientReady: number;
  /** Last worker held the whole updated model. */
  end: number;
  /** The worker that finished last. */
  lastWorker: string;
  /** Bytes of all messages between distinct nodes for this iteration. */
  bytes: number;
}

export interface AgentReports {
  computeStarted(node: string, iteration: number, at: number): void;
  gradientReady(node: string, iteration: number, at: number): void;
  iterationDone(node: string, iteration: number, at: number): void;
  delivered(transfer: TransferRecord): void;
}

interface Progress {
  planVersion: number;
  start: number;
  compute: number;
  computeStarted: Map<string, number>;
  lastGradientReady: number;
  end: number;
  lastWorker: string;
  done: number;
  bytes: number;
}

/** Accumulates agent reports into per-iteration records. */
export class RunRecorder implements AgentReports {
  readonly transfers: TransferRecord[] = [];
  private readonly progress: Progress[] = [];
  completed = 0;

  constructor(private readonly workerCount: number, readonly keepTransfers: boolean) {}

  private at(iteration: number): Progress {
    let p = this.progress[iteration];
    if (!p) {
      p = { planVersion: 0, start: Infinity, compute: 0, computeStarted: new Map(), lastGradientReady: -Infinity, end: -Infinity, lastWorker: '', done: 0, bytes: 0 };
      this.progress[iteration] = p;
    }
    return p;
  }

  planUsed(iteration: number, version: number): void {
    this.at(iteration).planVersion = version;
  }

  computeStarted(node: string, iteration: number, at: number): void {
    const p = this.at(iteration);
    p.start = Math.min(p.start, at);
    p.computeStarted.set(node, at);
  }

  gradientReady(node: string, iteration: number, at: number): void {
    const p = this.at(iteration);
    p.compute = Math.max(p.compute, at - (p.computeStarted.get(node) ?? at));
    p.lastGradientReady = Math.max(p.lastGradientReady, at);
  }

  iterationDone(node: string, iteration: number, at: number): void {
    const p = this.at(iteration);
    if (at >= p.end) {
      p.end = at;
      p.lastWorker = node;
    }
    if (++p.done === this.workerCount) {
      p.computeStarted.clear();
      this.completed++;
    }
  }

  delivered(t: TransferRecord): void {
    if (t.from !== t.to) this.at(t.iteration).bytes += t.bytes;
    if (this.keepTransfers) this.transfers.push(t);
  }

  isIterationComplete(iteration: number): boolean {
    return (this.progress[iteration]?.done ?? 0) === this.workerCount;
  }

  iterations(): IterationRecord[] {
    return this.progress.map((p, iteration) => ({
      iteration, planVersion: p.planVersion, start: p.start, compute: p.compute,
      lastGradientReady: p.lastGradientReady, end: p.end, lastWorker: p.lastWorker, bytes: p.bytes,
    }));
  }
}
