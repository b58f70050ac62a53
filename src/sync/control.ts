/**
 * The control plane between node agents and the coordinator, defined once:
 * the messages (one per AgentControl call, and one per thing the
 * coordinator tells an agent) and the two endpoints that translate between
 * calls and messages. A channel only carries messages; the runners pick one:
 *
 * - in process (the simulator): `InProcessChannel`, delivered at once, in
 *   call order; the coordinator's commands arrive as a separate event;
 * - the agent process's IPC channel (emulated runs, run/agent-process.ts and
 *   run/emulate.ts), which carries these messages inside its own envelope
 *   (set-up, heartbeat, training checksums).
 *
 * A new control message is a new member of ControlUp or ControlDown and one
 * case in the endpoint that receives it; the compiler finds the rest.
 */
import type { AgentControl } from './agent.js';
import type { Coordinator } from './coordinator.js';
import type { Plan } from './plan.js';
import type { OnlineCommand, OnlineLevel } from './policy.js';
import type { RunRecorder } from './record.js';
import type { Clock } from '../net/types.js';

/** From an agent to the coordinator. */
export type ControlUp =
  | { type: 'requestPlan'; iteration: number }
  | { type: 'report'; method: 'computeStarted' | 'gradientReady' | 'iterationDone'; iteration: number; at: number }
  | { type: 'delivered'; transfer: Parameters<AgentControl['delivered']>[0] }
  | { type: 'update'; update: Parameters<AgentControl['updateApplied']>[0] }
  | { type: 'measured'; measurement: Parameters<AgentControl['measured']>[0] }
  | { type: 'online'; method: 'ready' | 'final'; iteration: number; chunk: number; level?: OnlineLevel }
  | { type: 'receivedFinal'; from: string; iteration: number; chunk: number; level?: OnlineLevel };

/** From the coordinator to one agent. */
export type ControlDown =
  | { type: 'plan'; iteration: number; plan: Plan }
  | { type: 'command'; command: OnlineCommand }
  | { type: 'iterationComplete'; iteration: number };

// (Records, so that a new message type that is not listed here does not compile.)
const UP: Record<ControlUp['type'], true> = { requestPlan: true, report: true, delivered: true, update: true, measured: true, online: true, receivedFinal: true };
const DOWN: Record<ControlDown['type'], true> = { plan: true, command: true, iterationComplete: true };
const UP_TYPES: ReadonlySet<string> = new Set(Object.keys(UP));
const DOWN_TYPES: ReadonlySet<string> = new Set(Object.keys(DOWN));

/** Is this message (of a channel that carries others too) a control message to the coordinator? */
export function isControlUp(m: { type: string }): m is ControlUp {
  return UP_TYPES.has(m.type);
}

/** ... or to an agent? */
export function isControlDown(m: { type: string }): m is ControlDown {
  return DOWN_TYPES.has(m.type);
}

/** An agent's end: the AgentControl its NodeAgent calls, sending messages; `receive` takes the coordinator's. */
export class AgentEndpoint {
  private readonly planReplies = new Map<number, (plan: Plan) => void>();
  private readonly completeListeners: ((iteration: number) => void)[] = [];
  private commandHandler: (c: OnlineCommand) => void = () => undefined;
  readonly control: AgentControl;

  constructor(send: (m: ControlUp) => void) {
    this.control = {
      requestPlan: (iteration, reply) => {
        this.planReplies.set(iteration, reply);
        send({ type: 'requestPlan', iteration });
      },
      onIterationComplete: (listener) => this.completeListeners.push(listener),
      computeStarted: (_n, iteration, at) => send({ type: 'report', method: 'computeStarted', iteration, at }),
      gradientReady: (_n, iteration, at) => send({ type: 'report', method: 'gradientReady', iteration, at }),
      iterationDone: (_n, iteration, at) => send({ type: 'report', method: 'iterationDone', iteration, at }),
      delivered: (transfer) => send({ type: 'delivered', transfer }),
      updateApplied: (update) => send({ type: 'update', update }),
      measured: (measurement) => send({ type: 'measured', measurement }),
      ready: (_n, iteration, chunk, level) => send({ type: 'online', method: 'ready', iteration, chunk, ...(level ? { level } : {}) }),
      final: (_n, iteration, chunk) => send({ type: 'online', method: 'final', iteration, chunk }),
      receivedFinal: (_n, from, iteration, chunk, level) => send({ type: 'receivedFinal', from, iteration, chunk, ...(level ? { level } : {}) }),
      onCommand: (handler) => {
        this.commandHandler = handler;
      },
    };
  }

