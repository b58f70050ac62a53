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
import { HostCpuMonitor } from './host-load.js';
import { LinkSampler } from '../net/emu/sampler.js';
import type { EmulatedLinks } from '../net/emu/links.js';
import type { HostCpu, LinkFidelity } from '../results/fidelity.js';
import { WallClock } from '../net/emu/transport.js';
import { DEFAULT_STALL_S, diagnoseStall, HEARTBEAT_S, StallWatchdog } from './watchdog.js';
import { buildLinks, chooseLinkBackend, type LinkBackend } from './link-backends.js';
import { AgentProcesses } from './agent-processes.js';
import { TraceReplay, type RateChange } from './trace-replay.js';
import type { AgentInit, ControlChannel, FromAgent, ToAgent } from './agent-protocol.js';
import { ManagementNetwork } from '../net/emu/management.js';
import { Coordinator } from '../sync/coordinator.js';
import { CoordinatorEndpoint, isControlUp, type ControlUp } from '../sync/control.js';
import { RunRecorder } from '../sync/record.js';
import { makePolicy } from '../sync/schedulers/index.js';
import type { Scenario, SchedulerConfig } from '../scenario/types.js';
import { UserError } from '../util/errors.js';
import { scenarioTopology, type RunSink, type SchedulerRun, type TrainingOutcome, type WorkerOutcome } from './simulate.js';
import { TrainingRecord, type TrainingData } from '../train/session.js';
import type { BackendChoice } from '../train/choices.js';

export type { RateChange };

export interface EmulatedRun extends SchedulerRun {
  rateChanges: RateChange[];
  /** Per directed link (by id): carried against allowed while busy. */
  fidelity: LinkFidelity[];
  links: LinkBackend;
  /**
   * The longest the runner's event loop was held up during the run (ms):
   * every trace change and heartbeat waits that long at worst, so a large
   * figure means this host (or the runner) could not keep up.
   */
  loopDelayMaxMs: number;
  /** The host's CPUs from the start signal to the last iteration (a saturated host starves senders). */
  hostCpu: HostCpu;
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
  rateChange(change: RateChange): void;
}

