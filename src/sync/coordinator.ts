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
import type { Measurement, OnlineCommand, Policy, PolicyContext } from './policy.js';
import { RunRecorder } from './record.js';

export class Coordinator {
  private readonly plans = new Map<number, Plan>();
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

  planFor(iteration: number): Plan {
    let plan = this.plans.get(iteration);
    if (!plan) {
      plan = this.policy.currentPlan(this.context());
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

  ready(node: string, iteration: number, chunk: number): void {
    this.dispatch(this.policy.online?.ready(node, iteration, chunk));
  }

  final(node: string, iteration: number, chunk: number): void {
    this.dispatch(this.policy.online?.final(node, iteration, chunk));
  }

  receivedFinal(node: string, from: string, iteration: number, chunk: number): void {
    this.dispatch(this.policy.online?.receivedFinal(node, from, iteration, chunk));
  }

  private dispatch(commands: OnlineCommand[] | undefined): void {
    for (const c of commands ?? []) this.sendCommand(c);
  }
}
