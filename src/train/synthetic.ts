/**
 * The synthetic worker: a fixed compute time per iteration and, in values
 * mode, small integer-valued contributions whose sums are exact in fp32, so
 * tests can check every node ends with exactly the plain sum.
 */
import type { Clock } from '../net/types.js';
import type { ChunkPlan } from '../sync/plan.js';
import type { ServerModel, WorkerModel } from '../sync/agent.js';

/** Elements carried per chunk in values mode (the byte count stays the real one). */
export const VALUES_PER_CHUNK = 4;

/** The contribution of worker number `worker` to `chunk` in `iteration` (values mode). */
export function syntheticContribution(worker: number, iteration: number, chunk: number): Float32Array {
  const v = new Float32Array(VALUES_PER_CHUNK);
  for (let k = 0; k < v.length; k++) v[k] = ((worker + 1) * 7 + iteration * 13 + chunk * 3 + k * 5) % 17;
  return v;
}

/** The plain sum of every worker's contribution to `chunk` in `iteration` (values mode). */
export function syntheticSum(workers: number, iteration: number, chunk: number): Float32Array {
  const sum = new Float32Array(VALUES_PER_CHUNK);
  for (let w = 0; w < workers; w++) syntheticContribution(w, iteration, chunk).forEach((v, k) => (sum[k] += v));
  return sum;
}

export class SyntheticWorker implements WorkerModel {
  /** In values mode: chunk id -> final values of the latest iteration. */
  readonly finals = new Map<number, { iteration: number; values: Float32Array | null }>();
  /** In values mode: finals checked against the plain sum, and the ones that differed. */
  checked = 0;
  readonly mismatches: string[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly computeS: number,
    private readonly workerIndex: number,
    private readonly values: boolean,
    private readonly workerCount = 1,
  ) {}

  compute(_iteration: number, done: () => void): void {
    this.clock.setTimer(this.computeS, done);
  }

  get layeredComputeS(): number {
    return this.computeS;
  }

  computeNow(): void {
    // (nothing to compute: the agent times the layers)
  }

  contribution(iteration: number, chunk: ChunkPlan): Float32Array | null {
    return this.values ? syntheticContribution(this.workerIndex, iteration, chunk.id) : null;
  }

  receivedFinal(iteration: number, chunk: ChunkPlan, values: Float32Array | null): void {
    if (!this.values) return;
    this.finals.set(chunk.id, { iteration, values });
    if (chunk.value) return; // (a weighted sum or a server's model: the tests that make them check them themselves)
    const expected = syntheticSum(this.workerCount, iteration, chunk.id);
    this.checked++;
    if (!values || values.some((v, k) => v !== expected[k])) {
      this.mismatches.push(`iteration ${iteration} chunk ${chunk.id}: got ${values ? Array.from(values) : 'nothing'}, expected ${Array.from(expected)}`);
    }
  }
}

/**
 * A global server's model in a synthetic run (Plan.asynchronous): in values
 * mode each chunk's value is the sum of every update applied to it so far
 * (from zero), so tests can tell which updates a pull saw.
 */
export class SummingServer implements ServerModel {
  private readonly model = new Map<number, Float32Array>();

  constructor(private readonly values: boolean) {}

  apply(chunk: ChunkPlan, sum: Float32Array | null): void {
    if (!this.values || !sum) return;
    let v = this.model.get(chunk.id);
    if (!v) this.model.set(chunk.id, (v = new Float32Array(VALUES_PER_CHUNK)));
    for (let k = 0; k < v.length; k++) v[k] += sum[k];
  }

  value(chunk: ChunkPlan): Float32Array | null {
    return this.values ? Float32Array.from(this.model.get(chunk.id) ?? new Float32Array(VALUES_PER_CHUNK)) : null;
  }
}
