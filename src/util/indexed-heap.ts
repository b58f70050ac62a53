/**
 * An indexed binary min-heap of (key, id) entries kept in the caller's
 * typed arrays, for hot loops that own their arrays (max-min filling,
 * shortest-path trees): ties go to the lower id, and pos[id] is the entry's
 * index (-1 once out), so an entry whose key changed can be moved: one
 * whose key fell moves up, one whose key rose moves down.
 */

/** Move the entry at i up to its place. */
export function siftUp(keys: Float64Array, ids: Int32Array, pos: Int32Array, i: number): void {
  const key = keys[i];
  const id = ids[i];
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (keys[parent] < key || (keys[parent] === key && ids[parent] < id)) break;
    keys[i] = keys[parent];
    ids[i] = ids[parent];
    pos[ids[i]] = i;
    i = parent;
  }
  keys[i] = key;
  ids[i] = id;
  pos[id] = i;
}

/** Move the entry at i down to its place in a heap of `size` entries. */
export function siftDown(keys: Float64Array, ids: Int32Array, pos: Int32Array, size: number, i: number): void {
  const key = keys[i];
  const id = ids[i];
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) break;
    const r = c + 1;
    if (r < size && (keys[r] < keys[c] || (keys[r] === keys[c] && ids[r] < ids[c]))) c = r;
    if (keys[c] > key || (keys[c] === key && ids[c] > id)) break;
    keys[i] = keys[c];
    ids[i] = ids[c];
    pos[ids[i]] = i;
    i = c;
  }
  keys[i] = key;
  ids[i] = id;
  pos[id] = i;
}

/** Take the top entry out of a heap of `size` entries (its pos becomes -1); returns the new size. */
export function popTop(keys: Float64Array, ids: Int32Array, pos: Int32Array, size: number): number {
  pos[ids[0]] = -1;
  size--;
  if (size > 0) {
    keys[0] = keys[size];
    ids[0] = ids[size];
    siftDown(keys, ids, pos, size, 0);
  }
  return size;
}
