import { promisify } from 'node:util';
import {
  type BrotliOptions,
  brotliCompress,
  brotliCompressSync,
  brotliDecompressSync,
  constants,
  deflateRaw,
  deflateRawSync,
  inflateRawSync,
} from 'node:zlib';
import { RLP } from '@ethereumjs/rlp';
import {
  BlockDecodeError,
  decodeSequencedBlock,
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../types/sequenced-block.js';

/**
 * Batch format, version 1 (docs/batch-format.md):
 *   byte 0      format version (1)
 *   byte 1      compression: 0 none, 1 deflate (raw zlib), 2 brotli
 *   bytes 2..   compressed RLP list of encoded sequenced blocks, contiguous heights, each the child
 *               of the one before.
 */
export const BATCH_VERSION = 1;
export type Compression = 'none' | 'deflate' | 'brotli';
const COMPRESSION_CODES: Record<Compression, number> = { none: 0, deflate: 1, brotli: 2 };

/** Decompressed batches larger than this are refused (a zip bomb must not exhaust memory). */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

export class BatchDecodeError extends Error {
  override name = 'BatchDecodeError';
}

export function encodeBatch(blocks: SequencedBlock[], compression: Compression = 'brotli'): Uint8Array {
  if (blocks.length === 0) throw new Error('a batch holds at least one block');
  const payload = RLP.encode(blocks.map(encodeSequencedBlock));
  return withHeader(BATCH_VERSION, compression, compressSync(payload, compression));
}

/**
 * encodeBatch, the same bytes, compressed on libuv's thread pool: what a running node uses. Brotli at
 * quality 11 takes ~0.5 s for a full batch (120 KB compressed) and ~0.85 s for 480 KB of txs on an idle
 * core (bench/batch-encode.ts); on the main thread that stopped the batcher's node from voting for as
 * long (a stalled committee once a member was down, since every other vote was needed).
 */
export async function encodeBatchAsync(
  blocks: SequencedBlock[],
  compression: Compression = 'brotli',
): Promise<Uint8Array> {
  if (blocks.length === 0) throw new Error('a batch holds at least one block');
  const payload = RLP.encode(blocks.map(encodeSequencedBlock));
  return withHeader(BATCH_VERSION, compression, await compressAsync(payload, compression));
}

/**
 * Batch format, version 2 (the `based` mode, docs/batch-format.md): bytes 0 and 1 as version 1, then
 * the compressed RLP list of raw txs (EIP-2718 envelopes as users signed them). The block around them
 * is made by derivation from the L1 block that includes the batch.
 */
export const TX_BATCH_VERSION = 2;
/** Most txs in one version-2 batch (one block's worth: the sequencer's maxBlockTxs). */
export const MAX_TX_BATCH_TXS = 5_000;

/**
 * An empty list is a batch too: its block holds only the L1 messages due (deposits, forced txs), which
 * no batch would apply while nobody sends a tx. (A batch of one junk tx, skipped at execution, made the
 * same block before, so allowing it opens nothing new.)
 */
export function encodeTxBatch(txs: Uint8Array[], compression: Compression = 'brotli'): Uint8Array {
  if (txs.length > MAX_TX_BATCH_TXS) throw new Error(`a batch holds at most ${MAX_TX_BATCH_TXS} txs`);
  return withHeader(TX_BATCH_VERSION, compression, compressSync(RLP.encode(txs), compression));
}

/** encodeTxBatch compressed off the main thread (encodeBatchAsync). */
export async function encodeTxBatchAsync(
  txs: Uint8Array[],
  compression: Compression = 'brotli',
): Promise<Uint8Array> {
  if (txs.length > MAX_TX_BATCH_TXS) throw new Error(`a batch holds at most ${MAX_TX_BATCH_TXS} txs`);
  return withHeader(TX_BATCH_VERSION, compression, await compressAsync(RLP.encode(txs), compression));
}

/** The raw txs of a version-2 batch; any tx may still be junk (execution skips it). */
export function decodeTxBatch(data: Uint8Array): Uint8Array[] {
  const list = unframe(data, TX_BATCH_VERSION);
  if (!Array.isArray(list)) throw new BatchDecodeError('batch payload is not a list of txs');
  if (list.length > MAX_TX_BATCH_TXS)
    throw new BatchDecodeError(`batch holds ${list.length} txs, at most ${MAX_TX_BATCH_TXS}`);
  return list.map((item, i) => {
    if (!(item instanceof Uint8Array)) throw new BatchDecodeError(`tx ${i}: expected bytes`);
    return item;
  });
}

const brotliOptions = (payload: Uint8Array): BrotliOptions => ({
  params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: payload.length },
});
const DEFLATE_LEVEL = 9;
const brotliCompressAsync = promisify(brotliCompress);
const deflateRawAsync = promisify(deflateRaw);

