/**
 * Names and addresses every emulated network uses, whichever backend
 * carries its links: a run tag (namespace gb-<tag>-<node>), 198.19.0.0/16
 * for nodes (node i is 198.19.(i >> 8).(i & 255)) and 198.18.0.0/16 for
 * links (undirected link k is the /30 198.18.0.0 + 4k).
 */
import { randomBytes } from 'node:crypto';

export function newRunTag(): string {
  return randomBytes(3).toString('hex');
}

export function ipv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export const LINK_BASE = (198 << 24) | (18 << 16);

export function nodeAddress(index: number): string {
  return `198.19.${index >> 8}.${index & 255}`;
}
