/** Datasets: the mnist package, IDX and CSV files (and their errors), seeded splits and shards. */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCsv, loadIdx, loadMnistPackage, shard, splitDataset, syntheticDataset, BatchStream, PIXELS } from '../../src/train/data.js';
import { UserError } from '../../src/util/errors.js';
import { useTempDir } from '../helpers.js';

function idxFiles(dir: string, n: number, side = 28, labelCount = n): { images: string; labels: string } {
  const img = Buffer.alloc(16 + n * side * side);
  img.writeUInt32BE(0x803, 0);
  img.writeUInt32BE(n, 4);
  img.writeUInt32BE(side, 8);
  img.writeUInt32BE(side, 12);
  for (let i = 0; i < n; i++) img[16 + i * side * side + i] = 255; // image i: one white pixel at i
  const lab = Buffer.alloc(8 + labelCount);
  lab.writeUInt32BE(0x801, 0);
  lab.writeUInt32BE(labelCount, 4);
  for (let i = 0; i < labelCount; i++) lab[8 + i] = i % 10;
  const images = join(dir, 'images.idx');
  const labels = join(dir, 'labels.idx');
  writeFileSync(images, img);
  writeFileSync(labels, lab);
  return { images, labels };
}

describe('datasets', () => {
  const dir = useTempDir();

  it('the mnist package: 10,000 real digits, every class, pixels in [0, 1]', () => {
    const d = loadMnistPackage();
    expect(d.size).toBe(10_000);
    expect(d.images.length).toBe(10_000 * PIXELS);
    const perClass = Array.from({ length: 10 }, (_, c) => d.labels.filter((l) => l === c).length);
    for (const count of perClass) expect(count).toBeGreaterThan(800);
    expect(d.images.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(d.images.some((v) => v === 1)).toBe(true);
  });

  it('reads IDX files, scaling pixels to [0, 1]', () => {
    const { images, labels } = idxFiles(dir.path, 12);
    const d = loadIdx(images, labels);
    expect(d.size).toBe(12);
    expect(Array.from(d.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(d.images[3 * PIXELS + 3]).toBe(1);
    expect(d.images[3 * PIXELS + 4]).toBe(0);
  });

  it('names the file and the problem for a bad IDX pair', () => {
    const small = idxFiles(dir.path, 4, 16);
    expect(() => loadIdx(small.images, small.labels)).toThrow(/images\.idx: images are 16 x 16; the models take 28 x 28/);
    const mismatch = idxFiles(dir.path, 4, 28, 3);
    expect(() => loadIdx(mismatch.images, mismatch.labels)).toThrow(/labels\.idx: expected 4 labels/);
    expect(() => loadIdx(mismatch.labels, mismatch.images)).toThrow(/not an IDX image file/);
    expect(() => loadIdx(join(dir.path, 'gone'), mismatch.labels)).toThrow(UserError);
  });

  it('reads CSV (label, then 784 pixels; 0-255 scaled), skipping a header, and names bad rows', () => {
    const row = (label: number, value: number) => [label, ...Array(PIXELS).fill(value)].join(',');
    const file = join(dir.path, 'd.csv');
    writeFileSync(file, `label,${Array.from({ length: PIXELS }, (_, i) => `p${i}`).join(',')}\n${row(3, 255)}\n${row(7, 0)}\n`);
    const d = loadCsv(file);
    expect(d.size).toBe(2);
    expect(Array.from(d.labels)).toEqual([3, 7]);
    expect(d.images[0]).toBe(1);
    writeFileSync(file, `${row(3, 1)}\n1,2,3\n`);
    expect(() => loadCsv(file)).toThrow(/d\.csv:2: expected a label and 784 pixels \(785 values\), got 3/);
    writeFileSync(file, `${row(12, 1)}\n`);
    expect(() => loadCsv(file)).toThrow(/d\.csv:1: the label must be a class 0-9, got "12"/);
  });

  it('splits, shards and batches from the seed: disjoint, complete, repeatable', () => {
    const d = syntheticDataset(1000, 5);
    expect(syntheticDataset(1000, 5).images).toEqual(d.images);
    const { train, test } = splitDataset(d, 0.2, 9);
    expect([train.size, test.size]).toEqual([800, 200]);
    const shards = [0, 1, 2].map((w) => shard(train, w, 3, 9));
    expect(shards.map((s) => s.size)).toEqual([267, 267, 266]);
    // every training image in exactly one shard (images are distinct: compare by content)
    const key = (data: typeof d, i: number) => data.images.subarray(i * PIXELS, i * PIXELS + 16).join(',');
    const seen = new Set(shards.flatMap((s) => Array.from({ length: s.size }, (_, i) => key(s, i))));
    expect(seen.size).toBe(800);
    const a = new BatchStream(shards[0], 32, 9, 'a');
    const b = new BatchStream(shards[0], 32, 9, 'a');
    for (let k = 0; k < 20; k++) expect(a.next().labels).toEqual(b.next().labels);
    expect(() => new BatchStream(shards[0], 500, 9, 'a')).toThrow(/267 samples, fewer than its batch of 500/);
  });
});
