import { RLP } from '@ethereumjs/rlp';
import fc from 'fast-check';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  BatchDecodeError,
  decodeBatch,
  decodeTxBatch,
  encodeBatch,
  encodeBatchAsync,
  encodeTxBatch,
  encodeTxBatchAsync,
  TX_BATCH_VERSION,
} from '../../src/batcher/codec.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { hashSequencedBlock, type SequencedBlock } from '../../src/types/sequenced-block.js';
import { fromHex, ZERO_HASH } from '../../src/util/bytes.js';
import { linkedBlocks } from '../helpers/blocks.js';

async function chainOf(n: number, txsPerBlock: number): Promise<SequencedBlock[]> {
  const acct = privateKeyToAccount(devAccounts(1)[0].privateKey);
  const lists: Uint8Array[][] = [];
  let nonce = 0;
  for (let h = 1; h <= n; h++) {
    const txs: Uint8Array[] = [];
    for (let i = 0; i < txsPerBlock; i++) {
      txs.push(
        fromHex(
          await acct.signTransaction({
            chainId: 42069,
            type: 'eip1559',
            nonce: nonce++,
            to: acct.address,
            value: 1n,
            gas: 21000n,
            maxFeePerGas: 10n ** 9n,
            maxPriorityFeePerGas: 1n,
          }),
        ),
      );
    }
    lists.push(txs);
  }
  return linkedBlocks(lists);
}

describe('batch codec', () => {
  it('round-trips with each compression, and brotli beats deflate on transfers', async () => {
    const blocks = await chainOf(10, 10);
    const sizes: Record<string, number> = {};
    for (const c of ['none', 'deflate', 'brotli'] as const) {
      const data = encodeBatch(blocks, c);
      sizes[c] = data.length;
      expect(decodeBatch(data)).toEqual(blocks);
    }
    expect(sizes.brotli).toBeLessThan(sizes.deflate);
    expect(sizes.deflate).toBeLessThan(sizes.none);
  });

  it('compresses off the main thread to the very bytes the synchronous encoders make', async () => {
    const blocks = await chainOf(6, 5);
    const txs = blocks.flatMap((b) => b.txs);
    for (const c of ['none', 'deflate', 'brotli'] as const) {
      const data = await encodeBatchAsync(blocks, c);
      expect(data, c).toEqual(encodeBatch(blocks, c));
      expect(decodeBatch(data)).toEqual(blocks);
      const txData = await encodeTxBatchAsync(txs, c);
      expect(txData, c).toEqual(encodeTxBatch(txs, c));
      expect(decodeTxBatch(txData)).toEqual(txs);
    }
    await expect(encodeBatchAsync([])).rejects.toThrow(/at least one block/);
  });

  it('rejects any single changed byte with a clear error, given the last block hash L1 recorded', async () => {
    const blocks = await chainOf(3, 2);
    const data = encodeBatch(blocks, 'brotli');
    const lastHash = hashSequencedBlock(blocks[2]);
    expect(decodeBatch(data, lastHash)).toEqual(blocks);
    await fc.assert(
      fc.property(
        fc.integer({ min: 0, max: data.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, xor) => {
          const bad = Uint8Array.from(data);
          bad[at] ^= xor;
          try {
            // A flip brotli absorbs (padding bits) must leave every block intact; any other is refused.
            expect(decodeBatch(bad, lastHash).map(hashSequencedBlock)).toEqual(
              blocks.map(hashSequencedBlock),
            );
          } catch (err) {
            expect(err).toBeInstanceOf(BatchDecodeError);
            expect((err as Error).message.length).toBeGreaterThan(5);
          }
        },
      ),
      { numRuns: 300 },
    );
    const header = Uint8Array.from(data);
    header[0] = 9;
    expect(() => decodeBatch(header)).toThrow(/unknown batch version 9/);
  });

  it('refuses batches whose blocks do not chain', async () => {
    const blocks = await chainOf(3, 1);
    const broken = [blocks[0], { ...blocks[1], parentHash: ZERO_HASH }];
    expect(() => decodeBatch(encodeBatch(broken))).toThrow(/parent hash does not link/);
    expect(() => decodeBatch(encodeBatch([blocks[0], blocks[2]]))).toThrow(/does not follow/);
  });

  it('version 2 (based): a list of txs round-trips, the empty list too (a block of the due L1 messages alone)', async () => {
    const txs = (await chainOf(1, 3))[0].txs;
    expect(decodeTxBatch(encodeTxBatch(txs))).toEqual(txs);
    expect(decodeTxBatch(encodeTxBatch([]))).toEqual([]);
    // Not a list, or a list with a non-byte item: passed over by derivation.
    const framed = (payload: Uint8Array) => Uint8Array.from([TX_BATCH_VERSION, 0, ...payload]);
    expect(() => decodeTxBatch(framed(RLP.encode(Uint8Array.from([1, 2]))))).toThrow(BatchDecodeError);
    expect(() => decodeTxBatch(framed(RLP.encode([Uint8Array.from([1]), [Uint8Array.from([2])]])))).toThrow(
      /tx 1: expected bytes/,
    );
    const version1 = encodeBatch(await chainOf(1, 1));
    expect(() => decodeTxBatch(version1)).toThrow(BatchDecodeError);
  });
});