function compressSync(payload: Uint8Array, compression: Compression): Uint8Array {
  if (compression === 'brotli') return brotliCompressSync(payload, brotliOptions(payload));
  if (compression === 'deflate') return deflateRawSync(payload, { level: DEFLATE_LEVEL });
  return payload;
}

async function compressAsync(payload: Uint8Array, compression: Compression): Promise<Uint8Array> {
  if (compression === 'brotli') return brotliCompressAsync(payload, brotliOptions(payload));
  if (compression === 'deflate') return deflateRawAsync(payload, { level: DEFLATE_LEVEL });
  return payload;
}

function withHeader(version: number, compression: Compression, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + body.length);
  out[0] = version;
  out[1] = COMPRESSION_CODES[compression];
  out.set(body, 2);
  return out;
}

/** Checks the version, decompresses (bounded) and RLP-decodes a batch's payload. */
function unframe(data: Uint8Array, version: number): unknown {
  if (data.length < 3) throw new BatchDecodeError('batch too short');
  if (data[0] !== version) throw new BatchDecodeError(`unknown batch version ${data[0]}`);
  const body = data.subarray(2);
  let payload: Uint8Array;
  try {
    if (data[1] === 2) payload = brotliDecompressSync(body, { maxOutputLength: MAX_BATCH_BYTES });
    else if (data[1] === 1) payload = inflateRawSync(body, { maxOutputLength: MAX_BATCH_BYTES });
    else if (data[1] === 0) payload = body;
    else throw new BatchDecodeError(`unknown compression ${data[1]}`);
  } catch (err) {
    if (err instanceof BatchDecodeError) throw err;
    throw new BatchDecodeError(`cannot decompress batch: ${(err as Error).message}`);
  }
  // zlib returns Buffers; decode from a plain Uint8Array view so blocks hold plain byte arrays.
  payload = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  try {
    return RLP.decode(payload);
  } catch (err) {
    throw new BatchDecodeError(`batch is not valid RLP: ${(err as Error).message}`);
  }
}

/**
 * Decodes and checks a batch: format, size, every block's encoding, contiguity and parent links, and,
 * given the Inbox's record of it, that the last block hashes to `expectedLastHash`. Blocks are chained
 * by parent hash, so that one check covers every byte of every block.
 */
export function decodeBatch(data: Uint8Array, expectedLastHash?: string): SequencedBlock[] {
  const list = unframe(data, BATCH_VERSION);
  if (!Array.isArray(list) || list.length === 0) throw new BatchDecodeError('batch holds no blocks');
  const blocks: SequencedBlock[] = [];
  for (const [i, item] of list.entries()) {
    if (!(item instanceof Uint8Array)) throw new BatchDecodeError(`block ${i}: expected bytes`);
    try {
      blocks.push(decodeSequencedBlock(item));
    } catch (err) {
      if (err instanceof BlockDecodeError) throw new BatchDecodeError(`block ${i}: ${err.message}`);
      throw err;
    }
  }
  for (let i = 1; i < blocks.length; i++) {
    if (blocks[i].height !== blocks[i - 1].height + 1n) {
      throw new BatchDecodeError(
        `block ${i}: height ${blocks[i].height} does not follow ${blocks[i - 1].height}`,
      );
    }
    if (blocks[i].parentHash !== hashSequencedBlock(blocks[i - 1])) {
      throw new BatchDecodeError(`block ${i}: parent hash does not link to block ${i - 1}`);
    }
  }
  if (expectedLastHash !== undefined) {
    const last = hashSequencedBlock(blocks[blocks.length - 1]);
    if (last !== expectedLastHash.toLowerCase()) {
      throw new BatchDecodeError(
        `last block hashes to ${last}, but L1 recorded ${expectedLastHash}: the batch was altered`,
      );
    }
  }
  return blocks;
}
