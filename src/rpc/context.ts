import type { Block } from '@ethereumjs/block';
import type { InclusionPromiseJson } from '../batcher/inclusion-promise.js';
import type { CommitProof, Committee } from '../consensus/certificate.js';
import { serverError } from '../errors.js';
import type { CallPool } from '../execution/call-pool.js';
import type { Executor } from '../execution/executor.js';
import type { WithdrawalIndex } from '../execution/withdrawal-index.js';
import type { AddOutcome } from '../mempool/mempool.js';
import type { PoolTx } from '../mempool/pool-tx.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ChainEvents } from '../node/events.js';
import type { ChainStore } from '../store/chain-store.js';
import type { Hex } from '../util/bytes.js';
import type { RpcOptions } from './options.js';
import type { BlockTag } from './params.js';

/**
 * Where eth_sendRawTransaction goes and what the RPC may ask about pending txs: the mempool on a
 * sequencer; on a read-only follower, a forwarder to the sequencer.
 */
export interface TxIntake {
  add(raw: Uint8Array): Promise<AddOutcome>;
  get(hash: Hex): PoolTx | undefined;
  pendingNonce(sender: Hex, stateNonce: bigint): bigint;
  onNewPending(listener: (hash: Hex) => void): () => void;
  /** The pool by sender, nonce order (txpool_*); empty where txs are only forwarded. */
  inspect(): Array<{ sender: Hex; pending: PoolTx[]; queued: PoolTx[] }>;
}

/** What RPC handlers may use: read-only views of the node's parts, and the mempool to submit to. */
export interface RpcContext {
  chainId: bigint;
  executor: Executor;
  /** Runs eth_call / eth_estimateGas in worker threads. */
  calls: CallPool;
  mempool: TxIntake;
  store: ChainStore;
  events: ChainEvents;
  committee: Committee;
  /**
   * --epoch-committees: the committee that certified an epoch's blocks (each epoch's, from the L1
   * election); undefined when not known here. Without it every proof is `committee`'s.
   */
  committeeOf?(epoch: bigint): Committee | undefined;
  /** Reads an epoch's committee (from L1) for `committeeOf`, when it is not known here yet. */
  committeeReady?(epoch: bigint): Promise<void>;
  metrics: Metrics | null;
  options: RpcOptions;
  clientVersion: string;
  /** The withdrawals tree of the L2 chain. */
  withdrawals: WithdrawalIndex;
  /** The newest output certified on L1, when the node follows an L1. */
  latestOutput?: () => Promise<{ index: bigint; l2Block: bigint } | undefined>;
  /** Live figures for the dashboard. */
  status(): Record<string, unknown>;
  /** A committee member's block sync while it takes blocks (`eth_syncing`); undefined: not syncing. */
  syncing?: () => SyncProgress | undefined;
  /**
   * The `finalized` block: `based` / `free` (derived from L1 order, which an L1 reorg can change) the
   * highest block derived from finalized L1 data; absent where the chain never rewinds (the head).
   */
  finalizedHead?: () => bigint;
  /** Peers connected (`net_peerCount`); a single sequencer has none. */
  peerCount?: () => number;
  /**
   * based / free: no commit proofs exist (no committee orders). `seqnet_getPreconfirmation` serves
   * this node's submitter's inclusion promises when it opted in (based, `--preconf`), else says so.
   */
  openPreconfirmations?: OpenPreconfirmations;
}

export interface OpenPreconfirmations {
  mode: 'based' | 'free';
  optedIn: boolean;
  promise(txHash: Hex): Promise<InclusionPromiseJson | undefined>;
}

/** geth's `eth_syncing` figures: the head the sync started from, the head now, the sync's target. */
export interface SyncProgress {
  startingBlock: bigint;
  currentBlock: bigint;
  highestBlock: bigint;
}

export type RpcHandler = (params: unknown[], ctx: RpcContext) => unknown | Promise<unknown>;

/** Resolves a block tag; undefined when the block does not exist (yet). */
export function findBlock(ctx: RpcContext, tag: BlockTag): Block | undefined {
  switch (tag.kind) {
    case 'latest':
    case 'pending':
      return ctx.executor.head;
    case 'earliest':
      return ctx.executor.blockByNumber(0n);
    case 'finalized':
      return ctx.executor.blockByNumber(finalizedNumber(ctx));
    case 'number':
      return ctx.executor.blockByNumber(tag.number);
    case 'hash': {
      const n = ctx.store.heightOf(tag.hash);
      return n === undefined ? undefined : ctx.executor.blockByNumber(n);
    }
  }
}

export function finalizedNumber(ctx: RpcContext): bigint {
  const head = ctx.executor.head.header.number;
  const final = ctx.finalizedHead?.() ?? head;
  return final < head ? final : head;
}

/** As findBlock, for state queries: a missing block is an error, as geth's "header not found". */
export function stateBlock(ctx: RpcContext, tag: BlockTag): Block {
  const block = findBlock(ctx, tag);
  if (!block) throw serverError('header not found');
  return block;
}

export function sendersOf(ctx: RpcContext, block: Block): Hex[] {
  const receipts = ctx.store.getReceipts(block.header.number) ?? [];
  return receipts.map((r) => r.from);
}

/** The committee whose keys check a commit proof: its epoch's, else the node's committee. */
export function proofCommittee(
  ctx: Pick<RpcContext, 'committee' | 'committeeOf'>,
  proof: CommitProof,
): { publicKeys: Hex[]; quorum: number; epoch: string } {
  const epoch = proof.qcs[0]?.epoch ?? 0n;
  const c = ctx.committeeOf?.(epoch) ?? ctx.committee;
  return { publicKeys: [...c.publicKeys], quorum: c.quorum, epoch: epoch.toString() };
}
