/**
 * One node's agent process in an emulated run, started inside the node's
 * namespace (`ip netns exec`). The data plane is TCP (TcpTransport); the
 * control plane is this process's IPC channel to the runner, never the
 * shaped WAN. The agent itself is the same NodeAgent the simulator runs.
 */
import { Topology } from '../topology.js';
import { NodeAgent, type AgentControl, type ChunkMessage } from '../../sync/agent.js';
import type { Plan } from '../../sync/plan.js';
import type { OnlineCommand } from '../../sync/policy.js';
import { SyntheticWorker } from '../../train/synthetic.js';
import { ExchangeLayout, TrainingWorker } from '../../train/worker.js';
import type { WorkerModel } from '../../sync/agent.js';
import type { ModelArray } from '../../model/profiles.js';
import type { Dataset } from '../../train/data.js';
import type { Training } from '../../scenario/types.js';
import type { BackendChoice } from '../../train/choices.js';
import type { NodeTransport } from '../types.js';
import { TcpTransport, WallClock } from './transport.js';

export interface AgentInit {
  type: 'init';
  node: string;
  addresses: Record<string, string>;
  topology: { nodes: string[]; links: { from: string; to: string; delayS: number }[] };
  iterations: number;
  worker: { index: number; count: number; computeS: number; values: boolean; training: AgentTraining | null } | null;
}

/** A training worker's set-up: the model and optimizer, its shard of the data, the exchange's arrays. */
export interface AgentTraining {
  spec: Training;
  seed: number;
  shard: Dataset;
  arrays: ModelArray[];
  backend?: BackendChoice;
}

export type ToAgent =
  | AgentInit
  | { type: 'start'; epochMs: number }
  | { type: 'plan'; iteration: number; plan: Plan }
  | { type: 'command'; command: OnlineCommand }
  | { type: 'iterationComplete'; iteration: number }
  /** The runner's heartbeat: a live agent answers pong at once (a stopped or hung one does not). */
  | { type: 'ping'; seq: number }
  | { type: 'finish' };

export type FromAgent =
  | { type: 'listening' }
  | { type: 'requestPlan'; iteration: number }
  | { type: 'report'; method: 'computeStarted' | 'gradientReady' | 'iterationDone'; iteration: number; at: number }
  | { type: 'delivered'; transfer: Parameters<AgentControl['delivered']>[0] }
  | { type: 'measured'; measurement: Parameters<AgentControl['measured']>[0] }
  | { type: 'online'; method: 'ready' | 'final'; iteration: number; chunk: number }
  | { type: 'receivedFinal'; from: string; iteration: number; chunk: number }
  | { type: 'outcome'; checked: number; mismatches: string[]; finals: Map<number, { iteration: number; values: Float32Array | null }>; rssMb: number }
  | { type: 'stepped'; worker: number; iteration: number; checksum: string }
  | { type: 'snapshot'; steps: number; at: number; weights: Float32Array }
  /** The heartbeat's answer, with the bytes this agent has read from its TCP connections so far. */
  | { type: 'pong'; seq: number; receivedBytes: number }
  /** The agent saw the end of an iteration (so every report it sent before has reached the runner). */
  | { type: 'iterationSeen'; iteration: number }
  | { type: 'error'; message: string };

const send = (m: FromAgent) => process.send!(m);

function fail(e: unknown): void {
  send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  setTimeout(() => process.exit(1), 50);
}

let init: AgentInit | null = null;
const clock = new WallClock();
let transport: TcpTransport | null = null;
let worker: WorkerModel | null = null;
let synthetic: SyntheticWorker | null = null;
let peakRss = 0;
const planReplies = new Map<number, (plan: Plan) => void>();
const completeListeners: ((iteration: number) => void)[] = [];
let commandHandler: (c: OnlineCommand) => void = () => undefined;

process.on('disconnect', () => process.exit(0)); // the runner is gone
process.on('uncaughtException', fail);

