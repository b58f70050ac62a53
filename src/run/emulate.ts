/**
 * One scheduler on one scenario in emulated mode: build the namespaces and
 * shaped links, start one agent process per node inside its namespace,
 * replay the bandwidth traces live, and run the coordinator here, talking to
 * the agents over their IPC channels. Everything is torn down on every exit
 * path (see net/emu/cleanup.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HostCpuMonitor } from './host-load.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LinkSampler } from '../net/emu/sampler.js';
import type { HostCpu, LinkFidelity } from '../results/fidelity.js';
import { WallClock } from '../net/emu/transport.js';
import { onTeardown } from '../util/teardown.js';
import { OWN_GROUP } from '../net/emu/exec.js';
import { processState } from '../util/process.js';
import { DEFAULT_STALL_S, StallWatchdog } from './watchdog.js';
import { buildLinks, chooseLinkBackend, type LinkBackend } from './link-backends.js';
import type { AgentInit, FromAgent, ToAgent } from './agent-protocol.js';
import { Coordinator } from '../sync/coordinator.js';
import { CoordinatorEndpoint, isControlUp } from '../sync/control.js';
import { RunRecorder } from '../sync/record.js';
import { makePolicy } from '../sync/schedulers/index.js';
import type { Scenario, SchedulerConfig } from '../scenario/types.js';
import { UserError } from '../util/errors.js';
import { PACKAGE_ROOT } from '../util/paths.js';
import { scenarioTopology, type RunSink, type SchedulerRun, type TrainingOutcome, type WorkerOutcome } from './simulate.js';
import { TrainingRecord, type TrainingData } from '../train/session.js';
import type { BackendChoice } from '../train/choices.js';

export interface RateChange {
  link: string;
  scheduledS: number;
  appliedS: number;
  mbps: number;
}

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

/** Seconds between heartbeats to the agents; one unanswered for HEARTBEAT_LATE_S counts as not answering. */
const HEARTBEAT_S = 1;
const HEARTBEAT_LATE_S = 3;

const AGENT_PROCESS = join(PACKAGE_ROOT, 'dist', 'src', 'run', 'agent-process.js');