  receive(m: ControlDown): void {
    switch (m.type) {
      case 'plan':
        this.planReplies.get(m.iteration)?.(m.plan);
        this.planReplies.delete(m.iteration);
        break;
      case 'command':
        this.commandHandler(m.command);
        break;
      case 'iterationComplete':
        for (const listener of this.completeListeners) listener(m.iteration);
        break;
    }
  }
}

/**
 * The coordinator's end: `receive` turns an agent's messages into calls on
 * the coordinator and the run's recorder; the coordinator's commands, plans
 * and iteration ends leave through `sendTo`.
 */
export class CoordinatorEndpoint {
  constructor(
    private readonly coordinator: Coordinator,
    private readonly recorder: RunRecorder,
    private readonly sendTo: (node: string, m: ControlDown) => void,
    nodes: readonly string[],
  ) {
    coordinator.onIterationComplete((iteration) => {
      for (const node of nodes) sendTo(node, { type: 'iterationComplete', iteration });
    });
  }

  /** The coordinator's online command, to the node it names. */
  command(command: OnlineCommand): void {
    this.sendTo(command.node, { type: 'command', command });
  }

  receive(node: string, m: ControlUp): void {
    const { coordinator, recorder } = this;
    switch (m.type) {
      case 'requestPlan':
        coordinator.requestPlan(node, m.iteration, (plan) => this.sendTo(node, { type: 'plan', iteration: m.iteration, plan }));
        break;
      case 'report':
        if (m.method === 'computeStarted') recorder.computeStarted(node, m.iteration, m.at);
        else if (m.method === 'gradientReady') recorder.gradientReady(node, m.iteration, m.at);
        else coordinator.iterationDone(node, m.iteration, m.at);
        break;
      case 'delivered':
        recorder.delivered(m.transfer);
        break;
      case 'update':
        recorder.updateApplied(m.update);
        break;
      case 'measured':
        coordinator.measured(m.measurement);
        break;
      case 'online':
        if (m.method === 'ready') coordinator.ready(node, m.iteration, m.chunk, m.level);
        else coordinator.final(node, m.iteration, m.chunk);
        break;
      case 'receivedFinal':
        coordinator.receivedFinal(node, m.from, m.iteration, m.chunk, m.level);
        break;
    }
  }
}

/**
 * The simulator's channel: agents and coordinator in one process, in
 * virtual time. Messages are delivered at once, in call order; a command
 * arrives as a separate event at the same instant, as over a real channel.
 * `onUp` sees every agent's message first (the runner counts deliveries).
 */
export class InProcessChannel {
  private readonly agents = new Map<string, AgentEndpoint>();
  readonly coordinatorEnd: CoordinatorEndpoint;

  constructor(nodes: readonly string[], clock: Clock, coordinator: Coordinator, recorder: RunRecorder, onUp?: (m: ControlUp) => void) {
    const deliver = (node: string, m: ControlDown) => {
      const agent = this.agents.get(node)!;
      if (m.type === 'command') clock.setTimer(0, () => agent.receive(m));
      else agent.receive(m);
    };
    this.coordinatorEnd = new CoordinatorEndpoint(coordinator, recorder, deliver, nodes);
    for (const node of nodes) this.agents.set(node, new AgentEndpoint((m) => {
      onUp?.(m);
      this.coordinatorEnd.receive(node, m);
    }));
  }

  controlFor(node: string): AgentControl {
    return this.agents.get(node)!.control;
  }
}
