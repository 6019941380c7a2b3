import { appendFileSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/execution/executor.js';
import { devAccounts, devChainOptions } from '../../src/execution/genesis.js';
import type { L1Message } from '../../src/l1/watcher.js';
import { replayBlockWal } from '../../src/node/sequencer.js';
import { BlockWal, type WalBlock } from '../../src/store/block-wal.js';
import { ChainStore } from '../../src/store/chain-store.js';
import {
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../../src/types/sequenced-block.js';
import { fromHex, toHex, ZERO_HASH } from '../../src/util/bytes.js';

const logger = pino({ level: 'silent' });

const deposit: L1Message = {
  index: 3n,
  kind: 'deposit',
  from: `0x${'11'.repeat(20)}`,
  to: `0x${'22'.repeat(20)}`,
  value: 10n ** 18n,
  data: '0x',
  l1Block: 9n,
};
const forced: L1Message = { ...deposit, index: 4n, kind: 'forced', value: 0n, data: '0xdeadbeef' };

/** Block `height` on top of `parent`: one ETH transfer from dev account 0 with nonce height-1. */
async function nextBlock(parent: SequencedBlock, executor: Executor): Promise<SequencedBlock> {
  const [a, b] = devAccounts(2).map((x) => privateKeyToAccount(x.privateKey));
  const tx = await a.signTransaction({
    chainId: 42069,
    type: 'eip1559',
    nonce: Number(parent.height),
    to: b.address,
    value: 5n,
    gas: 21000n,
    maxFeePerGas: 10n ** 9n,
    maxPriorityFeePerGas: 1n,
  });
  const height = parent.height + 1n;
  return {
    version: 1,
    chainId: 42069n,
    height,
    parentHash: hashSequencedBlock(parent),
    timestamp: parent.timestamp,
    l1Origin: { number: 0n, hash: ZERO_HASH },
    l1MessageCursor: 0n,
    txs: [fromHex(tx)],
    lagStateRoot: executor.lagStateRootFor(height),
  };
}

describe('block WAL', () => {
  it('keeps records (with their L1 messages) across reopen, ignores a torn last record, and resets', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'seqnet-wal-')), 'blocks.wal');
    const records: WalBlock[] = [
      { height: 1n, sequenced: new Uint8Array([1, 2, 3]), proof: new Uint8Array([4]), messages: [] },
      {
        height: 2n,
        sequenced: new Uint8Array([5]),
        proof: new Uint8Array([6, 7]),
        messages: [deposit, forced],
      },
    ];
    const wal = new BlockWal(path);
    for (const r of records) wal.append(r);
    expect(wal.size).toBe(2);
    wal.close();
    // A crash mid-write leaves half a record at the end.
    appendFileSync(path, Buffer.from([0, 0, 1, 0, 0xc0]));
    const reopened = new BlockWal(path);
    expect(reopened.load()).toEqual(records);
    reopened.reset();
    expect(reopened.load()).toEqual([]);
    expect(statSync(path).size).toBe(0);
    reopened.close();
  });

  it('serves a block from memory while its lmdb write is in flight, and a restart replays what lmdb lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-wal-replay-'));
    const store = new ChainStore(join(dir, 'chain'));
    const executor = await Executor.open(devChainOptions(), store, logger);
    const wal = new BlockWal(join(dir, 'blocks.wal'));

    // Block 1 goes the sequencer's way: WAL first, then lmdb in the background.
    const seq1 = await nextBlock(executor.genesisSequenced(), executor);
    const r1 = await executor.execute(seq1);
    const rec1 = { sequenced: encodeSequencedBlock(seq1), proof: new Uint8Array([1]) };
    wal.append({ height: 1n, ...rec1, messages: [] });
    const { txHashes, written } = executor.persistInBackground(r1, rec1);
    expect(store.unwrittenCount).toBe(1);
    // Readable at once, before lmdb has it.
    expect(executor.head.header.number).toBe(1n);
    expect(store.getTxLocation(txHashes[0])).toEqual({ height: 1n, index: 0 });
    expect(store.getReceipts(1n)).toHaveLength(1);
    expect(store.heightOf(toHex(r1.block.hash()))).toBe(1n);
    expect(store.headHeight()).toBe(1n);
    await written;
    await store.written(1n);
    expect(store.unwrittenCount).toBe(0);
    expect(store.getTxLocation(txHashes[0])).toEqual({ height: 1n, index: 0 });

    // Block 2 reaches the WAL, but the process dies before lmdb writes it.
    const seq2 = await nextBlock(seq1, executor);
    const r2 = await executor.execute(seq2);
    const rec2 = { sequenced: encodeSequencedBlock(seq2), proof: new Uint8Array([2]) };
    wal.append({ height: 2n, ...rec2, messages: [] });
    await executor.rollback();
    wal.close();
    await store.close();

    const store2 = new ChainStore(join(dir, 'chain'));
    const executor2 = await Executor.open(devChainOptions(), store2, logger);
    expect(executor2.head.header.number).toBe(1n);
    const wal2 = new BlockWal(join(dir, 'blocks.wal'));
    expect(await replayBlockWal(wal2, executor2, logger)).toBe(1);
    expect(executor2.head.header.number).toBe(2n);
    // The same block as before the crash: same hash, same state, same proof.
    expect(toHex(executor2.head.hash())).toBe(toHex(r2.block.hash()));
    expect(toHex(executor2.head.header.stateRoot)).toBe(toHex(r2.block.header.stateRoot));
    expect(new Uint8Array(store2.getProof(2n) ?? [])).toEqual(rec2.proof);
    expect(store2.getReceipts(2n)).toHaveLength(1);
    // Replayed blocks are in lmdb, so the WAL is empty and a second start replays nothing.
    expect(wal2.load()).toEqual([]);
    expect(await replayBlockWal(wal2, executor2, logger)).toBe(0);
    wal2.close();
    await store2.close();
  });

  it('refuses a WAL with a gap above the head', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-wal-gap-'));
    const store = new ChainStore(join(dir, 'chain'));
    const executor = await Executor.open(devChainOptions(), store, logger);
    const wal = new BlockWal(join(dir, 'blocks.wal'));
    wal.append({ height: 5n, sequenced: new Uint8Array([1]), proof: new Uint8Array([1]), messages: [] });
    await expect(replayBlockWal(wal, executor, logger)).rejects.toThrow(/jumps from head 0 to block 5/);
    wal.close();
    await store.close();
  });
});
