/**
 * A scheduler's policy: pure logic, no I/O. Given what the coordinator
 * knows (topology, workload, measurements), it says which plan is current;
 * an online policy also answers the agents' questions as they come.
 */
import type { ModelArray } from '../model/profiles.js';
import type { Topology } from '../net/topology.js';
import type { Plan } from './plan.js';
import type { DataCenter } from '../model/data-centers.js';

export interface PolicyContext {
  topology: Topology;
  /** The data centers' nodes. */
  nodes: string[];
  /** Every worker's node. */
  workers: string[];
  dataCenters: DataCenter[];
  arrays: ModelArray[];
  bytesPerElement: number;
  /** (No policy sees the links' true capacities: a passive scheduler knows only what it measures.) */
  now: number;
  /** The iteration the plan is asked for (absent when re-planning between iterations). */
  iteration?: number;
}

/** A receiver's measurement of the throughput from `from` (averaged over its window). */
export interface Measurement {
  from: string;
  to: string;
  mbps: number;
  at: number;
  iteration: number;
}

/** What the coordinator tells an agent to do for one chunk of one iteration. */
export interface OnlineCommand {
  node: string;
  iteration: number;
  chunk: number;
  /** up: send your buffer (partial aggregate); down: send the final value. */
  kind: 'up' | 'down';
  to: string;
  /** Two levels (Plan.online.within): within a data center, or across data centers. */
  level?: OnlineLevel;
}

/** Where an online exchange happens when it has two levels. */
export type OnlineLevel = 'within' | 'across';

/** The coordinator's side of an online scheduler (TSEngine). Each call returns the commands to hand out. */
export interface OnlineScheduler {
  /** `node` holds a buffer for (iteration, chunk) it has not sent: its own gradient, or after merging (two levels: at `level`). */
  ready(node: string, iteration: number, chunk: number, level?: OnlineLevel): OnlineCommand[];
  /** The root now holds the final value of (iteration, chunk). */
  final(node: string, iteration: number, chunk: number): OnlineCommand[];
  /** `node` received the final value from `from` (two levels: at `level`). */
  receivedFinal(node: string, from: string, iteration: number, chunk: number, level?: OnlineLevel): OnlineCommand[];
}

export interface Policy {
  /** The plan the coordinator should hand out for the next iteration that asks. */
  currentPlan(ctx: PolicyContext): Plan;
  /** Re-plan every this many seconds (absent: never). */
  checkPeriodS?: number;
  /** Called every `checkPeriodS`; the policy updates its current plan if its inputs changed. */
  replan?(ctx: PolicyContext): void;
  /** A measurement reported by an agent. */
  observe?(m: Measurement): void;
  /**
   * Hand out an iteration's plan only once every worker has asked for it
   * (NetStorm's consistency protocol: KVWorker::TopoUpdate sends
   * ROUTE_RELEASE and waits; Van::ProcessRouteReleaseCommand answers when
   * all have), and fix the plan then.
   */
  barrier?: boolean;
  online?: OnlineScheduler;
}
