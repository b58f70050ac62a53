/**
 * A connection's send queue, shared by the simulated and the emulated
 * transport: FIFO among messages of one priority, a higher priority ahead
 * of lower ones, and never ahead of the message already on the wire (a
 * sender's priority queue, as ps-lite's van and StellaTrain's comm manager
 * keep one: they reorder what waits, not what is being sent).
 */

/** Put `message` behind every queued one of at least its priority, from index `first` on. */
export function insertByPriority<M extends { priority?: number }>(queue: M[], message: M, first: number): void {
  const p = message.priority ?? 0;
  let at = queue.length;
  while (at > first && (queue[at - 1].priority ?? 0) < p) at--;
  if (at === queue.length) queue.push(message);
  else queue.splice(at, 0, message);
}
