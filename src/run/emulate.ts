/**
 * One scheduler on one scenario in emulated mode: build the namespaces and
 * links (run/link-backends.ts), start one agent process per node inside its
 * namespace (run/agent-processes.ts), replay the bandwidth traces live
 * (run/trace-replay.ts), and run the coordinator here, talking to the
 * agents over their IPC channels or, with `control: 'tcp'`, over TCP on a
 * management network (net/emu/management.ts) (sync/control.ts). A heartbeat and the
 * stall watchdog (run/watchdog.ts) turn a hung run into a clear failure.
 * Everything is torn down on every exit path.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HostCpuMonitor, ProcessCpuMonitor } from './host-load.js';
import { LinkSampler } from '../net/emu/sampler.js';
import type { EmulatedLinks } from '../net/emu/links.js';
import type { EmulationHealth, LinkFidelity } from '../results/fidelity.js';
import { WallClock } from '../net/emu/transport.js';
import { DEFAULT_STALL_S, diagnoseStall, HEARTBEAT_S, StallWatchdog } from './watchdog.js';
import { allowances, buildLinks, chooseLinkBackend, type LinkBackend } from './link-backends.js';
import { AgentProcesses } from './agent-processes.js';
import { TraceReplay, type LinkChange } from './trace-replay.js';
import type { AgentInit, AgentServer, ControlChannel, FromAgent, ToAgent } from './agent-protocol.js';
import { ManagementNetwork } from '../net/emu/management.js';
import { Coordinator } from '../sync/coordinator.js';
import type { Topology } from '../net/topology.js';
import { CoordinatorEndpoint, isControlUp, type ControlUp } from '../sync/control.js';
import { RunRecorder } from '../sync/record.js';
import { asynchronousServers, compresses, makePolicy, parameterAveraging, sparseGather, layeredCompute } from '../sync/schedulers/index.js';
import { layerShares } from '../sync/layers.js';
import type { Scenario, SchedulerConfig } from '../scenario/types.js';
import { UserError } from '../util/errors.js';
import { hasLans, longestComputeS, workerComputeS } from '../model/data-centers.js';
import { scenarioTopology, type RunSink, type SchedulerRun, type TrainingOutcome, type WorkerOutcome } from './simulate.js';
import { trainingRecord, TrainingRecord, type TrainingData } from '../train/session.js';
import type { BackendChoice } from '../train/choices.js';

export type { LinkChange };

export interface EmulatedRun extends SchedulerRun {
  linkChanges: LinkChange[];
  /** Per directed link (by id): carried against allowed while busy. */
  fidelity: LinkFidelity[];
  links: LinkBackend;
  /**
   * The longest the runner's event loop was held up during the run (ms):
   * every trace change and heartbeat waits that long at worst, so a large
   * figure means this host (or the runner) could not keep up.
   */
  loopDelayMaxMs: number;
  /** What the host gave the run from the start signal to the last iteration: its CPUs, the emulator's and the agents' CPU, the agents' timer lag. */
  health: EmulationHealth;
}

export interface EmulateOptions {
  /** Default: kernel, or native when links need delay or loss and the kernel has no netem. */
  links?: LinkBackend;
  /** The agents' control channel: their IPC channels (default), or TCP over an unshaped management network. */
  control?: ControlChannel;
  values?: boolean;
  onProgress?: (completed: number) => void;
  /** Give up after this many seconds of wall time (default: no limit). */
  timeoutS?: number;
  /** Seconds without any progress after which the run fails as stalled (default DEFAULT_STALL_S, plus the compute time). */
  stallS?: number;
  /** Native links: write each link's per-packet log (Mahimahi's format) here, as <from>-<to>.log. */
  packetLogDir?: string;
  /** results.pcap: each link's packets to <captureDir>/<from>-<to>.pcap. */
  captureDir?: string;
  /** Real training (workload.train): the run's data, prepared once; and the tfjs backend the workers use. */
  trainingData?: TrainingData;
  backend?: BackendChoice;
  /** Stream the records here as they happen (the results writer). */
  sink?: EmulationSink;
  /** Stop the run (it rejects with the signal's reason, after tearing down). */
  signal?: AbortSignal;
}

/** An emulated run's records streamed as they happen: those of every run, and each applied rate change. */
export interface EmulationSink extends RunSink {
  linkChange(change: LinkChange): void;
}

