import type { Logger } from 'pino';
import { createPublicClient, type Hex, http } from 'viem';
import type { CommitProof } from '../consensus/certificate.js';
import { sleep } from '../util/sleep.js';
import type { L1Deployment } from './deploy.js';
import {
  batchPostedLogs,
  committeeReader,
  type PostedQc,
  postedQcsOf,
  reportSameViewConflict,
  sameViewConflict,
  slashingContracts,
} from './slash.js';

export interface CertificateWatcherOptions {
  l1Url: string;
  deployment: L1Deployment;
  /** L1 key that sends the reports (and receives the reporter's reward). */
  key: Hex;
  pollMs: number;
  /**
   * This node's commit proof of a height, once it has committed it. For a block committed through a
   * descendant (after a failed view, or taken by block sync) it is the descendant's: its `blockHash`
   * is not the block's own (`blockHashAt`).
   */
  proofAt(height: bigint): CommitProof | undefined;
  /** The sequenced-block hash this node committed at a height (what a batch's `lastBlockHash` names). */
  blockHashAt(height: bigint): Hex | undefined;
  /** Runs an L1 send in the node's one queue for its reporter key (see `EvidenceReporter.run`). */
  serialise<T>(task: () => Promise<T>): Promise<T>;
  /** Where the next scan starts, kept across restarts (the L1 block after the last one read). */
  cursor: { get(): bigint | undefined; set(l1Block: bigint): void };
  /** Called for every conflict found (metrics). */
  onConflict?(c: CertificateConflict): void;
}

/** A certified batch on L1 whose last block is not the one this node committed at that height. */
export interface CertificateConflict {
  batchIndex: bigint;
  /** The batch's last block, and the hashes L1 and this node hold there. */
  height: bigint;
  posted: Hex;
  ours: Hex;
  postedIn: Hex;
  /**
   * `slashed` / `already-slashed`: the batch's commit proof has a QC for a view in which this node's
   * proof certifies another block (DECISIONS.md §5's provable double signing); `contradicted-other-view`:
   * the chain on L1 differs, but only in other views (not provable as one view's double signing).
   */
  verdict: 'slashed' | 'already-slashed' | 'contradicted-other-view';
  view?: bigint;
  slashed?: number;
  tx?: Hex;
}

/** Batches read from L1 and waiting until this node commits their last block. */
interface PendingBatch {
  l1Block: bigint;
  lastBlock: bigint;
  lastBlockHash: Hex;
  qcs: PostedQc[];
}

/** Heights either side of a batch's last block whose commit proofs are compared too. */
const NEIGHBOURS = 2n;

/** The widest L1 block range asked for in one `eth_getLogs` call. */
const MAX_LOG_RANGE = 5_000n;

/**
 * Compares the commit proof of every certified batch the Inbox takes with this node's own commit
 * proof of the batch's last block. A batch that a quorum certified on another block than the one
 * this node committed means f + 1 members signed against the chain: when a QC on L1 and one of this
 * node's are for the same view, `Slasher.slashConflictingCertificates` takes the stake of every
 * member in both signer sets (the check `seqnet slash` makes for a user's preconfirmation, run by
 * every member on its own). An honest committee's batches always agree, so nothing is ever sent.
 */
export class CertificateWatcher {
  readonly conflicts: CertificateConflict[] = [];
  /** Certified batches compared with this node's chain so far. */
  checkedBatches = 0;
  /** The next L1 block to read logs from. */
  private from: bigint;
  private readonly pending: PendingBatch[] = [];
  private readonly slasher: Hex;
  private readonly committeeOf: ReturnType<typeof committeeReader>;

  constructor(
    private readonly options: CertificateWatcherOptions,
    private readonly logger: Logger,
  ) {
    const { slasher, verifier } = slashingContracts(options.deployment);
    this.slasher = slasher;
    this.committeeOf = committeeReader(options.l1Url, verifier);
    this.from = options.cursor.get() ?? 0n;
  }

  status(): { checkedBatches: number; waiting: number; nextL1Block: number; conflicts: number } {
    return {
      checkedBatches: this.checkedBatches,
      waiting: this.pending.length,
      nextL1Block: Number(this.from),
      conflicts: this.conflicts.length,
    };
  }

  /** Polls until `signal` aborts; errors are logged and retried at the next poll. */
  async run(signal: AbortSignal): Promise<void> {
    const pub = createPublicClient({
      transport: http(this.options.l1Url, { retryCount: 0, timeout: 30_000 }),
    });
    let failing = false;
    while (!signal.aborted) {
      try {
        await this.poll(pub);
        failing = false;
      } catch (err) {
        // One warning per outage, not one per poll.
        if (!failing)
          this.logger.warn(
            { err: (err as Error).message },
            'checking the certified batches on L1 failed; retrying',
          );
        failing = true;
      }
      await sleep(this.options.pollMs, signal);
    }
  }

