/**
 * One scheduler on one scenario in the flow-level simulator: build the
 * network, the coordinator and one agent per node, and run virtual time until
 * every worker has finished every iteration.
 */
import { Topology } from '../net/topology.js';
import { Simulator } from '../net/sim/simulator.js';
import { simulatedTcp } from './host-tcp.js';
import type { WireRecord } from '../net/sim/network.js';
import type { NodeTransport } from '../net/types.js';
import { Coordinator } from '../sync/coordinator.js';
import { NodeAgent, type ChunkMessage } from '../sync/agent.js';
import { InProcessChannel } from '../sync/control.js';
import { RunRecorder, type IterationRecord, type RecordSink, type TransferLog, type UpdateRecord, type WorkerIterationRecord } from '../sync/record.js';
import { binIndex, type LinkBins } from '../util/bins.js';
import { asynchronousServers, compresses, makePolicy, parameterAveraging, sparseGather, layeredCompute } from '../sync/schedulers/index.js';
import { layerShares } from '../sync/layers.js';
import type { Policy } from '../sync/policy.js';
import { SummingServer, SyntheticWorker } from '../train/synthetic.js';
import type { ServerModel, WorkerModel } from '../sync/agent.js';
import { OptimizingServer } from '../train/server-model.js';
import { ExchangeLayout, TrainingWorker } from '../train/worker.js';
import { trainingRecord, TrainingRecord, type AccuracyRow, type TrainingData, type WeightSnapshot } from '../train/session.js';
import type { Trainer } from '../train/trainer.js';
import type { Scenario, SchedulerConfig } from '../scenario/types.js';
import { hasLans, workerComputeS } from '../model/data-centers.js';

export interface SchedulerRun {
  label: string;
  scheduler: string;
  iterations: IterationRecord[];
  transfers: TransferLog;
  /** Virtual time at which the last iteration ended. */
  endTime: number;
  /** Asynchronous runs, without a sink: every update the global servers applied, and each worker's iterations. */
  updates: UpdateRecord[];
  workerIterations: WorkerIterationRecord[];
  /** Workers by name, for checking aggregated values in values mode. */
  workers: Map<string, WorkerOutcome>;
  /** Rate recomputations, the connections they rated in all (each covers the affected component only), messages, and events run (timers, deliveries, capacity changes). */
  stats: { recomputations: number; flowsRated: number; messages: number; events: number };
  /** Real training: accuracy at each evaluation, and each worker's resident memory. */
  training: TrainingOutcome | null;
}

export interface TrainingOutcome {
  /** Worker 0's weights at each evaluation point (the runner evaluates them into `accuracy`). */
  snapshots: WeightSnapshot[];
  accuracy: AccuracyRow[];
  /** Resident memory (MB) of each worker's process; in simulated mode all share one process. */
  workerRssMb: Record<string, number>;
}

/** What a worker saw of the aggregated values (values mode). */
export interface WorkerOutcome {
  /** Finals checked against the plain sum, and the ones that differed. */
  checked: number;
  mismatches: string[];
  /** chunk id -> final values of the latest iteration. */
  finals: Map<number, { iteration: number; values: Float32Array | null }>;
}

export interface SimulateOptions {
  /** Carry small real payloads and sum them (tests). */
  values?: boolean;
  /** Called after each settled instant with the number of completed iterations. */
  onProgress?: (completed: number, now: number) => void;
  /** Use this policy instead of the one `config` names (tests). */
  policy?: Policy;
  /** Real training (workload.train): the run's data, prepared once for every scheduler. */
  trainingData?: TrainingData;
  /** Stream the records here as they happen (the results writer), instead of keeping them. */
  sink?: RunSink;
  /** Append every message's time on the wire here (an external check of the sharing: SimGrid). */
  wireLog?: WireRecord[];
}

/** Where a run streams its records: iterations and transfers (RecordSink), and complete link bins. */
export interface RunSink extends RecordSink {
  /** Link bins complete at `closedUntil` (every bin before the one holding it). */
  linkBins(bins: LinkBins, closedUntil: number): void;
  /** The run ended at `endTime`: every remaining bin up to it. */
  lastLinkBins(bins: LinkBins, endTime: number): void;
}

