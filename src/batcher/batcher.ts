import type { Logger } from 'pino';
import {
  type Abi,
  BaseError,
  ContractFunctionRevertedError,
  encodeFunctionData,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from 'viem';
import { l1Clients } from '../l1/clients.js';
import type { ChainStore } from '../store/chain-store.js';
import { decodeSequencedBlock, hashSequencedBlock, type SequencedBlock } from '../types/sequenced-block.js';
import { sleep } from '../util/sleep.js';
import { type Compression, encodeBatch } from './codec.js';

export interface BatcherOptions {
  /** Most L2 blocks in one batch. */
  maxBlocks: number;
  /** Most compressed bytes in one batch (calldata). */
  maxBytes: number;
  /** How often to post, ms. */
  intervalMs: number;
  compression: Compression;
}

export const batcherDefaults: BatcherOptions = {
  maxBlocks: 500,
  maxBytes: 120_000,
  intervalMs: 2_000,
  compression: 'brotli',
};

export interface BatcherDeps {
  store: ChainStore;
  /** Height of the last persisted L2 block. */
  head(): bigint;
  l1Url: string;
  inbox: Hex;
  inboxAbi: Abi;
  /** The sequencer's L1 key, authorised to post. */
  key: Hex;
  logger: Logger;
  /** Runs after each round, in the same loop (e.g. the output proposer, which shares the key). */
  afterPost?: () => Promise<void>;
}

export interface BatchStats {
  batches: number;
  blocks: number;
  txs: number;
  rawBytes: number;
  compressedBytes: number;
  l1Gas: bigint;
  postedTo: bigint;
}

/**
 * Posts finalised L2 blocks to the L1 Inbox as compressed batches. What to post next always comes
 * from the Inbox itself (`nextBlock`), so a batch lost in an L1 reorg, or a tx that never landed
 * while the L1 RPC was down, is simply posted again.
 */
export class Batcher {
  readonly stats: BatchStats = {
    batches: 0,
    blocks: 0,
    txs: 0,
    rawBytes: 0,
    compressedBytes: 0,
    l1Gas: 0n,
    postedTo: 0n,
  };
  private failing = false;

  constructor(
    readonly options: BatcherOptions,
    private readonly deps: BatcherDeps,
  ) {}

  start(signal: AbortSignal): Promise<void> {
    return this.loop(signal);
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const { logger } = this.deps;
    let backoff = 500;
    while (!signal.aborted) {
      try {
        const posted = await this.postOnce();
        await this.deps.afterPost?.();
        if (this.failing) logger.info('L1 reachable again: batches resume');
        this.failing = false;
        backoff = 500;
        if (!posted) await sleep(this.options.intervalMs, signal);
      } catch (err) {
        if (!this.failing) logger.warn({ err: (err as Error).message }, 'posting a batch failed; retrying');
        this.failing = true;
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /** Posts the next batch if there is one; returns whether it did. */
  async postOnce(): Promise<boolean> {
    const { store, inbox, inboxAbi, logger } = this.deps;
    const { account, pub, wallet } = await l1Clients(this.deps.l1Url, this.deps.key);
    const next = (await pub.readContract({
      address: inbox,
      abi: inboxAbi,
      functionName: 'nextBlock',
    })) as bigint;
    this.stats.postedTo = next - 1n;
    const head = this.deps.head();
    if (head < next) return false;
    let last =
      head < next + BigInt(this.options.maxBlocks) - 1n ? head : next + BigInt(this.options.maxBlocks) - 1n;
    let blocks = readBlocks(store, next, last);
    let data = encodeBatch(blocks, this.options.compression);
    while (data.length > this.options.maxBytes && blocks.length > 1) {
      blocks = blocks.slice(0, Math.ceil(blocks.length / 2));
      last = blocks[blocks.length - 1].height;
      data = encodeBatch(blocks, this.options.compression);
    }
    const lastBlock = blocks[blocks.length - 1];
    const args = [
      next,
      last,
      hashSequencedBlock(lastBlock),
      lastBlock.l1MessageCursor,
      `0x${Buffer.from(data).toString('hex')}`,
    ];
    try {
      await pub.simulateContract({ address: inbox, abi: inboxAbi, functionName: 'postBatch', args, account });
    } catch (err) {
      const revert =
        err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
      if (
        revert instanceof ContractFunctionRevertedError &&
        revert.data?.errorName === 'UnexpectedFirstBlock'
      ) {
        return true; // another post landed first; read nextBlock again
      }
      throw err;
    }
    const callData = encodeFunctionData({ abi: inboxAbi, functionName: 'postBatch', args });
    const gas = await pub.estimateGas({ account, to: inbox, data: callData });
    const receipt = await sendWithFeeBumps(
      pub,
      (nonce, fees) =>
        wallet.sendTransaction({ to: inbox, data: callData, gas: (gas * 12n) / 10n, nonce, ...fees }),
      account.address,
      logger,
    );
    const hash = receipt.transactionHash;
    if (receipt.status !== 'success') throw new Error(`batch tx ${hash} reverted`);
    const raw = blocks.reduce((n, b) => n + b.txs.reduce((m, t) => m + t.length, 0), 0);
    const txs = blocks.reduce((n, b) => n + b.txs.length, 0);
    this.stats.batches++;
    this.stats.blocks += blocks.length;
    this.stats.txs += txs;
    this.stats.rawBytes += raw;
    this.stats.compressedBytes += data.length;
    this.stats.l1Gas += receipt.gasUsed;
    this.stats.postedTo = last;
    logger.info(
      {
        first: Number(next),
        last: Number(last),
        txs,
        bytes: data.length,
        l1Gas: Number(receipt.gasUsed),
        l1Block: Number(receipt.blockNumber),
      },
      'posted batch',
    );
    return true;
  }
}

type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

/**
 * The tx manager: sends a tx and, while it is not mined, replaces it (same nonce) with fees raised
 * by 25 %, up to six times; whichever version gets mined is the receipt.
 */
export async function sendWithFeeBumps(
  pub: PublicClient,
  send: (nonce: number, fees: Fees) => Promise<Hex>,
  from: Hex,
  logger: Logger,
): Promise<TransactionReceipt> {
  // 'latest', not 'pending': one batch tx is in flight at a time, and after an L1 reorg the node's
  // pending count can still include txs the reorg dropped (seen with anvil), leaving a nonce gap.
  let nonce = await pub.getTransactionCount({ address: from, blockTag: 'latest' });
  const estimate = await pub.estimateFeesPerGas();
  let fees: Fees = {
    maxFeePerGas: estimate.maxFeePerGas,
    maxPriorityFeePerGas: estimate.maxPriorityFeePerGas,
  };
  let hashes: Hex[] = [];
  for (let attempt = 0; attempt < 6; attempt++) {
    try {
      hashes.push(await send(nonce, fees));
    } catch (err) {
      // An earlier version got mined or is still known: look for its receipt below.
      if (!/nonce too low|already known|underpriced/i.test((err as Error).message) || hashes.length === 0)
        throw err;
    }
    const deadline = Date.now() + 12_000;
    while (Date.now() < deadline) {
      for (const h of hashes) {
        const r = await pub.getTransactionReceipt({ hash: h }).catch(() => undefined);
        if (r) return r;
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    // Right after an L1 reorg a node can report a stale nonce; once the chain says otherwise, a tx at
    // the old nonce can never be mined (gap) or was replaced: start over at the nonce the chain has.
    const current = await pub.getTransactionCount({ address: from, blockTag: 'latest' });
    if (current !== nonce) {
      for (const h of hashes) {
        const r = await pub.getTransactionReceipt({ hash: h }).catch(() => undefined);
        if (r) return r;
      }
      if (current > nonce) throw new Error(`nonce ${nonce} was used by another tx; reading the Inbox again`);
      logger.warn(
        { was: nonce, now: current },
        'L1 nonce went back (reorg): sending again at the chain nonce',
      );
      nonce = current;
      hashes = [];
      continue;
    }
    fees = {
      maxFeePerGas: (fees.maxFeePerGas * 125n) / 100n + 1n,
      maxPriorityFeePerGas: (fees.maxPriorityFeePerGas * 125n) / 100n + 1n,
    };
    logger.warn(
      { nonce, hashes, attempt: attempt + 1, maxFeePerGas: fees.maxFeePerGas.toString() },
      'batch tx not mined: replacing it with higher fees',
    );
  }
  throw new Error(`batch tx with nonce ${nonce} not mined after 6 fee bumps`);
}

function readBlocks(store: ChainStore, from: bigint, to: bigint): SequencedBlock[] {
  const out: SequencedBlock[] = [];
  for (let h = from; h <= to; h++) {
    const raw = store.getSequenced(h);
    if (!raw) throw new Error(`sequenced block ${h} missing from the store`);
    out.push(decodeSequencedBlock(raw));
  }
  return out;
}
