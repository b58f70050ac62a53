/**
 * What a link carries for a message: TCP/IP over Ethernet with a 1500-byte
 * MTU puts 1448 bytes of payload (20 IP + 32 TCP with timestamps) in each
 * 1514-byte frame, and htb shapes frames. The simulator sends messages at
 * this size so its link rates mean what the emulator's do.
 */
export const FRAME_BYTES = 1514;
/** An Ethernet header: what a frame adds to its IP packet. Every backend's rate and byte counts are frames. */
export const ETHERNET_HEADER_BYTES = 14;
export const PAYLOAD_PER_FRAME = 1448;

export type Framing = 'tcp' | 'none';

/** Bytes on the wire for `payload` bytes of a bulk TCP transfer (or the payload itself, unframed). */
export function wireBytes(payload: number, framing: Framing = 'tcp'): number {
  return framing === 'tcp' ? (payload * FRAME_BYTES) / PAYLOAD_PER_FRAME : payload;
}