export async function emulate(scenario: Scenario, config: SchedulerConfig, options: EmulateOptions = {}): Promise<EmulatedRun> {
  const backend = await chooseLinkBackend(scenario, options.links);
  options.signal?.throwIfAborted();
  const topology = scenarioTopology(scenario);
  const net = await buildLinks(backend, scenario, topology);
  let emulation: Emulation | null = null;
  try {
    options.signal?.throwIfAborted();
    const captureDir = options.captureDir;
    if (captureDir) {
      mkdirSync(captureDir, { recursive: true });
      await net.startCaptures((id) => join(captureDir, `${scenario.links[id].from}-${scenario.links[id].to}.pcap`));
    }
    emulation = new Emulation(scenario, config, options, topology, net);
    await emulation.startAgents();
    emulation.go();
    await emulation.done;
    return await emulation.finish(backend);
  } finally {
    await (emulation ? emulation.teardown() : net.teardown());
  }
}

/**
 * One emulated run's parts, in the order they come to life: the
 * coordinator and its recorder; the management network (TCP control) and
 * the agents; at the start signal the sampler, the trace replay, the
 * heartbeat and the watchdog. `done` settles when the last iteration ends
 * or the run fails; `teardown` stops whatever was started.
 */
/** The link emulator's name among the processes whose CPU a run watches (node names are the agents'). */
const LINK_EMULATOR = '(link emulator)';

class Emulation {
  readonly done: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  private readonly clock = new WallClock();
  private readonly recorder: RunRecorder;
  private readonly coordinator: Coordinator;
  private readonly control: CoordinatorEndpoint;
  private readonly record: TrainingRecord | null;
  private readonly watchdog: StallWatchdog;
  private readonly state: AgentsState;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private readonly hostCpu = new HostCpuMonitor();
  private readonly processCpu = new ProcessCpuMonitor(() => {
    const pids = new Map(this.agents?.pids() ?? []);
    const emulator = this.net.emulatorPid();
    if (emulator !== null) pids.set(LINK_EMULATOR, emulator);
    return pids;
  });
  private readonly timers: NodeJS.Timeout[] = [];
  private management: ManagementNetwork | null = null;
  private agents: AgentProcesses | null = null;
  private sampler: LinkSampler | null = null;
  private replay: TraceReplay | null = null;
  private stopListening: (() => void) | null = null;
  /** When an agent dies its peers soon fail too (broken connections): the dead agent is the error reported. */
  private agentDied: Error | null = null;
  private failing = false;
  /** The link bins have gone to the sink up to the run's end (finish), or its failure (teardown). */
  private linkBinsDone = false;

  constructor(
    private readonly scenario: Scenario,
    private readonly config: SchedulerConfig,
    private readonly options: EmulateOptions,
    topology: Topology,
    private readonly net: EmulatedLinks,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.done.catch(() => undefined); // (awaited by emulate; a rejection before then is not unhandled)
    // an iteration's record is final once every agent has seen its end (see RunRecorder)
    this.recorder = new RunRecorder(scenario.workers.length, scenario.results.transfers, options.sink ?? null, true, hasLans(scenario.dataCenters), asynchronousServers(config, scenario) !== null, compresses(config));
    const policy = makePolicy(config, scenario);
    this.coordinator = new Coordinator(policy, () => ({
      topology, nodes: scenario.dataCenters.map((dc) => dc.name), workers: scenario.workers, dataCenters: scenario.dataCenters, arrays: scenario.workload.arrays,
      bytesPerElement: scenario.workload.bytesPerElement, now: this.clock.now(),
    }), this.recorder, this.clock, (command) => this.control.command(command));
    this.control = new CoordinatorEndpoint(this.coordinator, this.recorder, (node, m) => this.agents?.sendTo(node, m), scenario.nodes);
    this.coordinator.onIterationComplete(() => {
      options.onProgress?.(this.recorder.completed);
      if (options.sink && this.sampler) options.sink.linkBins(this.sampler.carried, Math.min(this.clock.now(), this.sampler.readUntil()));
    });
    if (scenario.workload.training && !options.trainingData) throw new Error('emulate: real training needs its data prepared (trainingData)');
    this.record = scenario.workload.training ? trainingRecord(scenario.workers, parameterAveraging(config), asynchronousServers(config, scenario) !== null) : null;
    if (options.signal) {
      const signal = options.signal;
      const onAbort = () => this.fail(signal.reason as Error, 0);
      signal.addEventListener('abort', onAbort, { once: true });
      this.stopListening = () => signal.removeEventListener('abort', onAbort);
    }
    this.watchdog = new StallWatchdog((options.stallS ?? DEFAULT_STALL_S) + longestComputeS(scenario.dataCenters, scenario.workload.computeS), scenario.links.map((l) => l.trace), () => this.clock.now());
    this.state = new AgentsState(scenario, this.clock, this.watchdog, this.record, (e) => this.fail(e));
  }

