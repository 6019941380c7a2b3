import type { Logger } from 'pino';
import { type Abi, encodeFunctionData, type Hex, type TransactionReceipt, zeroHash } from 'viem';
import type { Deriver } from '../derive/deriver.js';
import type { Executor } from '../execution/executor.js';
import { l1Clients } from '../l1/clients.js';
import type { OpenMode } from '../l1/deploy.js';
import type { L1Source } from '../l1/watcher.js';
import type { Mempool } from '../mempool/mempool.js';
import type { PoolTx } from '../mempool/pool-tx.js';
import type { OrderingContext, OrderingPolicy } from '../ordering/policy.js';
import { promisedFirst } from '../ordering/promised-first.js';
import type { ChainStore } from '../store/chain-store.js';
import { decodeSequencedBlock, hashSequencedBlock, type SequencedBlock } from '../types/sequenced-block.js';
import { toHex } from '../util/bytes.js';
import { sleep } from '../util/sleep.js';
import type { DataAvailability } from './batcher.js';
import { postWithBlobs } from './blob-tx.js';
import { blobCapacity, loadKzg, MAX_BLOBS_PER_TX } from './blobs.js';
import { encodeBatchAsync, encodeTxBatchAsync } from './codec.js';
import type { InclusionPromises } from './inclusion-promise.js';
import { sendWithFeeBumps } from './tx-manager.js';

export interface OpenSubmitterOptions {
  mode: OpenMode;
  /** Wait at least this long between two posts, ms (lets txs gather into one batch). */
  intervalMs: number;
  maxBlockBytes: number;
  maxBlockTxs: number;
  /** Where batches go: calldata (`postBatch`, default) or EIP-4844 blobs (`postBlobBatch`). */
  da?: DataAvailability;
}

export interface OpenSubmitterDeps {
  l1Url: string;
  key: Hex;
  /** The OpenInbox. */
  inbox: Hex;
  inboxAbi: Abi;
  mempool: Mempool;
  executor: Executor;
  store: ChainStore;
  deriver: Deriver;
  /** The node's L1 view: origins (safe head) and the L1 messages due. */
  l1: L1Source;
  policy: OrderingPolicy;
  logger: Logger;
  /**
   * based (`--preconf`), given when the node opts in to preconfirmations: the promises this poster
   * made, read from their journal by the node before its RPC served (so that a restarted node's
   * promised txs cannot be replaced while it starts). The submitter promises each tx on arrival while
   * the promised txs not yet in a batch fill at most half a batch, else when it goes into one (an
   * EIP-712 inclusion promise by the L1 key that posts, inclusion-promise.ts), served by
   * seqnet_getPreconfirmation.
   */
  promises?: InclusionPromises;
  /**
   * Runs after each round, and every AFTER_ROUND_IDLE_MS while there is nothing to post, in the same
   * loop (the output proposer, which shares the L1 key: the two never race for its nonce).
   */
  afterRound?: () => Promise<void>;
}

/**
 * How often a round runs while the mempool is empty: `afterRound`, and L1 messages (deposits, forced
 * txs) that no batch has applied yet.
 */
const AFTER_ROUND_IDLE_MS = 2_000;
/**
 * based: a batch with no txs is posted for due L1 messages only after a random wait of up to this
 * long, so that the submitters, which all see the messages at once, rarely all post one.
 */
const MESSAGE_BATCH_JITTER_MS = 4_000;

/** A batch ready to post: the range it claims (zero in based), its bytes, its txs, (free) its height. */
interface BuiltBatch {
  /** firstBlock, lastBlock, lastBlockHash, l1MessageCursor: the Inbox call's first arguments. */
  range: [bigint, bigint, Hex, bigint];
  data: Uint8Array;
  txHashes: Hex[];
  height?: bigint;
}

/** What one submitter spent and got: `lost` batches and `wastedGas` are the price of racing. */
export interface OpenSubmitterStats {
  posted: number;
  /** free: batches whose block became the chain's; based: every batch derivation used. */
  won: number;
  /** free: batches another submitter's batch beat to their height (or that broke a rule). */
  lost: number;
  /** L1 gas of every post, and of the lost ones. */
  l1Gas: bigint;
  wastedGas: bigint;
  reverted: number;
  /** With `--da blobs`: blobs posted (131,072 blob gas each). */
  blobs: number;
  /** based with `preconf`: txs promised (inclusion promises made). */
  promised: number;
  lastError: string | null;
}

