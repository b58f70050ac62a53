/**
 * The agent process's envelope (run/agent-process.ts <-> run/emulate.ts):
 * the control plane's messages (sync/control.ts) plus what only a process
 * needs: its set-up, the start signal, the heartbeat, training checksums and
 * snapshots, its outcome, and its errors. It rides one of two channels
 * (ControlChannel): the agent process's Node IPC channel, or TCP over the
 * run's management network (net/emu/management.ts), where an agent's first
 * message says which node it is.
 */
import type { Averaging, SparseGather } from '../sync/schedulers/definition.js';
import type { LayerShares } from '../sync/layers.js';
import type { ControlDown, ControlUp } from '../sync/control.js';
import type { ModelArray } from '../model/profiles.js';
import type { Dataset } from '../train/data.js';
import type { Training } from '../scenario/types.js';
import type { BackendChoice } from '../train/choices.js';
import type { Underlay } from '../sync/agent.js';
import type { ServerOptimizer } from '../train/server-model.js';

export const CONTROL_CHANNELS = ['ipc', 'tcp'] as const;
export type ControlChannel = (typeof CONTROL_CHANNELS)[number];

export interface AgentInit {
  type: 'init';
  node: string;
  addresses: Record<string, string>;
  topology: { nodes: string[]; links: { from: string; to: string; delayS: number }[] };
  underlay: Underlay;
  /** Layered compute (P3): each array's share of an iteration's compute; null: an iteration computes as a whole. */
  layers: LayerShares | null;
  iterations: number;
  worker: { index: number; count: number; computeS: number; values: boolean; training: AgentTraining | null } | null;
  /** A global server that applies each data center's update on its own (MixedSync), or null. */
  server: AgentServer | null;
}

/** An asynchronous global server's model: synthetic (summing, in values mode), or training's (the initial weights and the optimizer). */
export interface AgentServer {
  values: boolean;
  training: { initial: Float32Array; arrays: ModelArray[]; modelElements: number; optimizer: ServerOptimizer } | null;
}

/** A training worker's set-up: the model and optimizer, its shard of the data, the exchange's arrays. */
export interface AgentTraining {
  spec: Training;
  seed: number;
  shard: Dataset;
  arrays: ModelArray[];
  backend?: BackendChoice;
  /** Parameter averaging (HFA), or null: gradients. */
  averaging: Averaging | null;
  /** MixedSync: the worker takes the model it pulls. */
  pullsModel: boolean;
  /** A sparse all-gather (StellaTrain): the worker's sparse optimizer; null: not. */
  gathered: SparseGather | null;
}

export type ToAgent =
  | ControlDown
  | AgentInit
  | { type: 'start'; epochMs: number }
  /** The runner's heartbeat: a live agent answers pong at once (a stopped or hung one does not). */
  | { type: 'ping'; seq: number }
  | { type: 'finish' };

export type FromAgent =
  | ControlUp
  /** Over TCP, an agent's first message. */
  | { type: 'hello'; node: string }
  | { type: 'listening' }
  | {
    type: 'outcome'; checked: number; mismatches: string[]; finals: Map<number, { iteration: number; values: Float32Array | null }>; rssMb: number;
    /** How late the agent's event loop ran timers from the start signal on (ms beyond the 10 ms probe): the 99th percentile and the worst. */
    loopLagMs: { p99: number; max: number };
  }
  | { type: 'stepped'; worker: number; iteration: number; checksum: string }
  | { type: 'snapshot'; steps: number; at: number; weights: Float32Array }
  /** The heartbeat's answer, with the bytes this agent has read from its TCP connections so far. */
  | { type: 'pong'; seq: number; receivedBytes: number }
  /** The agent saw the end of an iteration (so every report it sent before has reached the runner). */
  | { type: 'iterationSeen'; iteration: number }
  | { type: 'error'; message: string };