  /** Fail the run (after `delayMs`, so that a dead agent, if any, is the error reported). */
  private fail(e: Error, delayMs = 300): void {
    if (this.failing) return;
    this.failing = true;
    setTimeout(() => this.settle.reject(this.agentDied ?? e), delayMs);
  }

  /** Start every node's agent and set it up; resolves when all listen. */
  async startAgents(): Promise<void> {
    const { scenario, net } = this;
    if (this.options.control === 'tcp') this.management = await ManagementNetwork.build(net.tag, scenario.nodes, (n) => net.namespaceOf(n));
    const channels = this.management ? { kind: 'tcp' as const, host: this.management.hostAddress } : { kind: 'ipc' as const };
    const server = agentServer(scenario, this.config, this.options);
    this.agents = new AgentProcesses(scenario.nodes, (n) => net.namespaceOf(n), (node, m) => this.receive(node, m), (e, exited) => {
      if (exited) this.agentDied ??= e;
      this.fail(exited ? this.agentDied! : e);
    }, channels);
    await this.agents.start();
    await new Promise<void>((resolve, reject) => {
      this.state.onAllListening = resolve;
      this.done.catch(reject);
      for (const node of scenario.nodes) this.agents!.sendTo(node, agentInit(scenario, this.config, node, net, this.options, server));
    });
  }

  private receive(node: string, m: FromAgent): void {
    if (isControlUp(m)) {
      if (m.type === 'report' || m.type === 'delivered' || m.type === 'update') this.watchdog.message();
      if (m.type === 'delivered') this.state.messages++;
      this.control.receive(node, m);
      if (m.type === 'report' && m.method === 'iterationDone') {
        this.state.doneThrough.set(node, m.iteration);
        if (this.recorder.completed === this.scenario.iterations) this.settle.resolve();
      }
    } else if (m.type === 'iterationSeen') {
      if (this.state.seen(m.iteration)) this.recorder.release(m.iteration);
    } else {
      this.state.receive(node, m);
    }
  }

  /** Go: one epoch for every process, the trace player and the sampler; then the heartbeat. */
  go(): void {
    const { scenario, net, clock, options, timers } = this;
    const epochMs = WallClock.epochNow() + 50;
    const logDir = options.packetLogDir;
    const startLogs = net.startPacketLogs?.bind(net);
    if (logDir && startLogs) {
      mkdirSync(logDir, { recursive: true });
      const fileOf = (id: number) => join(logDir, `${scenario.links[id].from}-${scenario.links[id].to}.log`);
      timers.push(setTimeout(() => startLogs(fileOf), Math.max(0, epochMs - WallClock.epochNow())));
    }
    net.atEpoch(epochMs);
    clock.startAt(epochMs);
    this.loopDelay.enable();
    this.hostCpu.start();
    this.processCpu.start();
    this.watchdog.message(0);
    this.sampler = new LinkSampler(net.counters(), allowances(scenario, net), () => clock.now(), scenario.results.bin_s);
    this.sampler.start();
    this.replay = new TraceReplay(scenario, net, clock, epochMs, (change) => options.sink?.linkChange(change));
    this.agents!.broadcast({ type: 'start', epochMs });
    if (options.timeoutS) {
      timers.push(setTimeout(() => this.fail(new Error(`the emulated run took longer than ${options.timeoutS} s`)), options.timeoutS * 1000));
    }
    this.startHeartbeat();
  }

  /** Heartbeat and watchdog: a stopped agent, links at 0 Mbit/s or links that drop everything fail the run, saying so. */
  private startHeartbeat(): void {
    const { scenario, clock, recorder, state } = this;
    const sampler = this.sampler!, agents = this.agents!;
    let seq = 0;
    const beat = setInterval(() => {
      agents.broadcast({ type: 'ping', seq });
      seq++;
      if (this.watchdog.stalled()) {
        const diagnosis = diagnoseStall(scenario, {
          now: clock.now(), idleS: this.watchdog.idleS(), current: recorder.current().iteration, doneThrough: state.doneThrough, lastPong: state.lastPong,
          pids: agents.pids(), backlog: sampler.backlogBytes(),
        });
        this.fail(diagnosis, 0);
      }
    }, HEARTBEAT_S * 1000);
    this.timers.push(beat as unknown as NodeJS.Timeout);
    for (const node of scenario.nodes) state.lastPong.set(node, clock.now());
  }

