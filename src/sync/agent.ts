/**
 * The node agent: an event-driven state machine, the same in simulated and
 * emulated runs. Per iteration and chunk: gradient ready -> contribute;
 * contribution from a child -> add it in; all contributions in -> send to
 * the parent, or, at the root, the sum is final -> send it down the
 * broadcast tree. A worker whose every chunk is final starts its next
 * iteration.
 */
import type { Clock, Delivery, NodeTransport } from '../net/types.js';
import type { ChunkPlan, Plan, Tree } from './plan.js';
import type { AgentReports } from './record.js';

export interface ChunkMessage {
  kind: 'up' | 'down';
  iteration: number;
  chunk: number;
  version: number;
  values: Float32Array | null;
}

/** The agent's side of the control plane. */
export interface AgentControl extends AgentReports {
  requestPlan(iteration: number, reply: (plan: Plan) => void): void;
  onIterationComplete(listener: (iteration: number) => void): void;
}

/** The training side of a worker. */
export interface WorkerModel {
  /** Start computing iteration `iteration`; call `done` when its gradient is ready. */
  compute(iteration: number, done: () => void): void;
  /** This worker's contribution to a chunk, or null when only sizes travel. */
  contribution(iteration: number, chunk: ChunkPlan): Float32Array | null;
  /** The final (aggregated) value of a chunk reached this worker. */
  receivedFinal(iteration: number, chunk: ChunkPlan, values: Float32Array | null): void;
}

interface IterationState {
  plan: Plan | null;
  waiting: Delivery<ChunkMessage>[];
  gradientReady: boolean;
  received: Int32Array;
  sums: (Float32Array | null)[];
  final: Uint8Array;
  finals: number;
}

export class NodeAgent {
  private readonly states = new Map<number, IterationState>();

  constructor(
    readonly node: string,
    private readonly worker: WorkerModel | null,
    private readonly iterations: number,
    private readonly transport: NodeTransport<ChunkMessage>,
    private readonly clock: Clock,
    private readonly control: AgentControl,
  ) {}

  start(): void {
    this.transport.onMessage((d) => this.onMessage(d));
    this.control.onIterationComplete((i) => this.states.delete(i - 1));
    if (this.worker) this.beginIteration(0);
  }

  private beginIteration(iteration: number): void {
    this.control.computeStarted(this.node, iteration, this.clock.now());
    const state = this.state(iteration);
    this.worker!.compute(iteration, () => {
      this.control.gradientReady(this.node, iteration, this.clock.now());
      state.gradientReady = true;
      if (state.plan) this.contributeLocal(iteration, state);
    });
  }

  private state(iteration: number): IterationState {
    let state = this.states.get(iteration);
    if (!state) {
      const created: IterationState = {
        plan: null, waiting: [], gradientReady: false,
        received: new Int32Array(0), sums: [], final: new Uint8Array(0), finals: 0,
      };
      state = created;
      this.states.set(iteration, created);
      this.control.requestPlan(iteration, (plan) => this.onPlan(iteration, created, plan));
    }
    return state;
  }

  private onPlan(iteration: number, state: IterationState, plan: Plan): void {
    const n = plan.chunks.length;
    state.plan = plan;
    state.received = new Int32Array(n);
    state.sums = new Array(n).fill(null);
    state.final = new Uint8Array(n);
    if (state.gradientReady) this.contributeLocal(iteration, state);
    const waiting = state.waiting;
    state.waiting = [];
    for (const d of waiting) this.handle(state, d);
  }

  private contributeLocal(iteration: number, state: IterationState): void {
    for (const chunk of state.plan!.chunks) {
      this.addContribution(iteration, state, chunk, this.worker!.contribution(iteration, chunk));
    }
  }

  private onMessage(d: Delivery<ChunkMessage>): void {
    const m = d.body;
    this.control.delivered({
      iteration: m.iteration, chunk: m.chunk, kind: m.kind, from: d.from, to: d.to, bytes: d.bytes,
      enqueuedAt: d.enqueuedAt, sentAt: d.sentAt, deliveredAt: d.deliveredAt,
    });
    const state = this.state(m.iteration);
    if (!state.plan) state.waiting.push(d);
    else this.handle(state, d);
  }

  private handle(state: IterationState, d: Delivery<ChunkMessage>): void {
    const m = d.body;
    const plan = state.plan!;
    if (m.version !== plan.version) {
      throw new Error(`${this.node}: iteration ${m.iteration} got a message of plan ${m.version} but runs plan ${plan.version}`);
    }
    const chunk = plan.chunks[m.chunk];
    if (m.kind === 'up') this.addContribution(m.iteration, state, chunk, m.values);
    else this.onFinal(m.iteration, state, chunk, m.values);
  }

  private addContribution(iteration: number, state: IterationState, chunk: ChunkPlan, values: Float32Array | null): void {
    const tree = state.plan!.trees[chunk.tree];
    const id = chunk.id;
    state.received[id]++;
    if (values) {
      const sum = state.sums[id];
      if (!sum) state.sums[id] = Float32Array.from(values);
      else for (let k = 0; k < sum.length; k++) sum[k] += values[k];
    }
    const expected = (this.worker ? 1 : 0) + (tree.upChildren.get(this.node) ?? 0);
    if (state.received[id] < expected) return;
    const sum = state.sums[id];
    state.sums[id] = null;
    if (tree.root === this.node) {
      this.onFinal(iteration, state, chunk, sum);
    } else {
      this.send(tree.parent.get(this.node)!, 'up', iteration, state.plan!, chunk, sum);
    }
  }

  private onFinal(iteration: number, state: IterationState, chunk: ChunkPlan, values: Float32Array | null): void {
    const tree: Tree = state.plan!.trees[chunk.tree];
    for (const child of tree.children.get(this.node) ?? []) this.send(child, 'down', iteration, state.plan!, chunk, values);
    if (!this.worker) return;
    state.final[chunk.id] = 1;
    this.worker.receivedFinal(iteration, chunk, values);
    if (++state.finals === state.plan!.chunks.length) {
      const now = this.clock.now();
      this.control.iterationDone(this.node, iteration, now);
      if (iteration + 1 < this.iterations) this.beginIteration(iteration + 1);
    }
  }

  private send(to: string, kind: 'up' | 'down', iteration: number, plan: Plan, chunk: ChunkPlan, values: Float32Array | null): void {
    this.transport.send(to, chunk.bytes, { kind, iteration, chunk: chunk.id, version: plan.version, values });
  }
}
