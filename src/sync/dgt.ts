/**
 * GeoMX's DGT (Plan.dgt), the sender's side: a push cut into blocks, each
 * block's contribution updated, zero blocks dropped, and the blocks split
 * into important and unimportant as 3rdparty/ps-lite include/ps/kv_app.h
 * KVServer::Send (DGT branch), EvalMsgContribution and GetChannel do:
 *
 * - block b holds bytes [b B, (b + 1) B) of the value (B = DGT_BLOCK_SIZE);
 * - c_b <- alpha c_b + (1 - alpha) sum|g| / n over the block's n values, in
 *   float (kept per key and block between rounds);
 * - a block with c_b = 0 is not sent, but the last block always is;
 * - the sent blocks but the last are sorted by c_b, highest first; the
 *   first round(k m) (m: the blocks sent, the last included) go on channel
 *   0, the rest on the unimportant channels; the last block is forced to
 *   channel 0. With DMLC_UDP_CHANNEL_NUM channels the unimportant ones are
 *   spread over channels 1..C; mode 2 sends them all over the one TCP
 *   connection, after the important queue (van.cc Unimportant_scheduler):
 *   one class here.
 *
 * Where a block has no values (a synthetic run; the padding of a padded
 * profile) geobed cannot score it: it is never zero, and such blocks take
 * their share of the important ones in index order (std::sort leaves the
 * order of equal scores open), the blocks with values theirs by score:
 * round(I a / (m - 1)) of the I important places for the a scored blocks.
 * Ties between scored blocks go to the lower index.
 */
import type { DgtConfig } from './plan.js';

/** What a DGT message carries of its chunk: its first element, the chunk's values' length, and its class. */
export interface DgtBlocks {
  start: number;
  length: number;
  /** It holds the chunk's last block: the round completes when it arrives. */
  last: boolean;
  important: boolean;
}

/** A sender's block contributions for one chunk, from round to round. */
export interface DgtState {
  contributions?: Float32Array;
}

/** One message: consecutive sent blocks of one class. */
export interface DgtMessage {
  firstBlock: number;
  blocks: number;
  startElement: number;
  endElement: number;
  bytes: number;
  important: boolean;
  last: boolean;
}

/** How each block of a push goes: important, unimportant, or (zero contribution) not at all. */
export type BlockClass = 'important' | 'unimportant' | 'skipped';

/** Classify the blocks of one push of `elements` values (`values`: their known part, or null), updating the contributions. */
export function classifyBlocks(elements: number, bytesPerElement: number, values: Float32Array | null, state: DgtState, config: Pick<DgtConfig, 'blockBytes' | 'k' | 'alpha'>): BlockClass[] {
  const perBlock = config.blockBytes / bytesPerElement;
  const n = Math.ceil(elements / perBlock);
  const known = values?.length ?? 0;
  const c = (state.contributions ??= new Float32Array(n));
  const alpha = Math.fround(config.alpha);
  const scored: number[] = [];
  const unscored: number[] = [];
  const classes: BlockClass[] = new Array(n).fill('unimportant');
  for (let b = 0; b < n; b++) {
    const start = b * perBlock;
    if (start >= known) {
      if (b < n - 1) unscored.push(b);
      continue;
    }
    const end = Math.min(start + perBlock, known);
    let sum = 0;
    for (let k = start; k < end; k++) sum = Math.fround(sum + Math.abs(values![k]));
    c[b] = Math.fround(Math.fround(alpha * c[b]) + Math.fround(Math.fround(1 - alpha) * Math.fround(sum / (end - start))));
    if (b === n - 1) continue;
    if (c[b] === 0) classes[b] = 'skipped';
    else scored.push(b);
  }
  classes[n - 1] = 'important';
  const m = scored.length + unscored.length + 1;
  const important = Math.min(Math.round(config.k * m), m - 1);
  const candidates = m - 1;
  let forScored = unscored.length === 0 ? important : scored.length === 0 ? 0 : Math.round((important * scored.length) / candidates);
  forScored = Math.min(forScored, scored.length);
  const forUnscored = Math.min(important - forScored, unscored.length);
  scored.sort((a, b) => c[b] - c[a] || a - b);
  for (let j = 0; j < forScored; j++) classes[scored[j]] = 'important';
  for (let j = 0; j < forUnscored; j++) classes[unscored[j]] = 'important';
  return classes;
}

/**
 * The messages of one push: runs of consecutive sent blocks of one class,
 * at most `blocksPerMessage` each, in index order (the one with the last
 * block is the last of its class); bytes are the blocks' (the last block
 * may be short).
 */
export function dgtMessages(elements: number, bytesPerElement: number, values: Float32Array | null, state: DgtState, config: DgtConfig): DgtMessage[] {
  const classes = classifyBlocks(elements, bytesPerElement, values, state, config);
  const perBlock = config.blockBytes / bytesPerElement;
  const messages: DgtMessage[] = [];
  let run: DgtMessage | null = null;
  classes.forEach((cls, b) => {
    if (cls === 'skipped') {
      run = null;
      return;
    }
    const important = cls === 'important';
    const endElement = Math.min((b + 1) * perBlock, elements);
    const bytes = (endElement - b * perBlock) * bytesPerElement;
    if (run && run.important === important && run.blocks < config.blocksPerMessage) {
      run.blocks++;
      run.endElement = endElement;
      run.bytes += bytes;
    } else {
      run = { firstBlock: b, blocks: 1, startElement: b * perBlock, endElement, bytes, important, last: false };
      messages.push(run);
    }
  });
  messages[messages.length - 1].last = true;
  return messages;
}
