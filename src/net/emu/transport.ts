/**
 * The emulated data plane of one node: real TCP. One connection per
 * (sender, receiver) pair, opened by the sender on first use, carrying
 * length-prefixed frames from a FIFO queue, one message at a time, with
 * the socket's backpressure honoured. A frame is a 4-byte header length,
 * a JSON header, then `bytes` bytes of payload: a message's real content
 * first (its fp32 `values`, little-endian, or its compressed `packed`
 * bytes), zeros for the rest of the size the network must carry. Content
 * larger than the payload rides in the header instead.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Clock, Delivery, NodeTransport } from '../types.js';
import { insertByPriority } from '../send-queue.js';

/** Port every agent listens on, on its node address. */
export const AGENT_PORT = 7700;

const ZEROS = Buffer.alloc(64 * 1024);

interface Header {
  from: string;
  bytes: number;
  enqueuedAt: number;
  sentAt: number;
  body: unknown;
  /** The payload starts with this many fp32 values: the body's `values`. */
  payloadValues?: number;
  /** The payload starts with this many bytes: the body's `packed` (a compressed message). */
  payloadPacked?: number;
}

interface Outgoing {
  bytes: number;
  body: unknown;
  enqueuedAt: number;
  priority?: number;
}

/** A body's fp32 values, if it has any. */
function valuesOf(body: unknown): Float32Array | null {
  const values = body && typeof body === 'object' && 'values' in body ? (body as { values: unknown }).values : null;
  return values instanceof Float32Array ? values : null;
}

/** A body's compressed payload, if it has one. */
function packedOf(body: unknown): Uint8Array | null {
  const packed = body && typeof body === 'object' && 'packed' in body ? (body as { packed: unknown }).packed : null;
  return packed instanceof Uint8Array ? packed : null;
}

/** Content too large for the payload travels as plain arrays in JSON; typed arrays are restored on arrival. */
function encodeBody(body: unknown): unknown {
  const values = valuesOf(body);
  const packed = packedOf(body);
  if (!values && !packed) return body;
  return { ...(body as object), ...(values ? { values: Array.from(values), f32: true } : {}), ...(packed ? { packed: Array.from(packed), u8: true } : {}) };
}

function decodeBody(body: unknown): unknown {
  if (!body || typeof body !== 'object') return body;
  const { f32, u8, ...rest } = body as { f32?: boolean; u8?: boolean; values?: number[]; packed?: number[] };
  if (!f32 && !u8) return body;
  return { ...rest, ...(f32 ? { values: Float32Array.from(rest.values!) } : {}), ...(u8 ? { packed: Uint8Array.from(rest.packed!) } : {}) };
}

class Connection {
  private readonly queue: Outgoing[] = [];
  private socket: Socket | null = null;
  private sending = false;

  constructor(
    private readonly from: string,
    private readonly address: string,
    private readonly clock: Clock,
    private readonly onError: (e: Error) => void,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  push(message: Outgoing): void {
    // (the message being written stays first)
    insertByPriority(this.queue, message, this.sending ? 1 : 0);
    if (!this.socket) {
      this.socket = connect(AGENT_PORT, this.address);
      this.socket.setNoDelay(true);
      this.socket.on('error', (e) => this.onError(e));
      this.socket.on('connect', () => void this.pump());
      return;
    }
    if (!this.socket.connecting) void this.pump();
  }

  /** Write queued messages one after another, waiting for the socket to drain. */
  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    const socket = this.socket!;
    while (this.queue.length > 0) {
      const message = this.queue[0];
      const values = valuesOf(message.body);
      const packed = values ? null : packedOf(message.body);
      const content = values ?? packed;
      const inPayload = content !== null && content.byteLength <= message.bytes;
      const header = Buffer.from(JSON.stringify({
        from: this.from, bytes: message.bytes, enqueuedAt: message.enqueuedAt, sentAt: this.clock.now(),
        ...(!inPayload ? { body: encodeBody(message.body) }
          : values ? { body: { ...(message.body as object), values: null }, payloadValues: values.length }
            : { body: { ...(message.body as object), packed: null }, payloadPacked: packed!.byteLength }),
      } satisfies Header));
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(header.length);
      await write(socket, Buffer.concat([prefix, header]));
      let left = message.bytes;
      if (inPayload) {
        await write(socket, Buffer.from(content.buffer, content.byteOffset, content.byteLength));
        left -= content.byteLength;
      }
      for (; left > 0; left -= ZEROS.length) {
        await write(socket, left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left));
      }
      this.queue.shift();
    }
    this.sending = false;
  }

  close(): void {
    this.socket?.destroy();
  }
}

