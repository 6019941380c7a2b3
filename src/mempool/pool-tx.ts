import type { TypedTransaction } from '@ethereumjs/tx';
import type { Hex } from '../util/bytes.js';

/** A validated transaction in the pool, with the fields ordering and limits look at precomputed. */
export interface PoolTx {
  readonly tx: TypedTransaction;
  readonly raw: Uint8Array;
  readonly hash: Hex;
  readonly sender: Hex;
  readonly nonce: bigint;
  readonly gasLimit: bigint;
  /** maxFeePerGas, or gasPrice for legacy and EIP-2930 txs. */
  readonly maxFee: bigint;
  /** maxPriorityFeePerGas, or gasPrice. */
  readonly maxTip: bigint;
  /** Arrival sequence number: first come, first served. */
  readonly arrival: number;
  /** Most the tx can cost its sender: gas × max fee + value. */
  readonly cost: bigint;
  /** Wall-clock ms when accepted (for queued expiry and latency metrics). */
  readonly addedAt: number;
}

/** What the sender pays the sequencer per gas at this base fee (EIP-1559's effective tip). */
export function effectiveTip(t: PoolTx, baseFee: bigint): bigint {
  const room = t.maxFee - baseFee;
  return room < t.maxTip ? room : t.maxTip;
}