/** Link bins a long iteration may hold before they go to the results (memory: this many x links x 8 bytes). */
const FLUSH_BINS = 256;

export function scenarioTopology(scenario: Scenario): Topology {
  return Topology.fromSpecs(scenario.nodes, scenario.links);
}

export function simulate(scenario: Scenario, config: SchedulerConfig, options: SimulateOptions = {}): SchedulerRun {
  const simulation = new Simulation(scenario, config, options);
  try {
    simulation.advance(Infinity);
    return simulation.result();
  } finally {
    simulation.dispose();
  }
}

/**
 * The same run, in slices of about 50 ms of wall time with the event loop
 * let through between them, so a signal (Ctrl-C) or a timer can act while
 * a long simulation goes on; `signal` stops it between two slices.
 */
export async function simulateInSlices(scenario: Scenario, config: SchedulerConfig, options: SimulateOptions & { signal?: AbortSignal } = {}): Promise<SchedulerRun> {
  const simulation = new Simulation(scenario, config, options);
  try {
    while (!simulation.advance(performance.now() + 50)) {
      await new Promise((resolve) => setImmediate(resolve));
      options.signal?.throwIfAborted();
    }
    return simulation.result();
  } finally {
    simulation.dispose();
  }
}

/** One simulated run, set up and driven forward in steps. */
class Simulation {
  private readonly sim: Simulator;
  private readonly recorder: RunRecorder;
  private readonly coordinator: Coordinator;
  private readonly workers = new Map<string, WorkerOutcome>();
  private readonly trainers: Trainer[] = [];
  private readonly record: TrainingRecord | null;
  private messages = 0;
  private reported = -1;
  private flushedAt = -1;

  constructor(private readonly scenario: Scenario, private readonly config: SchedulerConfig, private readonly options: SimulateOptions) {
    const topology = scenarioTopology(scenario);
    const sim = (this.sim = new Simulator(
      topology, scenario.links.map((l) => l.trace), scenario.results.bin_s, scenario.network.framing,
      scenario.links.map((l) => l.delayOverTime?.trace ?? null), simulatedTcp(scenario, topology),
    ));
    if (options.wireLog) sim.network.wireLog = options.wireLog;
    const asynchronous = asynchronousServers(config, scenario);
    const recorder = (this.recorder = new RunRecorder(scenario.workers.length, scenario.results.transfers, options.sink ?? null, false, hasLans(scenario.dataCenters), asynchronous !== null, compresses(config)));
    const policy = options.policy ?? makePolicy(config, scenario);
    let channel: InProcessChannel | null = null;
    const coordinator = (this.coordinator = new Coordinator(policy, () => ({
      topology, nodes: scenario.dataCenters.map((dc) => dc.name), workers: scenario.workers, dataCenters: scenario.dataCenters, arrays: scenario.workload.arrays,
      bytesPerElement: scenario.workload.bytesPerElement, now: sim.now(),
    }), recorder, sim.events, (command) => channel!.coordinatorEnd.command(command)));
    channel = new InProcessChannel(scenario.nodes, sim.events, coordinator, recorder, (m) => {
      if (m.type === 'delivered') this.messages++;
    });
    const controlFor = (node: string) => channel!.controlFor(node);
    const training = scenario.workload.training;
    if (training && !options.trainingData) throw new Error('simulate: real training needs its data prepared (trainingData)');
    const averaging = parameterAveraging(config);
    const record = (this.record = training ? trainingRecord(scenario.workers, averaging, asynchronous !== null) : null);
    const layout = training ? new ExchangeLayout(scenario.workload.arrays, training.modelElements) : null;
    const serverModel = (): ServerModel => {
      if (!training) return new SummingServer(options.values ?? false);
      const initial = options.trainingData!.makeTrainer(null, 'server');
      try {
        return new OptimizingServer(layout!, initial.weights(), { optimizer: training.optimizer, dcasgdLambda: asynchronous!.dcasgd?.lambda ?? null });
      } finally {
        initial.dispose();
      }
    };
    const layers = layeredCompute(config) ? layerShares(scenario.workload.arrays) : null;
    const agents = scenario.nodes.map((node) => {
      const workerIndex = scenario.workers.indexOf(node);
      let worker: WorkerModel | null = null;
      if (workerIndex >= 0 && training) {
        const trainer = options.trainingData!.makeTrainer(workerIndex, node);
        this.trainers.push(trainer);
        worker = new TrainingWorker(sim.events, trainer, layout!, {
          index: workerIndex, count: scenario.workers.length, iterations: scenario.iterations,
          evalEvery: training.evalEvery, computeS: workerComputeS(scenario.dataCenters, node, scenario.workload.computeS), averaging,
          pullsModel: asynchronous !== null, gathered: sparseGather(config),
        }, record!);
        this.workers.set(node, { checked: 0, mismatches: [], finals: new Map() });
      } else if (workerIndex >= 0) {
        const synthetic = new SyntheticWorker(sim.events, workerComputeS(scenario.dataCenters, node, scenario.workload.computeS), workerIndex, options.values ?? false, scenario.workers.length);
        worker = synthetic;
        this.workers.set(node, synthetic);
      }
      const transport = sim.network.transportFor(node) as NodeTransport<ChunkMessage>;
      const server = asynchronous?.servers.includes(node) ? serverModel() : null;
      return new NodeAgent(node, worker, scenario.iterations, transport, sim.events, controlFor(node), topology, scenario.network.underlay, server, layers);
    });
    agents.forEach((a) => a.start());
  }

