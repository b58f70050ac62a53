/** Where a training run's data comes from (paths absolute); train/data.ts loads it. */
export type DatasetSpec =
  | { kind: 'mnist' }
  | { kind: 'idx'; images: string; labels: string }
  | { kind: 'csv'; file: string }
  | { kind: 'synthetic'; samples: number };
