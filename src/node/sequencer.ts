import type { SecretKey } from '@chainsafe/blst';
import type { Logger } from 'pino';
import { aggregateQc, type CommitProof, encodeCommitProof, signVote } from '../consensus/certificate.js';
import type { Executor } from '../execution/executor.js';
import type { L1Message, L1Source } from '../l1/watcher.js';
import type { Mempool } from '../mempool/mempool.js';
import type { Metrics } from '../metrics/metrics.js';
import type { OrderingPolicy } from '../ordering/policy.js';
import type { BlockWal } from '../store/block-wal.js';
import type { ChainStore } from '../store/chain-store.js';
import {
  decodeSequencedBlock,
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../types/sequenced-block.js';
import type { Hex } from '../util/bytes.js';
import { sleep } from '../util/sleep.js';
import { MAX_UNWRITTEN_BLOCKS, persistExecutedBlock } from './durable-block.js';
import type { ChainEvents } from './events.js';

export interface SequencerOptions {
  /** ms between blocks; 0 seals a block as soon as txs are waiting. */
  blockTimeMs: number;
  maxBlockBytes: number;
  maxBlockTxs: number;
  /**
   * Fault injection for tests of the escape hatch, never for production: a censoring sequencer that
   * never includes these senders' txs, and a builder that leaves forced txs out of its blocks.
   */
  misbehave?: { censorSenders?: string[]; omitForcedTxs?: boolean };
}

export const sequencerDefaults: SequencerOptions = {
  blockTimeMs: 250,
  maxBlockBytes: 1_000_000,
  maxBlockTxs: 5_000,
};

export interface SequencerDeps {
  executor: Executor;
  mempool: Mempool;
  store: ChainStore;
  policy: OrderingPolicy;
  signingKey: SecretKey;
  events: ChainEvents;
  metrics: Metrics | null;
  logger: Logger;
  /** The L1 to take origins and messages from; none in an L2-only node. */
  l1?: L1Source;
  /**
   * Where sealed blocks go before they are announced. With it, a block is announced once it is in the
   * log and lmdb commits it in the background; without it, the announcement waits for lmdb.
   */
  wal?: BlockWal;
  /** Called after a block is persisted and before it is announced (e.g. to refresh the head state view). */
  onCommitted(): Promise<void>;
  /** Called before a block is built (e.g. to hand txs that just arrived to the intake workers). */
  beforeBlock?(): void;
}

/**
 * Block execution hands the event loop a turn after this many ms, so txs arriving during a block are
 * acknowledged and ready for the next block rather than the one after.
 */
const EXECUTION_SLICE_MS = 1;

/**
 * The single sequencer: orders pending txs into a sequenced block, executes it, certifies it with a
 * committee-of-one commit proof, makes it durable (the block WAL, or lmdb without one), and only then
 * announces it (soft confirmation).
 * Blocks are made only when txs are waiting, as Arbitrum does.
 */
export class Sequencer {
  /** The head's sequenced block: parent hash, L1 origin and message cursor of the next block. */
  private lastSequenced: SequencedBlock;
  private lastSequencedHash: Hex;
  private lastBlockAt = 0;
  private running?: Promise<void>;
  /** A background lmdb write failed: the in-memory head is ahead of lmdb, so no more blocks. */
  private writeFailure?: Error;

  constructor(
    readonly options: SequencerOptions,
    private readonly deps: SequencerDeps,
  ) {
    const head = deps.executor.head.header.number;
    const raw = deps.store.getSequenced(head);
    this.lastSequenced = raw ? decodeSequencedBlock(raw) : deps.executor.genesisSequenced();
    this.lastSequencedHash = hashSequencedBlock(this.lastSequenced);
  }

  start(signal: AbortSignal): void {
    this.running = this.loop(signal);
  }

  async stopped(): Promise<void> {
    await this.running;
    // Blocks announced from the WAL are in lmdb before the store closes.
    await this.deps.store.written(this.deps.executor.head.header.number);
    const { wal } = this.deps;
    if (!wal) return;
    // (After a failed write `reset` keeps the log: the next start writes those blocks.)
    if (this.deps.store.unwrittenCount === 0) wal.reset();
    wal.close();
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const { logger } = this.deps;
    while (!signal.aborted) {
      if (this.writeFailure) {
        logger.fatal(
          { err: this.writeFailure },
          'lmdb could not write a sealed block; the sequencer stops. The block is in the block WAL: fix the disk (space, permissions) and restart the node to write it',
        );
        return;
      }
      await this.waitForWork(signal);
      if (signal.aborted) break;
      const wait = this.lastBlockAt + this.options.blockTimeMs - Date.now();
      if (wait > 0) await sleep(wait, signal);
      if (signal.aborted) break;
      try {
        this.deps.beforeBlock?.();
        const made = await this.produceBlock();
        // Pending txs none of which can go in now (e.g. fee below a risen base fee): do not spin.
        if (!made) await sleep(Math.max(this.options.blockTimeMs, 50), signal);
        // One turn of the event loop between blocks, so RPC requests (new txs) are not starved by
        // back-to-back blocks that never wait on I/O.
        else await new Promise((resolve) => setImmediate(resolve));
      } catch (err) {
        logger.error({ err }, 'block production failed; retrying');
        await sleep(200, signal);
      }
    }
  }

  /** Resolves when there is something to sequence: executable txs, or L1 messages that are due. */
  private async waitForWork(signal: AbortSignal): Promise<void> {
    const { mempool, l1 } = this.deps;
    if (!l1) return mempool.waitForPending(signal);
    for (;;) {
      if (signal.aborted || mempool.pendingCount > 0 || this.dueMessages().length > 0) return;
      const inner = new AbortController();
      const stop = () => inner.abort();
      signal.addEventListener('abort', stop, { once: true });
      await Promise.race([mempool.waitForPending(inner.signal), l1.waitForChange(inner.signal)]);
      inner.abort();
      signal.removeEventListener('abort', stop);
    }
  }

  /** The next block's L1 origin: the newest safe L1 block, never behind the parent's. */
  private nextOrigin(): SequencedBlock['l1Origin'] & { timestamp?: bigint } {
    const parent = this.lastSequenced.l1Origin;
    const safe = this.deps.l1?.safeHead();
    if (!safe || safe.number <= parent.number) return parent;
    return { number: safe.number, hash: safe.hash, timestamp: safe.timestamp };
  }

  private dueMessages(): L1Message[] {
    const l1 = this.deps.l1;
    if (!l1) return [];
    return l1.messagesFor(this.lastSequenced.l1MessageCursor, this.nextOrigin().number);
  }

  /** Builds, certifies, persists and announces one block. Returns false when nothing could go in. */
  async produceBlock(): Promise<boolean> {
    const { executor, mempool, policy, metrics, events, logger } = this.deps;
    if (this.writeFailure) throw this.writeFailure;
    // Bound the blocks served from memory while lmdb catches up.
    if (this.deps.store.unwrittenCount >= MAX_UNWRITTEN_BLOCKS)
      await this.deps.store.written(executor.head.header.number - BigInt(MAX_UNWRITTEN_BLOCKS) + 1n);
    const started = performance.now();
    const head = executor.head.header;
    const baseFee = executor.nextBaseFee(head);
    const censored = this.options.misbehave?.censorSenders?.map((a) => a.toLowerCase()) ?? [];
    const candidates = censored.length
      ? mempool.candidates().filter((c) => !censored.includes(c[0].sender.toLowerCase()))
      : mempool.candidates();
    const chosen = policy.order(candidates, {
      baseFee,
      gasLimit: executor.options.gasLimit,
      maxBytes: this.options.maxBlockBytes,
      maxTxs: this.options.maxBlockTxs,
    });
    const origin = this.nextOrigin();
    const messages = this.deps.l1
      ? this.deps.l1.messagesFor(this.lastSequenced.l1MessageCursor, origin.number)
      : [];
    if (chosen.length === 0 && messages.length === 0) return false;
    const height = head.number + 1n;
    const now = BigInt(Math.floor(Date.now() / 1000));
    let timestamp = now > head.timestamp ? now : head.timestamp;
    if (origin.timestamp !== undefined && timestamp < origin.timestamp) timestamp = origin.timestamp;
    const seq: SequencedBlock = {
      version: 1,
      chainId: executor.options.chainId,
      height,
      parentHash: this.lastSequencedHash,
      timestamp,
      l1Origin: { number: origin.number, hash: origin.hash },
      l1MessageCursor: this.lastSequenced.l1MessageCursor + BigInt(messages.length),
      txs: chosen.map((t) => t.raw),
      lagStateRoot: executor.lagStateRootFor(height),
    };
    const applied = this.options.misbehave?.omitForcedTxs
      ? messages.filter((m) => m.kind !== 'forced')
      : messages;
    const result = await executor.execute(
      seq,
      chosen.map((t) => t.tx),
      applied,
      { yieldEveryMs: EXECUTION_SLICE_MS },
    );
    const proof: CommitProof = {
      chainId: seq.chainId,
      height,
      blockHash: result.sequencedHash,
      qcs: [
        aggregateQc({ epoch: 0n, view: height, blockHash: result.sequencedHash }, [
          {
            index: 0,
            signature: signVote(this.deps.signingKey, seq.chainId, 0n, height, result.sequencedHash),
          },
        ]),
      ],
    };
    // Durable against a crash from here (with the block WAL): a restart executes the block again.
    const sequenced = encodeSequencedBlock(seq);
    const txHashes = await persistExecutedBlock(
      this.deps,
      result,
      { height, sequenced, proof: encodeCommitProof(proof), messages: applied },
      (err) => {
        this.writeFailure ??= err;
      },
    );
    // A committee of one: its own QC commits the block, which is durable now (a restart makes no
    // other at this height), so it is preconfirmed from here.
    events.emit('preconfirmed', {
      height,
      blockHash: proof.blockHash,
      txHashes: chosen.map((t) => t.hash),
      proof,
      sequencedBlocks: [sequenced],
    });
    this.lastSequenced = seq;
    this.lastSequencedHash = result.sequencedHash;
    this.lastBlockAt = Date.now();
    await this.deps.onCommitted();

    const newNonces = new Map<Hex, bigint>();
    const nowMs = Date.now();
    const latenciesMs: number[] = [];
    const byHash = new Map(chosen.map((t) => [t.hash, t]));
    for (const h of txHashes) {
      const t = byHash.get(h);
      if (!t) continue;
      const next = t.nonce + 1n;
      if ((newNonces.get(t.sender) ?? 0n) < next) newNonces.set(t.sender, next);
      latenciesMs.push(nowMs - t.addedAt);
    }
    mempool.onBlock(
      newNonces,
      result.skipped.map((s) => s.hash),
    );
    const buildMs = performance.now() - started;
    if (metrics) {
      metrics.blocksTotal.inc();
      metrics.blockHeight.set(Number(height));
      metrics.txsIncluded.inc(txHashes.length);
      metrics.txsSkipped.inc(result.skipped.length);
      metrics.blockTxs.observe(txHashes.length);
      metrics.blockBuild.observe(buildMs / 1000);
      for (const l of latenciesMs) metrics.softConfirmLatency.observe(l / 1000);
      metrics.mempoolPending.set(mempool.pendingCount);
      metrics.mempoolQueued.set(mempool.queuedCount);
    }
    logger.debug(
      { height, txs: txHashes.length, skipped: result.skipped.length, ms: buildMs.toFixed(1) },
      'sealed block',
    );
    events.emit('block', {
      block: result.block,
      receipts: result.receipts,
      proof,
      sequencedHash: result.sequencedHash,
      latenciesMs,
      buildMs,
    });
    return true;
  }
}

/**
 * Executes again, and writes to lmdb, every block in the WAL above lmdb's head: blocks that were
 * announced before a crash but whose lmdb write had not landed. Then empties the WAL. Returns how
 * many blocks it wrote.
 */
export async function replayBlockWal(wal: BlockWal, executor: Executor, logger: Logger): Promise<number> {
  let replayed = 0;
  for (const rec of wal.load()) {
    const head = executor.head.header.number;
    if (rec.height <= head) continue;
    if (rec.height !== head + 1n)
      throw new Error(
        `the block WAL (${wal.path}) jumps from head ${head} to block ${rec.height}: the data dir is damaged; restore it from a backup or resync the node from its peers`,
      );
    const seq = decodeSequencedBlock(rec.sequenced);
    const result = await executor.execute(seq, undefined, rec.messages);
    await executor.persistAndCommit(result, { sequenced: rec.sequenced, proof: rec.proof });
    replayed++;
  }
  if (replayed)
    logger.info(
      { blocks: replayed, head: executor.head.header.number },
      'replayed sealed blocks from the block WAL',
    );
  wal.reset();
  return replayed;
}
