import type { Logger } from 'pino';
import { type Abi, createPublicClient, type Hex, http, type PublicClient } from 'viem';
import { decodeTxBatch } from '../batcher/codec.js';
import type { ExecutionResult, Executor, RemovedBlock } from '../execution/executor.js';
import { type L1Deployment, l1Artifacts, openInboxArtifact } from '../l1/deploy.js';
import { type L1Message, L1Watcher } from '../l1/watcher.js';
import type { ChainStore, MetaEntries } from '../store/chain-store.js';
import {
  decodeSequencedBlock,
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../types/sequenced-block.js';
import {
  type BatchDataFetcher,
  type BatchRef,
  BatchRetrieval,
  blobFetcher,
  calldataFetcher,
} from './batch-retrieval.js';
import { BlockQueue } from './block-queue.js';
import { critical, DerivationError, L2RewindNeeded } from './errors.js';

export interface DeriverOptions {
  l1Url: string;
  deployment: L1Deployment;
  /** Read L1 only this many blocks below its head (0: up to the head). */
  confirmations: number;
  /** Reads batches carried in blobs (default: from the L1 node, as anvil serves them). */
  blobs?: BatchDataFetcher;
}

/** One block derived from L1 and now the head of the local chain. */
export interface DerivedBlock {
  sequenced: SequencedBlock;
  result: ExecutionResult;
  /** The L1 messages it consumed (canonically, whatever the batch claimed). */
  messages: L1Message[];
  batch: BatchRef;
  lastOfBatch: boolean;
  /** Set when the poster broke the L1-message rule; derivation applied the due messages anyway. */
  fault?: string;
}

/** A batch on L1 that derivation did not use (`free`: it lost the race for its height, or was invalid). */
export interface PassedOverBatch {
  index: bigint;
  l1TxHash: `0x${string}`;
  l1Block: bigint;
  reason: string;
}

/** An L2 rewind (`based` / `free`): a deep L1 reorg changed a batch the chain was derived from. */
export interface L2Rewind {
  /** The head before, and the head it went back to (the head before the changed batch was read). */
  from: bigint;
  to: bigint;
  /** The blocks taken off the chain with their receipts, lowest first. */
  removed: RemovedBlock[];
  /** The Inbox index of the first batch that changed or went. */
  batchIndex: bigint;
  reason: string;
  at: number;
}

/** The L2 rewinds in `seqnet_status` (a `based` / `free` node's `open`, a follower's `derivation`). */
export interface RewindStatus {
  rewinds: number;
  recentRewinds: Array<{ from: number; to: number; batchIndex: number; reason: string; at: number }>;
}

/** Meta key holding `height:cursor`: the canonical L1 message cursor after the head block. */
const CURSOR_KEY = 'derive.cursor';
/** `based`: meta key holding `index:l1TxHash` of the last batch dealt with (made a block or passed over). */
const BASED_BATCH_KEY = 'derive.basedBatch';
/** `based` / `free`: meta key prefix of each batch's record `l1TxHash:headBefore`, by Inbox index. */
const BATCH_RECORD_KEY = 'derive.batch.';
/** `based` / `free`: meta key holding the highest Inbox index recorded. */
const LAST_RECORDED_KEY = 'derive.lastBatch';
/** `based` / `free`: how many of the latest batches are remembered, so how deep an L2 rewind can go. */
const BATCH_RECORD_WINDOW = 8_192n;

/**
 * The last stage and the driver of derivation: pulls sequenced blocks from L1 (BatchRetrieval →
 * BlockQueue), applies the L1 messages that are due by the canonical rule (DECISIONS.md §3), checks
 * links, origins and lagged state roots, executes each block and persists it, so the local chain is
 * exactly what L1 implies. Already-derived blocks that L1 shows again (after a reorg, or a restart)
 * are checked against the stored ones: a different block at a derived height is Critical.
 *
 * With an OpenInbox (the deployment's `openMode`), where anyone posts, L1 order decides:
 * - `free`: the first batch whose first block extends the derived head and keeps every rule counts;
 *   every other batch (a loser of the race for that height, or junk) is passed over, not Critical.
 *   Blocks are checked further, as voters would: the origin is an L1 block below the one holding the
 *   batch, with that hash; the timestamp is between the parent's and the holding L1 block's.
 * - `based`: each batch is a list of txs (batch version 2) and becomes the next block: parent = the
 *   derived head, timestamp = the holding L1 block's (never below the parent's), origin = that L1
 *   block's parent. No batch loses; a tx that is in two batches is skipped by execution the second time.
 *
 * In both, L1 order is the chain, so an L1 reorg deeper than the confirmations derivation waits for
 * can change it: each batch read is recorded by Inbox index with its L1 tx and the head it started
 * from; when L1 later shows another tx at a recorded index, or fewer batches, the L2 is rewound to
 * where the first changed batch started (blocks, receipts and state; `onRewind` hands the removed
 * blocks to the node, whose mempool takes their txs back) and derived again from L1: the chain every
 * node reading this L1 from scratch would derive.
 */
export class Deriver {
  private readonly pub: PublicClient;
  private messages!: L1Watcher;
  private readonly retrieval: BatchRetrieval;
  private readonly queue: BlockQueue;
  private parent!: SequencedBlock;
  private cursor = 0n;
  /** `based` / `free` (an OpenInbox), or undefined for the single key's or a committee's Inbox. */
  private readonly openMode: L1Deployment['openMode'];
  /** `based`: the last batch dealt with (it made a block or was passed over; those before it too). */
  private lastBasedBatch?: { index: bigint; l1TxHash: string };
  /**
   * `based` / `free`: the latest batches read, by Inbox index: their L1 tx, and the head derivation
   * had when it read them (where a rewind to before them goes). The order of batches decided the chain
   * (in `free` the first valid batch for a height wins), so a batch read again with another tx means
   * the chain from it on may no longer be the one L1 implies, which the stored blocks alone cannot show.
   */
  private readonly records = new Map<bigint, { l1TxHash: string; headBefore: bigint }>();
  private lastRecorded = -1n;
  /** Records not persisted yet: written with the next derived block (or a rewind). */
  private recordMeta: MetaEntries = {};
  /** A reorg was seen: check that L1 still holds every batch recorded before going on. */
  private recordsCheckDue = false;
  /** `based` / `free`: the highest block made only from batches in finalized L1 blocks (l1FinalHead). */
  private finalHead = 0n;
  /** The Inbox's batch count in the last finalized L1 block read (a finalized block never changes). */
  private finalizedCount?: { l1Block: bigint; count: bigint };
  /** L2 rewinds so far, and the latest of them (the node's status shows them: rewindStatus). */
  private rewindCount = 0;
  private readonly recentRewinds: Omit<L2Rewind, 'removed'>[] = [];
  /** Batches passed over so far, and the latest of them (the node's status shows them). */
  passedOverCount = 0;
  readonly recentPassedOver: PassedOverBatch[] = [];
  /** What became of the latest batches, by L1 tx hash: used (made blocks) or passed over (why). */
  private readonly outcomes = new Map<string, { used: true } | { used: false; reason: string }>();
  /** L1 block headers by number, for origin checks (free) and block making (based). */
  private readonly l1Headers = new Map<bigint, { hash: Hex; parentHash: Hex; timestamp: bigint }>();

  constructor(
    private readonly options: DeriverOptions,
    private readonly deps: {
      store: ChainStore;
      executor: Executor;
      logger: Logger;
      /** `based` / `free`: the chain was rewound (the removed blocks' txs belong back in a mempool). */
      onRewind?: (rewind: L2Rewind) => Promise<void> | void;
    },
  ) {
    this.openMode = options.deployment.openMode;
    this.pub = createPublicClient({ transport: http(options.l1Url, { retryCount: 0, timeout: 10_000 }) });
    this.retrieval = new BatchRetrieval(this.pub, {
      inbox: options.deployment.contracts.Inbox,
      fromBlock: BigInt(options.deployment.deployedAtBlock),
      calldata: calldataFetcher(l1Artifacts().Inbox.abi as Abi),
      blobs: options.blobs ?? blobFetcher(options.l1Url, l1Artifacts().Inbox.abi as Abi),
      onRead: this.openMode ? (batch) => this.checkRecord(batch) : undefined,
    });
    this.queue = new BlockQueue(
      this.retrieval,
      deps.executor.options.chainId,
      this.openMode === 'free' ? (batch, reason) => this.passOver(batch, reason) : undefined,
    );
  }

  /** `seqnet_status`'s view of the L2 rewinds: how many, and the latest (up to 5), JSON-ready. */
  rewindStatus(): RewindStatus {
    return {
      rewinds: this.rewindCount,
      recentRewinds: this.recentRewinds.slice(-5).map((r) => ({
        ...r,
        from: Number(r.from),
        to: Number(r.to),
        batchIndex: Number(r.batchIndex),
      })),
    };
  }

  /**
   * `based` / `free`: the highest L2 block made only from batches that finalized L1 blocks hold. Below
   * it no L1 reorg can rewind the chain, so outputs (and the withdrawals proven against them) wait
   * for it, as op-proposer proposes only L2 blocks derived from finalized L1 data. Moved up by
   * refreshFinalHead; the head itself in the other modes, whose certified chain never rewinds.
   */
  get l1FinalHead(): bigint {
    return this.openMode ? this.finalHead : this.deps.executor.head.header.number;
  }

  /**
   * Reads the L1's `finalized` block and the Inbox's batch count in it: the blocks derived before the
   * first batch past that count are final. Not while a reorg's check of the records is due.
   */
  async refreshFinalHead(): Promise<bigint> {
    if (!this.openMode || this.recordsCheckDue) return this.l1FinalHead;
    const finalized = await this.pub.getBlock({ blockTag: 'finalized' });
    if (finalized.number === null || finalized.number < BigInt(this.options.deployment.deployedAtBlock))
      return this.finalHead;
    if (this.finalizedCount?.l1Block !== finalized.number) {
      const count = (await this.pub.readContract({
        address: this.options.deployment.contracts.Inbox,
        abi: openInboxArtifact().abi as Abi,
        functionName: 'batchCount',
        blockNumber: finalized.number,
      })) as bigint;
      this.finalizedCount = { l1Block: finalized.number, count };
    }
    const { count } = this.finalizedCount;
    // Read after the awaits, in one go: the head's blocks come from batches up to lastRecorded.
    if (this.recordsCheckDue) return this.finalHead;
    const firstOpen = count > this.lastRecorded ? undefined : this.records.get(count);
    const head = count > this.lastRecorded ? this.deps.executor.head.header.number : firstOpen?.headBefore;
    if (head !== undefined && head > this.finalHead) this.finalHead = head;
    return this.finalHead;
  }

  /** What derivation made of the batch in L1 tx `l1TxHash`, once it has read it (the latest 1,024). */
  batchOutcome(l1TxHash: string): { used: true } | { used: false; reason: string } | undefined {
    return this.outcomes.get(l1TxHash.toLowerCase());
  }

  private recordOutcome(l1TxHash: string, outcome: { used: true } | { used: false; reason: string }): void {
    const key = l1TxHash.toLowerCase();
    this.outcomes.delete(key);
    this.outcomes.set(key, outcome);
    if (this.outcomes.size > 1_024) this.outcomes.delete(this.outcomes.keys().next().value as string);
  }

  private passOver(batch: BatchRef, reason: string): void {
    this.recordOutcome(batch.l1TxHash, { used: false, reason });
    this.passedOverCount++;
    this.recentPassedOver.push({
      index: batch.index,
      l1TxHash: batch.l1TxHash,
      l1Block: batch.l1Block,
      reason,
    });
    if (this.recentPassedOver.length > 100) this.recentPassedOver.shift();
    this.deps.logger.debug({ batch: Number(batch.index), reason }, 'passed over a batch');
  }

  private async l1Header(number: bigint): Promise<{ hash: Hex; parentHash: Hex; timestamp: bigint }> {
    const cached = this.l1Headers.get(number);
    if (cached) return cached;
    const b = await this.pub.getBlock({ blockNumber: number });
    const header = { hash: b.hash as Hex, parentHash: b.parentHash, timestamp: b.timestamp };
    this.l1Headers.set(number, header);
    if (this.l1Headers.size > 256) this.l1Headers.delete(this.l1Headers.keys().next().value as bigint);
    return header;
  }

  /** Loads the local head and its cursor; reads the L1 messages once. */
  async init(): Promise<void> {
    const { store, executor } = this.deps;
    const head = executor.head.header.number;
    if (head === 0n) {
      this.parent = executor.genesisSequenced();
      this.cursor = 0n;
    } else {
      const saved = store.getMeta(CURSOR_KEY);
      const [h, c] = saved?.split(':') ?? [];
      if (h === undefined || BigInt(h) !== head)
        throw critical(
          `the chain in this data dir was not built by derivation (no cursor for head ${head}); use an empty --data-dir`,
        );
      this.parent = decodeSequencedBlock(store.getSequenced(head)!);
      this.cursor = BigInt(c);
    }
    const based = store.getMeta(BASED_BATCH_KEY)?.split(':');
    if (based) this.lastBasedBatch = { index: BigInt(based[0]), l1TxHash: based[1] };
    const last = store.getMeta(LAST_RECORDED_KEY);
    if (this.openMode && last !== undefined) {
      this.lastRecorded = BigInt(last);
      for (let i = this.lastRecorded; i >= 0n && i > this.lastRecorded - BATCH_RECORD_WINDOW; i--) {
        const [l1TxHash, headBefore] = store.getMeta(`${BATCH_RECORD_KEY}${i}`)?.split(':') ?? [];
        if (l1TxHash === undefined) break;
        this.records.set(i, { l1TxHash, headBefore: BigInt(headBefore) });
      }
    }
    this.newWatcher();
    await this.messages.poll();
  }

  /** How far L1 has been read: Inbox logs, and L1 messages. */
  get l1Progress(): { batches: bigint; messages: bigint } {
    return { batches: this.retrieval.l1Progress, messages: this.messages.scannedThrough() };
  }

  get l1MessageCursor(): bigint {
    return this.cursor;
  }

  /**
   * Derives the next block. Returns undefined when L1 holds nothing more yet (NotEnoughData);
   * throws a DerivationError `Temporary` (retry later) or `Critical` (stop). Resets itself on a reorg.
   */
  async step(): Promise<DerivedBlock | undefined> {
    let polled = false;
    for (;;) {
      try {
        if (this.recordsCheckDue) {
          await this.checkRecordsStillPosted();
          this.recordsCheckDue = false;
        }
        const limit = this.messages.scannedThrough();
        let derived: DerivedBlock | undefined;
        if (this.openMode === 'based') {
          const batch = await this.retrieval.next(limit);
          const block = await this.basedBlock(batch);
          derived = block && (await this.apply(block, batch, true));
        } else {
          const queued = await this.queue.next(limit);
          derived = await this.apply(queued.block, queued.batch, queued.lastOfBatch);
        }
        if (derived) return derived;
      } catch (err) {
        if (!(err instanceof DerivationError)) throw err;
        if (err.code === 'Reset') {
          this.reset(err.message);
          continue;
        }
        if (err instanceof L2RewindNeeded) {
          await this.rewind(err.batchIndex, err.message);
          continue;
        }
        if (err.code !== 'NotEnoughData') throw err;
        if (polled) return undefined;
        // Read the L1 messages further, then try once more: batches are never read past them.
        await this.messages.poll();
        polled = true;
      }
    }
  }

  /**
   * `based`: the block a batch of txs makes at the next height, from the L1 block holding it. A batch
   * that was derived before (a restart or a reorg re-reads L1) makes the block stored at its height.
   */
  private async basedBlock(batch: BatchRef): Promise<SequencedBlock | undefined> {
    // Dealt with before (a restart or a reorg re-reads L1; checkRecord saw it is the same batch).
    const last = this.lastBasedBatch;
    if (last && batch.index <= last.index) return undefined;
    let txs: Uint8Array[];
    try {
      txs = decodeTxBatch(batch.data);
    } catch (err) {
      this.passOver(batch, (err as Error).message);
      this.lastBasedBatch = { index: batch.index, l1TxHash: batch.l1TxHash };
      return undefined;
    }
    const holder = await this.l1Header(batch.l1Block);
    const parent = this.parent;
    const origin = { number: batch.l1Block - 1n, hash: holder.parentHash };
    const height = parent.height + 1n;
    const due = this.messages.messagesFor(this.cursor, origin.number);
    return {
      version: 1,
      chainId: this.deps.executor.options.chainId,
      height,
      parentHash: hashSequencedBlock(parent),
      timestamp: holder.timestamp > parent.timestamp ? holder.timestamp : parent.timestamp,
      l1Origin: origin.number < parent.l1Origin.number ? parent.l1Origin : origin,
      l1MessageCursor: this.cursor + BigInt(due.length),
      txs,
      lagStateRoot: this.deps.executor.lagStateRootFor(height),
    };
  }

  /**
   * A block of a `free` batch that does not extend the derived chain by the rules: the reason, or
   * undefined when it does. (Committee and single-key batches are checked by their certificate or key.)
   */
  private async freeBlockFault(seq: SequencedBlock, batch: BatchRef): Promise<string | undefined> {
    const parent = this.parent;
    if (seq.timestamp < parent.timestamp) return `block ${seq.height}: timestamp before its parent's`;
    if (seq.l1Origin.number >= batch.l1Block)
      return `block ${seq.height}: L1 origin ${seq.l1Origin.number} is not below the L1 block ${batch.l1Block} holding it`;
    if (seq.l1Origin.number < parent.l1Origin.number) return `block ${seq.height}: L1 origin goes backwards`;
    const origin = await this.l1Header(seq.l1Origin.number);
    if (origin.hash !== seq.l1Origin.hash)
      return `block ${seq.height}: L1 origin ${seq.l1Origin.number} has hash ${origin.hash} on L1, not ${seq.l1Origin.hash}`;
    if (seq.timestamp < origin.timestamp) return `block ${seq.height}: timestamp before its L1 origin's`;
    const holder = await this.l1Header(batch.l1Block);
    if (seq.timestamp > holder.timestamp)
      return `block ${seq.height}: timestamp after the L1 block ${batch.l1Block} holding it`;
    const due = this.messages.messagesFor(this.cursor, seq.l1Origin.number);
    if (seq.l1MessageCursor !== this.cursor + BigInt(due.length))
      return `block ${seq.height}: claims L1 message cursor ${seq.l1MessageCursor}, ${this.cursor + BigInt(due.length)} is due`;
    return undefined;
  }

  /**
   * `based` / `free`: each batch read is checked against what was read at its Inbox index before. A new
   * index is recorded with the head it starts from; one read again with another L1 tx (an L1 reorg
   * deeper than the confirmations replaced it) is an `L2RewindNeeded`, which step() acts on.
   */
  private checkRecord(batch: BatchRef): void {
    const tx = batch.l1TxHash.toLowerCase();
    if (batch.index > this.lastRecorded) {
      this.records.set(batch.index, { l1TxHash: tx, headBefore: this.parent.height });
      this.lastRecorded = batch.index;
      this.recordMeta[`${BATCH_RECORD_KEY}${batch.index}`] = `${tx}:${this.parent.height}`;
      this.recordMeta[LAST_RECORDED_KEY] = batch.index.toString();
      const old = batch.index - BATCH_RECORD_WINDOW;
      if (old >= 0n) {
        this.records.delete(old);
        this.recordMeta[`${BATCH_RECORD_KEY}${old}`] = null;
      }
      return;
    }
    const before = this.records.get(batch.index);
    // Older than the window (a restart re-reads L1 from the Inbox's deployment): not checked.
    if (before === undefined || before.l1TxHash === tx) return;
    throw new L2RewindNeeded(
      batch.index,
      `an L1 reorg deeper than the ${this.options.confirmations} confirmations derivation waits for replaced batch ${batch.index} (L1 tx ${before.l1TxHash}, now ${tx})`,
    );
  }

  /** Record entries not persisted yet, handed to the next write (and forgotten here). */
  private takeRecordMeta(): MetaEntries {
    const meta = this.recordMeta;
    this.recordMeta = {};
    return meta;
  }

  /**
   * `based` / `free`, after a reorg: L1 must still hold every batch recorded (a reorg that dropped the
   * latest ones and put nothing in their place would otherwise go unseen until someone posts again).
   */
  private async checkRecordsStillPosted(): Promise<void> {
    if (this.lastRecorded < 0n) return;
    let count: bigint;
    try {
      count = (await this.pub.readContract({
        address: this.options.deployment.contracts.Inbox,
        abi: openInboxArtifact().abi as Abi,
        functionName: 'batchCount',
      })) as bigint;
    } catch (err) {
      throw new DerivationError('Temporary', `reading the Inbox's batch count: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (count <= this.lastRecorded)
      throw new L2RewindNeeded(
        count,
        `an L1 reorg deeper than the ${this.options.confirmations} confirmations derivation waits for took back batch ${count}${count < this.lastRecorded ? `..${this.lastRecorded}` : ''}: L1 now holds ${count} batches`,
      );
  }

  /**
   * Takes the L2 back to the head it had when batch `index` was first read, forgets the records from
   * `index` on, and reads on: the batches from `index` are then derived as L1 now holds them. Critical
   * when the batch is older than the records kept (a reorg that deep needs a resync).
   */
  private async rewind(index: bigint, why: string): Promise<void> {
    const { store, executor, logger } = this.deps;
    const record = this.records.get(index);
    if (!record)
      throw critical(
        `${why}; that is older than the latest ${BATCH_RECORD_WINDOW} batches derivation can rewind: raise --l1-confirmations, and resync into an empty --data-dir`,
      );
    const to = record.headBefore;
    const from = executor.head.header.number;
    const parent = to === 0n ? executor.genesisSequenced() : decodeSequencedBlock(store.getSequenced(to)!);
    // The store first (one lmdb commit: the blocks, the records from `index` on, the cursor), then
    // this deriver's books: a failed write leaves both as they were.
    const meta = { ...this.recordMeta };
    for (let i = index; i <= this.lastRecorded; i++) meta[`${BATCH_RECORD_KEY}${i}`] = null;
    meta[LAST_RECORDED_KEY] = index > 0n ? (index - 1n).toString() : null;
    meta[CURSOR_KEY] = `${to}:${parent.l1MessageCursor}`;
    const prev = this.records.get(index - 1n);
    if (this.openMode === 'based') meta[BASED_BATCH_KEY] = prev ? `${index - 1n}:${prev.l1TxHash}` : null;
    const removed = await executor.rewindTo(to, meta);
    this.recordMeta = {};
    for (let i = index; i <= this.lastRecorded; i++) {
      const gone = this.records.get(i);
      // The submitter posts the txs of a batch taken back again (it waits on this outcome).
      if (gone) this.recordOutcome(gone.l1TxHash, { used: false, reason: 'taken back by an L1 reorg' });
      this.records.delete(i);
    }
    this.lastRecorded = index - 1n;
    if (this.openMode === 'based')
      this.lastBasedBatch = prev && { index: index - 1n, l1TxHash: prev.l1TxHash };
    this.parent = parent;
    this.cursor = parent.l1MessageCursor;
    this.queue.reset();
    if (to < this.finalHead) {
      logger.error(
        { finalHead: Number(this.finalHead), to: Number(to) },
        'L1 reorg below the L1 finalized block: blocks taken as final are rewound',
      );
      this.finalHead = to;
    }
    const rewind: L2Rewind = { from, to, removed, batchIndex: index, reason: why, at: Date.now() };
    this.rewindCount++;
    this.recentRewinds.push({ from, to, batchIndex: index, reason: why, at: rewind.at });
    if (this.recentRewinds.length > 20) this.recentRewinds.shift();
    const removedTxs = removed.reduce((n, r) => n + r.block.transactions.length, 0);
    logger.warn(
      { from: Number(from), to: Number(to), batch: Number(index), removedTxs, why },
      'L1 reorg: the L2 is rewound to before the changed batch and derived again from L1',
    );
    await this.deps.onRewind?.(rewind);
  }

  private reset(why: string): void {
    this.deps.logger.warn({ why }, 'L1 reorg: reading L1 again from before it');
    const back = this.retrieval.l1Progress - 64n;
    this.l1Headers.clear();
    this.queue.reset();
    this.recordsCheckDue = this.openMode !== undefined;
    this.retrieval.reset(back);
    this.newWatcher();
  }

  private newWatcher(): void {
    const { deployment, l1Url, confirmations } = this.options;
    this.messages = new L1Watcher(
      {
        rpcUrl: l1Url,
        queue: deployment.contracts.L1MessageQueue,
        fromBlock: BigInt(deployment.deployedAtBlock),
        confirmations,
        pollMs: 1_000,
      },
      this.deps.logger.child({ stage: 'l1-messages' }),
    );
  }

  /** Executes and persists one block; undefined when it was derived before (and matches). */
  private async apply(
    seq: SequencedBlock,
    batch: BatchRef,
    lastOfBatch: boolean,
  ): Promise<DerivedBlock | undefined> {
    const { store, executor } = this.deps;
    const head = executor.head.header.number;
    const free = this.openMode === 'free';
    // In `free` a batch that breaks a rule lost (or was junk): pass over the rest of it.
    const reject = (reason: string): undefined => {
      if (!free) throw critical(reason);
      this.passOver(batch, reason);
      this.queue.dropBatch();
      return undefined;
    };
    if (seq.height <= head) {
      if (store.sequencedHashAt(seq.height) !== hashSequencedBlock(seq)) {
        if (free) return reject(`block ${seq.height} was already taken by an earlier batch`);
        throw critical(
          `L1 now holds a different block ${seq.height} than the one derived here (batch ${batch.index}); the L2 reorged: resync into an empty --data-dir`,
        );
      }
      this.recordOutcome(batch.l1TxHash, { used: true });
      return undefined;
    }
    if (seq.height !== head + 1n)
      return reject(`batch ${batch.index}: block ${seq.height} does not follow the derived head ${head}`);
    const parent = this.parent;
    if (seq.parentHash !== hashSequencedBlock(parent))
      return reject(`block ${seq.height} does not link to block ${parent.height}`);
    if (seq.l1Origin.number < parent.l1Origin.number)
      return reject(`block ${seq.height}: L1 origin goes backwards`);
    if (free) {
      const fault = await this.freeBlockFault(seq, batch);
      if (fault) return reject(fault);
    }
    // L1 messages are part of the chain whatever the batch says (DECISIONS.md §3): a sequencer that
    // leaves them out only makes its own soft confirmations wrong.
    const due = this.messages.messagesFor(this.cursor, seq.l1Origin.number);
    const fault =
      seq.l1MessageCursor !== this.cursor + BigInt(due.length)
        ? `block ${seq.height}: claims ${seq.l1MessageCursor - parent.l1MessageCursor} L1 messages, ${due.length} were due`
        : undefined;
    const lag = executor.lagStateRootFor(seq.height);
    if (seq.lagStateRoot !== lag)
      return reject(
        `block ${seq.height}: lagged state root ${seq.lagStateRoot} differs from the executed ${lag}`,
      );
    const result = await executor.execute(seq, undefined, due);
    const cursor = this.cursor + BigInt(due.length);
    await executor.persistAndCommit(result, {
      sequenced: encodeSequencedBlock(seq),
      proof: new Uint8Array(),
      meta: {
        ...this.takeRecordMeta(),
        [CURSOR_KEY]: `${seq.height}:${cursor}`,
        ...(this.openMode === 'based' && {
          [BASED_BATCH_KEY]: `${batch.index}:${batch.l1TxHash}`,
        }),
      },
    });
    this.parent = seq;
    this.cursor = cursor;
    this.recordOutcome(batch.l1TxHash, { used: true });
    if (this.openMode === 'based') this.lastBasedBatch = { index: batch.index, l1TxHash: batch.l1TxHash };
    return { sequenced: seq, result, messages: due, batch, lastOfBatch, fault };
  }
}
