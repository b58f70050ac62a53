/**
 * A scheduler's policy: pure logic, no I/O. Given what the coordinator
 * knows, it says which plan is current. Later policies also take
 * measurements and answer online questions.
 */
import type { ModelArray } from '../train/profiles.js';
import type { Topology } from '../net/topology.js';
import type { Plan } from './plan.js';

export interface PolicyContext {
  topology: Topology;
  nodes: string[];
  workers: string[];
  arrays: ModelArray[];
  bytesPerElement: number;
  now: number;
}

export interface Policy {
  /** The plan the coordinator should hand out for the next iteration that asks. */
  currentPlan(ctx: PolicyContext): Plan;
}
