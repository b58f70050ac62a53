/**
 * Messages over a byte stream (a TCP socket): each one serialized with V8's
 * structured clone (as Node's IPC channel does with serialization
 * 'advanced', so Maps and typed arrays arrive as they left) behind a 4-byte
 * big-endian length.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { deserialize, serialize } from 'node:v8';

/** The largest message accepted (a whole model's weights fit many times over). */
const MAX_MESSAGE_BYTES = 1 << 30;

export class MessageStream<In, Out> {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly socket: Duplex,
    onMessage: (m: In) => void,
    onError: (e: Error) => void,
  ) {
    if (socket instanceof Socket) socket.setNoDelay(true); // control messages are small and waited for
    socket.on('data', (data) => {
      try {
        for (const m of this.take(data)) onMessage(m);
      } catch (e) {
        onError(e as Error);
        socket.destroy();
      }
    });
  }

  send(m: Out): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    const body = serialize(m);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(body.length);
    this.socket.write(Buffer.concat([head, body]));
  }

  /** The whole messages that `data` completes. */
  private *take(data: Buffer): Generator<In> {
    this.pending.push(data);
    this.pendingBytes += data.length;
    while (this.pendingBytes >= 4) {
      if (this.pending[0].length < 4) this.pending = [Buffer.concat(this.pending)];
      const length = this.pending[0].readUInt32BE(0);
      if (length > MAX_MESSAGE_BYTES) throw new Error(`a control message of ${length} bytes (at most ${MAX_MESSAGE_BYTES})`);
      if (this.pendingBytes < 4 + length) return; // (joined only once it is whole)
      const joined = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
      const rest = joined.subarray(4 + length);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
      yield deserialize(joined.subarray(4, 4 + length)) as In;
    }
  }
}
