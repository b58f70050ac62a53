/**
 * The control plane. It asks the policy for the current plan and freezes it
 * per iteration: the first agent to ask for iteration i fixes i's plan, and
 * every later request for i gets the same one, so no iteration ever mixes
 * two plans, and a plan made while an iteration runs waits for the next
 * boundary. It feeds the agents' measurements to the policy, lets it
 * re-plan every check period, and relays an online policy's commands.
 */
import type { Clock } from '../net/types.js';
import type { Plan } from './plan.js';
import type { Measurement, OnlineCommand, OnlineLevel, Policy, PolicyContext } from './policy.js';
import { RunRecorder } from './record.js';

export class Coordinator {
  private readonly plans = new Map<number, Plan>();
  /** Barrier: per iteration, the replies held and the workers that asked. */
  private readonly held = new Map<number, { replies: ((plan: Plan) => void)[]; workers: Set<string> }>();
  private readonly completeListeners: ((iteration: number) => void)[] = [];
  private finished = false;

  constructor(
    private readonly policy: Policy,
    private readonly context: () => PolicyContext,
    readonly recorder: RunRecorder,
    private readonly clock: Clock,
    private readonly sendCommand: (command: OnlineCommand) => void,
  ) {
    const period = policy.checkPeriodS;
    if (period && policy.replan) {
      const tick = () => {
        if (this.finished) return;
        policy.replan!(this.context());
        clock.setTimer(period, tick);
      };
      clock.setTimer(period, tick);
    }
  }

  /** An agent asks for an iteration's plan; `reply` gets it (at once, or when the barrier opens). */
  requestPlan(node: string, iteration: number, reply: (plan: Plan) => void): void {
    if (!this.policy.barrier || this.plans.has(iteration)) {
      reply(this.planFor(iteration));
      return;
    }
    let waiting = this.held.get(iteration);
    if (!waiting) this.held.set(iteration, (waiting = { replies: [], workers: new Set() }));
    waiting.replies.push(reply);
    const workers = this.context().workers;
    if (workers.includes(node)) waiting.workers.add(node);
    if (waiting.workers.size < workers.length) return;
    this.held.delete(iteration);
    const plan = this.planFor(iteration);
    for (const r of waiting.replies) r(plan);
  }

  planFor(iteration: number): Plan {
    let plan = this.plans.get(iteration);
    if (!plan) {
      plan = this.policy.currentPlan({ ...this.context(), iteration });
      this.plans.set(iteration, plan);
      this.recorder.planUsed(iteration, plan.version);
      this.plans.delete(iteration - 8); // old plans are no longer asked for
    }
    return plan;
  }

  /** Called when every worker finished `iteration`. */
  onIterationComplete(listener: (iteration: number) => void): void {
    this.completeListeners.push(listener);
  }

  iterationDone(node: string, iteration: number, at: number): void {
    this.recorder.iterationDone(node, iteration, at);
    if (this.recorder.isIterationComplete(iteration)) {
      for (const l of this.completeListeners) l(iteration);
    }
  }

  /** Stop the re-plan timer (the run is over). */
  stop(): void {
    this.finished = true;
  }

  measured(m: Measurement): void {
    this.policy.observe?.(m);
  }

  ready(node: string, iteration: number, chunk: number, level?: OnlineLevel): void {
    this.dispatch(this.policy.online?.ready(node, iteration, chunk, level));
  }

  final(node: string, iteration: number, chunk: number): void {
    this.dispatch(this.policy.online?.final(node, iteration, chunk));
  }

  receivedFinal(node: string, from: string, iteration: number, chunk: number, level?: OnlineLevel): void {
    this.dispatch(this.policy.online?.receivedFinal(node, from, iteration, chunk, level));
  }

  private dispatch(commands: OnlineCommand[] | undefined): void {
    for (const c of commands ?? []) this.sendCommand(c);
  }
}
