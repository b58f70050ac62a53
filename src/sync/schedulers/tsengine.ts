/**
 * TSEngine (GeoMX): the coordinator schedules every chunk online.
 *
 * Push: per chunk, a FIFO queue of nodes holding an unsent buffer, seeded
 * with the server. Whenever two are queued, pop them; the one with the
 * higher measured throughput towards the other sends to it (unknown counts
 * as 0; on a tie the one that waited longer sends; the server never sends).
 * The receiver merges and queues again. The push ends when every worker has
 * sent and the server holds all contributions.
 *
 * Pull: every node holding the final value asks for a node not yet served:
 * greedy (the highest measured throughput from it) with probability
 * min(known / (known + unknown), max_greedy_rate), else a random node whose
 * throughput from it is unknown. Measurements older than
 * forget_after_iterations iterations are forgotten. Seeded randomness.
 */
import { z } from 'zod';
import { Rng } from '../../util/rng.js';
import { chunkArrays, type Plan } from '../plan.js';
import type { Measurement, OnlineCommand, Policy } from '../policy.js';
import { common, defineScheduler, nodeName } from './definition.js';

export const tsengineSpec = z.strictObject({
  name: z.literal('tsengine'),
  ...common,
  server: nodeName.optional().describe('where the aggregate completes; default: the first node'),
  max_greedy_rate: z.number().min(0).max(1).default(0.9).describe('dissemination: at most this probability of the greedy choice'),
  forget_after_iterations: z.number().int().positive().default(5).describe('measurements older than this are forgotten'),
  measure_threshold_mb: z.number().nonnegative().default(4).describe('measure messages of at least this size'),
}).describe('TSEngine: online pairing for the push, dynamic dissemination for the pull');

export type TsengineOptions = Omit<z.output<typeof tsengineSpec>, 'name' | 'label'>;

export const tsengine = defineScheduler(tsengineSpec, { nodeFields: ['server'], policy: (o, run) => tsenginePolicy(o, run.seed) });

interface ChunkState {
  queue: string[];
  sent: Set<string>;
  /** Workers nobody has been told to send the final value to yet. */
  unserved: Set<string>;
  /** Deliveries of the final value still to come. */
  toDeliver: number;
}

export function tsenginePolicy(options: TsengineOptions, seed: number): Policy {
  const rng = new Rng(seed, 'tsengine');
  // Latest measurement per ordered node pair, as flat N x N arrays (this is the hot path at scale).
  let index = new Map<string, number>();
  let n = 0;
  let mbpsOf = new Float64Array(0);
  let iterationOf = new Int32Array(0);
  const states = new Map<string, ChunkState>();
  let plan: Plan | null = null;
  let server = '';
  let workers: string[] = [];

  const known = (from: string, to: string, iteration: number): number | undefined => {
    const k = index.get(from)! * n + index.get(to)!;
    const at = iterationOf[k];
    return at >= 0 && iteration - at <= options.forget_after_iterations ? mbpsOf[k] : undefined;
  };

  const stateOf = (iteration: number, chunk: number): ChunkState => {
    const key = `${iteration}:${chunk}`;
    let s = states.get(key);
    if (!s) {
      const unserved = new Set(workers.filter((w) => w !== server));
      s = { queue: [server], sent: new Set(), unserved, toDeliver: unserved.size };
      states.set(key, s);
    }
    return s;
  };

  const pair = (iteration: number, chunk: number, s: ChunkState): OnlineCommand[] => {
    const commands: OnlineCommand[] = [];
    while (s.queue.length >= 2) {
      const a = s.queue.shift()!;
      const b = s.queue.shift()!;
      let sender = a, receiver = b;
      if (a === server) [sender, receiver] = [b, a];
      else if (b !== server && (known(b, a, iteration) ?? 0) > (known(a, b, iteration) ?? 0)) [sender, receiver] = [b, a];
      s.sent.add(sender);
      commands.push({ node: sender, iteration, chunk, kind: 'up', to: receiver });
    }
    return commands;
  };

  /** The next node `holder` serves, or none when everyone is served. */
  const serve = (holder: string, iteration: number, chunk: number, s: ChunkState): OnlineCommand[] => {
    if (s.unserved.size === 0) return [];
    const targets = [...s.unserved];
    const measured = targets.filter((t) => known(holder, t, iteration) !== undefined);
    const unknown = targets.filter((t) => known(holder, t, iteration) === undefined);
    const greedyRate = Math.min(measured.length / targets.length, options.max_greedy_rate);
    let target: string;
    if (measured.length > 0 && (unknown.length === 0 || rng.next() < greedyRate)) {
      target = measured.reduce((best, t) => (known(holder, t, iteration)! > known(holder, best, iteration)! ? t : best));
    } else {
      target = unknown[rng.int(unknown.length)];
    }
    s.unserved.delete(target);
    return [{ node: holder, iteration, chunk, kind: 'down', to: target }];
  };

  return {
    currentPlan(ctx) {
      if (!plan) {
        server = options.server ?? ctx.nodes[0];
        workers = ctx.workers;
        n = ctx.nodes.length;
        index = new Map(ctx.nodes.map((node, i) => [node, i]));
        mbpsOf = new Float64Array(n * n);
        iterationOf = new Int32Array(n * n).fill(-1);
        const contributors = workers.length;
        plan = {
          version: 1, trees: [],
          chunks: chunkArrays(ctx.arrays, options.chunk_elements, ctx.bytesPerElement).map((c) => ({ ...c, tree: -1 })),
          online: { root: server, contributors },
          measure: { thresholdBytes: options.measure_threshold_mb * 1e6, window: 1 },
        };
      }
      return plan;
    },
    observe(m: Measurement) {
      const k = index.get(m.from)! * n + index.get(m.to)!;
      mbpsOf[k] = m.mbps;
      iterationOf[k] = m.iteration;
    },
    online: {
      ready(node, iteration, chunk) {
        const s = stateOf(iteration, chunk);
        if (s.sent.has(node) || s.queue.includes(node)) return [];
        s.queue.push(node);
        return pair(iteration, chunk, s);
      },
      final(node, iteration, chunk) {
        return serve(node, iteration, chunk, stateOf(iteration, chunk));
      },
      receivedFinal(node, from, iteration, chunk) {
        const s = stateOf(iteration, chunk);
        const commands = [...serve(from, iteration, chunk, s), ...serve(node, iteration, chunk, s)];
        if (--s.toDeliver === 0) states.delete(`${iteration}:${chunk}`);
        return commands;
      },
    },
  };
}
