/** Real training in the simulator for the sync tests: every scheduler of a scenario, with every step each worker reports. */
import { simulate, type SchedulerRun } from '../../src/run/simulate.js';
import { prepareData, TrainingRecord, type TrainingData } from '../../src/train/session.js';
import { initBackend } from '../../src/train/backend.js';
import { trainerFor } from '../../src/train/trainer.js';
import type { Scenario } from '../../src/scenario/types.js';

export interface ReportedStep {
  /** The run's index in the scenario's schedulers. */
  run: number;
  worker: number;
  iteration: number;
  checksum: string;
}

/** Simulate each scheduler with real training (a run throws if workers that must agree do not), recording every step reported. */
export async function trainEach(s: Scenario): Promise<{ runs: SchedulerRun[]; reported: ReportedStep[]; data: TrainingData }> {
  await initBackend();
  const data = prepareData(s.workload.training!, s.seed, s.workers.length, (d, label) => trainerFor(s.workload.training!, s.seed, d, label));
  const reported: ReportedStep[] = [];
  const runs: SchedulerRun[] = [];
  const original = TrainingRecord.prototype.stepped;
  TrainingRecord.prototype.stepped = function (worker, iteration, checksum) {
    reported.push({ run: runs.length, worker, iteration, checksum });
    return original.call(this, worker, iteration, checksum);
  };
  try {
    for (const config of s.schedulers) runs.push(simulate(s, config, { trainingData: data }));
  } finally {
    TrainingRecord.prototype.stepped = original;
  }
  return { runs, reported, data };
}