export async function emulate(scenario: Scenario, config: SchedulerConfig, options: EmulateOptions = {}): Promise<EmulatedRun> {
  const backend = await chooseLinkBackend(scenario, options.links);
  options.signal?.throwIfAborted();
  const topology = scenarioTopology(scenario);
  const net = await buildLinks(backend, scenario, topology);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const hostCpu = new HostCpuMonitor();
  let agents: AgentProcesses | null = null;
  let management: ManagementNetwork | null = null;
  let sampler: LinkSampler | null = null;
  let replay: TraceReplay | null = null;
  let stopListening: (() => void) | null = null;
  let recorderOf: RunRecorder | null = null;
  const timers: NodeJS.Timeout[] = [];
  try {
    options.signal?.throwIfAborted();
    const sink = options.sink ?? null;
    // an iteration's record is final once every agent has seen its end (see RunRecorder)
    const recorder = new RunRecorder(scenario.workers.length, scenario.results.transfers, sink, true);
    recorderOf = recorder;
    const clock = new WallClock();
    const sendTo = (node: string, m: ToAgent) => agents?.sendTo(node, m);
    const policy = makePolicy(config, scenario);
    let control: CoordinatorEndpoint | null = null;
    const coordinator = new Coordinator(policy, () => ({
      topology, nodes: scenario.nodes, workers: scenario.workers, arrays: scenario.workload.arrays,
      bytesPerElement: scenario.workload.bytesPerElement, now: clock.now(),
    }), recorder, clock, (command) => control!.command(command));
    // the control plane over each agent's IPC channel (sync/control.ts)
    control = new CoordinatorEndpoint(coordinator, recorder, sendTo, scenario.nodes);
    coordinator.onIterationComplete(() => {
      options.onProgress?.(recorder.completed);
      if (sink && sampler) sink.linkBins(sampler.carried, clock.now());
    });

    const training = scenario.workload.training;
    if (training && !options.trainingData) throw new Error('emulate: real training needs its data prepared (trainingData)');
    const record = training ? new TrainingRecord(scenario.workers) : null;
    let settle: { resolve: () => void; reject: (e: Error) => void } | null = null;
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    done.catch(() => undefined); // (awaited below; a rejection before then is not unhandled)
    // When an agent dies, its peers soon fail too (broken connections): give
    // the root cause, the dead agent, a moment to be the error reported.
    let agentDied: Error | null = null;
    let failing = false;
    const failRun = (e: Error, delayMs = 300) => {
      if (failing) return;
      failing = true;
      setTimeout(() => settle?.reject(agentDied ?? e), delayMs);
    };
    if (options.signal) {
      const signal = options.signal;
      const onAbort = () => failRun(signal.reason as Error, 0);
      signal.addEventListener('abort', onAbort, { once: true });
      stopListening = () => signal.removeEventListener('abort', onAbort);
    }
    // for the stall watchdog: what moved last, and who answers
    const watchdog = new StallWatchdog((options.stallS ?? DEFAULT_STALL_S) + scenario.workload.computeS, scenario.links.map((l) => l.trace), () => clock.now());
    const state = new AgentsState(scenario, clock, watchdog, record, failRun);

    if (options.control === 'tcp') management = await ManagementNetwork.build(net.tag, scenario.nodes, (n) => net.namespaceOf(n));
    const channels = management ? { kind: 'tcp' as const, host: management.hostAddress } : { kind: 'ipc' as const };
    agents = new AgentProcesses(scenario.nodes, (n) => net.namespaceOf(n), (node, m) => {
      if (isControlUp(m)) {
        if (m.type === 'report' || m.type === 'delivered') watchdog.message();
        if (m.type === 'delivered') state.messages++;
        control!.receive(node, m);
        if (m.type === 'report' && m.method === 'iterationDone') {
          state.doneThrough.set(node, m.iteration);
          if (recorder.completed === scenario.iterations) settle?.resolve();
        }
        return;
      }
      if (m.type === 'iterationSeen') {
        if (state.seen(m.iteration)) recorder.release(m.iteration);
        return;
      }
      state.receive(node, m);
    }, (e, exited) => {
      if (exited) agentDied ??= e;
      failRun(exited ? agentDied! : e);
    }, channels);
    await agents.start();

    // Set every agent up; go on when all listen.
    await new Promise<void>((resolve, reject) => {
      state.onAllListening = resolve;
      done.catch(reject);
      for (const node of scenario.nodes) sendTo(node, agentInit(scenario, node, net, options));
    });

    // Go: one epoch for every process, the trace player and the sampler.
    const epochMs = WallClock.epochNow() + 50;
    const logDir = options.packetLogDir;
    const startLogs = net.startPacketLogs?.bind(net);
    if (logDir && startLogs) {
      mkdirSync(logDir, { recursive: true });
      const fileOf = (id: number) => join(logDir, `${scenario.links[id].from}-${scenario.links[id].to}.log`);
      timers.push(setTimeout(() => startLogs(fileOf), Math.max(0, epochMs - WallClock.epochNow())));
    }
    clock.startAt(epochMs);
    loopDelay.enable();
    hostCpu.start();
    watchdog.message(0);
    sampler = new LinkSampler(net.counters(), scenario.links.map((l) => l.trace), () => clock.now(), scenario.results.bin_s);
    sampler.start();
    replay = new TraceReplay(scenario, net, clock, epochMs, (change) => sink?.rateChange(change));
    agents.broadcast({ type: 'start', epochMs });
    if (options.timeoutS) {
      timers.push(setTimeout(() => failRun(new Error(`the emulated run took longer than ${options.timeoutS} s`)), options.timeoutS * 1000));
    }
    // Heartbeat and watchdog: a stopped agent, links at 0 Mbit/s or links that drop everything fail the run, saying so.
    let seq = 0;
    const live = { sampler, agents };
    const beat = setInterval(() => {
      live.agents.broadcast({ type: 'ping', seq });
      seq++;
      if (watchdog.stalled(live.sampler.backlogBytes())) {
        const diagnosis = diagnoseStall(scenario, {
          now: clock.now(), idleS: watchdog.idleS(), current: recorder.current().iteration, doneThrough: state.doneThrough, lastPong: state.lastPong,
          pids: live.agents.pids(), backlog: live.sampler.backlogBytes(),
        });
        failRun(diagnosis, 0);
      }
    }, HEARTBEAT_S * 1000);
    timers.push(beat as unknown as NodeJS.Timeout);
    for (const node of scenario.nodes) state.lastPong.set(node, clock.now());

    await done;
    const cpu = hostCpu.stop();
    // the last iteration's acknowledgements (milliseconds away)
    for (const until = Date.now() + 2000; !recorder.allReleased && Date.now() < until;) await new Promise((r) => setTimeout(r, 5));
    recorder.releaseAll();
    clearInterval(beat);
    coordinator.stop();
    const endTime = clock.now();
    // Collect the workers' own checks, then let the agents exit.
    await agents.finish();
    const refused = net.errors();
    if (refused.length) throw new Error(`the link backend refused: ${refused.join('; ')}`);

    const iterations = recorder.iterations();
    const end = iterations[iterations.length - 1].end ?? endTime;
    await sampler.stop(); // (no sample after the last bins are handed over)
    sink?.lastLinkBins(sampler.carried, end);
    let trainingOutcome: TrainingOutcome | null = null;
    if (training) {
      if (record!.agreed < scenario.iterations) throw new Error(`training: only ${record!.agreed} of ${scenario.iterations} steps were reported by every worker`);
      trainingOutcome = {
        snapshots: record!.snapshots, accuracy: [],
        workerRssMb: Object.fromEntries(scenario.workers.map((w) => [w, state.rssMb.get(w) ?? NaN])),
      };
    }
    return {
      label: config.label,
      scheduler: config.name,
      iterations,
      transfers: recorder.transfers,
      linkUsage: sampler.carried,
      endTime: end,
      workers: new Map([...state.outcomes].filter(([n]) => scenario.workers.includes(n)).map(([n, o]) => [n, { checked: o.checked, mismatches: o.mismatches, finals: o.finals }])),
      stats: { recomputations: 0, messages: state.messages },
      rateChanges: replay.changes,
      fidelity: sampler.fidelity(),
      links: backend,
      loopDelayMaxMs: loopDelay.max / 1e6,
      hostCpu: cpu,
      training: trainingOutcome,
    };
  } finally {
    loopDelay.disable();
    hostCpu.stop();
    // a run that ends early keeps its finished iterations
    recorderOf?.releaseAll();
    stopListening?.();
    replay?.stop();
    for (const t of timers) clearTimeout(t);
    await sampler?.stop();
    await agents?.close();
    await management?.teardown();
    await net.teardown();
  }
}

