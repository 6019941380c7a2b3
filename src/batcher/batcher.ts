import type { Logger } from 'pino';
import {
  type Abi,
  BaseError,
  ContractFunctionRevertedError,
  encodeFunctionData,
  type Hex,
  type PublicClient,
  parseAbi,
  type TransactionReceipt,
} from 'viem';
import { type CommitProof, decodeCommitProof } from '../consensus/certificate.js';
import { type L1QuorumCertificate, qcForL1 } from '../l1/bls-encoding.js';
import { l1Clients } from '../l1/clients.js';
import type { ChainStore } from '../store/chain-store.js';
import { decodeSequencedBlock, hashSequencedBlock, type SequencedBlock } from '../types/sequenced-block.js';
import { sleep } from '../util/sleep.js';
import { fitBatch } from './batch-size.js';
import { postWithBlobs } from './blob-tx.js';
import { blobCapacity, loadKzg, MAX_BLOBS_PER_TX } from './blobs.js';
import { type Compression, encodeBatchAsync } from './codec.js';
import { sendWithFeeBumps } from './tx-manager.js';

export { type FeeBumpOptions, type Fees, sendWithFeeBumps } from './tx-manager.js';

/**
 * Where batches go on L1: `Inbox.postBatch` calldata, or EIP-4844 blobs with `Inbox.postBlobBatch`
 * (`postCertifiedBatch` / `postCertifiedBlobBatch` in committee mode).
 */
export type DataAvailability = 'calldata' | 'blobs';
export const dataAvailabilityModes: readonly DataAvailability[] = ['calldata', 'blobs'];

export interface BatcherOptions {
  /** Most L2 blocks in one batch. */
  maxBlocks: number;
  /** Most compressed bytes in one batch (calldata). */
  maxBytes: number;
  /** How often to post, ms. */
  intervalMs: number;
  compression: Compression;
  /** calldata (default) or blobs. */
  da?: DataAvailability;
  /** With blobs: most blobs in one batch tx (default and most 6; a batch is sized to fit). */
  maxBlobsPerTx?: number;
}

export const batcherDefaults: BatcherOptions = {
  maxBlocks: 500,
  maxBytes: 120_000,
  intervalMs: 2_000,
  compression: 'brotli',
  da: 'calldata',
  maxBlobsPerTx: MAX_BLOBS_PER_TX,
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
  /**
   * Committee mode: the stored commit proof of an L2 block (`storedCommitProofs(store)`). When set,
   * every batch ends at a block whose proof commits that block itself (`proof.blockHash` is its hash)
   * and goes to `Inbox.postCertifiedBatch` / `postCertifiedBlobBatch` with the proof's QCs; the
   * Inbox must have been deployed with a CommitteeVerifier. The key then need not be authorised.
   */
  proofFor?: (height: bigint) => CommitProof | undefined;
}

/** `proofFor` from the chain store: each block's commit proof, as the sequencer stored it. */
export function storedCommitProofs(store: ChainStore): (height: bigint) => CommitProof | undefined {
  return (height) => {
    const raw = store.getProof(height);
    return raw ? decodeCommitProof(raw) : undefined;
  };
}

/** Whether `proof` commits `block` itself (not a descendant that commits it). */
export function provesBlock(proof: CommitProof | undefined, block: SequencedBlock): proof is CommitProof {
  return (
    proof !== undefined &&
    proof.qcs.length > 0 &&
    proof.height === block.height &&
    proof.blockHash.toLowerCase() === hashSequencedBlock(block).toLowerCase()
  );
}

const COMMITTEE_ABI = parseAbi([
  'function verifier() view returns (address)',
  'function committee(uint64 epoch) view returns ((address keys, uint16 size, uint16 quorum))',
]);

