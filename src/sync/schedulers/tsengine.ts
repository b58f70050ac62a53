/**
 * TSEngine (GeoMX): the coordinator schedules every chunk online. The
 * defaults follow the published code (zhouhuaman/TSEngine,
 * 3rdparty/ps-lite/src/van.cc and include/ps/kv_app.h); each idealisation
 * is an option.
 *
 * Messages: whole keys (`granularity: key`: one server, so ps-lite's slicer
 * leaves every key in one piece), or chunks of at most chunk_elements.
 *
 * Push: per chunk, a FIFO queue of nodes holding an unsent buffer, seeded
 * with the server. Whenever two are queued, pop them; the server never
 * sends; otherwise the first sends to the second if its measured throughput
 * towards it is higher, else the second sends (`tie: later-sends`,
 * Van::ProcessAsk1Command: A[a][b] > A[b][a]) or, idealised, the second
 * sends only if its throughput is strictly higher (`earlier-sends`).
 * The receiver merges and queues again. The push ends when every worker has
 * sent and the server holds all contributions.
 *
 * Pull: every node holding the final value asks for a node not yet served:
 * greedy (the highest measured throughput from it) or a random node whose
 * throughput from it is unknown. Greedy with probability (`greedy_rate`)
 * `integer-division`, as Van::ProcessAskCommand computes it: the rate
 * known / (known + unknown) in integer arithmetic is 0 until every unserved
 * node is known, then min(1, max_greedy_rate); the draw rand() % 10 <=
 * rate x 10 makes that 0.1, then 1.0 (for max_greedy_rate >= 0.9); or
 * `ratio`: min(known / (known + unknown), max_greedy_rate).
 * Measurements older than forget_after_iterations iterations are forgotten
 * (`never`: GeoMX's TSEngine, van.cc, which stores a lifetime and never
 * reads it).
 *
 * The throughput (`metric`): `inverse-seconds`, as KVWorker::AutoPullUpdate
 * measures it, (int)(1 / seconds) of each blocking send of a final value
 * (the code times it with clock(), the process's CPU seconds; geobed uses
 * the message's time from hand-over to arrival), measured on pulls only;
 * or `mbps`, every message of at least measure_threshold_mb in Mbit/s.
 * The code reseeds rand() with time(0) at every ask; geobed draws from the
 * scenario seed.
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
  forget_after_iterations: z.union([z.number().int().positive(), z.literal('never')]).default(5)
    .describe('measurements older than this many iterations are forgotten (zhouhuaman/TSEngine); never: kept for good, as TSEngine inside GeoMX does (its lifetime is stored, never read)'),
  measure_threshold_mb: z.number().nonnegative().default(4).describe('metric mbps: measure messages of at least this size'),
  granularity: z.enum(['key', 'chunk']).default('key').describe('key: one message per key, as TSEngine sends them; chunk: at most chunk_elements'),
  tie: z.enum(['later-sends', 'earlier-sends']).default('later-sends').describe('push pairing when neither throughput is higher: the later node sends (the code) or the earlier'),
  greedy_rate: z.enum(['integer-division', 'ratio']).default('integer-division').describe('pull: the code\'s greedy probability (0.1 while any node is unknown, then 1) or min(known share, max_greedy_rate)'),
  metric: z.enum(['inverse-seconds', 'mbps']).default('inverse-seconds').describe('throughput: (int)(1 / seconds) of each final-value send (the code), or Mbit/s of large messages'),
}).describe('TSEngine: online pairing for the push, dynamic dissemination for the pull');

export type TsengineOptions = Omit<z.output<typeof tsengineSpec>, 'name' | 'label'>;

export const tsengine = defineScheduler(tsengineSpec, { nodeFields: ['server'], policy: (o, run) => tsenginePolicy(o, run.seed) });

/** The probability of the greedy choice when `measured` of the `targets` unserved nodes are known. */
export function greedyProbability(rule: TsengineOptions['greedy_rate'], measured: number, targets: number, maxGreedyRate: number): number {
  if (rule === 'ratio') return Math.min(measured / targets, maxGreedyRate);
  // Van::ProcessAskCommand: double(known / (known + unknown)) in integer arithmetic, then rand() % 10 <= rate * 10
  const rate = measured === targets ? Math.min(1, maxGreedyRate) : 0;
  return Math.min(1, (Math.floor(rate * 10 + 1e-9) + 1) / 10);
}

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
    const forget = options.forget_after_iterations;
    return at >= 0 && (forget === 'never' || iteration - at <= forget) ? mbpsOf[k] : undefined;
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
      else if (b !== server && secondSends(known(a, b, iteration), known(b, a, iteration))) [sender, receiver] = [b, a];
      s.sent.add(sender);
      commands.push({ node: sender, iteration, chunk, kind: 'up', to: receiver });
    }
    return commands;
  };

  /** Does the later of a pair send? Its throughput towards the earlier against the earlier's towards it (unknown: -1, as the code's A). */
  const secondSends = (first: number | undefined, second: number | undefined): boolean => {
    const a = first ?? -1, b = second ?? -1;
    return options.tie === 'later-sends' ? !(a > b) : b > a;
  };

  /** The next node `holder` serves, or none when everyone is served. */
  const serve = (holder: string, iteration: number, chunk: number, s: ChunkState): OnlineCommand[] => {
    if (s.unserved.size === 0) return [];
    const targets = [...s.unserved];
    const measured = targets.filter((t) => known(holder, t, iteration) !== undefined);
    const unknown = targets.filter((t) => known(holder, t, iteration) === undefined);
    const greedy = greedyProbability(options.greedy_rate, measured.length, targets.length, options.max_greedy_rate);
    let target: string;
    if (measured.length > 0 && (unknown.length === 0 || rng.next() < greedy)) {
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
          chunks: chunkArrays(ctx.arrays, options.granularity === 'key' ? Infinity : options.chunk_elements, ctx.bytesPerElement).map((c) => ({ ...c, tree: -1 })),
          online: { root: server, contributors },
          measure: { thresholdBytes: options.measure_threshold_mb * 1e6, window: 1, aggregate: 'mean-rate', metric: options.metric },
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