  /** The last iteration has ended: collect the agents' outcomes and the run's records. */
  async finish(backend: LinkBackend): Promise<EmulatedRun> {
    const { scenario, recorder, state, options } = this;
    const sampler = this.sampler!;
    const host = this.hostCpu.stop();
    const processes = this.processCpu.stop();
    // the last iteration's acknowledgements (milliseconds away)
    for (const until = Date.now() + 2000; !recorder.allReleased && Date.now() < until;) await new Promise((r) => setTimeout(r, 5));
    recorder.releaseAll();
    for (const t of this.timers) clearTimeout(t);
    this.coordinator.stop();
    const endTime = this.clock.now();
    // Collect the workers' own checks, then let the agents exit.
    await this.agents!.finish();
    const refused = this.net.errors();
    if (refused.length) throw new Error(`the link backend refused: ${refused.join('; ')}`);
    const iterations = recorder.iterations();
    const end = iterations[iterations.length - 1].end ?? endTime;
    await sampler.stop(); // (no sample after the last bins are handed over)
    options.sink?.lastLinkBins(sampler.carried, end);
    this.linkBinsDone = true;
    return {
      label: this.config.label,
      scheduler: this.config.name,
      iterations,
      transfers: recorder.transfers,
      endTime: end,
      updates: recorder.updates,
      workerIterations: recorder.workerIterations,
      workers: new Map([...state.outcomes].filter(([n]) => scenario.workers.includes(n)).map(([n, o]) => [n, { checked: o.checked, mismatches: o.mismatches, finals: o.finals }])),
      stats: { recomputations: 0, flowsRated: 0, messages: state.messages, events: 0 },
      linkChanges: this.replay!.changes,
      fidelity: sampler.fidelity(),
      links: backend,
      loopDelayMaxMs: this.loopDelay.max / 1e6,
      health: {
        host,
        linkEmulator: processes.get(LINK_EMULATOR) ?? null,
        agents: scenario.nodes.map((node) => ({ node, cpu: processes.get(node) ?? null, loopLagMs: state.outcomes.get(node)?.loopLagMs ?? null })),
        runnerLoopLagMaxMs: this.loopDelay.max / 1e6,
        training: scenario.workload.training !== null,
      },
      training: this.trainingOutcome(),
    };
  }

  private trainingOutcome(): TrainingOutcome | null {
    const { record, scenario, state } = this;
    if (!record) return null;
    const due = record.agreementsDue(scenario.iterations);
    if (record.agreed < due) throw new Error(`training: only ${record.agreed} of ${due} steps were reported by every worker`);
    return {
      snapshots: record.snapshots, accuracy: [],
      workerRssMb: Object.fromEntries(scenario.workers.map((w) => [w, state.rssMb.get(w) ?? NaN])),
    };
  }

  /** Stop and remove everything this run started, on every exit path. */
  async teardown(): Promise<void> {
    this.loopDelay.disable();
    this.hostCpu.stop();
    this.processCpu.stop();
    // a run that ends early keeps its finished iterations
    this.recorder.releaseAll();
    this.stopListening?.();
    this.replay?.stop();
    for (const t of this.timers) clearTimeout(t);
    await this.sampler?.stop();
    // a run that failed or was stopped keeps what its links carried up to then, as its replay.csv rows are kept
    if (this.sampler && !this.linkBinsDone) this.options.sink?.lastLinkBins(this.sampler.carried, this.clock.now());
    this.linkBinsDone = true;
    await this.agents?.close();
    await this.management?.teardown();
    await this.net.teardown();
  }
}

/**
 * The global servers' model where the scheduler has asynchronous ones
 * (MixedSync): their nodes, and the model each starts with: synthetic, or
 * the seed's initial weights (every worker's too: the master worker's
 * initialisation) and the optimizer.
 */
