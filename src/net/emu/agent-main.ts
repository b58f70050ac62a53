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
import type { NodeTransport } from '../types.js';
import { TcpTransport, WallClock } from './transport.js';

export interface AgentInit {
  type: 'init';
  node: string;
  addresses: Record<string, string>;
  topology: { nodes: string[]; links: { from: string; to: string; delayS: number }[] };
  iterations: number;
  worker: { index: number; count: number; computeS: number; values: boolean } | null;
}

export type ToAgent =
  | AgentInit
  | { type: 'start'; epochMs: number }
  | { type: 'plan'; iteration: number; plan: Plan }
  | { type: 'command'; command: OnlineCommand }
  | { type: 'iterationComplete'; iteration: number }
  | { type: 'finish' };

export type FromAgent =
  | { type: 'listening' }
  | { type: 'requestPlan'; iteration: number }
  | { type: 'report'; method: 'computeStarted' | 'gradientReady' | 'iterationDone'; iteration: number; at: number }
  | { type: 'delivered'; transfer: Parameters<AgentControl['delivered']>[0] }
  | { type: 'measured'; measurement: Parameters<AgentControl['measured']>[0] }
  | { type: 'online'; method: 'ready' | 'final'; iteration: number; chunk: number }
  | { type: 'receivedFinal'; from: string; iteration: number; chunk: number }
  | { type: 'outcome'; checked: number; mismatches: string[]; finals: Map<number, { iteration: number; values: Float32Array | null }> }
  | { type: 'error'; message: string };

const send = (m: FromAgent) => process.send!(m);

function fail(e: unknown): void {
  send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  setTimeout(() => process.exit(1), 50);
}

let init: AgentInit | null = null;
const clock = new WallClock();
let transport: TcpTransport | null = null;
let worker: SyntheticWorker | null = null;
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
        transport.listen().then(() => send({ type: 'listening' }), fail);
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
        break;
      case 'finish':
        send({ type: 'outcome', checked: worker?.checked ?? 0, mismatches: worker?.mismatches ?? [], finals: worker?.finals ?? new Map() });
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
  if (i.worker) worker = new SyntheticWorker(clock, i.worker.computeS, i.worker.index, i.worker.values, i.worker.count);
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
