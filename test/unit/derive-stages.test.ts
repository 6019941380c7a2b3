import { describe, expect, it } from 'vitest';
import { encodeBatch } from '../../src/batcher/codec.js';
import type { BatchRef } from '../../src/derive/batch-retrieval.js';
import { checkBatch } from '../../src/derive/block-queue.js';
import { DerivationError } from '../../src/derive/errors.js';
import { hashSequencedBlock, type SequencedBlock } from '../../src/types/sequenced-block.js';
import { ZERO_HASH } from '../../src/util/bytes.js';

function chain(n: number, chainId = 42069n): SequencedBlock[] {
  const blocks: SequencedBlock[] = [];
  for (let h = 1; h <= n; h++)
    blocks.push({
      version: 1,
      chainId,
      height: BigInt(h),
      parentHash: h === 1 ? ZERO_HASH : hashSequencedBlock(blocks[h - 2]),
      timestamp: 1_700_000_000n + BigInt(h),
      l1Origin: { number: 5n, hash: ZERO_HASH },
      l1MessageCursor: 0n,
      txs: [new Uint8Array([h])],
      lagStateRoot: ZERO_HASH,
    });
  return blocks;
}

function refFor(blocks: SequencedBlock[], over: Partial<BatchRef> = {}): BatchRef {
  return {
    index: 7n,
    firstBlock: blocks[0].height,
    lastBlock: blocks[blocks.length - 1].height,
    lastBlockHash: hashSequencedBlock(blocks[blocks.length - 1]),
    l1MessageCursor: 0n,
    blobs: false,
    l1Block: 100n,
    l1TxHash: `0x${'ab'.repeat(32)}`,
    data: encodeBatch(blocks),
    ...over,
  };
}

/** The Critical error a bad batch gets, so the driver stops at it and says why. */
function criticalOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(DerivationError);
    expect((err as DerivationError).code).toBe('Critical');
    return (err as Error).message;
  }
  throw new Error('accepted a bad batch');
}

describe('derivation: batch checks (block queue stage)', () => {
  const blocks = chain(4);

  it('hands out the blocks of a batch that matches its Inbox record', () => {
    expect(checkBatch(refFor(blocks), 42069n)).toEqual(blocks);
  });

  it('rejects, as Critical and naming the batch, every way a batch can disagree with the Inbox', () => {
    expect(criticalOf(() => checkBatch(refFor(blocks, { firstBlock: 2n }), 42069n))).toMatch(
      /batch 7 .*blocks 1\.\.4 do not match the Inbox's 2\.\.4/,
    );
    expect(criticalOf(() => checkBatch(refFor(blocks, { lastBlockHash: ZERO_HASH }), 42069n))).toMatch(
      /batch 7 .*is invalid/,
    );
    expect(criticalOf(() => checkBatch(refFor(blocks), 1n))).toMatch(/chain id 42069, expected 1/);
    const data = refFor(blocks).data.slice();
    data[0] = 9;
    expect(criticalOf(() => checkBatch(refFor(blocks, { data }), 42069n))).toMatch(/unknown batch version 9/);
    expect(
      criticalOf(() => checkBatch(refFor(blocks, { data: refFor(blocks).data.slice(0, 10) }), 42069n)),
    ).toMatch(/batch 7 \(L1 tx 0xabab/);
  });
});
