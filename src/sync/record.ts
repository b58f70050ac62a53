/** What the agents report about a run, collected by the coordinator. */
import { dataCenterOfName } from '../model/data-centers.js';

/** up: towards the root (a contribution); down: the final value; pull: a node asking for a key (`chunk` is then the key's array index); ack: a push acknowledged (no payload). */
export type MessageKind = 'up' | 'down' | 'pull' | 'ack';

export interface TransferRecord {
  iteration: number;
  chunk: number;
  kind: MessageKind;
  from: string;
  to: string;
  bytes: number;
  enqueuedAt: number;
  sentAt: number;
  deliveredAt: number;
  /** This hop belongs to an auxiliary (multipath) route. */
  aux: boolean;
  /** A compressed message: its size uncompressed (fp32); absent: `bytes`. */
  denseBytes?: number;
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
  /** Where data centers hold several workers: bytes of messages within a data center (its LAN), and between data centers (the WAN). */
  lanBytes?: number;
  wanBytes?: number;
  /** Where the scheduler compresses: what the messages would have been uncompressed (fp32). */
  denseBytes?: number;
}

/** An update a global server applied on its own (Plan.asynchronous): one data center's contribution to one chunk. */
export interface UpdateRecord {
  /** The server's node (the chunk's tree root). */
  server: string;
  chunk: number;
  array: number;
  /** The data center whose contribution it is, and that data center's iteration. */
  dataCenter: string;
  iteration: number;
  /** The chunk's version after the update (the first update makes version 1). */
  version: number;
  /** Updates the server applied to the chunk since it last served it to this data center (in versions). */
  staleness: number;
  at: number;
}

/** One worker's iteration: from the start of its compute to holding the model for the next one. */
export interface WorkerIterationRecord {
  worker: string;
  iteration: number;
  start: number;
  end: number;
}

export interface AgentReports {
  computeStarted(node: string, iteration: number, at: number): void;
  gradientReady(node: string, iteration: number, at: number): void;
  iterationDone(node: string, iteration: number, at: number): void;
  delivered(transfer: TransferRecord): void;
  updateApplied(update: UpdateRecord): void;
}

/**
 * Transfers kept column by column in typed arrays (about 60 bytes a row),
 * so runs of millions of messages fit in memory.
 */
export class TransferLog {
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  private ints = new Int32Array(0); // iteration, chunk, from, to, flags (per row: 5)
  private times = new Float64Array(0); // bytes, enqueued, sent, delivered, dense bytes (per row: 5)
  length = 0;

  private intern(name: string): number {
    let i = this.nameIndex.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.nameIndex.set(name, i);
    }
    return i;
  }

  push(t: TransferRecord): void {
    if (this.length * 5 >= this.ints.length) {
      const capacity = Math.max(1024, this.length * 2);
      const ints = new Int32Array(capacity * 5);
      ints.set(this.ints);
      const times = new Float64Array(capacity * 5);
      times.set(this.times);
      this.ints = ints;
      this.times = times;
    }
    const i = this.length * 5, f = this.length * 5;
    this.ints[i] = t.iteration;
    this.ints[i + 1] = t.chunk;
    this.ints[i + 2] = this.intern(t.from);
    this.ints[i + 3] = this.intern(t.to);
    this.ints[i + 4] = (t.kind === 'down' ? 1 : t.kind === 'pull' ? 4 : t.kind === 'ack' ? 8 : 0) | (t.aux ? 2 : 0);
    this.times[f] = t.bytes;
    this.times[f + 1] = t.enqueuedAt;
    this.times[f + 2] = t.sentAt;
    this.times[f + 3] = t.deliveredAt;
    this.times[f + 4] = t.denseBytes ?? -1;
    this.length++;
  }

  get(row: number): TransferRecord {
    const i = row * 5, f = row * 5;
    const flags = this.ints[i + 4];
    const dense = this.times[f + 4];
    return {
      ...(dense >= 0 ? { denseBytes: dense } : {}),
      iteration: this.ints[i], chunk: this.ints[i + 1], from: this.names[this.ints[i + 2]], to: this.names[this.ints[i + 3]],
      kind: flags & 1 ? 'down' : flags & 4 ? 'pull' : flags & 8 ? 'ack' : 'up', aux: (flags & 2) !== 0,
      bytes: this.times[f], enqueuedAt: this.times[f + 1], sentAt: this.times[f + 2], deliveredAt: this.times[f + 3],
    };
  }

  *[Symbol.iterator](): Iterator<TransferRecord> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
}

/** Where finished records go as they happen (the results writer), instead of staying in memory. */
export interface RecordSink {
  /** An iteration every worker finished; iterations finish in order. */
  iteration(record: IterationRecord): void;
  /** A delivered message (only when transfers are kept). */
  transfer(record: TransferRecord): void;
  /** An update a global server applied on its own (asynchronous runs). */
  update?(record: UpdateRecord): void;
  /** A worker's iteration ended (runs that keep them: asynchronous ones, whose workers have no common iteration). */
  workerIteration?(record: WorkerIterationRecord): void;
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
  lanBytes: number;
  denseBytes: number;
}