export async function emulate(scenario: Scenario, config: SchedulerConfig, options: EmulateOptions = {}): Promise<EmulatedRun> {
  const backend = await chooseLinkBackend(scenario, options.links);
  options.signal?.throwIfAborted();
  const topology = scenarioTopology(scenario);
  const net = await buildLinks(backend, scenario, topology);
  const children = new Map<string, ChildProcess>();
  const killAll = async () => {
    for (const child of children.values()) if (child.exitCode === null) child.kill('SIGKILL');
  };
  const unregisterKill = onTeardown(killAll);
  const timers: NodeJS.Timeout[] = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const hostCpu = new HostCpuMonitor();
  let sampler: LinkSampler | null = null;
  let stopListening: (() => void) | null = null;
  let recorderOf: RunRecorder | null = null;
  try {
    options.signal?.throwIfAborted();
    const sink = options.sink ?? null;
    // an iteration's record is final once every agent has seen its end (see RunRecorder)
    const recorder = new RunRecorder(scenario.workers.length, scenario.results.transfers, sink, true);
    const seen = new Map<number, number>();
    recorderOf = recorder;
    const clock = new WallClock();
    const sendTo = (node: string, m: ToAgent) => {
      const child = children.get(node);
      if (child?.connected) child.send(m);
    };
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

    let messages = 0;
    const outcomes = new Map<string, WorkerOutcome>();
    const training = scenario.workload.training;
    if (training && !options.trainingData) throw new Error('emulate: real training needs its data prepared (trainingData)');
    const record = training ? new TrainingRecord(scenario.workers) : null;
    const rssMb = new Map<string, number>();
    let listening = 0;
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
    let onListening: () => void = () => undefined;
    let finished = false;
    // for the stall watchdog: what moved last, and who answers
    const watchdog = new StallWatchdog((options.stallS ?? DEFAULT_STALL_S) + scenario.workload.computeS, scenario.links.map((l) => l.trace), () => clock.now());
    const lastPong = new Map<string, number>();
    const received = new Map<string, number>();
    const doneThrough = new Map<string, number>(scenario.workers.map((w) => [w, -1]));

    for (const node of scenario.nodes) {
      const child = spawn('ip', ['netns', 'exec', net.namespaceOf(node), process.execPath, AGENT_PROCESS], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', ...OWN_GROUP,
      });
      children.set(node, child);
      child.on('error', (e) => failRun(new Error(`the agent of ${node} could not start: ${e.message}`)));
      child.on('exit', (code, signal) => {
        if (finished) return;
        agentDied ??= new UserError(`the agent of ${node} exited (${signal ?? `code ${code}`}) before the run ended`, 1);
        failRun(agentDied);
      });
      child.on('message', (raw) => {
        const m = raw as FromAgent;
        if (isControlUp(m)) {
          if (m.type === 'report' || m.type === 'delivered') watchdog.message();
          if (m.type === 'delivered') messages++;
          control!.receive(node, m);
          if (m.type === 'report' && m.method === 'iterationDone') {
            doneThrough.set(node, m.iteration);
            if (recorder.completed === scenario.iterations) settle?.resolve();
          }
          return;
        }
        switch (m.type) {
          case 'listening':
            if (++listening === scenario.nodes.length) onListening();
            break;
          case 'outcome':
            outcomes.set(node, m);
            rssMb.set(node, m.rssMb);
            break;
          case 'stepped':
            watchdog.message();
            try {
              record?.stepped(m.worker, m.iteration, m.checksum);
            } catch (e) {
              failRun(e as Error);
            }
            break;
          case 'snapshot':
            record?.snapshot(m.steps, m.at, m.weights);
            break;
          case 'iterationSeen':
            seen.set(m.iteration, (seen.get(m.iteration) ?? 0) + 1);
            if (seen.get(m.iteration) === scenario.nodes.length) {
              seen.delete(m.iteration);
              recorder.release(m.iteration);
            }
            break;
          case 'pong':
            lastPong.set(node, clock.now());
            if (m.receivedBytes > (received.get(node) ?? 0)) watchdog.bytes();
            received.set(node, m.receivedBytes);
            break;
          case 'error':
            failRun(new UserError(`agent ${node}: ${m.message}`, 1));
            break;
        }
      });
    }

    const addresses = Object.fromEntries(scenario.nodes.map((n) => [n, net.addressOf(n)]));
    const topologySpec = { nodes: scenario.nodes, links: scenario.links.map((l) => ({ from: l.from, to: l.to, delayS: l.delayS })) };
    await new Promise<void>((resolve, reject) => {
      onListening = resolve;
      done.catch(reject);
      for (const node of scenario.nodes) {
        const index = scenario.workers.indexOf(node);
        const init: AgentInit = {
          type: 'init', node, addresses, topology: topologySpec, iterations: scenario.iterations,
          worker: index < 0 ? null : {
            index, count: scenario.workers.length, computeS: scenario.workload.computeS, values: options.values ?? false,
            training: training ? {
              spec: training, seed: scenario.seed, shard: options.trainingData!.shards[index], arrays: scenario.workload.arrays, backend: options.backend,
            } : null,
          },
        };
        sendTo(node, init);
      }
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
    const rateChanges: RateChange[] = [];
    for (const link of scenario.links) {
      if (link.mahimahi && net.replaysMahimahi) continue; // the backend replays the trace itself
      const next = (after: number) => {
        const at = link.trace.nextChangeAfter(after);
        if (at === Infinity) return;
        timers.push(setTimeout(() => {
          const mbps = link.trace.rateAt(at);
          net.setRate(link.id, mbps);
          const change = { link: link.name, scheduledS: at, appliedS: clock.now(), mbps };
          rateChanges.push(change);
          sink?.rateChange(change);
          next(at);
        }, Math.max(0, epochMs + at * 1000 - WallClock.epochNow())));
      };
      next(0);
    }
    for (const node of scenario.nodes) sendTo(node, { type: 'start', epochMs });
    if (options.timeoutS) {
      timers.push(setTimeout(() => failRun(new Error(`the emulated run took longer than ${options.timeoutS} s`)), options.timeoutS * 1000));
    }
    // Heartbeat and watchdog: a stopped agent, links at 0 Mbit/s or links that drop everything fail the run, saying so.
    let seq = 0;
    const live = sampler;
    const beat = setInterval(() => {
      for (const node of scenario.nodes) sendTo(node, { type: 'ping', seq });
      seq++;
      if (watchdog.stalled(live.backlogBytes())) {
        const diagnosis = diagnoseStall(scenario, {
          now: clock.now(), idleS: watchdog.idleS(), current: recorder.current().iteration, doneThrough, lastPong,
          pids: new Map([...children].map(([n, c]) => [n, c.pid ?? -1])), backlog: live.backlogBytes(),
        });
        failRun(diagnosis, 0);
      }
    }, HEARTBEAT_S * 1000);
    timers.push(beat as unknown as NodeJS.Timeout);
    for (const node of scenario.nodes) lastPong.set(node, clock.now());

    await done;
    const cpu = hostCpu.stop();
    // the last iteration's acknowledgements (milliseconds away)
    for (const until = Date.now() + 2000; !recorder.allReleased && Date.now() < until;) await new Promise((r) => setTimeout(r, 5));
    recorder.releaseAll();
    finished = true;
    clearInterval(beat);
    coordinator.stop();
    const endTime = clock.now();
    // Collect the workers' own checks, then let the agents exit.
    const exits = [...children.values()].map((c) => new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : c.once('exit', () => resolve()))));
    for (const node of scenario.nodes) sendTo(node, { type: 'finish' });
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 5000))]);
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
        workerRssMb: Object.fromEntries(scenario.workers.map((w) => [w, rssMb.get(w) ?? NaN])),
      };
    }
    return {
      label: config.label,
      scheduler: config.name,
      iterations,
      transfers: recorder.transfers,
      linkUsage: sampler.carried,
      endTime: end,
      workers: new Map([...outcomes].filter(([n]) => scenario.workers.includes(n)).map(([n, o]) => [n, { checked: o.checked, mismatches: o.mismatches, finals: o.finals }])),
      stats: { recomputations: 0, messages },
      rateChanges,
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
    for (const t of timers) clearTimeout(t);
    await sampler?.stop();
    await killAll();
    unregisterKill();
    await net.teardown();
  }
}