  /** One round: read the new BatchPosted logs, then check the batches this node has committed. */
  async poll(pub: ReturnType<typeof createPublicClient>): Promise<void> {
    const head = await pub.getBlockNumber();
    while (this.from <= head) {
      const to = this.from + MAX_LOG_RANGE - 1n < head ? this.from + MAX_LOG_RANGE - 1n : head;
      const logs = await batchPostedLogs(pub, this.options.deployment.contracts.Inbox, this.from, to);
      const read: PendingBatch[] = [];
      for (const log of logs) {
        const qcs = await postedQcsOf(pub, log);
        if (qcs.length > 0)
          read.push({
            l1Block: log.blockNumber,
            lastBlock: log.args.lastBlock,
            lastBlockHash: log.args.lastBlockHash,
            qcs,
          });
      }
      // Only once the whole range is read: a failure above reads it again.
      this.pending.push(...read);
      this.from = to + 1n;
    }
    for (let i = 0; i < this.pending.length; ) {
      const batch = this.pending[i];
      const proof = this.options.proofAt(batch.lastBlock);
      if (!proof) {
        i++;
        continue;
      }
      await this.check(batch, proof);
      this.pending.splice(i, 1);
      this.checkedBatches++;
    }
    // A restart reads again from the oldest batch not yet checked.
    let cursor = this.from;
    for (const b of this.pending) if (b.l1Block < cursor) cursor = b.l1Block;
    this.options.cursor.set(cursor);
  }

  private async check(batch: PendingBatch, proof: CommitProof): Promise<void> {
    // This node's own block at that height, not the proof's: a block committed through a descendant
    // holds the descendant's proof, and comparing with it cried "contradicted" at every batch ending
    // on such a block (a pos member restarted: every batch in the range it took by block sync).
    const ours = this.options.blockHashAt(batch.lastBlock) ?? proof.blockHash;
    const found = {
      batchIndex: batch.qcs[0].batchIndex,
      height: batch.lastBlock,
      posted: batch.lastBlockHash,
      ours,
      postedIn: batch.qcs[0].l1Tx,
    };
    // The batch's QCs against this node's QCs around that height: on a fork of another length the
    // view of the batch's last block can be the view of a neighbour here.
    const ourQcs = [...proof.qcs];
    for (let h = batch.lastBlock - NEIGHBOURS; h <= batch.lastBlock + NEIGHBOURS; h++)
      if (h !== batch.lastBlock && h > 0n) ourQcs.push(...(this.options.proofAt(h)?.qcs ?? []));
    const conflict = sameViewConflict(ourQcs, batch.qcs);
    if (conflict) {
      const keys = (await this.committeeOf(conflict.ours.epoch)).eip2537Keys;
      this.logger.error(
        {
          ...found,
          batchIndex: Number(found.batchIndex),
          height: Number(found.height),
          view: Number(conflict.ours.view),
        },
        'a certified batch on L1 contradicts this node’s chain in a view it holds a certificate of: reporting the double signers to the Slasher',
      );
      const reported = await this.options.serialise(() =>
        reportSameViewConflict({
          l1Url: this.options.l1Url,
          key: this.options.key,
          slasher: this.slasher,
          keys,
          ...conflict,
        }),
      );
      this.record({ ...found, ...reported, view: conflict.ours.view });
      return;
    }
    if (batch.lastBlockHash.toLowerCase() !== ours.toLowerCase()) {
      this.logger.error(
        { ...found, batchIndex: Number(found.batchIndex), height: Number(found.height) },
        'a certified batch on L1 contradicts this node’s chain (in other views than this node’s certificates: not provable as double signing); stop trusting preconfirmations and compare the members’ chains',
      );
      this.record({ ...found, verdict: 'contradicted-other-view' });
    }
  }

  private record(c: CertificateConflict): void {
    this.conflicts.push(c);
    if (this.conflicts.length > 100) this.conflicts.shift();
    this.options.onConflict?.(c);
    if (c.verdict !== 'contradicted-other-view')
      this.logger.warn(
        {
          batchIndex: Number(c.batchIndex),
          view: Number(c.view),
          verdict: c.verdict,
          slashed: c.slashed,
          tx: c.tx,
        },
        'conflicting certificates reported to the L1 Slasher',
      );
  }
}