process.on('message', (raw) => {
  const m = raw as ToAgent;
  try {
    switch (m.type) {
      case 'init': {
        init = m;
        transport = new TcpTransport(m.node, m.addresses[m.node], (n) => m.addresses[n], clock, fail);
        // a training worker starts its model first (tfjs, the backend, its shard), then says it listens
        Promise.all([transport.listen(), m.worker?.training ? startTraining(m.worker, m.worker.training, m.iterations) : null])
          .then(() => send({ type: 'listening' }), fail);
        break;
      }
      case 'start':
        start(m.epochMs);
        break;
      case 'plan':
        planReplies.get(m.iteration)?.(m.plan);
        planReplies.delete(m.iteration);
        break;
      case 'command':
        commandHandler(m.command);
        break;
      case 'iterationComplete':
        for (const l of completeListeners) l(m.iteration);
        send({ type: 'iterationSeen', iteration: m.iteration });
        break;
      case 'ping':
        send({ type: 'pong', seq: m.seq, receivedBytes: transport?.receivedBytes ?? 0 });
        break;
      case 'finish':
        send({
          type: 'outcome', checked: synthetic?.checked ?? 0, mismatches: synthetic?.mismatches ?? [], finals: synthetic?.finals ?? new Map(),
          rssMb: Math.round(Math.max(peakRss, process.memoryUsage().rss) / 1e6),
        });
        transport?.close();
        setTimeout(() => process.exit(0), 20);
        break;
    }
  } catch (e) {
    fail(e);
  }
});

function start(epochMs: number): void {
  const i = init!;
  clock.startAt(epochMs);
  const topology = Topology.fromSpecs(i.topology.nodes, i.topology.links);
  if (i.worker && !i.worker.training) worker = synthetic = new SyntheticWorker(clock, i.worker.computeS, i.worker.index, i.worker.values, i.worker.count);
  const control: AgentControl = {
    requestPlan: (iteration, reply) => {
      planReplies.set(iteration, reply);
      send({ type: 'requestPlan', iteration });
    },
    onIterationComplete: (listener) => completeListeners.push(listener),
    computeStarted: (_n, iteration, at) => send({ type: 'report', method: 'computeStarted', iteration, at }),
    gradientReady: (_n, iteration, at) => send({ type: 'report', method: 'gradientReady', iteration, at }),
    iterationDone: (_n, iteration, at) => send({ type: 'report', method: 'iterationDone', iteration, at }),
    delivered: (transfer) => send({ type: 'delivered', transfer }),
    measured: (measurement) => send({ type: 'measured', measurement }),
    ready: (_n, iteration, chunk) => send({ type: 'online', method: 'ready', iteration, chunk }),
    final: (_n, iteration, chunk) => send({ type: 'online', method: 'final', iteration, chunk }),
    receivedFinal: (_n, from, iteration, chunk) => send({ type: 'receivedFinal', from, iteration, chunk }),
    onCommand: (handler) => {
      commandHandler = handler;
    },
  };
  const agent = new NodeAgent(i.node, worker, i.iterations, transport as NodeTransport<ChunkMessage>, clock, control, topology);
  agent.start();
}

/** Load tfjs and the model; the worker trains for real, its compute time the real time of each step. */
async function startTraining(w: NonNullable<AgentInit['worker']>, t: AgentTraining, iterations: number): Promise<void> {
  const { initBackend } = await import('../../train/backend.js');
  const { trainerFor } = await import('../../train/trainer.js');
  await initBackend(t.backend);
  const trainer = trainerFor(t.spec, t.seed, t.shard, `worker ${w.index}`);
  worker = new TrainingWorker(clock, trainer, new ExchangeLayout(t.arrays, t.spec.modelElements), {
    index: w.index, count: w.count, iterations, evalEvery: t.spec.evalEvery, computeS: null,
  }, {
    stepped: (index, iteration, checksum) => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      send({ type: 'stepped', worker: index, iteration, checksum });
    },
    snapshot: (steps, at, weights) => send({ type: 'snapshot', steps, at, weights }),
  });
}
