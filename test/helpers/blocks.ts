import { hashSequencedBlock, type SequencedBlock } from '../../src/types/sequenced-block.js';
import { ZERO_HASH } from '../../src/util/bytes.js';

/**
 * Sequenced blocks at heights 1, 2, … each holding one list of `txsPerBlock` and linked to the one
 * before (a chain the batch codec accepts), on chain 42069 with a fixed L1 origin: for codec tests and
 * benchmarks that need batches, not a running chain.
 */
export function linkedBlocks(txsPerBlock: Uint8Array[][]): SequencedBlock[] {
  const blocks: SequencedBlock[] = [];
  for (const [i, txs] of txsPerBlock.entries()) {
    const h = i + 1;
    blocks.push({
      version: 1,
      chainId: 42069n,
      height: BigInt(h),
      parentHash: i === 0 ? ZERO_HASH : hashSequencedBlock(blocks[i - 1]),
      timestamp: 1_700_000_000n + BigInt(h),
      l1Origin: { number: 5n, hash: ZERO_HASH },
      l1MessageCursor: 0n,
      txs,
      lagStateRoot: ZERO_HASH,
    });
  }
  return blocks;
}
