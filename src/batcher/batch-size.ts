import type { SequencedBlock } from '../types/sequenced-block.js';

/** How far below the limit a cut aims: a shorter prefix compresses a little worse than the whole. */
const AIM = 0.95;
/** A batch under this share of the limit, with more blocks waiting, is worth one more encoding. */
const FULL = 0.8;

/** A sequenced block's fields besides its txs, RLP-encoded, at most (hashes, heights, origin, cursor). */
const BLOCK_FIELDS_BYTES = 160;

/** About a block's RLP size: its fields and each tx with its length prefix. */
function rlpBytesOf(b: SequencedBlock): number {
  let n = BLOCK_FIELDS_BYTES;
  for (const tx of b.txs) n += tx.length + 3;
  return n;
}

export interface FittedBatch {
  blocks: SequencedBlock[];
  /** The encoded batch of `blocks`. */
  data: Uint8Array;
  /** How many encodings it took (each a brotli pass of up to a few hundred ms). */
  encodes: number;
  /** Compressed bytes per RLP byte of the batch: the next call's `ratio`. */
  ratio: number;
}

/**
 * The blocks of the next batch: the prefix of `blocks` that ends at one of `ends` (indices where a
 * batch may end; the last block's among them) and encodes to at most `maxBytes`, or the shortest such
 * prefix when even that is larger (one oversized block still goes as calldata; the caller refuses it
 * for blobs).
 *
 * A backlog (after an L1 outage, or a busy committee's hundreds of blocks) can be many times one
 * batch. Halving it until it fits compressed it log2(backlog / batch) + 1 times, each pass over all
 * that was left, and left batches anywhere from half full. Instead each cut is placed by a ratio of
 * compressed to (counted) RLP bytes, aiming a little below the limit: the previous batch's (`ratio`)
 * for the first cut, so that a backlog is never compressed whole, then the last encoding's. One
 * encoding as a rule, a batch ~90 % full; a cut that left the batch under 80 % full is lengthened.
 */
export async function fitBatch(
  blocks: SequencedBlock[],
  ends: number[],
  maxBytes: number,
  encode: (blocks: SequencedBlock[]) => Promise<Uint8Array>,
  ratio?: number,
): Promise<FittedBatch> {
  if (blocks.length === 0) throw new Error('a batch holds at least one block');
  if (!ends.includes(blocks.length - 1))
    throw new Error('internal: a batch must be able to end at its last block');
  // About the RLP bytes of blocks[0..i], the measure each cut is placed by (counted, not encoded: RLP
  // over a backlog of hundreds of blocks took tens of ms of the main thread).
  const upTo: number[] = [];
  let total = 0;
  for (const b of blocks) {
    total += rlpBytesOf(b);
    upTo.push(total);
  }
  /** The length of the longest prefix ending below `below` within `rlpBytes`, else of the shortest. */
  const cut = (rlpBytes: number, below: number): number | undefined => {
    const within = ends.filter((i) => i < below);
    if (within.length === 0) return undefined;
    return (within.filter((i) => upTo[i] <= rlpBytes).pop() ?? within[0]) + 1;
  };
  const aimFor = (r: number) => (maxBytes * AIM) / r;
  let encodes = 0;
  const at = async (n: number) => {
    encodes++;
    const data = await encode(blocks.slice(0, n));
    return { n, data, ratio: data.length / upTo[n - 1] };
  };
  let tried = await at(
    ratio && ratio > 0 ? (cut(aimFor(ratio), blocks.length) ?? blocks.length) : blocks.length,
  );
  /** The shortest prefix known not to fit (+1: none). */
  let tooLong = blocks.length + 1;
  // Too long: shorter cuts by each encoding's own ratio. Every cut is shorter than the last, so this
  // ends; a prefix that still does not fit places the next cut by its own (truer) ratio.
  while (tried.data.length > maxBytes) {
    tooLong = tried.n;
    const n = cut(aimFor(tried.ratio), tried.n - 1);
    if (n === undefined) break;
    tried = await at(n);
  }
  // A cut that came out short (the previous batch's ratio was off; a short prefix compresses worse, so
  // its own ratio undershoots too): lengthened by its own ratio while it stays short and fits.
  while (tried.data.length < FULL * maxBytes && tried.n < tooLong - 1) {
    const n = cut(aimFor(tried.ratio), Math.min(blocks.length, tooLong - 1));
    if (n === undefined || n <= tried.n) break;
    const longer = await at(n);
    if (longer.data.length > maxBytes) break;
    tried = longer;
  }
  return { blocks: blocks.slice(0, tried.n), data: tried.data, encodes, ratio: tried.ratio };
}