/**
 * What a stalled emulated run waits on: agents that do not answer (and
 * whether the kernel says they are stopped), links at 0 Mbit/s or dropping
 * every packet, and the workers that have not finished the current
 * iteration. A UserError (exit 2) when the scenario itself stalls the run
 * (links at 0 or dropping everything), else exit 1.
 */
export function diagnoseStall(
  scenario: Scenario,
  s: { now: number; idleS: number; current: number; doneThrough: Map<string, number>; lastPong: Map<string, number>; pids: Map<string, number>; backlog: number[] },
): UserError {
  const parts: string[] = [];
  const silent = scenario.nodes.filter((n) => s.now - (s.lastPong.get(n) ?? -Infinity) > HEARTBEAT_LATE_S);
  if (silent.length) {
    parts.push(`agents not answering: ${silent.map((n) => `${n}${processState(s.pids.get(n) ?? -1) === 'T' ? ' (stopped, e.g. by SIGSTOP)' : ''}`).join(', ')}`);
  }
  const zero = scenario.links.filter((l) => l.trace.rateAt(s.now) <= 0);
  const zeroQueued = zero.filter((l) => s.backlog[l.id] > 0);
  if (zero.length) parts.push(`links at 0 Mbit/s${zeroQueued.length ? ' (with packets queued on ' + zeroQueued.map((l) => l.name).join(', ') + ')' : ''}: ${zero.map((l) => l.name).join(', ')}`);
  const dropping = scenario.links.filter((l) => l.lossPercent >= 100);
  if (dropping.length) parts.push(`links that drop every packet (loss_percent 100): ${dropping.map((l) => l.name).join(', ')}`);
  const waiting = scenario.workers.filter((w) => (s.doneThrough.get(w) ?? -1) < s.current);
  if (waiting.length) parts.push(`iteration ${s.current} waits on ${waiting.join(', ')}`);
  const message = `no progress for ${s.idleS.toFixed(0)} s (at t=${s.now.toFixed(1)} s): ${parts.join('; ') || 'no message delivered and no link busy'}`;
  return new UserError(message, zero.length || dropping.length ? 2 : 1);
}