function write(socket: Socket, data: Buffer): Promise<void> | void {
  if (socket.write(data)) return;
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      reject(new Error('connection closed while sending'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** Parses the frames arriving on one inbound connection. */
class FrameReader {
  private buffered: Buffer[] = [];
  private header: Header | null = null;
  private payloadLeft = 0;
  /** The content at the start of the current payload (values or packed bytes), as it arrives. */
  private values: Uint8Array | null = null;
  private valuesFilled = 0;

  constructor(private readonly onFrame: (header: Header, body: unknown) => void) {}

  private finish(): void {
    const h = this.header!;
    const content = this.values;
    this.header = null;
    this.values = null;
    if (!content) this.onFrame(h, decodeBody(h.body));
    else if (h.payloadValues !== undefined) this.onFrame(h, { ...(h.body as object), values: new Float32Array(content.buffer, content.byteOffset, content.byteLength / 4) });
    else this.onFrame(h, { ...(h.body as object), packed: content });
  }

  push(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      if (this.header) {
        const take = Math.min(this.payloadLeft, data.length);
        if (this.values && this.valuesFilled < this.values.length) {
          const copy = Math.min(take, this.values.length - this.valuesFilled);
          this.values.set(data.subarray(0, copy), this.valuesFilled);
          this.valuesFilled += copy;
        }
        this.payloadLeft -= take;
        data = data.subarray(take);
        if (this.payloadLeft === 0) this.finish();
        continue;
      }
      this.buffered.push(data);
      data = Buffer.alloc(0);
      const all = Buffer.concat(this.buffered);
      if (all.length < 4) {
        this.buffered = [all];
        continue;
      }
      const headerLength = all.readUInt32BE(0);
      if (all.length < 4 + headerLength) {
        this.buffered = [all];
        continue;
      }
      this.header = JSON.parse(all.subarray(4, 4 + headerLength).toString()) as Header;
      this.payloadLeft = this.header.bytes;
      this.values = this.header.payloadValues !== undefined ? new Uint8Array(this.header.payloadValues * 4)
        : this.header.payloadPacked !== undefined ? new Uint8Array(this.header.payloadPacked) : null;
      this.valuesFilled = 0;
      this.buffered = [];
      data = all.subarray(4 + headerLength);
      if (this.payloadLeft === 0) this.finish();
    }
  }
}

export class TcpTransport implements NodeTransport {
  private readonly connections = new Map<string, Connection>();
  private readonly inbound = new Set<Socket>();
  private server: Server | null = null;
  private handler: (d: Delivery) => void = () => undefined;
  /** Bytes read from every inbound connection so far (the runner's evidence that data moves, even inside one long message). */
  receivedBytes = 0;

  constructor(
    readonly node: string,
    private readonly address: string,
    private readonly addressOf: (node: string) => string,
    private readonly clock: Clock,
    private readonly onError: (e: Error) => void,
  ) {}

  /** Start listening on this node's address. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server = createServer((socket) => {
        this.inbound.add(socket);
        socket.on('close', () => this.inbound.delete(socket));
        socket.on('error', () => undefined);
        const reader = new FrameReader((h, body) => this.handler({
          from: h.from, to: this.node, bytes: h.bytes, body,
          enqueuedAt: h.enqueuedAt, sentAt: h.sentAt, deliveredAt: this.clock.now(),
        }));
        socket.on('data', (chunk: Buffer) => {
          this.receivedBytes += chunk.length;
          reader.push(chunk);
        });
      });
      this.server.once('error', reject);
      this.server.listen(AGENT_PORT, this.address, () => resolve());
    });
  }

  send(to: string, bytes: number, body: unknown, priority = 0): void {
    const now = this.clock.now();
    if (to === this.node) {
      setImmediate(() => this.handler({ from: to, to, bytes, body, enqueuedAt: now, sentAt: now, deliveredAt: this.clock.now() }));
      return;
    }
    let conn = this.connections.get(to);
    if (!conn) this.connections.set(to, (conn = new Connection(this.node, this.addressOf(to), this.clock, this.onError)));
    conn.push(priority === 0 ? { bytes, body, enqueuedAt: now } : { bytes, body, enqueuedAt: now, priority });
  }

  queued(to: string): number {
    return this.connections.get(to)?.length ?? 0;
  }

  onMessage(handler: (d: Delivery) => void): void {
    this.handler = handler;
  }

  close(): void {
    for (const c of this.connections.values()) c.close();
    for (const s of this.inbound) s.destroy();
    this.server?.close();
  }
}

/**
 * Wall time in seconds since `epochMs` (the run's start, shared by all
 * processes on this host). The base is CLOCK_MONOTONIC (process.hrtime),
 * one clock for every process on the host: performance.timeOrigin is each
 * process's own reading of the wall clock at its start, off by as long as
 * the process was preempted while taking it (milliseconds on a busy host,
 * enough to make a message seem to arrive before it left).
 */
export class WallClock {
  constructor(private epochMs: number = WallClock.epochNow()) {}

  /** Now, in milliseconds of CLOCK_MONOTONIC (the native link emulator's clock too). */
  static epochNow(): number {
    return Number(process.hrtime.bigint()) / 1e6;
  }

  /** Count from this epoch on (the runner's start signal). */
  startAt(epochMs: number): void {
    this.epochMs = epochMs;
  }

  now(): number {
    return (WallClock.epochNow() - this.epochMs) / 1000;
  }

  setTimer(delayS: number, fn: () => void): void {
    setTimeout(fn, Math.max(0, delayS * 1000));
  }
}
