import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { decodeTx, Executor } from '../../src/execution/executor.js';
import { devAccounts, devChainOptions } from '../../src/execution/genesis.js';
import { ChainStore } from '../../src/store/chain-store.js';
import {
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../../src/types/sequenced-block.js';
import { fromHex, toHex, ZERO_HASH } from '../../src/util/bytes.js';

const logger = pino({ level: 'silent' });

async function fixedBlock(executor: Executor): Promise<SequencedBlock> {
  const [a, b] = devAccounts(2).map((x) => privateKeyToAccount(x.privateKey));
  // ECDSA signatures are deterministic (RFC 6979), so these bytes are the same on every run.
  const txs = [
    await a.signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce: 0,
      to: b.address,
      value: 5n,
      gas: 21000n,
      maxFeePerGas: 10n ** 9n,
      maxPriorityFeePerGas: 1n,
    }),
    // Wrong nonce: execution must skip it, not fail the block.
    await a.signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce: 7,
      to: b.address,
      value: 5n,
      gas: 21000n,
      maxFeePerGas: 10n ** 9n,
      maxPriorityFeePerGas: 1n,
    }),
    await b.signTransaction({
      chainId: 42069,
      type: 'legacy',
      nonce: 0,
      to: a.address,
      value: 9n,
      gas: 21000n,
      gasPrice: 10n ** 9n,
    }),
  ];
  const genesis = executor.genesisSequenced();
  return {
    version: 1,
    chainId: 42069n,
    height: 1n,
    parentHash: hashSequencedBlock(genesis),
    timestamp: genesis.timestamp,
    l1Origin: { number: 0n, hash: ZERO_HASH },
    l1MessageCursor: 0n,
    txs: txs.map(fromHex),
    lagStateRoot: ZERO_HASH,
  };
}

/** `decodedAt`: the indexes of the block's txs handed over decoded (a committee member's pool's); the rest are holes. */
async function execOnce(decodedAt?: number[]) {
  const store = new ChainStore(join(mkdtempSync(join(tmpdir(), 'seqnet-exec-')), 'chain'));
  const executor = await Executor.open(devChainOptions(), store, logger);
  const seq = await fixedBlock(executor);
  const decoded =
    decodedAt &&
    seq.txs.map((raw, i) => (decodedAt.includes(i) ? decodeTx(raw, executor.txCommon) : undefined));
  const result = await executor.execute(seq, decoded);
  await store.close();
  return result;
}

describe('executor', () => {
  it('derives the executed block deterministically from the sequenced block, skipping invalid txs', async () => {
    const [first, second] = [await execOnce(), await execOnce()];
    expect(toHex(first.block.hash())).toBe(toHex(second.block.hash()));
    expect(toHex(first.block.header.stateRoot)).toBe(toHex(second.block.header.stateRoot));
    expect(first.block.transactions).toHaveLength(2);
    expect(first.skipped).toHaveLength(1);
    expect(first.skipped[0].reason).toMatch(/nonce/);
    expect(first.block.header.gasUsed).toBe(42000n);
    // Equal timestamps are allowed (many blocks per second), and no node-local value enters the header.
    expect(first.block.header.timestamp).toBe(devChainOptions().genesisTimestamp);
    expect(toHex(first.block.header.coinbase.bytes)).toBe(`0x${'00'.repeat(20)}`);
    expect(first.block.header.extraData.length).toBe(0);
  });

  it('takes txs the caller decoded already, by index, and decodes the holes itself: the same block either way', async () => {
    const none = await execOnce();
    for (const decodedAt of [[0, 1, 2], [2], []]) {
      const some = await execOnce(decodedAt);
      expect(toHex(some.block.hash())).toBe(toHex(none.block.hash()));
      expect(some.skipped).toEqual(none.skipped);
    }
  });

  it('rewinds to an earlier block: later blocks, their hashes and tx locations go, the state is the earlier one, and the chain goes on from there', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'seqnet-rewind-')), 'chain');
    let store = new ChainStore(dir);
    let executor = await Executor.open(devChainOptions(), store, logger);
    const [a, b] = devAccounts(2).map((x) => privateKeyToAccount(x.privateKey));
    const persist = async (seq: SequencedBlock, meta?: Record<string, string | null>) => {
      const result = await executor.execute(seq);
      await executor.persistAndCommit(result, {
        sequenced: encodeSequencedBlock(seq),
        proof: new Uint8Array(),
        meta,
      });
      return result.block;
    };
    const nextOf = (parent: SequencedBlock, txs: Uint8Array[]): SequencedBlock => ({
      ...parent,
      height: parent.height + 1n,
      parentHash: hashSequencedBlock(parent),
      txs,
      lagStateRoot: executor.lagStateRootFor(parent.height + 1n),
    });
    const first = await fixedBlock(executor);
    const block1 = await persist(first, { kept: 'yes', dropped: 'soon' });
    const transfer = await a.signTransaction({
      chainId: 42069,
      type: 'eip1559',
      nonce: 1,
      to: b.address,
      value: 5n,
      gas: 21000n,
      maxFeePerGas: 10n ** 9n,
      maxPriorityFeePerGas: 1n,
    });
    const second = nextOf(first, [fromHex(transfer)]);
    const block2 = await persist(second);
    const block3 = await persist(nextOf(second, []));
    const nonceOfA = async () => (await (await executor.view(executor.head)).getAccount(a.address))?.nonce;
    expect(await nonceOfA()).toBe(2n);

    const removed = await executor.rewindTo(1n, { dropped: null, rewound: 'to 1' });
    expect(removed.map((x) => toHex(x.block.hash()))).toEqual([toHex(block2.hash()), toHex(block3.hash())]);
    expect(removed.map((x) => x.receipts.length)).toEqual([1, 0]);
    expect(toHex(executor.head.hash())).toBe(toHex(block1.hash()));
    expect(await nonceOfA()).toBe(1n);
    for (const gone of [block2, block3]) {
      expect(store.getExecuted(gone.header.number)).toBeUndefined();
      expect(store.getSequenced(gone.header.number)).toBeUndefined();
      expect(store.getReceipts(gone.header.number)).toBeUndefined();
      expect(store.heightOf(toHex(gone.hash()))).toBeUndefined();
    }
    expect(store.getTxLocation(toHex(block2.transactions[0].hash()))).toBeUndefined();
    expect(store.getTxLocation(toHex(block1.transactions[0].hash()))).toEqual({ height: 1n, index: 0 });
    expect([store.getMeta('kept'), store.getMeta('dropped'), store.getMeta('rewound')]).toEqual([
      'yes',
      undefined,
      'to 1',
    ]);
    await expect(executor.rewindTo(2n)).rejects.toThrow(/head is 1/);

    // Another block 2 (without the transfer) extends block 1, and a restart finds it as the head.
    const other = await persist(nextOf(first, []));
    expect(toHex(other.hash())).not.toBe(toHex(block2.hash()));
    await store.close();
    store = new ChainStore(dir);
    executor = await Executor.open(devChainOptions(), store, logger);
    expect(toHex(executor.head.hash())).toBe(toHex(other.hash()));
    expect(await nonceOfA()).toBe(1n);
    await store.close();
  });
});
