/**
 * What defines a scheduler: one module per scheduler exports one of these
 * (its options as a zod schema, from which the TypeScript type is inferred
 * and the scenario schema, the JSON Schema and the CLI's list derive; the
 * option fields that name nodes; checks that need the scenario's nodes;
 * and its policy). The registry (index.ts) lists them.
 */
import { z } from 'zod';
import { MIN_PERIOD_S, NODE_NAME, NODE_NAME_RULE, SAFE_NAME, SAFE_NAME_RULE } from '../../model/limits.js';
import type { Policy } from '../policy.js';
import type { DataCenter } from '../../model/data-centers.js';
import { compressionSpec, type CompressionMethod, type CompressionPlacement } from '../compression/stage.js';

/** A node's name in a scheduler's options. */
export const nodeName = z.string().regex(NODE_NAME, NODE_NAME_RULE);

/** Options every scheduler has. */
export const common = {
  label: z.string().regex(SAFE_NAME, SAFE_NAME_RULE).optional().describe('the name used in results (and in packets/ folder names); default: the scheduler name'),
  chunk_elements: z.number().int().positive().max(1e9, 'at most 1e9 (a 4 GB message)').default(1_000_000).describe('largest message, in fp32 elements'),
  compression: compressionSpec.optional(),
};

/** A period in seconds (at least 1 ms). */
export const periodS = z.number().min(MIN_PERIOD_S, `at least ${MIN_PERIOD_S} s (1 ms)`);

/** A problem with a scheduler's options found against the scenario: the field path within the options, and what is wrong. */
export interface OptionProblem {
  path: (string | number)[];
  message: string;
}

/** What a scheduler's checks and policy may know of the run. */
export interface RunFacts {
  /** The data centers' nodes (the names a scheduler's options may give). */
  nodes: string[];
  /** Every worker's node, data center by data center. */
  workers: string[];
  dataCenters: DataCenter[];
  seed: number;
  /** The workload's compute time per iteration (a run has it; a scenario's checks need not). */
  workload?: { computeS: number };
}

/**
 * Where a scheduler works when a data center holds several workers:
 * `workers`, over every worker (its plan names worker nodes and servers at
 * data centers' nodes); `data-centers`, over data centers only: each data
 * center's workers first send to its node, which takes part in the
 * scheduler's plan as the data center's one contributor and hands the
 * final values back to its workers (sync/local-stage.ts).
 */
export type SchedulerLevel = 'workers' | 'data-centers';

export interface SchedulerDefinition<Spec extends z.ZodObject = z.ZodObject> {
  /** The name in scenarios (the spec's `name` literal). */
  readonly name: string;
  /** The options, with `name: literal` and the common fields. */
  readonly spec: Spec;
  /** Option fields whose value is a node name or a list of them ('all' allowed where the spec says). */
  readonly nodeFields: readonly string[];
  /** Over workers or over data centers when data centers hold several workers (default: data-centers); it may depend on the options. */
  readonly level?: SchedulerLevel | ((options: z.output<Spec>) => SchedulerLevel);
  /** Checks that need the scenario's nodes (node names themselves are checked from nodeFields). */
  check?(options: z.output<Spec>, run: RunFacts): OptionProblem[];
  policy(options: z.output<Spec> & { label: string }, run: RunFacts): Policy;
  /**
   * How the scheduler carries `compression:` (sync/compression/stage.ts):
   * where the codecs apply, and why a method cannot be used with these
   * options (null: it can). Absent: the scheduler cannot compress at all,
   * for the reason `cannotCompress` gives.
   */
  compression?: {
    placement: CompressionPlacement;
    refuse(options: z.output<Spec>, method: CompressionMethod): string | null;
  };
  /** Why the scheduler cannot compress (when it has no `compression`). */
  cannotCompress?: string;
  /**
   * Workers that step their own optimizer every iteration and exchange
   * parameters, averaged within data centers every k1 iterations and across
   * them every k2-th time (HFA), instead of gradients summed every
   * iteration; null or absent: gradients.
   */
  averaging?(options: z.output<Spec>): Averaging | null;
  /**
   * Workers that add up gathered sparse chunks and step a sparse optimizer
   * on the indices sent only (StellaTrain: ChunkPlan.value 'gathered'),
   * with the lazy momentum its SGD takes; null or absent: not.
   */
  gathered?(options: z.output<Spec>): SparseGather | null;
  /**
   * Workers whose compute runs layer by layer (sync/layers.ts): backward
   * hands each array's gradient over as it is ready, last array first, and
   * the next forward pass of an array waits for its final value (P3).
   * Absent or false: an iteration computes as a whole.
   */
  layered?(options: z.output<Spec>): boolean;
  /**
   * Global servers that apply each data center's update on its own, with
   * the optimizer they run (MixedSync: Plan.asynchronous); the workers take
   * the model they pull. Null or absent: no asynchronous server.
   */
  asynchronous?(options: z.output<Spec>, run: Pick<RunFacts, 'dataCenters'>): AsynchronousServers | null;
}

/** The nodes of asynchronous global servers, and their optimizer: DC-ASGD, or (null) the training's. */
export interface AsynchronousServers {
  servers: string[];
  dcasgd: { lambda: number } | null;
}

/** A sparse all-gather's optimizer settings (StellaTrain's CPU optimizer). */
export interface SparseGather {
  momentum: number;
}

/** Parameter averaging's periods (HFA). */
export interface Averaging {
  k1: number;
  k2: number;
}

/** Define a scheduler; its name is read off the spec. */
export function defineScheduler<Spec extends z.ZodObject<{ name: z.ZodLiteral<string> } & z.ZodRawShape>>(
  spec: Spec,
  rest: Omit<SchedulerDefinition<Spec>, 'name' | 'spec'>,
): SchedulerDefinition<Spec> {
  return { name: spec.shape.name.value, spec, ...rest };
}
