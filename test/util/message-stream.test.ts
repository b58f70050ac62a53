/**
 * The TCP control channel's framing (util/message-stream.ts): messages
 * arrive whole and in order however the bytes are cut, with Maps and typed
 * arrays intact, and a corrupt length is an error, not a hang.
 */
import { describe, expect, it } from 'vitest';
import { Duplex, PassThrough } from 'node:stream';
import { MessageStream } from '../../src/util/message-stream.js';
import { Rng } from '../../src/util/rng.js';

/** A stream whose writes are collected, and whose reads we feed by hand. */
function wire() {
  const incoming = new PassThrough();
  const written: Buffer[] = [];
  const outgoing = new PassThrough();
  outgoing.on('data', (b: Buffer) => written.push(b));
  return { duplex: Duplex.from({ readable: incoming, writable: outgoing }), incoming, written };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('message stream', () => {
  const messages = [
    { type: 'hello', node: 'fra' },
    { type: 'outcome', finals: new Map([[3, { iteration: 1, values: Float32Array.from([1.5, -2, 3e-8]) }]]), mismatches: [] },
    { type: 'snapshot', weights: new Float32Array(40_000).map((_, i) => i / 7) },
    { type: 'ping', seq: 0 },
  ];

  it('delivers every message whole and in order, however the bytes are cut', async () => {
    const sender = wire();
    const out = new MessageStream<never, unknown>(sender.duplex, () => undefined, (e) => { throw e; });
    for (const m of messages) out.send(m);
    await flush();
    const bytes = Buffer.concat(sender.written);
    const rng = new Rng(1, 'cuts');
    for (const cut of ['bytewise-start', 'random', 'whole']) {
      const receiver = wire();
      const got: unknown[] = [];
      new MessageStream(receiver.duplex, (m) => got.push(m), (e) => { throw e; });
      let at = 0;
      while (at < bytes.length) {
        const size = cut === 'whole' ? bytes.length : cut === 'random' ? 1 + rng.int(20_000) : at < 64 ? 1 : 65_536;
        receiver.incoming.write(bytes.subarray(at, at + size));
        at += size;
      }
      await flush();
      expect(got, cut).toEqual(messages);
      const snapshot = got[2] as { weights: Float32Array };
      expect(snapshot.weights).toBeInstanceOf(Float32Array);
      expect((got[1] as { finals: Map<number, unknown> }).finals).toBeInstanceOf(Map);
    }
  });

  it('a length beyond the limit is an error and closes the stream', async () => {
    const receiver = wire();
    const errors: Error[] = [];
    new MessageStream(receiver.duplex, () => undefined, (e) => errors.push(e));
    receiver.duplex.on('error', () => undefined); // (the destroyed stream's own abort)
    receiver.incoming.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0]));
    await flush();
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/a control message of 4294967295 bytes/)]);
    expect(receiver.duplex.destroyed).toBe(true);
  });
});
