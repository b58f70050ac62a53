/**
 * A synchronization plan: how each chunk of the gradient is aggregated and
 * handed back. Every chunk belongs to one tree; a tree has a root (where the
 * update is applied), an aggregation in-tree (each node's parent), and a
 * broadcast out-tree (each node's children). Edges are logical: a message to
 * a parent that is not a neighbour follows the underlay route.
 */

export interface Tree {
  root: string;
  /** node -> the next node towards the root when aggregating. */
  parent: Map<string, string>;
  /** node -> number of nodes whose parent it is (contributions it waits for, besides its own). */
  upChildren: Map<string, number>;
  /** node -> the nodes it forwards the final value to. */
  children: Map<string, string[]>;
}

export interface ChunkPlan {
  id: number;
  /** Index of the model array this chunk is cut from. */
  array: number;
  /** First element of the chunk within its array. */
  offset: number;
  elements: number;
  bytes: number;
  /** Index into `Plan.trees`. */
  tree: number;
}

export interface Plan {
  /** Increases with every new plan a scheduler makes. */
  version: number;
  trees: Tree[];
  chunks: ChunkPlan[];
}

/** A tree in which every listed contributor sends straight to the root, and the root sends straight back. */
export function starTree(root: string, contributors: string[]): Tree {
  const others = contributors.filter((n) => n !== root);
  return {
    root,
    parent: new Map(others.map((n) => [n, root])),
    upChildren: new Map([[root, others.length]]),
    children: new Map([[root, others]]),
  };
}