export interface BatchStats {
  batches: number;
  blocks: number;
  txs: number;
  rawBytes: number;
  compressedBytes: number;
  /** Batch encodings (brotli passes) made to size the batches posted (fitBatch: about one a batch). */
  encodes: number;
  /** Execution gas of the batch txs. */
  l1Gas: bigint;
  /** With blobs: blobs posted and the blob gas they used (131072 each). */
  blobs: number;
  blobGas: number;
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
    encodes: 0,
    l1Gas: 0n,
    blobs: 0,
    blobGas: 0,
    postedTo: 0n,
  };
  private failing = false;
  /** Compressed per RLP byte of the last batch: where fitBatch places the next one's first cut. */
  private lastRatio?: number;
  /** Committee mode: the CommitteeVerifier the Inbox uses, and each epoch's committee size. */
  private verifier?: Hex;
  private readonly committeeSizes = new Map<bigint, number>();

  constructor(
    readonly options: BatcherOptions,
    private readonly deps: BatcherDeps,
  ) {
    const blobs = options.maxBlobsPerTx ?? MAX_BLOBS_PER_TX;
    if (!Number.isInteger(blobs) || blobs < 1 || blobs > MAX_BLOBS_PER_TX)
      throw new Error(`maxBlobsPerTx must be 1..${MAX_BLOBS_PER_TX}, got ${blobs}`);
  }

  get da(): DataAvailability {
    return this.options.da ?? 'calldata';
  }

  /** Most compressed batch bytes in one post: the calldata limit, or what the blobs of one tx carry. */
  get maxBatchBytes(): number {
    return this.da === 'blobs'
      ? blobCapacity(this.options.maxBlobsPerTx ?? MAX_BLOBS_PER_TX)
      : this.options.maxBytes;
  }

  start(signal: AbortSignal): Promise<void> {
    // The KZG context takes seconds to build and blocks while it does: build it before the first post.
    if (this.da === 'blobs') loadKzg();
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
    const { pub } = await l1Clients(this.deps.l1Url, this.deps.key);
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
    // A backlog is read only about two batches deep (by the last batch's ratio, from the stored RLP
    // sizes): decoding all maxBlocks blocks every round held the main thread for tens of ms.
    let blocks = readBlocks(
      store,
      next,
      last,
      this.lastRatio ? (2 * this.maxBatchBytes) / this.lastRatio : Number.POSITIVE_INFINITY,
    );
    last = blocks[blocks.length - 1].height;
    // Where the batch may end (indices into blocks): anywhere, or in committee mode only at a block
    // its own commit proof commits.
    const proofFor = this.deps.proofFor;
    const proofs = new Map<number, CommitProof>();
    let ends: number[];
    if (proofFor) {
      ends = [];
      for (const [i, b] of blocks.entries()) {
        const p = proofFor(b.height);
        if (provesBlock(p, b)) {
          proofs.set(i, p);
          ends.push(i);
        }
      }
      if (ends.length === 0) {
        // None among the blocks read: the batch runs on to the first directly-proved block, if any yet.
        const more = this.firstProvedAfter(last, head);
        if (!more) return false;
        blocks = [...blocks, ...readBlocks(store, last + 1n, more.block.height)];
        proofs.set(blocks.length - 1, more.proof);
        ends = [blocks.length - 1];
      }
      blocks = blocks.slice(0, ends[ends.length - 1] + 1);
      last = blocks[blocks.length - 1].height;
    } else ends = blocks.map((_, i) => i);
    const fitted = await fitBatch(
      blocks,
      ends,
      this.maxBatchBytes,
      (b) => encodeBatchAsync(b, this.options.compression),
      this.lastRatio,
    );
    this.lastRatio = fitted.ratio;
    blocks = fitted.blocks;
    last = blocks[blocks.length - 1].height;
    const data = fitted.data;
    this.stats.encodes += fitted.encodes;
    // Calldata has no hard limit at maxBytes (one oversized block still goes); blobs do.
    if (this.da === 'blobs' && data.length > this.maxBatchBytes)
      throw new Error(
        blocks.length === 1
          ? `L2 block ${next} alone is ${data.length} compressed bytes, more than ${this.maxBatchBytes} (the blobs of one tx)`
          : `L2 blocks ${next}..${last}, the shortest batch that ends at a block its commit proof commits, are ${data.length} compressed bytes, more than ${this.maxBatchBytes} (the blobs of one tx)`,
      );
    const lastBlock = blocks[blocks.length - 1];
    const proof = proofFor ? proofs.get(blocks.length - 1) : undefined;
    if (proofFor && !proof) throw new Error(`internal: batch ${next}..${last} ends without a commit proof`);
    const qcs = proof ? await this.qcsForL1(pub, proof) : undefined;
    const receipt =
      this.da === 'blobs'
        ? await this.sendBlobBatch(next, last, lastBlock, data, qcs)
        : await this.sendCalldataBatch(next, last, lastBlock, data, qcs);
    if (receipt === 'superseded') return true; // another post landed first; read nextBlock again
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
    if (this.da === 'blobs') {
      this.stats.blobs += receipt.blobs;
      this.stats.blobGas += Number(receipt.blobGasUsed ?? 0n);
    }
    this.stats.postedTo = last;
    logger.info(
      {
        first: Number(next),
        last: Number(last),
        txs,
        bytes: data.length,
        l1Gas: Number(receipt.gasUsed),
        ...(qcs && { certified: true }),
        ...(this.da === 'blobs' ? { blobs: receipt.blobs, blobGas: Number(receipt.blobGasUsed ?? 0n) } : {}),
        l1Block: Number(receipt.blockNumber),
      },
      'posted batch',
    );
    return true;
  }

  /** The first block in (after, head] whose own commit proof commits it. */
  private firstProvedAfter(
    after: bigint,
    head: bigint,
  ): { block: SequencedBlock; proof: CommitProof } | undefined {
    for (let h = after + 1n; h <= head; h++) {
      const raw = this.deps.store.getSequenced(h);
      if (!raw) throw new Error(`sequenced block ${h} missing from the store`);
      const block = decodeSequencedBlock(raw);
      const proof = this.deps.proofFor?.(h);
      if (provesBlock(proof, block)) return { block, proof };
    }
    return undefined;
  }

  /** The proof's QCs as the Inbox takes them; the bitmap's length is the size of each QC's committee. */
  private async qcsForL1(pub: PublicClient, proof: CommitProof): Promise<L1QuorumCertificate[]> {
    if (!this.verifier) {
      const v = (await pub.readContract({
        address: this.deps.inbox,
        abi: COMMITTEE_ABI,
        functionName: 'verifier',
      })) as Hex;
      if (/^0x0{40}$/.test(v))
        throw new Error(
          `the Inbox at ${this.deps.inbox} has no CommitteeVerifier (deployed without a committee): it takes no certified batches`,
        );
      this.verifier = v;
    }
    const out: L1QuorumCertificate[] = [];
    for (const qc of proof.qcs) {
      let size = this.committeeSizes.get(qc.epoch);
      if (size === undefined) {
        const c = (await pub.readContract({
          address: this.verifier,
          abi: COMMITTEE_ABI,
          functionName: 'committee',
          args: [qc.epoch],
        })) as { size: number };
        size = Number(c.size);
        this.committeeSizes.set(qc.epoch, size);
      }
      out.push(qcForL1(qc, size));
    }
    return out;
  }

  private async sendCalldataBatch(
    next: bigint,
    last: bigint,
    lastBlock: SequencedBlock,
    data: Uint8Array,
    qcs?: L1QuorumCertificate[],
  ): Promise<(TransactionReceipt & { blobs: number }) | 'superseded'> {
    const { inbox, inboxAbi, logger } = this.deps;
    const { account, pub, wallet } = await l1Clients(this.deps.l1Url, this.deps.key);
    const functionName = qcs ? 'postCertifiedBatch' : 'postBatch';
    const args: unknown[] = [
      next,
      last,
      hashSequencedBlock(lastBlock),
      lastBlock.l1MessageCursor,
      `0x${Buffer.from(data).toString('hex')}`,
    ];
    if (qcs) args.push(qcs);
    try {
      await pub.simulateContract({ address: inbox, abi: inboxAbi, functionName, args, account });
    } catch (err) {
      if (isUnexpectedFirstBlock(err)) return 'superseded';
      throw err;
    }
    const callData = encodeFunctionData({ abi: inboxAbi, functionName, args });
    const gas = await pub.estimateGas({ account, to: inbox, data: callData });
    const receipt = await sendWithFeeBumps(
      pub,
      (nonce, fees) =>
        wallet.sendTransaction({ to: inbox, data: callData, gas: (gas * 12n) / 10n, nonce, ...fees }),
      account.address,
      logger,
    );
    return { ...receipt, blobs: 0 };
  }

  /**
   * A type-3 tx calling `postBlobBatch` with the batch framed into blobs (blobs.ts). Its blob fee
   * cap is twice the current blob base fee; a replacement doubles every fee (geth's blob pool wants
   * a 100 % bump).
   */
  private async sendBlobBatch(
    next: bigint,
    last: bigint,
    lastBlock: SequencedBlock,
    data: Uint8Array,
    qcs?: L1QuorumCertificate[],
  ): Promise<(TransactionReceipt & { blobs: number }) | 'superseded'> {
    const functionName = qcs ? 'postCertifiedBlobBatch' : 'postBlobBatch';
    const args: unknown[] = [next, last, hashSequencedBlock(lastBlock), lastBlock.l1MessageCursor];
    if (qcs) args.push(qcs);
    const posted = await postWithBlobs(this.deps, functionName, args, data);
    if ('revert' in posted) {
      if (posted.revert === 'UnexpectedFirstBlock') return 'superseded';
      throw new Error(`${functionName}(${next}, ${last}) would revert: ${posted.revert} (${posted.data})`);
    }
    return { ...posted.receipt, blobs: posted.blobs };
  }
}

function isUnexpectedFirstBlock(err: unknown): boolean {
  const revert =
    err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
  return revert instanceof ContractFunctionRevertedError && revert.data?.errorName === 'UnexpectedFirstBlock';
}

/** Blocks `from`..`to`, or fewer: up to the first whose stored bytes bring the total to `maxRlpBytes`. */
export function readBlocks(
  store: Pick<ChainStore, 'getSequenced'>,
  from: bigint,
  to: bigint,
  maxRlpBytes = Number.POSITIVE_INFINITY,
): SequencedBlock[] {
  const out: SequencedBlock[] = [];
  let bytes = 0;
  for (let h = from; h <= to && bytes < maxRlpBytes; h++) {
    const raw = store.getSequenced(h);
    if (!raw) throw new Error(`sequenced block ${h} missing from the store`);
    bytes += raw.length;
    out.push(decodeSequencedBlock(raw));
  }
  return out;
}