  /** Run until the wall clock passes `pauseAtMs`; true when every iteration is done. */
  advance(pauseAtMs: number): boolean {
    const { sim, recorder, options, scenario } = this;
    return sim.run(
      () => recorder.completed === scenario.iterations,
      (now) => {
        const progressed = recorder.completed !== this.reported;
        if (progressed) {
          this.reported = recorder.completed;
          options.onProgress?.(recorder.completed, now);
        }
        // The link bins finished so far go to the results with the iterations,
        // and every FLUSH_BINS bins within a long one, so memory holds few bins.
        if (now > this.flushedAt && (progressed || binIndex(now, scenario.results.bin_s) >= binIndex(this.flushedAt, scenario.results.bin_s) + FLUSH_BINS)) {
          this.flushedAt = now;
          const bins = sim.network.linkUsage(now);
          if (options.sink) options.sink.linkBins(bins, now);
          else bins.take(binIndex(now, bins.binS), () => undefined);
        }
      },
      pauseAtMs,
    );
  }

  result(): SchedulerRun {
    const { scenario, recorder, sim } = this;
    this.coordinator.stop();
    let trainingOutcome: TrainingOutcome | null = null;
    if (scenario.workload.training) {
      const rssMb = Math.round(process.memoryUsage().rss / 1e6);
      trainingOutcome = { snapshots: this.record!.snapshots, accuracy: [], workerRssMb: Object.fromEntries(scenario.workers.map((w) => [w, rssMb])) };
    }
    const iterations = recorder.iterations();
    const endTime = iterations[iterations.length - 1].end;
    this.options.sink?.lastLinkBins(sim.network.linkUsage(endTime), endTime);
    return {
      label: this.config.label,
      scheduler: this.config.name,
      iterations,
      transfers: recorder.transfers,
      endTime,
      updates: recorder.updates,
      workerIterations: recorder.workerIterations,
      workers: this.workers,
      stats: { recomputations: sim.network.recomputations, flowsRated: sim.network.flowsRated, messages: this.messages, events: sim.events.executed },
      training: trainingOutcome,
    };
  }

  /** What a run that ended early did: its simulated time and messages. */
  progress(): { simulatedS: number; messages: number; recomputations: number } {
    return { simulatedS: this.sim.now(), messages: this.messages, recomputations: this.sim.network.recomputations };
  }

  dispose(): void {
    for (const t of this.trainers) t.dispose();
  }
}