/** An agent's set-up: its address book, the topology, and its worker (synthetic or training). */
function agentInit(scenario: Scenario, node: string, net: EmulatedLinks, options: EmulateOptions): AgentInit {
  const index = scenario.workers.indexOf(node);
  const training = scenario.workload.training;
  return {
    type: 'init', node,
    addresses: Object.fromEntries(scenario.nodes.map((n) => [n, net.addressOf(n)])),
    topology: { nodes: scenario.nodes, links: scenario.links.map((l) => ({ from: l.from, to: l.to, delayS: l.delayS })) },
    iterations: scenario.iterations,
    worker: index < 0 ? null : {
      index, count: scenario.workers.length, computeS: scenario.workload.computeS, values: options.values ?? false,
      training: training ? {
        spec: training, seed: scenario.seed, shard: options.trainingData!.shards[index], arrays: scenario.workload.arrays, backend: options.backend,
      } : null,
    },
  };
}

/** What the runner keeps of the agents' messages outside the control plane: listening, heartbeat answers, outcomes, training checks. */
class AgentsState {
  messages = 0;
  readonly outcomes = new Map<string, WorkerOutcome & { rssMb: number }>();
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
        if (m.receivedBytes > (this.received.get(node) ?? 0)) this.watchdog.bytes();
        this.received.set(node, m.receivedBytes);
        break;
      case 'error':
        this.failRun(new UserError(`agent ${node}: ${m.message}`, 1));
        break;
    }
  }
}
