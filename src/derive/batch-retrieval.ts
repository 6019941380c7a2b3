import {
  type Abi,
  concat,
  decodeFunctionData,
  type Hex,
  keccak256,
  type PublicClient,
  parseAbiItem,
} from 'viem';
import { BlobSourceError, type BlobSourceOptions, fetchBlobBatch } from './blob-source.js';
import { asTemporary, critical, DerivationError, notEnoughData } from './errors.js';

/** One batch as the Inbox recorded it, with its data read back from L1 (calldata or blobs). */
export interface BatchRef {
  index: bigint;
  firstBlock: bigint;
  lastBlock: bigint;
  lastBlockHash: Hex;
  /** The L1 message cursor the poster claimed; derivation keeps its own (DECISIONS.md §3). */
  l1MessageCursor: bigint;
  blobs: boolean;
  /** The L1 block and tx that carry it. */
  l1Block: bigint;
  l1TxHash: Hex;
  /** The compressed, versioned batch (docs/batch-format.md). */
  data: Uint8Array;
}

/** Reads the batch bytes of a BatchPosted log from L1: calldata here, blobs in blob-source.ts. */
export type BatchDataFetcher = (
  pub: PublicClient,
  log: { txHash: Hex; index: bigint; dataHash: Hex },
) => Promise<Uint8Array>;

export const BATCH_POSTED = parseAbiItem(
  'event BatchPosted(uint256 indexed index, uint64 firstBlock, uint64 lastBlock, bytes32 lastBlockHash, bytes32 dataHash, uint256 l1MessageCursor, bool blobs)',
);

/** The calldata of a `postBatch` call. */
export function calldataFetcher(inboxAbi: Abi): BatchDataFetcher {
  return async (pub, log) => {
    const tx = await pub.getTransaction({ hash: log.txHash });
    let call: { functionName: string; args?: readonly unknown[] };
    try {
      call = decodeFunctionData({ abi: inboxAbi, data: tx.input });
    } catch (err) {
      throw critical(`batch ${log.index}: L1 tx ${log.txHash} is not an Inbox call`, err);
    }
    if (call.functionName !== 'postBatch' && call.functionName !== 'postCertifiedBatch')
      throw critical(`batch ${log.index}: L1 tx ${log.txHash} is ${call.functionName}, not a calldata batch`);
    const data = call.args?.[4] as Hex;
    if (keccak256(data) !== log.dataHash)
      throw critical(`batch ${log.index}: its calldata does not hash to the Inbox's dataHash`);
    return Buffer.from(data.slice(2), 'hex');
  };
}

/**
 * The blobs of a `postBlobBatch` tx (EIP-4844), read from the L1 node and checked against the tx's
 * versioned hashes (KZG commitments) and those against the Inbox's dataHash.
 */
export function blobFetcher(l1Url: string, inboxAbi: Abi, options: BlobSourceOptions = {}): BatchDataFetcher {
  return async (pub, log) => {
    const tx = await pub.getTransaction({ hash: log.txHash });
    let name: string;
    try {
      name = decodeFunctionData({ abi: inboxAbi, data: tx.input }).functionName;
    } catch (err) {
      throw critical(`batch ${log.index}: L1 tx ${log.txHash} is not an Inbox call`, err);
    }
    if (name !== 'postBlobBatch' && name !== 'postCertifiedBlobBatch')
      throw critical(`batch ${log.index}: L1 tx ${log.txHash} is ${name}, not a blob batch`);
    const hashes = tx.blobVersionedHashes ?? [];
    if (keccak256(concat(hashes)) !== log.dataHash)
      throw critical(`batch ${log.index}: the tx's blob hashes do not match the Inbox's dataHash`);
    try {
      return await fetchBlobBatch(l1Url, log.txHash, options);
    } catch (err) {
      // A blob that does not match its commitment is bad data; a read that failed is worth retrying.
      if (err instanceof BlobSourceError && !/cannot read/.test(err.message))
        throw critical(`batch ${log.index}: ${err.message}`, err);
      throw err;
    }
  };
}

interface PendingLog {
  index: bigint;
  firstBlock: bigint;
  lastBlock: bigint;
  lastBlockHash: Hex;
  dataHash: Hex;
  l1MessageCursor: bigint;
  blobs: boolean;
  l1Block: bigint;
  l1TxHash: Hex;
}

