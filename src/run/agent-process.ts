/**
 * One node's agent process in an emulated run, started inside the node's
 * namespace (`ip netns exec`). The data plane is TCP (TcpTransport); the
 * control plane (sync/control.ts) rides this process's IPC channel to the
 * runner, or with `--tcp HOST:PORT NODE` a TCP connection over the run's
 * management network, never the shaped WAN, inside the envelope of
 * run/agent-protocol.ts. The agent itself is the same NodeAgent the
 * simulator runs.
 */
import { connect } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MessageStream } from '../util/message-stream.js';
import { Topology } from '../net/topology.js';
import { NodeAgent, type ChunkMessage, type ServerModel, type WorkerModel } from '../sync/agent.js';
import { AgentEndpoint, isControlDown } from '../sync/control.js';
import { SummingServer, SyntheticWorker } from '../train/synthetic.js';
import { OptimizingServer } from '../train/server-model.js';
import { ExchangeLayout, TrainingWorker } from '../train/worker.js';
import type { NodeTransport } from '../net/types.js';
import { TcpTransport, WallClock } from '../net/emu/transport.js';
import type { AgentInit, AgentServer, AgentTraining, FromAgent, ToAgent } from './agent-protocol.js';

/** The runner's end: this process's IPC channel, or a TCP connection (whose first message names the node). */
const runner = openChannel((m) => receive(m));
const send = runner.send;

/** `close`: the last message is sent; exit once it has left. */
function openChannel(onMessage: (m: ToAgent) => void): { send: (m: FromAgent) => void; close: () => void } {
  const [flag, address, node] = process.argv.slice(2);
  if (flag !== '--tcp') {
    process.on('message', (raw) => onMessage(raw as ToAgent));
    process.on('disconnect', () => process.exit(0)); // the runner is gone
    return { send: (m) => process.send!(m), close: () => setTimeout(() => process.exit(0), 20) };
  }
  const colon = address.lastIndexOf(':');
  const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
  const stream = new MessageStream<ToAgent, FromAgent>(socket, onMessage, fail);
  socket.on('close', () => process.exit(0)); // the runner is gone
  socket.on('error', (e) => {
    process.stderr.write(`geobed agent ${node}: the control channel to ${address}: ${e.message}\n`);
    process.exit(1);
  });
  stream.send({ type: 'hello', node });
  return { send: (m) => stream.send(m), close: () => socket.end() };
}

function fail(e: unknown): void {
  send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  setTimeout(() => process.exit(1), 50);
}

let init: AgentInit | null = null;
const clock = new WallClock();
let transport: TcpTransport | null = null;
let worker: WorkerModel | null = null;
let synthetic: SyntheticWorker | null = null;
let peakRss = 0;
/** Timers this late mean a starved agent: its sends leave late (the run's fidelity check reads it). */
const LAG_PROBE_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LAG_PROBE_MS });
const lagMs = (ns: number) => Math.max(0, Math.round((ns / 1e6 - LAG_PROBE_MS) * 1000) / 1000);
const endpoint = new AgentEndpoint((m) => send(m));

process.on('uncaughtException', fail);

function receive(m: ToAgent): void {
  try {
    if (isControlDown(m)) {
      endpoint.receive(m);
      // the end of an iteration: every report sent before it has reached the runner
      if (m.type === 'iterationComplete') send({ type: 'iterationSeen', iteration: m.iteration });
      return;
    }
    switch (m.type) {
      case 'init': {
        init = m;
        transport = new TcpTransport(m.node, m.addresses[m.node], (n) => m.addresses[n], clock, fail);
        // a training worker starts its model first (tfjs, the backend, its shard), then says it listens
        Promise.all([transport.listen(), m.worker?.training ? startTraining(m.node, m.worker, m.worker.training, m.iterations) : null])
          .then(() => send({ type: 'listening' }), fail);
        break;
      }
      case 'start':
        start(m.epochMs);
        break;
      case 'ping':
        send({ type: 'pong', seq: m.seq, receivedBytes: transport?.receivedBytes ?? 0 });
        break;
      case 'finish':
        send({
          type: 'outcome', checked: synthetic?.checked ?? 0, mismatches: synthetic?.mismatches ?? [], finals: synthetic?.finals ?? new Map(),
          rssMb: Math.round(Math.max(peakRss, process.memoryUsage().rss) / 1e6),
          loopLagMs: loopDelay.count > 0 ? { p99: lagMs(loopDelay.percentile(99)), max: lagMs(loopDelay.max) } : { p99: 0, max: 0 },
        });
        loopDelay.disable();
        transport?.close();
        runner.close();
        break;
    }
  } catch (e) {
    fail(e);
  }
}

function start(epochMs: number): void {
  const i = init!;
  clock.startAt(epochMs);
  loopDelay.enable();
  const topology = Topology.fromSpecs(i.topology.nodes, i.topology.links);
  if (i.worker && !i.worker.training) worker = synthetic = new SyntheticWorker(clock, i.worker.computeS, i.worker.index, i.worker.values, i.worker.count);
  const agent = new NodeAgent(i.node, worker, i.iterations, transport as NodeTransport<ChunkMessage>, clock, endpoint.control, topology, i.underlay, serverModel(i.server), i.layers);
  agent.start();
}

function serverModel(server: AgentServer | null): ServerModel | null {
  if (!server) return null;
  const t = server.training;
  return t ? new OptimizingServer(new ExchangeLayout(t.arrays, t.modelElements), t.initial, t.optimizer) : new SummingServer(server.values);
}

/** Load tfjs and the model; the worker trains for real, its compute time the real time of each step. */
async function startTraining(node: string, w: NonNullable<AgentInit['worker']>, t: AgentTraining, iterations: number): Promise<void> {
  const { initBackend } = await import('../train/backend.js');
  const { trainerFor } = await import('../train/trainer.js');
  await initBackend(t.backend);
  // (labelled by node, as in the simulator: the same seed draws the same batches in both modes)
  const trainer = trainerFor(t.spec, t.seed, t.shard, node);
  worker = new TrainingWorker(clock, trainer, new ExchangeLayout(t.arrays, t.spec.modelElements), {
    index: w.index, count: w.count, iterations, evalEvery: t.spec.evalEvery, computeS: null, averaging: t.averaging, pullsModel: t.pullsModel, gathered: t.gathered,
  }, {
    stepped: (index, iteration, checksum) => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      send({ type: 'stepped', worker: index, iteration, checksum });
    },
    snapshot: (steps, at, weights) => send({ type: 'snapshot', steps, at, weights }),
  });
}
