import type { PoolTx } from '../mempool/pool-tx.js';

export interface OrderingContext {
  baseFee: bigint;
  gasLimit: bigint;
  maxBytes: number;
  maxTxs: number;
}

/**
 * A block-building policy: pure, deterministic, no I/O. Input: each sender's executable txs in nonce
 * order. Output: the block body, which must keep every sender's nonce order and fit the limits.
 */
export interface OrderingPolicy {
  readonly name: string;
  order(candidates: ReadonlyArray<ReadonlyArray<PoolTx>>, ctx: OrderingContext): PoolTx[];
}