/**
 * The poster of the `based` and `free` modes, where no committee orders and anyone posts to the
 * OpenInbox: each round it takes executable txs from the mempool and posts them.
 * - `free`: a whole sequenced block for the height after the derived head (parent, origin, L1
 *   messages, lagged root as derivation will check them). Then it waits until derivation has read
 *   the L1 block holding the post: the block is the chain's (won) or another submitter's batch took
 *   the height first (lost: its gas was wasted). The next block builds on whatever won.
 * - `based`: the txs alone (batch version 2); L1 inclusion order makes the block. Posts follow each
 *   other without waiting for derivation; txs already in a posted batch are not posted again until
 *   derivation has used it (then they are in the chain, or were skipped) or passed it over (then
 *   they go out again).
 */
export class OpenSubmitter {
  readonly stats: OpenSubmitterStats = {
    posted: 0,
    won: 0,
    lost: 0,
    l1Gas: 0n,
    wastedGas: 0n,
    reverted: 0,
    blobs: 0,
    promised: 0,
    lastError: null,
  };
  /** The L1 clients of the submitter's key, made on the first post (they read the chain id once). */
  private clients?: ReturnType<typeof l1Clients>;
  /** based with `preconf`: txs promised on arrival and not in a batch yet, and their share of a batch. */
  private readonly awaitingBatch = new Map<Hex, PoolTx>();
  private awaitingShare = { bytes: 0, gas: 0n };
  /** based: txs in posted batches, with the L1 tx of their batch, until derivation has dealt with them. */
  private readonly inFlight = new Map<Hex, Hex>();
  /**
   * based: the L1 tx of a batch of ours without txs, posted for due L1 messages, until derivation
   * has read it; and when due messages were first seen with nothing to post them with (plus jitter).
   */
  private messageBatch?: Hex;
  private messagesPostAt?: number;

  constructor(
    readonly options: OpenSubmitterOptions,
    private readonly deps: OpenSubmitterDeps,
  ) {
    // The KZG context takes seconds of CPU to build: once, before the first post.
    if (options.da === 'blobs') loadKzg();
    if (deps.promises && options.mode !== 'based')
      throw new Error('preconfirmations by a submitter (inclusion promises) are for based mode only');
  }

  /** Whether this poster makes inclusion promises (based `--preconf`). */
  get preconf(): boolean {
    return this.deps.promises !== undefined;
  }

  /** Raw tx bytes per batch: the block limit, and with blobs what one tx's blobs carry (compressed
   * batches are smaller than their txs; 1 kB is left for the batch's own framing). */
  private get maxBatchTxBytes(): number {
    if (this.options.da !== 'blobs') return this.options.maxBlockBytes;
    return Math.min(this.options.maxBlockBytes, blobCapacity(MAX_BLOBS_PER_TX) - 1024);
  }

  start(signal: AbortSignal): Promise<void> {
    if (this.preconf) {
      const off = this.deps.mempool.onNewPending((h) => this.promiseOnArrival(h));
      // Promised before a restart and still in the pool: carried first, as then. (The node protected
      // them in the pool before its RPC served: their senders cannot replace them.)
      for (const h of this.deps.promises?.restored ?? []) {
        const t = this.deps.mempool.get(h);
        if (!t || this.awaitingBatch.has(h)) continue;
        this.awaitingBatch.set(h, t);
        this.awaitingShare.bytes += t.raw.length;
        this.awaitingShare.gas += t.gasLimit;
      }
      // The RPC takes txs while the node is still starting: those already pending are promised now too.
      for (const t of this.deps.mempool
        .candidates()
        .flat()
        .sort((a, b) => a.arrival - b.arrival))
        this.promiseOnArrival(t.hash);
      signal.addEventListener('abort', off, { once: true });
    }
    return this.loop(signal);
  }

  /**
   * A tx just became executable here: promise it now, if it surely fits the next batch — the txs
   * promised this way and not yet in a batch stay within half a batch's txs, bytes and gas (buildTxBatch
   * puts them first). Otherwise it is promised when it goes into a batch.
   */
  private promiseOnArrival(hash: Hex): void {
    const promises = this.deps.promises;
    const t = this.deps.mempool.get(hash);
    const l1Head = this.deps.l1.safeHead()?.number;
    if (!promises || !t || l1Head === undefined || this.inFlight.has(hash)) return;
    const share = this.awaitingShare;
    if (
      this.awaitingBatch.size + 1 > this.options.maxBlockTxs / 2 ||
      share.bytes + t.raw.length > this.maxBatchTxBytes / 2 ||
      share.gas + t.gasLimit > this.deps.executor.options.gasLimit / 2n
    )
      return;
    if (promises.promise([hash], l1Head) === 0) return;
    this.stats.promised++;
    this.awaitingBatch.set(hash, t);
    share.bytes += t.raw.length;
    share.gas += t.gasLimit;
  }

