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
import type { Measurement, OnlineCommand, OnlineLevel, Policy } from '../policy.js';
import { dataCenterOfName } from '../../model/data-centers.js';
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
  levels: z.union([z.literal(1), z.literal(2)]).default(1)
    .describe('where data centers hold several workers: 1, TSEngine across data centers after a plain local stage; 2, GeoMX\'s two instances, one within each data center (its workers, its node the server) and one across (the data centers\' nodes)'),
}).describe('TSEngine: online pairing for the push, dynamic dissemination for the pull');

export type TsengineOptions = Omit<z.output<typeof tsengineSpec>, 'name' | 'label'>;

export const tsengine = defineScheduler(tsengineSpec, {
  nodeFields: ['server'],
  // two levels: it schedules inside data centers itself; one: over data centers, after a plain local stage
  level: (o) => (o.levels === 2 ? 'workers' : 'data-centers'),
  cannotCompress: 'its messages are merged and passed on as the coordinator commands, and its pull overlay carries dense values only (GeoMX: the TSEngine pull, kvstore_dist_server.h DefaultAutoPull, refuses compressed requests)',
  policy: (o, run) => tsenginePolicy(o, run.seed),
});

/** The probability of the greedy choice when `measured` of the `targets` unserved nodes are known. */
export function greedyProbability(rule: TsengineOptions['greedy_rate'], measured: number, targets: number, maxGreedyRate: number): number {
  if (rule === 'ratio') return Math.min(measured / targets, maxGreedyRate);
  // Van::ProcessAskCommand: double(known / (known + unknown)) in integer arithmetic, then rand() % 10 <= rate * 10
  const rate = measured === targets ? Math.min(1, maxGreedyRate) : 0;
  return Math.min(1, (Math.floor(rate * 10 + 1e-9) + 1) / 10);
}

interface ChunkState {
  /** The instance's server (it never sends). */
  server: string;
  queue: string[];
  sent: Set<string>;
  /** Nodes nobody has been told to send the final value to yet. */
  unserved: Set<string>;
  /** Deliveries of the final value still to come. */
  toDeliver: number;
}

/**
 * One TSEngine instance: its server and the nodes it serves. One level:
 * one instance over every worker (or every data center). Two levels
 * (GeoMX): one across data centers (the global server and the data
 * centers' nodes, each its data center's local server) and one within
 * each data center of several workers (its workers, its node the server),
 * each with its own arbiter, as ENABLE_INTER_TS and ENABLE_INTRA_TS run
 * them (van.cc ProcessAskPushGlobalCommand / ProcessAskPushCommand, each
 * scheduler seeded with its own server).
 */
interface Instance {
  server: string;
  members: string[];
  /** The level its commands carry (two levels only). */
  level?: OnlineLevel;
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
  const instances = new Map<string, Instance>();

  const known = (from: string, to: string, iteration: number): number | undefined => {
    const k = index.get(from)! * n + index.get(to)!;
    const at = iterationOf[k];
    const forget = options.forget_after_iterations;
    return at >= 0 && (forget === 'never' || iteration - at <= forget) ? mbpsOf[k] : undefined;
  };

  /** The instance a node's buffer or final value belongs to at `level`. */
  const instanceKey = (node: string, level: OnlineLevel | undefined): string => (level === 'within' ? `within ${dataCenterOfName(node)}` : 'across');

  const stateOf = (iteration: number, chunk: number, key: string): ChunkState => {
    const id = `${iteration}:${chunk}:${key}`;
    let s = states.get(id);
    if (!s) {
      const { server, members } = instances.get(key)!;
      const unserved = new Set(members.filter((w) => w !== server));
      s = { server, queue: [server], sent: new Set(), unserved, toDeliver: unserved.size };
      states.set(id, s);
    }
    return s;
  };