export interface BatchRetrievalOptions {
  inbox: Hex;
  /** The Inbox's deployment block: nothing before it. */
  fromBlock: bigint;
  calldata: BatchDataFetcher;
  blobs?: BatchDataFetcher;
  /** Most L1 blocks per eth_getLogs. */
  logChunk?: number;
  /** Sees each batch as it is read, in L1 order; a DerivationError it throws stops the read. */
  onRead?: (batch: BatchRef) => void;
}

/**
 * Pull stage 1 (as op-node's L1 retrieval): the Inbox's batches in log order, each with its data.
 * `next(limit)` reads no L1 block above `limit` (the driver passes the height up to which the L1
 * messages are known, so a block never executes before its due messages are seen). A reorg of the
 * last L1 block read is reported as `Reset`.
 */
export class BatchRetrieval {
  private queue: PendingLog[] = [];
  private scannedTo: bigint;
  private scannedHash?: Hex;

  constructor(
    private readonly pub: PublicClient,
    private readonly options: BatchRetrievalOptions,
  ) {
    this.scannedTo = options.fromBlock - 1n;
  }

  /** The last L1 block whose Inbox logs were read. */
  get l1Progress(): bigint {
    return this.scannedTo;
  }

  async next(limit: bigint): Promise<BatchRef> {
    if (this.queue.length === 0) await this.scan(limit);
    const log = this.queue[0];
    if (!log) throw notEnoughData(`no batch on L1 up to block ${this.scannedTo}`);
    const fetch = log.blobs ? this.options.blobs : this.options.calldata;
    if (!fetch)
      throw critical(`batch ${log.index} is in blobs and this node was built without a blob reader`);
    let data: Uint8Array;
    try {
      data = await fetch(this.pub, { txHash: log.l1TxHash, index: log.index, dataHash: log.dataHash });
    } catch (err) {
      throw asTemporary(err, `reading batch ${log.index} from L1 tx ${log.l1TxHash}`);
    }
    // Only consumed once its data is in hand: a Temporary failure retries the same batch.
    const { dataHash: _, ...ref } = log;
    const batch = { ...ref, data };
    this.options.onRead?.(batch);
    this.queue.shift();
    return batch;
  }

  /** Forgets what was read and starts again at `fromBlock` (after a reorg, or to resume). */
  reset(fromBlock: bigint): void {
    this.queue = [];
    const from = fromBlock < this.options.fromBlock ? this.options.fromBlock : fromBlock;
    this.scannedTo = from - 1n;
    this.scannedHash = undefined;
  }

  private async scan(limit: bigint): Promise<void> {
    if (limit <= this.scannedTo) return;
    try {
      if (this.scannedHash) {
        const still = await this.pub.getBlock({ blockNumber: this.scannedTo });
        if (still.hash !== this.scannedHash)
          throw new DerivationError('Reset', `L1 block ${this.scannedTo} was reorged`);
      }
      const chunk = BigInt(this.options.logChunk ?? 2_000);
      for (let from = this.scannedTo + 1n; from <= limit && this.queue.length === 0; from += chunk) {
        const to = from + chunk - 1n < limit ? from + chunk - 1n : limit;
        const logs = await this.pub.getLogs({
          address: this.options.inbox,
          event: BATCH_POSTED,
          fromBlock: from,
          toBlock: to,
        });
        for (const l of logs) {
          const a = l.args;
          this.queue.push({
            index: a.index as bigint,
            firstBlock: a.firstBlock as bigint,
            lastBlock: a.lastBlock as bigint,
            lastBlockHash: a.lastBlockHash as Hex,
            dataHash: a.dataHash as Hex,
            l1MessageCursor: a.l1MessageCursor as bigint,
            blobs: a.blobs as boolean,
            l1Block: l.blockNumber,
            l1TxHash: l.transactionHash,
          });
        }
        const end = await this.pub.getBlock({ blockNumber: to });
        this.scannedTo = to;
        this.scannedHash = end.hash as Hex;
      }
    } catch (err) {
      throw asTemporary(err, 'reading Inbox logs');
    }
  }
}