  private settleAwaiting(keep: (h: Hex) => boolean): void {
    for (const [h, t] of this.awaitingBatch)
      if (!keep(h)) {
        this.awaitingBatch.delete(h);
        this.awaitingShare.bytes -= t.raw.length;
        this.awaitingShare.gas -= t.gasLimit;
      }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const { logger, afterRound } = this.deps;
    while (!signal.aborted) {
      // Not only for txs: L1 messages fall due without any (a deposit, a forced tx from a censored user).
      await this.waitForPendingOrIdle(signal);
      await sleep(this.options.intervalMs, signal);
      if (signal.aborted) break;
      try {
        await this.postOnce(signal);
      } catch (err) {
        if (signal.aborted) break;
        this.stats.lastError = (err as Error).message;
        logger.warn({ err: this.stats.lastError }, 'posting a batch failed; trying again');
        await sleep(1_000, signal);
      }
      if (afterRound && !signal.aborted)
        await afterRound().catch((err: unknown) => {
          logger.warn({ err: (err as Error).message }, 'the round after posting failed; trying again');
        });
    }
  }

  /**
   * Until a tx is pending or AFTER_ROUND_IDLE_MS have passed. Not `AbortSignal.any([signal,
   * AbortSignal.timeout(ms)])`: Node 20 holds a timeout signal weakly, and once GC collects it the
   * combined signal never aborts, so an idle submitter slept until the next tx and proposed no
   * outputs (a withdrawal in the last block waited for ever; the `--posters 1` e2e test caught it).
   */
  private async waitForPendingOrIdle(signal: AbortSignal): Promise<void> {
    const idle = new AbortController();
    const timer = setTimeout(() => idle.abort(), AFTER_ROUND_IDLE_MS);
    try {
      await this.deps.mempool.waitForPending(AbortSignal.any([signal, idle.signal]));
    } finally {
      clearTimeout(timer);
    }
  }

  /** One round: build, post, account. False when there was nothing to post. */
  async postOnce(signal?: AbortSignal): Promise<boolean> {
    const built = this.options.mode === 'free' ? await this.buildFreeBlock() : await this.buildTxBatch();
    if (!built) return false;
    // A tx not promised on arrival is promised as it goes into a batch: the post below (or, if it
    // fails, the next round's) has until the deadline to land.
    if (this.preconf && built.txHashes.length > 0) {
      await this.promise(built.txHashes);
      const batched = new Set(built.txHashes);
      this.settleAwaiting((h) => !batched.has(h));
    }
    const receipt = await this.post(built);
    this.stats.posted++;
    this.stats.l1Gas += receipt.gasUsed;
    if (receipt.status !== 'success') {
      this.stats.reverted++;
      this.stats.wastedGas += receipt.gasUsed;
      return true;
    }
    if (this.options.mode === 'based') {
      for (const h of built.txHashes) this.inFlight.set(h, receipt.transactionHash);
      if (built.txHashes.length === 0) this.messageBatch = receipt.transactionHash;
      this.stats.won++;
      return true;
    }
    // free: did our block take its height? Wait until derivation has read our batch.
    const outcome = await this.outcomeOf(receipt.transactionHash, signal);
    const won = outcome?.used === true;
    if (won) this.stats.won++;
    else {
      this.stats.lost++;
      this.stats.wastedGas += receipt.gasUsed;
    }
    this.deps.logger.debug(
      { height: Number(built.height ?? 0n), won, l1Gas: Number(receipt.gasUsed) },
      'batch read back',
    );
    return true;
  }

