import { BatchDecodeError, decodeBatch } from '../batcher/codec.js';
import { hashSequencedBlock, type SequencedBlock } from '../types/sequenced-block.js';
import type { BatchRef, BatchRetrieval } from './batch-retrieval.js';
import { critical, DerivationError } from './errors.js';

export interface QueuedBlock {
  block: SequencedBlock;
  batch: BatchRef;
  /** The last block of its batch. */
  lastOfBatch: boolean;
}

/**
 * Pull stage 2 (as op-node's batch queue): decodes each batch, checks it against what the Inbox
 * recorded (block range, last block hash — the batch's blocks chain by parent hash to it) and the
 * chain id, and hands out its sequenced blocks one at a time.
 *
 * A batch that fails is Critical where the Inbox only takes authorised or certified batches; with an
 * OpenInbox (`free`), where anyone posts, it is passed over (`onInvalid`) and the next one is read.
 */
export class BlockQueue {
  private current?: { batch: BatchRef; blocks: SequencedBlock[]; next: number };

  constructor(
    private readonly retrieval: BatchRetrieval,
    private readonly chainId: bigint,
    private readonly onInvalid?: (batch: BatchRef, reason: string) => void,
  ) {}

  async next(limit: bigint): Promise<QueuedBlock> {
    while (!this.current || this.current.next >= this.current.blocks.length) {
      const batch = await this.retrieval.next(limit);
      try {
        this.current = { batch, blocks: checkBatch(batch, this.chainId), next: 0 };
      } catch (err) {
        if (!this.onInvalid || !(err instanceof DerivationError)) throw err;
        this.onInvalid(batch, err.message);
      }
    }
    const c = this.current;
    const block = c.blocks[c.next++];
    return { block, batch: c.batch, lastOfBatch: c.next === c.blocks.length };
  }

  /** Passes over the rest of the current batch (a block of it did not extend the chain). */
  dropBatch(): void {
    this.current = undefined;
  }

  reset(): void {
    this.current = undefined;
  }
}

/** Decodes a batch and checks it against its Inbox record; a batch that fails is Critical. */
export function checkBatch(batch: BatchRef, chainId: bigint): SequencedBlock[] {
  const where = `batch ${batch.index} (L1 tx ${batch.l1TxHash})`;
  let blocks: SequencedBlock[];
  try {
    blocks = decodeBatch(batch.data, batch.lastBlockHash);
  } catch (err) {
    if (err instanceof BatchDecodeError) throw critical(`${where} is invalid: ${err.message}`, err);
    throw err;
  }
  const first = blocks[0];
  const last = blocks[blocks.length - 1];
  if (first.height !== batch.firstBlock || last.height !== batch.lastBlock)
    throw critical(
      `${where}: blocks ${first.height}..${last.height} do not match the Inbox's ${batch.firstBlock}..${batch.lastBlock}`,
    );
  if (hashSequencedBlock(last) !== batch.lastBlockHash)
    throw critical(`${where}: its last block does not hash to the Inbox's lastBlockHash`);
  for (const b of blocks)
    if (b.chainId !== chainId)
      throw critical(`${where}: block ${b.height} has chain id ${b.chainId}, expected ${chainId}`);
  return blocks;
}
