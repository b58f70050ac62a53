/** A scenario's workload: a synthetic model (a profile or a gradient size, and a compute time) or real training. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROFILES, totalElements, type ModelArray } from '../model/profiles.js';
import type { DatasetSpec } from '../model/dataset.js';
import { MODEL_ARRAYS } from '../model/model-arrays.js';
import { ScenarioError } from './errors.js';
import type { ScenarioInput } from './schema.js';
import type { Training, Workload } from './types.js';

export function makeWorkload(
  input: ScenarioInput, profileOverride: string | undefined, baseDir: string,
  problem: (path: (string | number)[], message: string) => void,
): Workload | null {
  const w = input.workload;
  if (w.train) return makeTraining(w, profileOverride, baseDir, problem);
  const profileName = profileOverride ?? w.profile;
  if (profileOverride !== undefined && !PROFILES[profileOverride]) {
    throw new ScenarioError(`--profile: unknown model profile "${profileOverride}"; expected one of ${Object.keys(PROFILES).join(', ')}`);
  }
  const profile = profileName ? PROFILES[profileName]() : null;
  let arrays: ModelArray[];
  if (w.gradient_mb !== undefined && (profileOverride === undefined)) {
    arrays = [{ name: 'gradient', elements: Math.round((w.gradient_mb * 1e6) / 4) }];
  } else if (profile) {
    arrays = profile.arrays;
  } else {
    problem(['workload'], 'give a profile, gradient_mb, or train');
    return null;
  }
  const computeS = w.compute_ms !== undefined ? w.compute_ms / 1000 : profile ? profile.computeS : null;
  if (computeS === null) {
    problem(['workload', 'compute_ms'], 'missing; expected the compute time per iteration in ms (or a profile)');
    return null;
  }
  return {
    profile: profileOverride ?? (w.gradient_mb !== undefined ? 'custom' : profileName!),
    arrays, bytesPerElement: 4, computeS, totalBytes: totalElements(arrays) * 4, training: null,
  };
}

/** workload.train: a real model; the exchange is its parameters, or a profile's arrays padded around them. */
function makeTraining(
  w: ScenarioInput['workload'], profileOverride: string | undefined, baseDir: string,
  problem: (path: (string | number)[], message: string) => void,
): Workload | null {
  const t = w.train!;
  if (w.profile !== undefined || w.gradient_mb !== undefined) {
    problem(['workload', 'train'], 'give either train or a synthetic profile / gradient_mb, not both (use train.pad_to_profile for a paper-sized exchange)');
    return null;
  }
  const padProfile = profileOverride ?? t.pad_to_profile ?? null;
  if (padProfile !== null && !PROFILES[padProfile]) {
    throw new ScenarioError(`--profile: unknown model profile "${padProfile}"; expected one of ${Object.keys(PROFILES).join(', ')}`);
  }
  const modelArrays = MODEL_ARRAYS[t.model];
  const modelElements = totalElements(modelArrays);
  const arrays = padProfile ? PROFILES[padProfile]().arrays : modelArrays;
  if (totalElements(arrays) < modelElements) {
    problem(['workload', 'train', 'pad_to_profile'], `${padProfile} (${totalElements(arrays)} elements) is smaller than the ${t.model} model (${modelElements})`);
    return null;
  }
  const netstorm = t.preset === 'netstorm';
  const optimizer = t.optimizer ?? 'adam';
  const at = (f: string) => resolve(baseDir, f);
  const d = t.dataset;
  const dataset: DatasetSpec = d === 'mnist' ? { kind: 'mnist' }
    : 'idx' in d ? { kind: 'idx', images: at(d.idx.images), labels: at(d.idx.labels) }
    : 'csv' in d ? { kind: 'csv', file: at(d.csv) }
    : { kind: 'synthetic', samples: d.synthetic.samples };
  for (const [field, file] of dataset.kind === 'idx' ? [['images', dataset.images], ['labels', dataset.labels]] : dataset.kind === 'csv' ? [['csv', dataset.file]] : []) {
    if (!existsSync(file)) problem(['workload', 'train', 'dataset', ...(field === 'csv' ? ['csv'] : ['idx', field])], `${file}: no such file`);
  }
  const computeS = w.compute_ms !== undefined ? w.compute_ms / 1000 : null;
  const training: Training = {
    model: t.model, dataset, testFraction: t.test_fraction,
    optimizer: { name: optimizer, learningRate: t.learning_rate ?? (netstorm ? 1e-4 : optimizer === 'adam' ? 1e-3 : 0.1) },
    batch: t.batch ?? 32, evalEvery: t.eval_every, targetAccuracy: t.target_accuracy,
    modelElements, padProfile, computeS, preset: t.preset ?? null,
  };
  return {
    profile: padProfile ? `${t.model} padded to ${padProfile}` : t.model,
    arrays, bytesPerElement: 4, computeS: computeS ?? 0, totalBytes: totalElements(arrays) * 4, training,
  };
}
