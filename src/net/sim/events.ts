/**
 * The discrete-event core: a virtual clock and a queue of timed callbacks.
 * Events at the same time run in the order they were scheduled.
 */
import { Heap } from '../../util/heap.js';
import type { Clock } from '../types.js';

interface SimEvent {
  time: number;
  seq: number;
  fn: () => void;
}

export class EventQueue implements Clock {
  private time = 0;
  private seq = 0;
  /** Events run so far (benchmarks). */
  executed = 0;
  private readonly heap = new Heap<SimEvent>((a, b) => a.time < b.time || (a.time === b.time && a.seq < b.seq));

  now(): number {
    return this.time;
  }

  setTimer(delayS: number, fn: () => void): void {
    this.at(this.time + Math.max(0, delayS), fn);
  }

  /** Schedule `fn` at absolute virtual time `time` (never in the past). */
  at(time: number, fn: () => void): void {
    this.heap.push({ time: Math.max(time, this.time), seq: this.seq++, fn });
  }

  /** Time of the next event, or Infinity. */
  nextTime(): number {
    return this.heap.peek()?.time ?? Infinity;
  }

  /** Move the clock forward (never back). */
  advanceTo(time: number): void {
    if (time > this.time) this.time = time;
  }

  /** Run every event scheduled at or before the current time; true if any ran. */
  runDue(): boolean {
    let ran = false;
    while (this.heap.size > 0 && this.heap.peek()!.time <= this.time) {
      this.heap.pop()!.fn();
      this.executed++;
      ran = true;
    }
    return ran;
  }

  get pending(): number {
    return this.heap.size;
  }
}
