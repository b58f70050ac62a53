/**
 * The two interfaces the sync engine is written against. The simulator
 * implements them in virtual time; the emulator with wall time and TCP.
 */

export interface Clock {
  /** Seconds since the run started. */
  now(): number;
  /** Call `fn` after `delayS` seconds. */
  setTimer(delayS: number, fn: () => void): void;
}

/** A message as delivered to its receiver. */
export interface Delivery<Body = unknown> {
  from: string;
  to: string;
  bytes: number;
  body: Body;
  /** When the sender handed it to the transport. */
  enqueuedAt: number;
  /** When its first byte left the sender (it reached the head of the connection's queue). */
  sentAt: number;
  /** When its last byte arrived. */
  deliveredAt: number;
}

/** One node's view of the data plane: a FIFO connection to every peer (by priority, where messages have one). */
export interface NodeTransport<Body = unknown> {
  readonly node: string;
  /**
   * Queue `bytes` (carrying `body`) on the connection to `to`: behind every
   * queued message of at least its `priority` (default 0), ahead of those
   * below it, never ahead of the one already on the wire.
   */
  send(to: string, bytes: number, body: Body, priority?: number): void;
  /** Messages queued or in flight on the connection to `to`. */
  queued(to: string): number;
  /** Register the handler of messages delivered to this node. */
  onMessage(handler: (delivery: Delivery<Body>) => void): void;
}