  /** What derivation made of the batch in L1 tx `hash`, once it has read it (undefined if aborted). */
  private async outcomeOf(hash: Hex, signal?: AbortSignal) {
    // Derivation reads a batch a few L1 blocks after it lands; one that stopped never will.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const outcome = this.deps.deriver.batchOutcome(hash);
      if (outcome || signal?.aborted) return outcome;
      if (Date.now() > deadline) {
        this.deps.logger.warn(
          { l1Tx: hash },
          'derivation has not read our batch in 2 minutes: counting it lost',
        );
        return undefined;
      }
      await sleep(100, signal);
    }
  }

  private candidatesExcept(exclude?: (t: PoolTx) => boolean): PoolTx[][] {
    const candidates = this.deps.mempool.candidates();
    if (!exclude) return candidates;
    return candidates.map((q) => q.filter((t) => !exclude(t))).filter((q) => q.length > 0);
  }

  private orderingContext(): OrderingContext {
    const { executor } = this.deps;
    return {
      baseFee: executor.nextBaseFee(),
      gasLimit: executor.options.gasLimit,
      maxBytes: this.maxBatchTxBytes,
      maxTxs: this.options.maxBlockTxs,
    };
  }

  private chosenTxs(exclude?: (t: PoolTx) => boolean): PoolTx[] {
    return this.deps.policy.order(this.candidatesExcept(exclude), this.orderingContext());
  }

  private async buildTxBatch(): Promise<BuiltBatch | undefined> {
    // A tx stays in flight until derivation has dealt with its batch: passed over (post it again), or
    // used and the block handed to the mempool (included or skipped, the tx has left it). Releasing
    // it when the batch was merely read posted it twice (18–36 % of based posts were duplicates).
    const { deriver, mempool } = this.deps;
    for (const [h, batchTx] of this.inFlight) {
      const outcome = deriver.batchOutcome(batchTx);
      if (outcome && (!outcome.used || !mempool.has(h))) this.inFlight.delete(h);
    }
    // Promised on arrival: gone from the pool (in another submitter's batch, or skipped) is no longer ours to post.
    this.settleAwaiting((h) => mempool.has(h) && !this.inFlight.has(h));
    const chosen =
      this.awaitingBatch.size === 0
        ? this.chosenTxs((t) => this.inFlight.has(t.hash))
        : promisedFirst(
            this.candidatesExcept((t) => this.inFlight.has(t.hash)),
            new Set(this.awaitingBatch.keys()),
            this.deps.policy,
            this.orderingContext(),
          );
    if (chosen.length === 0 && !(await this.messagesWaiting())) return undefined;
    const data = await encodeTxBatchAsync(chosen.map((t) => t.raw));
    return { range: [0n, 0n, zeroHash, 0n], data, txHashes: chosen.map((t) => t.hash) };
  }

  /**
   * based: whether to post a batch without txs for L1 messages no batch has applied yet. Any batch
   * applies the messages of the L1 blocks below its own, so without user txs nobody would post one and
   * a deposit or a censored user's forced tx would wait for the next tx (DECISIONS.md §3's bound is
   * k + drift L1 blocks). Not while a batch of ours that applies them is on its way; after a random
   * wait, and only when no batch has landed on L1 after them since, so that the submitters, which
   * all see them at once, rarely all post one.
   */
  private async messagesWaiting(): Promise<boolean> {
    const { deriver, executor, store, l1 } = this.deps;
    if (this.messageBatch !== undefined) {
      if (!deriver.batchOutcome(this.messageBatch)) return false;
      this.messageBatch = undefined;
    }
    // A batch of ours with txs is on its way: it applies them (if it landed after them, else the next).
    if (this.inFlight.size > 0) return false;
    const safe = l1.safeHead();
    const raw = store.getSequenced(executor.head.header.number);
    const cursor = (raw ? decodeSequencedBlock(raw) : executor.genesisSequenced()).l1MessageCursor;
    const due = safe ? l1.messagesFor(cursor, safe.number) : [];
    if (due.length === 0) {
      this.messagesPostAt = undefined;
      return false;
    }
    this.messagesPostAt ??= Date.now() + Math.random() * MESSAGE_BATCH_JITTER_MS;
    if (Date.now() < this.messagesPostAt) return false;
    this.messagesPostAt = undefined;
    // Any batch in an L1 block after the newest due message's applies them all: one that landed
    // (another submitter's) is derived within a block or two. One still in the L1's mempool counts
    // too (the pending block's state): read at the latest block only, two submitters whose waits
    // ended within an L1 block of each other both posted one.
    const { pub } = await this.l1Clients();
    const batchCount = (at: { blockNumber: bigint } | { blockTag: 'pending' }) =>
      pub.readContract({
        address: this.deps.inbox,
        abi: this.deps.inboxAbi,
        functionName: 'batchCount',
        ...at,
      }) as Promise<bigint>;
    const newest = due[due.length - 1].l1Block;
    const [before, now] = await Promise.all([
      batchCount({ blockNumber: newest }),
      batchCount({ blockTag: 'pending' }),
    ]);
    return now === before;
  }

  private async buildFreeBlock(): Promise<BuiltBatch | undefined> {
    const { executor, store, l1 } = this.deps;
    const head = executor.head.header.number;
    const raw = store.getSequenced(head);
    const parent: SequencedBlock = raw ? decodeSequencedBlock(raw) : executor.genesisSequenced();
    const safe = l1.safeHead();
    const origin =
      safe && safe.number > parent.l1Origin.number
        ? { number: safe.number, hash: safe.hash, timestamp: safe.timestamp }
        : undefined;
    const originNumber = origin?.number ?? parent.l1Origin.number;
    const messages = l1.messagesFor(parent.l1MessageCursor, originNumber);
    const chosen = this.chosenTxs();
    if (chosen.length === 0 && messages.length === 0) return undefined;
    // The L1 block holding the post is newer than the origin, so its timestamp is at least the origin's.
    let timestamp = parent.timestamp;
    if (origin && origin.timestamp > timestamp) timestamp = origin.timestamp;
    const height = head + 1n;
    const seq: SequencedBlock = {
      version: 1,
      chainId: executor.options.chainId,
      height,
      parentHash: hashSequencedBlock(parent),
      timestamp,
      l1Origin: origin ? { number: origin.number, hash: origin.hash } : parent.l1Origin,
      l1MessageCursor: parent.l1MessageCursor + BigInt(messages.length),
      txs: chosen.map((t) => t.raw),
      lagStateRoot: executor.lagStateRootFor(height),
    };
    const hash = hashSequencedBlock(seq);
    const data = await encodeBatchAsync([seq]);
    return {
      range: [height, height, hash, seq.l1MessageCursor],
      data,
      txHashes: chosen.map((t) => t.hash),
      height,
    };
  }

  private async promise(txHashes: Hex[]): Promise<void> {
    const promises = this.deps.promises;
    if (!promises) return;
    const { pub } = await this.l1Clients();
    this.stats.promised += promises.promise(txHashes, await pub.getBlockNumber());
  }

  private async l1Clients(): Promise<Awaited<ReturnType<typeof l1Clients>>> {
    const { l1Url, key } = this.deps;
    const promises = this.deps.promises;
    this.clients ??= l1Clients(l1Url, key).then((c) => {
      // The promises are signed for the deployment's L1: posting to another would break every one.
      if (promises && BigInt(c.wallet.chain.id) !== promises.l1ChainId)
        throw new Error(
          `the L1 at ${l1Url} is chain ${c.wallet.chain.id}, and the deployment (whose chain id the inclusion promises are signed for) is on chain ${promises.l1ChainId}: pass the deployment of this L1`,
        );
      return c;
    });
    try {
      return await this.clients;
    } catch (err) {
      this.clients = undefined; // the L1 was unreachable: make them again next time
      throw err;
    }
  }

  private async post(built: BuiltBatch): Promise<TransactionReceipt> {
    const { inbox, inboxAbi, logger } = this.deps;
    if (this.options.da === 'blobs') {
      if (built.data.length > blobCapacity(MAX_BLOBS_PER_TX))
        throw new Error(
          `a batch of ${built.data.length} compressed bytes does not fit the blobs of one tx (${blobCapacity(MAX_BLOBS_PER_TX)} bytes)`,
        );
      const posted = await postWithBlobs(this.deps, 'postBlobBatch', built.range, built.data);
      if ('revert' in posted)
        throw new Error(`postBlobBatch would revert: ${posted.revert} (${posted.data})`);
      this.stats.blobs += posted.blobs;
      return posted.receipt;
    }
    const args = [...built.range, toHex(built.data)];
    const { account, pub, wallet } = await this.l1Clients();
    const data = encodeFunctionData({ abi: inboxAbi, functionName: 'postBatch', args });
    const gas = await pub.estimateGas({ account, to: inbox, data });
    return sendWithFeeBumps(
      pub,
      (nonce, fees) => wallet.sendTransaction({ to: inbox, data, gas: (gas * 12n) / 10n, nonce, ...fees }),
      account.address,
      logger,
    );
  }
}
