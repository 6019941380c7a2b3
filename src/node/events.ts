import { EventEmitter } from 'node:events';
import type { Block } from '@ethereumjs/block';
import type { CommitProof } from '../consensus/certificate.js';
import type { RemovedBlock } from '../execution/executor.js';
import type { StoredReceipt } from '../store/chain-store.js';
import type { Hex } from '../util/bytes.js';

export interface SealedBlock {
  block: Block;
  receipts: StoredReceipt[];
  /** Absent on a follower, which derives blocks from L1 and holds no certificates. */
  proof?: CommitProof;
  sequencedHash: Hex;
  /** ms from acceptance to seal, per included tx that this node accepted. */
  latenciesMs: number[];
  buildMs: number;
}

/**
 * A block as soon as its commit proof exists: on a committee member before it executes the block
 * (execution is off the latency path, DECISIONS.md §1), on the single sequencer once the block is
 * durable. The order is final from here.
 */
export interface PreconfirmedBlock {
  height: bigint;
  /**
   * The sequenced block's own hash. `proof.blockHash` is a descendant's when the block was committed
   * through one (after a failed view, or by block sync): the parent links join the two.
   */
  blockHash: Hex;
  /** The sequenced block's txs, in order (its L1 messages come first by rule and are not listed). */
  txHashes: Hex[];
  proof: CommitProof;
  /**
   * The encoded sequenced blocks from this one up to the block `proof` commits, oldest first (one when
   * the proof is the block's own): with them the preconfirmation checks offline with the committee's
   * keys alone (verifyPreconfirmation). At most SYNC_CHUNK (64) blocks: a chain committed at once.
   */
  sequencedBlocks: Uint8Array[];
}

/** An L2 rewind (`based` / `free`, after a deep L1 reorg): the blocks above `to` left the chain. */
export interface ChainRewind {
  to: bigint;
  /** With their receipts, lowest first. */
  removed: RemovedBlock[];
}

/** In-process notifications from the chain to RPC subscriptions, the dashboard and metrics. */
export class ChainEvents extends EventEmitter<{
  block: [SealedBlock];
  preconfirmed: [PreconfirmedBlock];
  rewind: [ChainRewind];
  pendingTx: [Hex];
}> {
  constructor() {
    super();
    this.setMaxListeners(0);
  }
}