  const pair = (iteration: number, chunk: number, s: ChunkState, level: OnlineLevel | undefined): OnlineCommand[] => {
    const commands: OnlineCommand[] = [];
    while (s.queue.length >= 2) {
      const a = s.queue.shift()!;
      const b = s.queue.shift()!;
      let sender = a, receiver = b;
      if (a === s.server) [sender, receiver] = [b, a];
      else if (b !== s.server && secondSends(known(a, b, iteration), known(b, a, iteration))) [sender, receiver] = [b, a];
      s.sent.add(sender);
      commands.push({ node: sender, iteration, chunk, kind: 'up', to: receiver, ...(level ? { level } : {}) });
    }
    return commands;
  };

  /** Does the later of a pair send? Its throughput towards the earlier against the earlier's towards it (unknown: -1, as the code's A). */
  const secondSends = (first: number | undefined, second: number | undefined): boolean => {
    const a = first ?? -1, b = second ?? -1;
    return options.tie === 'later-sends' ? !(a > b) : b > a;
  };

  /** The next node `holder` serves in an instance, or none when everyone there is served. */
  const serve = (holder: string, iteration: number, chunk: number, s: ChunkState, level: OnlineLevel | undefined): OnlineCommand[] => {
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
    return [{ node: holder, iteration, chunk, kind: 'down', to: target, ...(level ? { level } : {}) }];
  };

  /** A data center's node that now holds the final value serves its own workers too (two levels). */
  const serveWithin = (node: string, iteration: number, chunk: number): OnlineCommand[] => {
    const key = `within ${node}`;
    return instances.has(key) ? serve(node, iteration, chunk, stateOf(iteration, chunk, key), 'within') : [];
  };

  return {
    currentPlan(ctx) {
      if (!plan) {
        const server = options.server ?? ctx.nodes[0];
        const names = [...ctx.nodes, ...ctx.workers.filter((w) => !ctx.nodes.includes(w))];
        n = names.length;
        index = new Map(names.map((node, i) => [node, i]));
        mbpsOf = new Float64Array(n * n);
        iterationOf = new Int32Array(n * n).fill(-1);
        const within = new Map<string, number>();
        if (options.levels === 2) {
          for (const dc of ctx.dataCenters) {
            if (dc.workers.length < 2) continue;
            within.set(dc.name, dc.workers.length);
            instances.set(`within ${dc.name}`, { server: dc.name, members: dc.workers, level: 'within' });
          }
        }
        const twoLevels = within.size > 0;
        instances.set('across', {
          server,
          members: twoLevels ? ctx.dataCenters.filter((dc) => dc.workers.length > 0).map((dc) => dc.name) : ctx.workers,
          ...(twoLevels ? { level: 'across' as const } : {}),
        });
        plan = {
          version: 1, trees: [],
          chunks: chunkArrays(ctx.arrays, options.granularity === 'key' ? Infinity : options.chunk_elements, ctx.bytesPerElement).map((c) => ({ ...c, tree: -1 })),
          online: { root: server, contributors: ctx.workers.length, ...(twoLevels ? { within } : {}) },
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
      ready(node, iteration, chunk, level) {
        const key = instanceKey(node, level);
        const s = stateOf(iteration, chunk, key);
        if (s.sent.has(node) || s.queue.includes(node)) return [];
        s.queue.push(node);
        return pair(iteration, chunk, s, instances.get(key)!.level);
      },
      final(node, iteration, chunk) {
        return [...serve(node, iteration, chunk, stateOf(iteration, chunk, 'across'), instances.get('across')!.level), ...serveWithin(node, iteration, chunk)];
      },
      receivedFinal(node, from, iteration, chunk, level) {
        const key = instanceKey(node, level);
        const s = stateOf(iteration, chunk, key);
        const at = instances.get(key)!.level;
        const commands = [...serve(from, iteration, chunk, s, at), ...serve(node, iteration, chunk, s, at)];
        if (level === 'across') commands.push(...serveWithin(node, iteration, chunk));
        if (--s.toDeliver === 0) states.delete(`${iteration}:${chunk}:${key}`);
        return commands;
      },
    },
  };
}
