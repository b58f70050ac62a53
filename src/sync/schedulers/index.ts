/**
 * The registry: every scheduler geobed knows. Adding one is a module
 * exporting a SchedulerDefinition and a line here (docs/extending.md); the
 * scenario schema, the JSON Schema and the CLI's list follow from it.
 */
import { z } from 'zod';
import { hasLans } from '../../model/data-centers.js';
import { withLocalStage } from '../local-stage.js';
import { compressionMethod, withCompression } from '../compression/stage.js';
import type { Policy } from '../policy.js';
import type { AsynchronousServers, Averaging, RunFacts, SchedulerDefinition, SparseGather } from './definition.js';
import { star } from './star.js';
import { mlnet } from './mlnet.js';
import { tsengine } from './tsengine.js';
import { ring } from './ring.js';
import { netstorm } from './netstorm.js';
import { hips } from './hips.js';
import { stellatrain } from './stellatrain.js';

const DEFINITIONS = [star, mlnet, tsengine, ring, netstorm, hips, stellatrain] as const;

export const SCHEDULERS: readonly SchedulerDefinition[] = DEFINITIONS as readonly SchedulerDefinition[];

export const SCHEDULER_NAMES = SCHEDULERS.map((s) => s.name);

type Specs<T extends readonly { spec: unknown }[]> = { [K in keyof T]: T[K]['spec'] };

/** A scheduler in a scenario: its name, or { name, ...options }. */
export const schedulerSpec = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  z.discriminatedUnion('name', DEFINITIONS.map((d) => d.spec) as unknown as Specs<typeof DEFINITIONS>),
);

export type SchedulerSpec = z.output<typeof schedulerSpec>;
/** A scheduler as a run uses it: its options and the label it has in the results. */
export type SchedulerConfig = SchedulerSpec & { label: string };

export function schedulerDefinition(name: string): SchedulerDefinition | undefined {
  return SCHEDULERS.find((s) => s.name === name);
}

/** The schedulers that have option `field` (to say where a field given to another one belongs). */
export function schedulersWithOption(field: string): string[] {
  return SCHEDULERS.filter((s) => field !== 'name' && field in s.spec.shape).map((s) => s.name);
}

/** Whether the scheduler's workers average parameters (HFA), and how often; null: they exchange gradients. */
export function parameterAveraging(config: SchedulerConfig): Averaging | null {
  return schedulerDefinition(config.name)!.averaging?.(config as never) ?? null;
}

/** Whether the scheduler's workers compute layer by layer (P3). */
export function layeredCompute(config: SchedulerConfig): boolean {
  return schedulerDefinition(config.name)!.layered?.(config as never) ?? false;
}

/** Whether the scheduler's workers add up gathered sparse chunks and step a sparse optimizer (StellaTrain), and its settings; null: not. */
export function sparseGather(config: SchedulerConfig): SparseGather | null {
  return schedulerDefinition(config.name)!.gathered?.(config as never) ?? null;
}

/** Whether the scheduler's global servers apply each data center's update on its own (MixedSync), where, and with what; null: not. */
export function asynchronousServers(config: SchedulerConfig, run: Pick<RunFacts, 'dataCenters'>): AsynchronousServers | null {
  return schedulerDefinition(config.name)!.asynchronous?.(config as never, run) ?? null;
}

/** The scheduler's policy; over data centers (a local stage in each data center with several workers) where it works at that level. */
export function makePolicy(config: SchedulerConfig, run: RunFacts): Policy {
  const definition = schedulerDefinition(config.name)!;
  const policy = definition.policy(config as never, run);
  const level = typeof definition.level === 'function' ? definition.level(config as never) : definition.level ?? 'data-centers';
  const staged = level === 'data-centers' && hasLans(run.dataCenters) ? withLocalStage(policy, run.dataCenters) : policy;
  if (!config.compression || definition.compression!.placement === 'own') return staged;
  return withCompression(staged, config.compression, definition.compression!.placement, {
    workers: new Set(run.workers),
    dataCenters: run.dataCenters.filter((dc) => dc.workers.length > 0).length,
  });
}

/** Whether the scheduler's messages are compressed (its `compression:`, or a scheduler that always compresses: StellaTrain). */
export function compresses(config: SchedulerSpec): boolean {
  return config.compression !== undefined || schedulerDefinition(config.name)!.compression?.placement === 'own';
}

/** Why the scheduler cannot carry its `compression:` with its options; null: it can (or it has none). */
export function compressionRefusal(config: SchedulerSpec): string | null {
  if (!config.compression) return null;
  const definition = schedulerDefinition(config.name)!;
  const method = compressionMethod(config.compression);
  if (!definition.compression) return `${config.name} cannot compress: ${definition.cannotCompress ?? 'it has no compression stage'}`;
  return definition.compression.refuse(config as never, method);
}
