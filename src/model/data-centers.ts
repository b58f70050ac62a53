/**
 * Data centers as every layer sees them: a data center's own node (its
 * switch, where its servers run and its WAN links end) and its workers'
 * nodes. scenario/data-centers.ts makes them from the scenario file.
 */

/**
 * A data center. With one worker its own node is the worker; with two or
 * more each worker is a node of its own, `<name>.w<k>`, linked to the data
 * center's node by the LAN; with none (worker: false) it only forwards and
 * serves.
 */
export interface DataCenter {
  name: string;
  /** Its workers' nodes, in rank order within the data center. */
  workers: string[];
  /** Each worker's compute time per iteration (seconds), or null: the workload's. */
  computeS: (number | null)[];
}

/** Does any data center hold several workers (so that a LAN exists)? */
export function hasLans(dataCenters: DataCenter[]): boolean {
  return dataCenters.some((dc) => dc.workers.length > 1);
}

/** Each worker's compute time in seconds, by node: the data center's where it sets one, else `fallback`. */
export function workerComputeS(dataCenters: DataCenter[], worker: string, fallback: number): number {
  for (const dc of dataCenters) {
    const k = dc.workers.indexOf(worker);
    if (k >= 0) return dc.computeS[k] ?? fallback;
  }
  return fallback;
}

/** The longest compute time of any worker (an iteration waits for every worker's gradient). */
export function longestComputeS(dataCenters: DataCenter[], fallback: number): number {
  let longest = -Infinity;
  for (const dc of dataCenters) for (const s of dc.computeS) longest = Math.max(longest, s ?? fallback);
  return longest === -Infinity ? fallback : longest;
}

/** Data centers of one worker each (`workers`, a subset of `nodes`), as every scenario had before data centers held several. */
export function oneWorkerEach(nodes: string[], workers: string[]): DataCenter[] {
  return nodes.map((name) => (workers.includes(name) ? { name, workers: [name], computeS: [null] } : { name, workers: [], computeS: [] }));
}

/** A node's data center read off its name: a worker's node is `<dc>.w<k>` (a "." no data center's name has), any other node is a data center's own. */
export function dataCenterOfName(node: string): string {
  const m = /^(.+)\.w\d+$/.exec(node);
  return m ? m[1] : node;
}