function agentServer(scenario: Scenario, config: SchedulerConfig, options: EmulateOptions): { nodes: string[]; server: AgentServer } | null {
  const asynchronous = asynchronousServers(config, scenario);
  if (!asynchronous) return null;
  const training = scenario.workload.training;
  if (!training) return { nodes: asynchronous.servers, server: { values: options.values ?? false, training: null } };
  const initial = options.trainingData!.makeTrainer(null, 'server');
  try {
    return {
      nodes: asynchronous.servers,
      server: {
        values: false,
        training: {
          initial: initial.weights(), arrays: scenario.workload.arrays, modelElements: training.modelElements,
          optimizer: { optimizer: training.optimizer, dcasgdLambda: asynchronous.dcasgd?.lambda ?? null },
        },
      },
    };
  } finally {
    initial.dispose();
  }
}

/** An agent's set-up: its address book, the topology, its worker (synthetic or training), and its server model (MixedSync). */
function agentInit(
  scenario: Scenario, config: SchedulerConfig, node: string, net: EmulatedLinks, options: EmulateOptions, server: { nodes: string[]; server: AgentServer } | null,
): AgentInit {
  const index = scenario.workers.indexOf(node);
  const training = scenario.workload.training;
  return {
    server: server?.nodes.includes(node) ? server.server : null,
    type: 'init', node,
    addresses: Object.fromEntries(scenario.nodes.map((n) => [n, net.addressOf(n)])),
    topology: { nodes: scenario.nodes, links: scenario.links.map((l) => ({ from: l.from, to: l.to, delayS: l.delayS })) },
    underlay: scenario.network.underlay,
    iterations: scenario.iterations,
    layers: layeredCompute(config) ? layerShares(scenario.workload.arrays) : null,
    worker: index < 0 ? null : {
      index, count: scenario.workers.length, computeS: workerComputeS(scenario.dataCenters, node, scenario.workload.computeS), values: options.values ?? false,
      training: training ? {
        spec: training, seed: scenario.seed, shard: options.trainingData!.shards[index], arrays: scenario.workload.arrays, backend: options.backend,
        averaging: parameterAveraging(config), pullsModel: asynchronousServers(config, scenario) !== null, gathered: sparseGather(config),
      } : null,
    },
  };
}

/** What the runner keeps of the agents' messages outside the control plane: listening, heartbeat answers, outcomes, training checks. */
class AgentsState {
  messages = 0;
  readonly outcomes = new Map<string, WorkerOutcome & { rssMb: number; loopLagMs: { p99: number; max: number } }>();
  readonly rssMb = new Map<string, number>();
  readonly lastPong = new Map<string, number>();
  readonly doneThrough: Map<string, number>;
  onAllListening: () => void = () => undefined;
  private listening = 0;
  private readonly received = new Map<string, number>();
  private readonly seenBy = new Map<number, number>();

  constructor(
    private readonly scenario: Scenario,
    private readonly clock: WallClock,
    private readonly watchdog: StallWatchdog,
    private readonly record: TrainingRecord | null,
    private readonly failRun: (e: Error) => void,
  ) {
    this.doneThrough = new Map(scenario.workers.map((w) => [w, -1]));
  }

  /** One more agent saw the end of `iteration`; true once all have (its record is then final). */
  seen(iteration: number): boolean {
    const count = (this.seenBy.get(iteration) ?? 0) + 1;
    if (count < this.scenario.nodes.length) {
      this.seenBy.set(iteration, count);
      return false;
    }
    this.seenBy.delete(iteration);
    return true;
  }

  receive(node: string, m: Exclude<FromAgent, ControlUp | { type: 'iterationSeen' }>): void {
    switch (m.type) {
      case 'listening':
        if (++this.listening === this.scenario.nodes.length) this.onAllListening();
        break;
      case 'outcome':
        this.outcomes.set(node, m);
        this.rssMb.set(node, m.rssMb);
        break;
      case 'stepped':
        this.watchdog.message();
        try {
          this.record?.stepped(m.worker, m.iteration, m.checksum);
        } catch (e) {
          this.failRun(e as Error);
        }
        break;
      case 'snapshot':
        this.record?.snapshot(m.steps, m.at, m.weights);
        break;
      case 'pong':
        this.lastPong.set(node, this.clock.now());
        this.received.set(node, m.receivedBytes);
        this.watchdog.read([...this.received.values()].reduce((sum, b) => sum + b, 0));
        break;
      case 'error':
        this.failRun(new UserError(`agent ${node}: ${m.message}`, 1));
        break;
    }
  }
}
