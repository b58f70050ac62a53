/**
 * The control plane. It asks the policy for the current plan and freezes it
 * per iteration: the first agent to ask for iteration i fixes i's plan, and
 * every later request for i gets the same one, so no iteration ever mixes
 * two plans.
 */
import type { Plan } from './plan.js';
import type { Policy, PolicyContext } from './policy.js';
import { RunRecorder } from './record.js';

export class Coordinator {
  private readonly plans = new Map<number, Plan>();
  private readonly completeListeners: ((iteration: number) => void)[] = [];

  constructor(
    private readonly policy: Policy,
    private readonly context: () => PolicyContext,
    readonly recorder: RunRecorder,
  ) {}

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
    if (this.recorder.isIterationComplete(iteration)) for (const l of this.completeListeners) l(iteration);
  }
}
