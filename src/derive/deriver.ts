import type { Logger } from 'pino';
import { type Abi, createPublicClient, type Hex, http, type PublicClient } from 'viem';
import { decodeTxBatch } from '../batcher/codec.js';
import type { ExecutionResult, Executor } from '../execution/executor.js';
import { type L1Deployment, l1Artifacts, openInboxArtifact } from '../l1/deploy.js';
import { type L1Message, L1Watcher } from '../l1/watcher.js';
import type { ChainStore } from '../store/chain-store.js';
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
import { critical, DerivationError } from './errors.js';

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

/** Meta key holding `height:cursor`: the canonical L1 message cursor after the head block. */
const CURSOR_KEY = 'derive.cursor';
/** `based`: meta key holding `index:l1TxHash` of the batch that made the head block. */
const BASED_BATCH_KEY = 'derive.basedBatch';
/** `free`: meta key holding `index:l1TxHash` of the batch that made the head block. */
const FREE_BATCH_KEY = 'derive.freeBatch';
/** `free`: how many of the latest batches' L1 txs are remembered by index (the order that chose blocks). */
const FREE_ORDER_WINDOW = 8_192;

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
  /** `based`: the batch that made the head block (batches up to it were derived before). */
  private lastBasedBatch?: { index: bigint; l1TxHash: string };
  /**
   * `free`: the L1 tx of each batch read lately, by its Inbox index. In `free` the first valid batch
   * for a height wins, so the order of batches up to the one that made the head block decided the
   * chain; an L1 reorg that changes that order (deeper than the confirmations derivation reads
   * behind) may have changed a winner, which the stored blocks alone cannot show.
   */
  private readonly freeOrder = new Map<bigint, string>();
  /** `free`: the batch that made the head block. */
  private freeHeadBatch?: { index: bigint; l1TxHash: string };
  /** `free`: a reorg was seen; check that the head block's batch is still on L1 before going on. */
  private freeHeadCheckDue = false;
  /** Batches passed over so far, and the latest of them (the node's status shows them). */
  passedOverCount = 0;
  readonly recentPassedOver: PassedOverBatch[] = [];
  /** What became of the latest batches, by L1 tx hash: used (made blocks) or passed over (why). */
  private readonly outcomes = new Map<string, { used: true } | { used: false; reason: string }>();
  /** L1 block headers by number, for origin checks (free) and block making (based). */
  private readonly l1Headers = new Map<bigint, { hash: Hex; parentHash: Hex; timestamp: bigint }>();

  constructor(
    private readonly options: DeriverOptions,
    private readonly deps: { store: ChainStore; executor: Executor; logger: Logger },
  ) {
    this.openMode = options.deployment.openMode;
    this.pub = createPublicClient({ transport: http(options.l1Url, { retryCount: 0, timeout: 10_000 }) });
    this.retrieval = new BatchRetrieval(this.pub, {
      inbox: options.deployment.contracts.Inbox,
      fromBlock: BigInt(options.deployment.deployedAtBlock),
      calldata: calldataFetcher(l1Artifacts().Inbox.abi as Abi),
      blobs: options.blobs ?? blobFetcher(options.l1Url, l1Artifacts().Inbox.abi as Abi),
      onRead: this.openMode === 'free' ? (batch) => this.checkFreeOrder(batch) : undefined,
    });
    this.queue = new BlockQueue(
      this.retrieval,
      deps.executor.options.chainId,
      this.openMode === 'free' ? (batch, reason) => this.passOver(batch, reason) : undefined,
    );
  }

  /** What derivation made of the batch in L1 tx `l1TxHash`, once it has read it (the latest 1,024). */
  batchOutcome(l1TxHash: string): { used: true } | { used: false; reason: string } | undefined {
    return this.outcomes.get(l1TxHash.toLowerCase());
  }

  private recordOutcome(batch: BatchRef, outcome: { used: true } | { used: false; reason: string }): void {
    const key = batch.l1TxHash.toLowerCase();
    this.outcomes.delete(key);
    this.outcomes.set(key, outcome);
    if (this.outcomes.size > 1_024) this.outcomes.delete(this.outcomes.keys().next().value as string);
  }

  private passOver(batch: BatchRef, reason: string): void {
    this.recordOutcome(batch, { used: false, reason });
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
      const based = store.getMeta(BASED_BATCH_KEY)?.split(':');
      if (based) this.lastBasedBatch = { index: BigInt(based[0]), l1TxHash: based[1] };
      const free = store.getMeta(FREE_BATCH_KEY)?.split(':');
      if (free) {
        this.freeHeadBatch = { index: BigInt(free[0]), l1TxHash: free[1].toLowerCase() };
        this.freeOrder.set(this.freeHeadBatch.index, this.freeHeadBatch.l1TxHash);
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
        if (this.freeHeadCheckDue) {
          await this.checkFreeHeadStillPosted();
          this.freeHeadCheckDue = false;
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
    const last = this.lastBasedBatch;
    if (last && batch.index <= last.index) {
      if (batch.index === last.index && batch.l1TxHash !== last.l1TxHash)
        throw critical(
          `L1 now holds another batch ${batch.index} than the one the head block was derived from; the L2 reorged: resync into an empty --data-dir`,
        );
      return undefined;
    }
    let txs: Uint8Array[];
    try {
      txs = decodeTxBatch(batch.data);
    } catch (err) {
      this.passOver(batch, (err as Error).message);
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
   * `free`: refuses to go on when L1 now shows another batch at an index at or below the one that
   * made the head block (a reorg deeper than the confirmations reordered, dropped or replaced batches
   * that decided heights already derived): the first valid batch for some height may now be another
   * one, so this chain may no longer be the one L1 implies. Stopping is the safe answer; rewinding
   * the L2 is not built (the based mode and the committee's Inbox stop the same way).
   */
  private checkFreeOrder(batch: BatchRef): void {
    const tx = batch.l1TxHash.toLowerCase();
    const before = this.freeOrder.get(batch.index);
    const head = this.freeHeadBatch;
    if (before !== undefined && before !== tx && head && batch.index <= head.index)
      throw critical(
        `an L1 reorg deeper than the ${this.options.confirmations} confirmations derivation waits for replaced batch ${batch.index} (L1 tx ${before}, now ${tx}); batches up to ${head.index} chose the derived blocks up to ${this.parent.height}, so a height may now have another winner and the L2 may have reorged. Raise --l1-confirmations, and resync into an empty --data-dir`,
      );
    this.freeOrder.set(batch.index, tx);
    if (this.freeOrder.size > FREE_ORDER_WINDOW)
      this.freeOrder.delete(this.freeOrder.keys().next().value as bigint);
  }

  /**
   * `free`, after a reorg: the batch that made the head block must still be on L1 (a reorg that
   * dropped it and everything after would otherwise go unseen until someone posts again).
   */
  private async checkFreeHeadStillPosted(): Promise<void> {
    const head = this.freeHeadBatch;
    if (!head) return;
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
    if (count <= head.index)
      throw critical(
        `an L1 reorg deeper than the ${this.options.confirmations} confirmations derivation waits for took back batch ${head.index} (L1 tx ${head.l1TxHash}), which made the derived head ${this.parent.height}: L1 now holds ${count} batches, so the L2 reorged. Raise --l1-confirmations, and resync into an empty --data-dir`,
      );
  }

  private reset(why: string): void {
    this.deps.logger.warn({ why }, 'L1 reorg: reading L1 again from before it');
    const back = this.retrieval.l1Progress - 64n;
    this.l1Headers.clear();
    this.queue.reset();
    this.freeHeadCheckDue = this.openMode === 'free';
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
      const stored = store.getSequenced(seq.height);
      if (!stored || hashSequencedBlock(decodeSequencedBlock(stored)) !== hashSequencedBlock(seq)) {
        if (free) return reject(`block ${seq.height} was already taken by an earlier batch`);
        throw critical(
          `L1 now holds a different block ${seq.height} than the one derived here (batch ${batch.index}); the L2 reorged: resync into an empty --data-dir`,
        );
      }
      this.recordOutcome(batch, { used: true });
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
        [CURSOR_KEY]: `${seq.height}:${cursor}`,
        ...(this.openMode === 'based' && {
          [BASED_BATCH_KEY]: `${batch.index}:${batch.l1TxHash}`,
        }),
        ...(this.openMode === 'free' && {
          [FREE_BATCH_KEY]: `${batch.index}:${batch.l1TxHash}`,
        }),
      },
    });
    this.parent = seq;
    this.cursor = cursor;
    this.recordOutcome(batch, { used: true });
    if (this.openMode === 'based') this.lastBasedBatch = { index: batch.index, l1TxHash: batch.l1TxHash };
    if (this.openMode === 'free')
      this.freeHeadBatch = { index: batch.index, l1TxHash: batch.l1TxHash.toLowerCase() };
    return { sequenced: seq, result, messages: due, batch, lastOfBatch, fault };
  }
}