/**
 * Accumulates agent reports into per-iteration records. With a sink, each
 * finished iteration and each transfer goes there as it happens, and only
 * the iterations still running are held; without one, everything is kept.
 *
 * `holdFinished`: a finished iteration's record waits for release() before
 * it is final (emulated runs: reports reach the runner over one channel per
 * agent, so a relay's report of a message of iteration i can arrive after
 * the last worker's "done"; the runner releases i once every agent has
 * acknowledged its end, by which time their earlier reports are in).
 */
export class RunRecorder implements AgentReports {
  readonly transfers = new TransferLog();
  /** Without a sink: the updates applied (asynchronous runs) and, where kept, each worker's iterations. */
  readonly updates: UpdateRecord[] = [];
  readonly workerIterations: WorkerIterationRecord[] = [];
  /** Updates applied so far. */
  updateCount = 0;
  private readonly progress = new Map<number, Progress>();
  private readonly finished: IterationRecord[] = [];
  /** Iterations every worker finished whose records wait for release(). */
  private held = 0;
  completed = 0;

  constructor(
    private readonly workerCount: number,
    readonly keepTransfers: boolean,
    private readonly sink: RecordSink | null = null,
    private readonly holdFinished = false,
    /** Count LAN and WAN bytes apart (where a data center has a LAN). */
    private readonly countLans = false,
    /** Record each worker's iterations (asynchronous runs). */
    private readonly perWorker = false,
    /** Count what messages would have been uncompressed (compressing schedulers). */
    private readonly countDense = false,
  ) {}

  private at(iteration: number): Progress {
    let p = this.progress.get(iteration);
    if (!p) {
      p = { planVersion: 0, start: Infinity, compute: 0, computeStarted: new Map(), lastGradientReady: -Infinity, end: -Infinity, lastWorker: '', done: 0, bytes: 0, lanBytes: 0, denseBytes: 0 };
      this.progress.set(iteration, p);
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
    if (this.perWorker) {
      const row = { worker: node, iteration, start: p.computeStarted.get(node) ?? at, end: at };
      if (this.sink) this.sink.workerIteration?.(row);
      else this.workerIterations.push(row);
    }
    if (at >= p.end) {
      p.end = at;
      p.lastWorker = node;
    }
    if (++p.done === this.workerCount) {
      p.computeStarted.clear();
      this.completed++;
      if (!this.holdFinished) this.release(iteration);
    }
  }

  /** Make the records of the finished iterations up to `iteration` final (in order), and hand them to the sink. */
  release(iteration: number): void {
    for (; this.held <= iteration && this.held < this.completed; this.held++) {
      const p = this.progress.get(this.held)!;
      const record: IterationRecord = {
        iteration: this.held, planVersion: p.planVersion, start: p.start, compute: p.compute,
        lastGradientReady: p.lastGradientReady, end: p.end, lastWorker: p.lastWorker, bytes: p.bytes,
        ...(this.countLans ? { lanBytes: p.lanBytes, wanBytes: p.bytes - p.lanBytes } : {}),
        ...(this.countDense ? { denseBytes: p.denseBytes } : {}),
      };
      this.finished.push(record);
      this.progress.delete(this.held);
      this.sink?.iteration(record);
    }
  }

  /** Release every finished iteration. */
  releaseAll(): void {
    this.release(this.completed - 1);
  }

  /** Are all finished iterations released? */
  get allReleased(): boolean {
    return this.held === this.completed;
  }

  delivered(t: TransferRecord): void {
    // a message of an iteration already released counts for nothing more
    if (t.from !== t.to) {
      const p = this.progress.get(t.iteration) ?? (t.iteration >= this.held ? this.at(t.iteration) : null);
      if (p) {
        p.bytes += t.bytes;
        p.denseBytes += t.denseBytes ?? t.bytes;
        if (this.countLans && dataCenterOfName(t.from) === dataCenterOfName(t.to)) p.lanBytes += t.bytes;
      }
    }
    if (!this.keepTransfers) return;
    if (this.sink) this.sink.transfer(t);
    else this.transfers.push(t);
  }

  updateApplied(u: UpdateRecord): void {
    this.updateCount++;
    if (this.sink) this.sink.update?.(u);
    else this.updates.push(u);
  }

  isIterationComplete(iteration: number): boolean {
    return iteration < this.completed;
  }

  /** The finished iterations, in order. */
  iterations(): IterationRecord[] {
    return this.finished;
  }

  /** The iteration the slowest worker is in (the first not finished), and the workers that have finished it. */
  current(): { iteration: number; doneWorkers: number } {
    return { iteration: this.completed, doneWorkers: this.progress.get(this.completed)?.done ?? 0 };
  }
}
